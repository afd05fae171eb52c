/**
 * KvBackend over this master's own store: the EtcdBackend of its member (the
 * replica's RaftBackend), called in-process with no gRPC in between. Reads
 * are linearizable (a ReadIndex round); writes go through the Raft log.
 *
 * Before proposing, a txn gets the checks the etcd edge would make (op budget,
 * duplicate keys, request size), so a request the store would refuse costs no
 * log entry here either.
 */
import { AssertionError } from '../../raft/core/assert.js';
import type { CallOptions, EtcdBackend, WatchHandle, WatchSink } from '../etcd-server/backend.js';
import { CompareResult, CompareTarget, EventType, type KeyValue, type RequestOp, type ResponseOp, type TxnRequest, type WatchEvent } from '../etcd-server/types.js';
import {
  KvBackendError,
  KvBackendErrorCode,
  KvEventType,
  type KvBackend,
  type KvEntry,
  type KvEvent,
  type KvOp,
  type KvOpResult,
  type KvRangeRequest,
  type KvRangeResponse,
  type KvTxnRequest,
  type KvTxnResponse,
  type KvWatch,
  type KvWatchRequest,
  type KvWatchSink,
} from '../kv-backend.js';
import { CompactedError } from '../mvcc/errors.js';
import { MAX_REQUEST_BYTES } from '../mvcc/limits.js';
import { validateRequestBytes, validateTxn } from '../mvcc/validate.js';
import {
  callWithDeadline,
  closedError,
  closedWatch,
  isEtcdErrorCode,
  keyBytes,
  keyString,
  kvErrorOfEtcdCode,
  REVISION_PROBE_KEY,
  WatchDelivery,
} from './common.js';

/**
 * How often a watch asks the store how far it has delivered: a cache
 * advances its revision at this pace while its keys see no writes.
 */
export const PROGRESS_INTERVAL_MS = 1_000;

/**
 * Events taken from the store but not yet passed to the consumer. The store
 * hands them over inside its apply step, so they are queued and passed on
 * from the event loop; a consumer that falls this far behind makes the watch
 * let go of the store's stream and re-read history once it has caught up
 * (10 000 Kubernetes objects of a few KB each: some tens of MB).
 */
export const PENDING_EVENTS_MAX = 10_000;

export class EmbeddedKvBackend implements KvBackend {
  readonly kind = 'embedded';
  private readonly watches = new Set<EmbeddedWatch>();
  private closed = false;

  constructor(private readonly store: EtcdBackend) {}

  range(req: KvRangeRequest): Promise<KvRangeResponse> {
    return this.call('range', req.signal, async (opts) => {
      const res = await this.store.range(
        {
          key: keyBytes(req.key),
          ...(req.rangeEnd === undefined ? {} : { rangeEnd: keyBytes(req.rangeEnd) }),
          revision: req.revision ?? 0,
          limit: req.limit ?? 0,
          countOnly: req.countOnly ?? false,
        },
        { ...opts, serializable: false },
      );
      return { entries: res.kvs.map(entryOf), count: res.count, more: res.more, revision: res.revision };
    });
  }

  txn(req: KvTxnRequest): Promise<KvTxnResponse> {
    return this.call('txn', req.signal, async (opts) => {
      const request = txnRequestOf(req);
      const refusal = validateTxn(request) ?? validateRequestBytes(payloadBytesOf(req), MAX_REQUEST_BYTES);
      if (refusal !== undefined) throw refusal;
      const res = await this.store.txn(request, opts);
      return { succeeded: res.succeeded, revision: res.revision, results: res.responses.map(resultOf) };
    });
  }

  watch(req: KvWatchRequest, sink: KvWatchSink): KvWatch {
    if (req.startRevision < 1) throw new RangeError(`watch of ${req.key}: startRevision must be >= 1, got ${req.startRevision}`);
    if (this.closed) return closedWatch(sink, this.kind, req.startRevision);
    const watch = new EmbeddedWatch(this.store, req, sink, (w) => this.watches.delete(w));
    this.watches.add(watch);
    return watch;
  }

  leaseGrant(ttlSeconds: number, signal?: AbortSignal): Promise<number> {
    return this.call('lease grant', signal, async (opts) => (await this.store.leaseGrant({ ttlSeconds, id: 0 }, opts)).id);
  }

  currentRevision(signal?: AbortSignal): Promise<number> {
    return this.call('current revision', signal, async (opts) => {
      const res = await this.store.range({ key: keyBytes(REVISION_PROBE_KEY), countOnly: true, limit: 1 }, { ...opts, serializable: false });
      return res.revision;
    });
  }

