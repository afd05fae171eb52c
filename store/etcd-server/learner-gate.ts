/**
 * What a learner (non-voting member) serves, as etcd 3.4 decides it
 * (etcdserver/api/v3rpc/interceptor.go, isRPCSupportedForLearner):
 * Maintenance.Status, and KV.Range when it is serializable. Every other unary
 * call (MemberList included) and every stream (Watch, LeaseKeepAlive,
 * Snapshot) fails with UNAVAILABLE "etcdserver: rpc not supported for
 * learner", which the etcd clients take as "try another endpoint". A learner
 * may lag far behind while it catches up, so until it is promoted it answers
 * only what is plainly local.
 *
 * The gate wraps whole services, as etcd's interceptors do, so that an RPC
 * added later is refused on a learner unless it is listed here. It asks the
 * backend on every call: a promotion takes effect as soon as it applies.
 */
import type * as grpc from '@grpc/grpc-js';
import { assert } from '../mvcc/assert.js';
import type { EtcdBackend } from './backend.js';
import { EtcdErrorCode, etcdError, toGrpcStatus } from './errors.js';
import { MALFORMED, type DecodedRequest, type WireRangeRequest } from './wire.js';

/** Whether a learner serves this (decoded) request of the method. */
type ServedByLearner = (req: unknown) => boolean;

/** etcd 3.4's isRPCSupportedForLearner, by method path. */
const SERVED_BY_LEARNER: ReadonlyMap<string, ServedByLearner> = new Map<string, ServedByLearner>([
  ['/etcdserverpb.Maintenance/Status', () => true],
  ['/etcdserverpb.KV/Range', (req) => (req as Partial<WireRangeRequest>).serializable === true],
]);

type AnyUnaryHandler = grpc.handleUnaryCall<unknown, unknown>;
type AnyStream = grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;
type AnyStreamHandler = (call: AnyStream) => void;

function refusal(backend: EtcdBackend, path: string): Partial<grpc.StatusObject> {
  const id = backend.header().memberId.toString(16);
  return toGrpcStatus(etcdError(
    EtcdErrorCode.NotSupportedForLearner,
    `member ${id} is a learner: until it is promoted it serves only Status and serializable Range, not ${path}`,
  ));
}

function isLearner(backend: EtcdBackend): boolean {
  return backend.isLearner?.() === true;
}

/** Undecodable bytes go on to the handler, which reports them: etcd decodes before its interceptor runs. */
function refusesUnary(backend: EtcdBackend, path: string, req: unknown): boolean {
  if (!isLearner(backend) || (req as DecodedRequest)[MALFORMED] !== undefined) return false;
  return SERVED_BY_LEARNER.get(path)?.(req) !== true;
}

function gateUnary(backend: EtcdBackend, path: string, handler: AnyUnaryHandler): AnyUnaryHandler {
  return (call, callback) => {
    if (refusesUnary(backend, path, call.request)) callback(refusal(backend, path));
    else handler(call, callback);
  };
}

/** etcd refuses every stream on a learner, at the start of the stream. */
function gateStream(backend: EtcdBackend, path: string, handler: AnyStreamHandler): AnyStreamHandler {
  return (call) => {
    if (isLearner(backend)) call.emit('error', refusal(backend, path));
    else handler(call);
  };
}

/** `impl` with every method refused on a learner unless etcd 3.4 lets a learner serve it. */
export function learnerGated(
  backend: EtcdBackend,
  definition: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const gated: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const method = definition[name];
    assert(method !== undefined, `the service implements ${name}, which its definition does not declare`);
    gated[name] = method.requestStream || method.responseStream
      ? gateStream(backend, method.path, handler as AnyStreamHandler)
      : gateUnary(backend, method.path, handler as AnyUnaryHandler);
  }
  return gated;
}
