/**
 * What the two KvBackend implementations share: key conversion, the deadline
 * every call gets, the one table from etcd's error vocabulary to
 * KvBackendErrorCode, and the delivery rules of a watch (one onEvents call per
 * revision, ascending, each revision once, nothing after the end).
 */
import { EtcdErrorCode } from '../etcd-server/errors.js';
import { KvBackendError, KvBackendErrorCode, type KvEvent, type KvWatch, type KvWatchSink } from '../kv-backend.js';

/**
 * Bound on one call, on top of the caller's signal. etcd's own request timeout
 * is 5 s + 2 election timeouts (7 s by default); this leaves room for it to
 * answer with its own, more precise error first.
 */
export const CALL_DEADLINE_MS = 10_000;

/**
 * The key `currentRevision` reads (count only, so no value travels): any key
 * will do, since only the response header's revision is used.
 */
export const REVISION_PROBE_KEY = '/';

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

export function keyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * etcd's error codes (EtcdErrorCode; MvccErrorCode uses the same strings) that
 * are operating errors of the KvBackend contract. A code missing here (an
 * empty key, a duplicate key in a txn, a corrupt cluster) is a bug on one side
 * or the other and is passed on unchanged.
 */
const KV_CODE_OF_ETCD_CODE: Readonly<Partial<Record<EtcdErrorCode, KvBackendErrorCode>>> = {
  COMPACTED: KvBackendErrorCode.Compacted,
  NO_LEADER: KvBackendErrorCode.Unavailable,
  NOT_LEADER: KvBackendErrorCode.Unavailable,
  LEADER_CHANGED: KvBackendErrorCode.Unavailable,
  NOT_CAPABLE: KvBackendErrorCode.Unavailable,
  STOPPED: KvBackendErrorCode.Unavailable,
  TIMEOUT: KvBackendErrorCode.Unavailable,
  TIMEOUT_DUE_TO_LEADER_FAIL: KvBackendErrorCode.Unavailable,
  TIMEOUT_DUE_TO_CONNECTION_LOST: KvBackendErrorCode.Unavailable,
  UNHEALTHY: KvBackendErrorCode.Unavailable,
  NOT_SUPPORTED_FOR_LEARNER: KvBackendErrorCode.Unavailable,
  // Too many proposals in flight: the store sheds load, a retry later may pass.
  TOO_MANY_REQUESTS: KvBackendErrorCode.Unavailable,
  SLOW_CONSUMER: KvBackendErrorCode.Unavailable,
  REQUEST_TOO_LARGE: KvBackendErrorCode.Refused,
  NO_SPACE: KvBackendErrorCode.Refused,
  TOO_MANY_OPS: KvBackendErrorCode.Refused,
  // A read beyond the current revision, a put with a lease that expired, a TTL
  // beyond the store's limit: the store refuses this request as it stands.
  FUTURE_REVISION: KvBackendErrorCode.Refused,
  LEASE_NOT_FOUND: KvBackendErrorCode.Refused,
  LEASE_TTL_TOO_LARGE: KvBackendErrorCode.Refused,
};

const KNOWN_ETCD_CODES: ReadonlySet<string> = new Set(Object.values(EtcdErrorCode));

export function isEtcdErrorCode(code: unknown): code is EtcdErrorCode {
  return typeof code === 'string' && KNOWN_ETCD_CODES.has(code);
}

/** The KvBackendError for an etcd error code, or undefined when the code is not an operating error of the contract. */
export function kvErrorOfEtcdCode(code: EtcdErrorCode, message: string, compactRevision?: number): KvBackendError | undefined {
  const kvCode = KV_CODE_OF_ETCD_CODE[code];
  if (kvCode === undefined) return undefined;
  return new KvBackendError(kvCode, message, kvCode === KvBackendErrorCode.Compacted ? compactRevision : undefined);
}

export interface CallScope {
  /** Aborts when the caller aborts or the call's deadline passes. */
  readonly signal: AbortSignal;
  /** The call's deadline, Date.now() scale. */
  readonly deadlineEpochMs: number;
}

