/**
 * Per-call plumbing shared by the services: an AbortSignal that fires when the
 * client cancels, disconnects or passes its deadline; a bound on how long a
 * unary call may wait for the backend; and the one place where thrown errors
 * become gRPC statuses.
 */
import type { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { CallOptions, EtcdBackend } from './backend.js';
import { headerToWire } from './convert.js';
import { EtcdErrorCode, etcdError, invalidRequest, toGrpcStatus } from './errors.js';
import { MALFORMED, WIRE_BYTES, type DecodedRequest, type WireHeader } from './wire.js';

/** setTimeout cannot wait longer than this (2^31 - 1 ms, about 24.8 days). */
const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

export interface EdgeLimits {
  /** etcd --max-txn-ops: operations per txn list. */
  readonly maxTxnOps: number;
  /** etcd --max-request-bytes: largest Put / Txn / DeleteRange request. */
  readonly maxRequestBytes: number;
  /**
   * A unary call that the backend has not answered after this long is failed
   * with "etcdserver: request timed out" (the backend's own timeouts should
   * normally fire first; this keeps a stuck backend from holding calls forever).
   */
  readonly requestTimeoutMs: number;
}

export interface EdgeContext {
  readonly backend: EtcdBackend;
  readonly limits: EdgeLimits;
}

export interface CallScope {
  readonly opts: CallOptions;
  /** Aborts the signal (the edge gave up on the call). */
  abort(reason: unknown): void;
  /** Clears the timers and listeners; call once the call is answered. */
  dispose(): void;
}

/** What every server call offers (grpc-js does not export its ServerSurfaceCall type). */
interface SurfaceCall {
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** The signal of one call: aborted on client cancel/disconnect or at the client's deadline. */
export function callScope(call: SurfaceCall): CallScope {
  const controller = new AbortController();
  const onCancelled = (): void => controller.abort(new DOMException('the client cancelled the call', 'AbortError'));
  call.on('cancelled', onCancelled);
  let timer: NodeJS.Timeout | undefined;
  const deadline = call.getDeadline();
  const deadlineEpochMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (Number.isFinite(deadlineEpochMs)) {
    const delayMs = Math.min(Math.max(0, deadlineEpochMs - Date.now()), TIMER_DELAY_MAX_MS);
    timer = setTimeout(() => controller.abort(new DOMException('the call deadline passed', 'TimeoutError')), delayMs);
  }
  const opts: CallOptions = Number.isFinite(deadlineEpochMs)
    ? { signal: controller.signal, deadlineEpochMs }
    : { signal: controller.signal };
  return {
    opts,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}

/**
 * The requests of a client stream, one at a time. Reading through the async
 * iterator leaves flow control to the stream (a flooding client is held back
 * by the stream buffer and HTTP/2 windows). `destroyOnReturn: false` matters:
 * the default iterator destroys the stream when the loop exits, and a
 * destroyed grpc-js stream can no longer send its final status.
 */
export function requestsOf<Req>(call: Readable): AsyncIterable<Req> {
  return call.iterator({ destroyOnReturn: false }) as AsyncIterable<Req>;
}

/** Throws the decoder's complaint for a request whose bytes could not be decoded. */
export function mustDecoded(req: unknown): void {
  const reason = (req as DecodedRequest)[MALFORMED];
  if (reason !== undefined) throw invalidRequest(reason);
}

/** etcd refuses requests above --max-request-bytes with "request is too large". */
export function mustFitRequestBytes(req: unknown, limits: EdgeLimits): void {
  const bytes = (req as DecodedRequest)[WIRE_BYTES] ?? 0;
  if (bytes > limits.maxRequestBytes) {
    throw etcdError(EtcdErrorCode.RequestTooLarge, `request is ${bytes} bytes; the limit is ${limits.maxRequestBytes}`);
  }
}

/** The response header: who answers, at `revision` (default: the backend's current one). */
export function wireHeader(backend: EtcdBackend, revision?: number): WireHeader {
  const h = backend.header();
  return headerToWire(revision === undefined ? h : { ...h, revision });
}

/**
 * Settles with `work`, or rejects when the call's signal aborts, or after
 * `timeoutMs` with TIMEOUT, aborting the signal so the backend stops waiting too.
 */
function withTimeout<T>(work: Promise<T>, timeoutMs: number, scope: CallScope): Promise<T> {
  const { signal } = scope.opts;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = etcdError(EtcdErrorCode.Timeout, `the backend gave no answer within ${timeoutMs} ms`);
      reject(err);
      scope.abort(err);
    }, timeoutMs);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/**
 * Runs one unary call: decode check, the handler with a scoped signal and the
 * edge timeout, then exactly one callback with the response or the mapped error.
 */
export function serveUnary<Req, Res>(
  ctx: EdgeContext,
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
  handle: (req: Req, opts: CallOptions) => Promise<Res>,
): void {
  const scope = callScope(call);
  const run = async (): Promise<Res> => {
    mustDecoded(call.request);
    return withTimeout(handle(call.request, scope.opts), ctx.limits.requestTimeoutMs, scope);
  };
  run().then(
    (res) => callback(null, res),
    (err: unknown) => callback(toGrpcStatus(err)),
  ).finally(() => scope.dispose());
}
