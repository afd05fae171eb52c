/**
 * Membership changes are decided by the leader: only it knows whether a learner
 * has caught up and which peers answer, and only it can refuse a second change
 * while one is pending (a refusal of a proposal forwarded through Raft would
 * never reach the proposer). A member that is not the leader therefore hands
 * the request to the leader's etcd endpoint (its published client URL), as an
 * etcd member forwards MemberPromote to its leader, and returns its answer.
 *
 * A forwarded call carries the caller's remaining deadline, so a request that
 * meets a leader change mid-way (and is forwarded again) ends at that deadline.
 * Lease requests that must use the leader's clock are forwarded the same way
 * (lease-forwarding.ts), through `LeaderChannel` and `errorFromLeader`.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import { ERROR_DETAIL_METADATA_KEY, EtcdErrorCode, WIRE_ERRORS, etcdError, EtcdServerError } from '../etcd-server/errors.js';
import type { Member } from '../etcd-server/types.js';

export const ForwardedMethod = {
  MemberAdd: 'MemberAdd',
  MemberRemove: 'MemberRemove',
  MemberUpdate: 'MemberUpdate',
  MemberPromote: 'MemberPromote',
} as const;
export type ForwardedMethod = (typeof ForwardedMethod)[keyof typeof ForwardedMethod];

/** What the leader answers, in domain types. */
export interface ForwardedAnswer {
  readonly member?: Member;
  readonly members: readonly Member[];
}

interface WireMember {
  ID?: number;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

interface WireAnswer {
  member?: WireMember | null;
  members?: WireMember[];
}

type UnaryMethod = (req: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: WireAnswer) => void) => grpc.ClientUnaryCall;
type ClusterClient = grpc.Client & Record<ForwardedMethod, UnaryMethod>;

let clusterCtor: grpc.ServiceClientConstructor | undefined;

function clusterClientCtor(): grpc.ServiceClientConstructor {
  clusterCtor ??= (loadProto(['etcd/rpc.proto']) as unknown as { etcdserverpb: { Cluster: grpc.ServiceClientConstructor } }).etcdserverpb.Cluster;
  return clusterCtor;
}

/** One client of an etcd service, for the leader last forwarded to; replaced when the leader moves. */
export class LeaderChannel<C> {
  private client: { readonly address: string; readonly stub: C & grpc.Client } | undefined;

  constructor(private readonly ctor: () => grpc.ServiceClientConstructor) {}

  /** The client for the etcd endpoint at `clientUrl` (http://host:port). */
  clientFor(clientUrl: string): C {
    const address = clientUrl.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
    if (this.client?.address !== address) {
      this.close();
      const Ctor = this.ctor();
      this.client = { address, stub: new Ctor(address, grpc.credentials.createInsecure()) as unknown as C & grpc.Client };
    }
    return this.client.stub;
  }

  close(): void {
    this.client?.stub.close();
    this.client = undefined;
  }
}

export class LeaderForwarder {
  private readonly channel = new LeaderChannel<ClusterClient>(clusterClientCtor);

  /** Calls `method` on the etcd endpoint at `clientUrl` (http://host:port), bounded by `deadlineEpochMs`. */
  async forward(clientUrl: string, method: ForwardedMethod, req: object, deadlineEpochMs: number, signal: AbortSignal): Promise<ForwardedAnswer> {
    const cluster = this.channel.clientFor(clientUrl);
    const res = await new Promise<WireAnswer>((resolve, reject) => {
      const call = cluster[method](req, new grpc.Metadata(), { deadline: deadlineEpochMs }, (err, r) => {
        signal.removeEventListener('abort', onAbort);
        if (err === null) resolve(r ?? {});
        else reject(errorFromLeader(err));
      });
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const members = (res.members ?? []).map(memberFromWire);
    return res.member === undefined || res.member === null ? { members } : { member: memberFromWire(res.member), members };
  }

  close(): void {
    this.channel.close();
  }
}

function memberFromWire(w: WireMember): Member {
  return {
    id: Number(w.ID ?? 0),
    name: w.name ?? '',
    peerUrls: [...(w.peerURLs ?? [])],
    clientUrls: [...(w.clientURLs ?? [])],
    isLearner: w.isLearner === true,
  };
}

const CODE_BY_TEXT = new Map<string, EtcdErrorCode>(
  Object.entries(WIRE_ERRORS)
    .filter(([, w]) => w.message !== '')
    .map(([code, w]) => [w.message, code as EtcdErrorCode]),
);

/** The leader's answer as the same typed error, so this member's edge sends the client what the leader sent. */
export function errorFromLeader(err: grpc.ServiceError): EtcdServerError {
  const detailValue = err.metadata?.get(ERROR_DETAIL_METADATA_KEY)[0];
  const detail = typeof detailValue === 'string' ? detailValue : undefined;
  const code = CODE_BY_TEXT.get(err.details);
  if (code !== undefined) return etcdError(code, detail ?? err.details);
  switch (err.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return etcdError(EtcdErrorCode.Timeout, `the leader did not answer in time: ${err.details}`);
    case grpc.status.UNAVAILABLE:
      return etcdError(EtcdErrorCode.NoLeader, `the leader's endpoint cannot be reached: ${err.details}`);
    default:
      return etcdError(EtcdErrorCode.InvalidRequest, detail ?? err.details);
  }
}
