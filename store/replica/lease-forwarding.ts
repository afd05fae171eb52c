/**
 * A lease's expiry is decided by the leader with its own clock (lease-keeper.ts),
 * so the clock reading that a grant or keep-alive stamps, and the one a
 * time-to-live is measured against, must be the leader's too: a follower whose
 * clock is skewed would otherwise stamp an expiry that is too early (the lease
 * is revoked while its client keeps it alive) or too late. A member that is not
 * the leader therefore hands LeaseGrant, LeaseKeepAlive and LeaseTimeToLive to
 * the leader's etcd endpoint, as an etcd member forwards LeaseRenew and
 * LeaseTimeToLive to its leader, and returns the leader's answer.
 *
 * Each forwarded keep-alive opens its own LeaseKeepAlive stream, sends one
 * request, reads one answer and half-closes; answers never need matching.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type * as E from '../etcd-server/types.js';
import { LeaderChannel, errorFromLeader } from './leader-forward.js';
import { formatId } from './member-id.js';

interface WireHeader {
  revision?: number;
}

interface WireGrantAnswer {
  header?: WireHeader | null;
  ID?: number;
  TTL?: number;
  error?: string;
}

interface WireKeepAliveAnswer {
  ID?: number;
  TTL?: number;
}

interface WireTimeToLiveAnswer {
  header?: WireHeader | null;
  ID?: number;
  TTL?: number;
  grantedTTL?: number;
  keys?: Uint8Array[];
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => grpc.ClientUnaryCall;

interface LeaseClient {
  LeaseGrant: Unary<{ ID: number; TTL: number }, WireGrantAnswer>;
  LeaseTimeToLive: Unary<{ ID: number; keys: boolean }, WireTimeToLiveAnswer>;
  LeaseKeepAlive(md: grpc.Metadata, o: grpc.CallOptions): grpc.ClientDuplexStream<{ ID: number }, WireKeepAliveAnswer>;
}

let leaseCtor: grpc.ServiceClientConstructor | undefined;

function leaseClientCtor(): grpc.ServiceClientConstructor {
  leaseCtor ??= (loadProto(['etcd/rpc.proto']) as unknown as { etcdserverpb: { Lease: grpc.ServiceClientConstructor } }).etcdserverpb.Lease;
  return leaseCtor;
}

/** Where and until when one forwarded call may run. */
export interface ForwardTarget {
  /** The leader's published client URL (http://host:port). */
  readonly clientUrl: string;
  readonly deadlineEpochMs: number;
  readonly signal: AbortSignal;
}

export class LeaseForwarder {
  private readonly channel = new LeaderChannel<LeaseClient>(leaseClientCtor);

  async grant(to: ForwardTarget, req: E.LeaseGrantRequest): Promise<E.LeaseGrantResponse> {
    const res = await this.unary<WireGrantAnswer>(to, (c, o, cb) => c.LeaseGrant({ ID: req.id, TTL: req.ttlSeconds }, new grpc.Metadata(), o, cb));
    if (res.error !== undefined && res.error !== '') throw etcdError(EtcdErrorCode.InvalidRequest, `the leader refused the grant: ${res.error}`);
    return { revision: Number(res.header?.revision ?? 0), id: Number(res.ID ?? 0), ttlSeconds: Number(res.TTL ?? 0) };
  }

  /** The leader's new TTL; throws LEASE_NOT_FOUND where the leader answers TTL 0 (its edge's "no such lease"). */
  async keepAlive(to: ForwardTarget, id: number): Promise<number> {
    const ttlSeconds = Number((await this.keepAliveOnce(to, id)).TTL ?? 0);
    if (ttlSeconds <= 0) throw etcdError(EtcdErrorCode.LeaseNotFound, `lease ${formatId(id)} does not exist on the leader`);
    return ttlSeconds;
  }

  /** The leader's view of the lease; throws LEASE_NOT_FOUND where the leader answers TTL -1. */
  async timeToLive(to: ForwardTarget, id: number, keys: boolean): Promise<E.LeaseTimeToLiveResponse> {
    const res = await this.unary<WireTimeToLiveAnswer>(to, (c, o, cb) => c.LeaseTimeToLive({ ID: id, keys }, new grpc.Metadata(), o, cb));
    const ttlSeconds = Number(res.TTL ?? -1);
    if (ttlSeconds === -1) throw etcdError(EtcdErrorCode.LeaseNotFound, `lease ${formatId(id)} does not exist on the leader`);
    return {
      revision: Number(res.header?.revision ?? 0),
      id: Number(res.ID ?? id),
      ttlSeconds,
      grantedTtlSeconds: Number(res.grantedTTL ?? 0),
      keys: (res.keys ?? []).map((k) => new Uint8Array(k)),
    };
  }

  close(): void {
    this.channel.close();
  }

  private unary<Res>(
    to: ForwardTarget,
    start: (c: LeaseClient, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Res) => void) => grpc.ClientUnaryCall,
  ): Promise<Res> {
    if (to.signal.aborted) return Promise.reject(to.signal.reason);
    const client = this.channel.clientFor(to.clientUrl);
    return new Promise<Res>((resolve, reject) => {
      const call = start(client, { deadline: to.deadlineEpochMs }, (err, r) => {
        to.signal.removeEventListener('abort', onAbort);
        if (err !== null) reject(to.signal.aborted ? to.signal.reason : errorFromLeader(err));
        else if (r === undefined) reject(etcdError(EtcdErrorCode.InvalidRequest, 'the leader sent an empty answer'));
        else resolve(r);
      });
      const onAbort = (): void => call.cancel();
      to.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One request and one answer on a stream of its own; the half-close lets the leader end it with OK. */
  private keepAliveOnce(to: ForwardTarget, id: number): Promise<WireKeepAliveAnswer> {
    if (to.signal.aborted) return Promise.reject(to.signal.reason);
    const call = this.channel.clientFor(to.clientUrl).LeaseKeepAlive(new grpc.Metadata(), { deadline: to.deadlineEpochMs });
    return new Promise<WireKeepAliveAnswer>((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const settle = (): void => {
        to.signal.removeEventListener('abort', onAbort);
        call.removeListener('data', onData);
        call.removeListener('end', onEnd);
      };
      const onData = (r: WireKeepAliveAnswer): void => {
        settle();
        call.end();
        resolve(r);
      };
      const onEnd = (): void => {
        settle();
        reject(etcdError(EtcdErrorCode.LeaderChanged, `the leader ended the keep-alive stream of lease ${formatId(id)} without an answer`));
      };
      // Stays attached after the answer: a late error of a finished stream must not go unhandled.
      call.on('error', (err: grpc.ServiceError) => {
        settle();
        reject(to.signal.aborted ? to.signal.reason : errorFromLeader(err));
      });
      call.on('data', onData);
      call.on('end', onEnd);
      to.signal.addEventListener('abort', onAbort, { once: true });
      call.write({ ID: id });
    });
  }
}
