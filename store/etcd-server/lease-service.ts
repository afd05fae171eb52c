/**
 * etcdserverpb.Lease: LeaseGrant, LeaseRevoke, LeaseKeepAlive (bidi stream),
 * LeaseTimeToLive, LeaseLeases.
 *
 * etcd's answers for a lease that does not exist differ per RPC, and clients
 * depend on them: LeaseRevoke fails with NOT_FOUND "requested lease not found";
 * a keep-alive answers TTL 0 (the etcd3 client and etcdctl treat that as "lease
 * lost"); LeaseTimeToLive answers TTL -1.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { callScope, mustDecoded, requestsOf, serveUnary, wireHeader, type EdgeContext } from './call.js';
import { safeInt } from './convert.js';
import { EtcdErrorCode, toGrpcStatus } from './errors.js';

interface LeaseGrantRequest {
  TTL: number;
  ID: number;
}
interface LeaseIdRequest {
  ID: number;
}
interface LeaseTimeToLiveRequest {
  ID: number;
  keys: boolean;
}
type Response = object;

function isLeaseNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === EtcdErrorCode.LeaseNotFound;
}

/**
 * One response per request, in request order; a client half-close ends the
 * stream with OK. Requests are read one at a time (requestsOf) and writes wait
 * for 'drain', so nothing queues up here.
 */
async function serveKeepAlive(ctx: EdgeContext, call: grpc.ServerDuplexStream<LeaseIdRequest, Response>): Promise<void> {
  const { backend } = ctx;
  const scope = callScope(call);
  const onAbort = (): void => {
    call.destroy();
  };
  scope.opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const req of requestsOf<LeaseIdRequest>(call as unknown as Readable)) {
      mustDecoded(req);
      const id = safeInt('lease ID', req.ID);
      // The header is taken before the renewal, as etcd does, so its revision
      // is never later than the moment the lease was known to be alive.
      const header = wireHeader(backend);
      let ttl: number;
      try {
        ttl = await backend.leaseKeepAlive(id, scope.opts);
      } catch (err) {
        if (!isLeaseNotFound(err)) throw err;
        ttl = 0;
      }
      if (!call.write({ header, ID: id, TTL: ttl })) await once(call, 'drain', { signal: scope.opts.signal });
    }
    call.end();
  } catch (err) {
    if (!scope.opts.signal.aborted) call.emit('error', toGrpcStatus(err));
  } finally {
    scope.opts.signal.removeEventListener('abort', onAbort);
    scope.dispose();
  }
}

export function leaseService(ctx: EdgeContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx;
  return {
    LeaseGrant: (call: grpc.ServerUnaryCall<LeaseGrantRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const grant = { ttlSeconds: safeInt('lease TTL', req.TTL), id: safeInt('lease ID', req.ID) };
        const res = await backend.leaseGrant(grant, opts);
        return { header: wireHeader(backend, res.revision), ID: res.id, TTL: res.ttlSeconds, error: '' };
      }),

    LeaseRevoke: (call: grpc.ServerUnaryCall<LeaseIdRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.leaseRevoke(safeInt('lease ID', req.ID), opts);
        return { header: wireHeader(backend, res.revision) };
      }),

    LeaseTimeToLive: (call: grpc.ServerUnaryCall<LeaseTimeToLiveRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const id = safeInt('lease ID', req.ID);
        try {
          const res = await backend.leaseTimeToLive(id, { ...opts, keys: req.keys });
          return {
            header: wireHeader(backend, res.revision),
            ID: res.id,
            TTL: res.ttlSeconds,
            grantedTTL: res.grantedTtlSeconds,
            keys: res.keys,
          };
        } catch (err) {
          if (!isLeaseNotFound(err)) throw err;
          return { header: wireHeader(backend), ID: id, TTL: -1, grantedTTL: 0, keys: [] };
        }
      }),

    LeaseLeases: (call: grpc.ServerUnaryCall<object, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (_req, opts) => {
        const res = await backend.leaseLeases(opts);
        return { header: wireHeader(backend, res.revision), leases: res.leases.map((l) => ({ ID: l.id })) };
      }),

    LeaseKeepAlive: (call: grpc.ServerDuplexStream<LeaseIdRequest, Response>) => {
      void serveKeepAlive(ctx, call);
    },
  };
}