/**
 * Runs one store call under CALL_DEADLINE_MS and the caller's signal. The
 * returned promise settles when either aborts, even if the store does not
 * stop waiting (the etcd3 client cannot cancel a unary call; its gRPC deadline
 * ends it later). Errors: ABORTED when the caller aborted, UNAVAILABLE when the
 * deadline passed, otherwise whatever `run` threw, through `mapError`.
 */
export async function callWithDeadline<T>(
  what: string,
  callerSignal: AbortSignal | undefined,
  run: (scope: CallScope) => Promise<T>,
  mapError: (err: unknown) => unknown,
): Promise<T> {
  const deadline = AbortSignal.timeout(CALL_DEADLINE_MS);
  const signal = callerSignal === undefined ? deadline : AbortSignal.any([callerSignal, deadline]);
  try {
    signal.throwIfAborted();
    return await untilAborted(run({ signal, deadlineEpochMs: Date.now() + CALL_DEADLINE_MS }), signal);
  } catch (err) {
    if (callerSignal?.aborted === true) throw new KvBackendError(KvBackendErrorCode.Aborted, `${what}: the caller aborted`);
    if (deadline.aborted) throw new KvBackendError(KvBackendErrorCode.Unavailable, `${what}: no answer within ${CALL_DEADLINE_MS} ms`);
    throw err instanceof KvBackendError ? err : mapError(err);
  }
}

/** Settles like `work`, or rejects as soon as `signal` aborts; a later rejection of `work` is absorbed. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Splits events (ascending by revision) into runs of one revision each, in order. */
export function groupByRevision(events: readonly KvEvent[]): Array<{ revision: number; events: KvEvent[] }> {
  const groups: Array<{ revision: number; events: KvEvent[] }> = [];
  for (const event of events) {
    const revision = event.entry.modRevision;
    const last = groups[groups.length - 1];
    if (last !== undefined && last.revision === revision) last.events.push(event);
    else groups.push({ revision, events: [event] });
  }
  return groups;
}

/**
 * The delivery state of one watch. Every event and progress report passes
 * through here, so the KvWatchSink contract holds whatever the stream below
 * does: a resumed stream that repeats revisions is cut to what is new, and
 * nothing reaches the sink after the end.
 *
 * Invariant: every event of the watched range with a revision <=
 * `deliveredRevision` has been passed to the sink, and it only grows.
 *
 * A sink that throws is a bug in the sink; the exception is not caught here.
 */
export class WatchDelivery {
  private deliveredRevision: number;
  private ended = false;

  constructor(
    private readonly sink: KvWatchSink,
    startRevision: number,
  ) {
    this.deliveredRevision = startRevision - 1;
  }

  /** Where a resumed stream must start. */
  get nextRevision(): number {
    return this.deliveredRevision + 1;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Whole revisions, ascending; revisions already delivered are dropped. */
  events(events: readonly KvEvent[]): void {
    for (const group of groupByRevision(events)) {
      if (this.ended) return;
      if (group.revision <= this.deliveredRevision) continue;
      this.deliveredRevision = group.revision;
      this.sink.onEvents(group.revision, group.events);
    }
  }

  /** The stream below vouches that every event up to `revision` was passed to `events`. */
  progress(revision: number): void {
    if (this.ended || revision <= this.deliveredRevision) return;
    this.deliveredRevision = revision;
    this.sink.onProgress(revision);
  }

  /** Ends delivery for good; tells the sink why, unless the consumer cancelled (no reason). */
  end(reason?: { readonly compactRevision?: number; readonly error?: unknown }): void {
    if (this.ended) return;
    this.ended = true;
    if (reason !== undefined) this.sink.onClosed(reason);
  }
}

/** The error a watch ends with, and calls fail with, once the backend is closed. */
export function closedError(kind: string): KvBackendError {
  return new KvBackendError(KvBackendErrorCode.Unavailable, `the ${kind} KvBackend is closed`);
}

/**
 * A watch asked of a closed backend: it reports onClosed once `watch()` has
 * returned (a consumer may not expect a callback before it holds the handle),
 * unless it is cancelled first.
 */
export function closedWatch(sink: KvWatchSink, kind: string, startRevision: number): KvWatch {
  const delivery = new WatchDelivery(sink, startRevision);
  queueMicrotask(() => delivery.end({ error: closedError(kind) }));
  return { cancel: () => delivery.end() };
}