  compact(revision: number, signal?: AbortSignal): Promise<void> {
    return this.call('compact', signal, async (opts) => {
      await this.store.compact(revision, { ...opts, physical: false });
    });
  }

  /** Ends every watch (with UNAVAILABLE) and refuses further calls; the member itself is its owner's to stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watches]) w.end(closedError(this.kind));
  }

  private call<T>(what: string, signal: AbortSignal | undefined, run: (opts: CallOptions) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.kind));
    return callWithDeadline(what, signal, run, mapStoreError);
  }
}

/**
 * The store's typed errors (EtcdServerError, MvccError: both carry an
 * EtcdErrorCode) as KvBackendError; anything else is passed on as is.
 */
export function mapStoreError(err: unknown): unknown {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (!isEtcdErrorCode(code)) return err;
  const detail = (err as { detail?: unknown }).detail;
  const message = typeof detail === 'string' ? detail : err instanceof Error ? err.message : code;
  return kvErrorOfEtcdCode(code, message, err instanceof CompactedError ? err.compactRevision : undefined) ?? err;
}

// ---- conversions ----------------------------------------------------------

function entryOf(kv: KeyValue): KvEntry {
  return { key: keyString(kv.key), value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

function eventOf(e: WatchEvent): KvEvent {
  const type = e.type === EventType.Put ? KvEventType.Put : KvEventType.Delete;
  return e.prevKv === undefined ? { type, entry: entryOf(e.kv) } : { type, entry: entryOf(e.kv), prev: entryOf(e.prevKv) };
}

function txnRequestOf(req: KvTxnRequest): TxnRequest {
  return {
    compare: req.compare.map((c) => ({ target: CompareTarget.Mod, result: CompareResult.Equal, key: keyBytes(c.key), modRevision: c.modRevision })),
    success: req.success.map(requestOpOf),
    failure: req.failure.map(requestOpOf),
  };
}

function requestOpOf(op: KvOp): RequestOp {
  switch (op.type) {
    case 'put':
      return { op: 'put', request: { key: keyBytes(op.key), value: op.value, lease: op.lease ?? 0 } };
    case 'delete':
      return { op: 'deleteRange', request: { key: keyBytes(op.key) } };
    case 'get':
      return { op: 'range', request: { key: keyBytes(op.key) } };
  }
}

function resultOf(op: ResponseOp): KvOpResult {
  switch (op.op) {
    case 'put':
      return { type: 'put' };
    case 'deleteRange':
      return { type: 'delete', deleted: op.response.deleted > 0 };
    case 'range': {
      const kv = op.response.kvs[0];
      return kv === undefined ? { type: 'get' } : { type: 'get', entry: entryOf(kv) };
    }
    case 'txn':
      throw new AssertionError('a KvBackend txn has no nested txn, yet the store answered with one');
  }
}

/**
 * Keys and values of the request: what etcd's --max-request-bytes mostly
 * measures (its count adds a few bytes of encoding per op).
 */
function payloadBytesOf(req: KvTxnRequest): number {
  let bytes = 0;
  for (const c of req.compare) bytes += Buffer.byteLength(c.key);
  for (const op of [...req.success, ...req.failure]) bytes += Buffer.byteLength(op.key) + (op.type === 'put' ? op.value.byteLength : 0);
  return bytes;
}

// ---- watch -------------------------------------------------------------------

type Pending = { readonly kind: 'events'; readonly events: readonly KvEvent[] } | { readonly kind: 'progress'; readonly revision: number };
type CloseReason = { readonly compactRevision?: number; readonly error?: unknown };

/**
 * One watch on the store's watch hub. The hub's callbacks only queue (they run
 * inside the store's apply step); the queue is passed to the consumer from
 * the event loop, in order, progress included, so a progress report never
 * overtakes the events it vouches for.
 */
class EmbeddedWatch implements KvWatch {
  private readonly delivery: WatchDelivery;
  private readonly pending: Pending[] = [];
  private pendingEvents = 0;
  private drainScheduled = false;
  /** Set when the store ended the watch; reported after the queue is delivered. */
  private closeReason: CloseReason | undefined;
  /** Identifies the current registration with the hub; callbacks of an older one are ignored. */
  private generation = 0;
  private handle: WatchHandle | undefined;
  /** The hub's stream was let go because the consumer fell behind: register again once the queue is empty. */
  private suspended = false;
  private progressInFlight = false;
  private readonly progressTimer: NodeJS.Timeout;
  /** Aborts when the watch ends: the hub's "whole stream ended" signal. */
  private readonly stream = new AbortController();

  constructor(
    private readonly store: EtcdBackend,
    private readonly req: KvWatchRequest,
    sink: KvWatchSink,
    private readonly onEnd: (w: EmbeddedWatch) => void,
  ) {
    this.delivery = new WatchDelivery(sink, req.startRevision);
    this.progressTimer = setInterval(() => this.requestProgress(), PROGRESS_INTERVAL_MS).unref();
    this.register();
  }

  cancel(): void {
    this.delivery.end();
    this.release();
  }

  /** Ends at once, queue dropped (the backend is closing). */
  end(error: unknown): void {
    this.close({ error });
  }

  private close(reason: CloseReason): void {
    this.delivery.end(reason);
    this.release();
  }

  private register(): void {
    const generation = ++this.generation;
    const sink: WatchSink = {
      onEvents: (events) => {
        if (generation === this.generation) this.enqueueEvents(events.map(eventOf));
      },
      onCanceled: (reason) => {
        if (generation === this.generation) this.finish(closeReasonOf(reason));
      },
    };
    const request = { key: keyBytes(this.req.key), rangeEnd: keyBytes(this.req.rangeEnd), startRevision: this.delivery.nextRevision, prevKv: true };
    this.store.watch(request, sink, { signal: this.stream.signal }).then(
      (handle) => {
        if (generation === this.generation) this.handle = handle;
        else handle.cancel();
      },
      (err: unknown) => {
        if (generation === this.generation) this.finish({ error: mapStoreError(err) });
      },
    );
  }

  /** Leaves the hub's current registration: its callbacks are ignored from now on. */
  private detach(): void {
    this.generation++;
    this.handle?.cancel();
    this.handle = undefined;
  }

  private enqueueEvents(events: readonly KvEvent[]): void {
    if (events.length === 0) return;
    // One batch is taken even beyond the bound: a revision cannot be split.
    if (this.pending.length > 0 && this.pendingEvents + events.length > PENDING_EVENTS_MAX) {
      this.detach();
      this.suspended = true;
      return;
    }
    this.pending.push({ kind: 'events', events });
    this.pendingEvents += events.length;
    this.scheduleDrain();
  }

  private enqueueProgress(revision: number): void {
    const last = this.pending[this.pending.length - 1];
    if (last?.kind === 'progress') this.pending.pop();
    this.pending.push({ kind: 'progress', revision });
    this.scheduleDrain();
  }

  private finish(reason: CloseReason): void {
    this.detach();
    this.closeReason = reason;
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.drainScheduled = false;
    const items = this.pending.splice(0);
    this.pendingEvents = 0;
    for (const item of items) {
      if (this.delivery.isEnded) return;
      if (item.kind === 'events') this.delivery.events(item.events);
      else this.delivery.progress(item.revision);
    }
    if (this.delivery.isEnded) return;
    if (this.pending.length > 0) this.scheduleDrain();
    else if (this.closeReason !== undefined) this.close(this.closeReason);
    else if (this.suspended) {
      this.suspended = false;
      this.register();
    }
  }

  /**
   * The hub answers with R such that every event up to R has reached our
   * callbacks, i.e. is queued or delivered: the report joins the queue behind them.
   */
  private requestProgress(): void {
    const handle = this.handle;
    if (handle === undefined || this.progressInFlight) return;
    const generation = this.generation;
    this.progressInFlight = true;
    handle
      .requestProgress()
      .then((revision) => {
        if (generation === this.generation) this.enqueueProgress(revision);
      })
      .catch(() => undefined) // the next tick asks again
      .finally(() => (this.progressInFlight = false));
  }

  private release(): void {
    this.detach();
    clearInterval(this.progressTimer);
    this.pending.length = 0;
    this.pendingEvents = 0;
    this.stream.abort();
    this.onEnd(this);
  }
}

/** The hub's reason, in the contract's terms: a compaction, or a mapped error. */
function closeReasonOf(reason: { readonly compactRevision?: number; readonly error?: unknown }): CloseReason {
  if (reason.compactRevision !== undefined && reason.compactRevision > 0) return { compactRevision: reason.compactRevision };
  const error = reason.error ?? new KvBackendError(KvBackendErrorCode.Unavailable, 'the store ended the watch without a reason');
  return { error: mapStoreError(error) };
}
