/**
 * KvBackend over any etcd v3 endpoint (a real etcd, or a strake master's
 * client port), through the `etcd3` client.
 *
 * One request per call: the client's retries and circuit breaker are off,
 * because a retried txn whose first attempt committed would report a compare
 * failure for a write that happened. The caller retries on UNAVAILABLE.
 *
 * Watches use etcd3's Watcher, which reconnects by itself, with two
 * corrections (see Etcd3Watch): it resumes from the revision after the last
 * one delivered (etcd3 resumes after the last response header's revision,
 * which skips events when a catch-up batch was cut short), and a server-side
 * cancel is examined for compaction (etcd3 drops the compact_revision).
 *
 * Progress comes from etcd's timed progress notifications, which the Watcher
 * requests on every watch (progress_notify) and passes on as responses
 * without events. Their pace is the server's
 * --experimental-watch-progress-notify-interval (10 minutes by default; a
 * deployment serving a watch cache should set a few seconds). etcd3 cannot send
 * a WatchProgressRequest, and on etcd before the fix of etcd-io/etcd#15220 the
 * answer to one could overtake events anyway. Progress is not derived from
 * reads: a key created and deleted between two reads leaves no trace in
 * either, so no read can prove that the watched range had no event.
 *
 * Numbers: revisions are exact. Lease ids granted here are chosen by this
 * client within the safe-integer range (etcd's own picks are 63-bit); a key
 * carrying a lease another client granted reports its id rounded.
 */
import { randomInt } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { ExponentialBackoff, noop } from 'cockatiel';
import {
  ClientClosedError,
  CompareResult,
  CompareTarget,
  Etcd3,
  EtcdWatchStreamEnded,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  type IEvent,
  type IKeyValue,
  type IRangeRequest,
  type IRequestOp,
  type IResponseOp,
  type IWatchResponse,
  type Watcher,
} from 'etcd3';
import { EtcdErrorCode, WIRE_ERRORS } from '../etcd-server/errors.js';
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
import { callWithDeadline, closedError, closedWatch, keyBytes, keyString, kvErrorOfEtcdCode, REVISION_PROBE_KEY, WatchDelivery } from './common.js';

export interface Etcd3KvBackendOptions {
  /** host:port of each member (or full http:// URLs). */
  readonly endpoints: readonly string[];
}

/** Lease ids this client picks lie in [1, 2^48): safe integers, and a collision with another lease is negligible. */
const LEASE_ID_LIMIT = 2 ** 48;
/** Attempts at a lease id before giving up; a second collision in a 2^48 space means something else is wrong. */
const LEASE_GRANT_ATTEMPTS_MAX = 3;
/** A binary search over revisions below 2^53 ends within 53 steps; this bounds it even if the store misbehaves. */
const COMPACT_SEARCH_STEPS_MAX = 64;
/** Longest pause between two attempts of a broken watch stream to reconnect (etcd3's default is 30 s). */
const WATCH_RECONNECT_MAX_MS = 5_000;
/** First pause after a watch stream breaks: a restarted member is usually back within a second. */
const WATCH_RECONNECT_FIRST_MS = 100;
/** Bound on finding out why the server cancelled a watch: a few dozen count-only reads at most. */
const WATCH_COMPACTION_PROBE_MS = 10_000;
/** How long `close()` waits for the server to confirm watch cancels before dropping the connection. */
const WATCH_CANCEL_WAIT_MS = 1_000;

export class Etcd3KvBackend implements KvBackend {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly watches = new Set<Etcd3Watch>();
  private closed = false;

  constructor(o: Etcd3KvBackendOptions) {
    if (o.endpoints.length === 0) throw new RangeError('Etcd3KvBackend needs at least one endpoint');
    this.client = new Etcd3({
      hosts: o.endpoints.map((e) => (e.includes('://') ? e : `http://${e}`)),
      faultHandling: {
        host: () => noop,
        global: noop,
        // etcd3 types this option as a backoff and uses it as a factory of backoffs; a backoff is both.
        watchBackoff: new ExponentialBackoff({ initialDelay: WATCH_RECONNECT_FIRST_MS, maxDelay: WATCH_RECONNECT_MAX_MS }).next(),
      },
    });
  }

  range(req: KvRangeRequest): Promise<KvRangeResponse> {
    const request: IRangeRequest = {
      key: keyBytes(req.key),
      ...(req.rangeEnd === undefined ? {} : { range_end: keyBytes(req.rangeEnd) }),
      revision: req.revision ?? 0,
      limit: req.limit ?? 0,
      count_only: req.countOnly ?? false,
    };
    return this.call('range', req.signal, req.revision, async (opts) => {
      const res = await this.client.kv.range(request, opts);
      return { entries: res.kvs.map(entryOf), count: Number(res.count), more: res.more, revision: Number(res.header.revision) };
    });
  }

  txn(req: KvTxnRequest): Promise<KvTxnResponse> {
    return this.call('txn', req.signal, undefined, async (opts) => {
      const res = await this.client.kv.txn(
        {
          compare: req.compare.map((c) => ({ key: keyBytes(c.key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: c.modRevision })),
          success: req.success.map(requestOpOf),
          failure: req.failure.map(requestOpOf),
        },
        opts,
      );
      const ops = res.succeeded ? req.success : req.failure;
      return { succeeded: res.succeeded, revision: Number(res.header.revision), results: ops.map((op, i) => resultOf(op, res.responses[i])) };
    });
  }

  watch(req: KvWatchRequest, sink: KvWatchSink): KvWatch {
    if (req.startRevision < 1) throw new RangeError(`watch of ${req.key}: startRevision must be >= 1, got ${req.startRevision}`);
    if (this.closed) return closedWatch(sink, this.kind, req.startRevision);
    const watch = new Etcd3Watch(this.client, req, sink, {
      compactRevisionAt: (revision) => this.compactRevisionAt(revision, Date.now() + WATCH_COMPACTION_PROBE_MS),
      onEnd: (w) => this.watches.delete(w),
    });
    this.watches.add(watch);
    return watch;
  }

  /** Picks the id itself (see the file comment); a collision with an existing lease is retried with another. */
  leaseGrant(ttlSeconds: number, signal?: AbortSignal): Promise<number> {
    return this.call('lease grant', signal, undefined, async (opts) => {
      for (let attempt = 1; ; attempt++) {
        const id = randomInt(1, LEASE_ID_LIMIT);
        try {
          await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }, opts);
          return id;
        } catch (err) {
          if (attempt >= LEASE_GRANT_ATTEMPTS_MAX || etcdCodeOf(err) !== EtcdErrorCode.LeaseExists) throw err;
        }
      }
    });
  }

  currentRevision(signal?: AbortSignal): Promise<number> {
    return this.call('current revision', signal, undefined, (opts) => this.readRevision(opts));
  }

  compact(revision: number, signal?: AbortSignal): Promise<void> {
    return this.call('compact', signal, revision, async (opts) => {
      await this.client.kv.compact({ revision, physical: false }, opts);
    });
  }

  /** Ends every watch (with UNAVAILABLE), asks the server to cancel them, then drops the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const cancels = [...this.watches].map((w) => w.end(closedError(this.kind)));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, WATCH_CANCEL_WAIT_MS)));
    await Promise.race([Promise.allSettled(cancels), bound]);
    clearTimeout(timer);
    this.client.close();
  }

  /**
   * One call under the common deadline. `readRevision`: the revision the call
   * reads at, if any; a COMPACTED answer then gets its compactRevision looked up.
   */
  private call<T>(what: string, signal: AbortSignal | undefined, readRevision: number | undefined, run: (opts: grpc.CallOptions) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.kind));
    return callWithDeadline(
      what,
      signal,
      async (scope) => {
        try {
          return await run({ deadline: scope.deadlineEpochMs });
        } catch (err) {
          const mapped = mapClientError(err);
          if (!(mapped instanceof KvBackendError) || mapped.code !== KvBackendErrorCode.Compacted || readRevision === undefined) throw mapped;
          const compactRevision = await this.compactRevisionAt(readRevision, scope.deadlineEpochMs).catch(() => undefined);
          throw new KvBackendError(KvBackendErrorCode.Compacted, mapped.message, compactRevision);
        }
      },
      mapClientError,
    );
  }

  private async readRevision(opts: grpc.CallOptions): Promise<number> {
    const res = await this.client.kv.range({ key: keyBytes(REVISION_PROBE_KEY), count_only: true, limit: 1 }, opts);
    return Number(res.header.revision);
  }

  /**
   * If `revision` is compacted, the oldest revision still readable; otherwise
   * undefined. etcd reports a compaction without saying where history now
   * begins. A read at r fails exactly when r is below the compaction point, and
   * the current revision is always readable, so a binary search between the
   * two finds the point with at most log2(current) count-only reads.
   */
  private async compactRevisionAt(revision: number, deadlineEpochMs: number): Promise<number | undefined> {
    const opts = { deadline: deadlineEpochMs };
    if (await this.isReadableAt(revision, opts)) return undefined;
    let compacted = revision;
    let readable = await this.readRevision(opts);
    for (let step = 0; compacted + 1 < readable; step++) {
      if (step >= COMPACT_SEARCH_STEPS_MAX) return undefined;
      const mid = compacted + Math.floor((readable - compacted) / 2);
      if (await this.isReadableAt(mid, opts)) readable = mid;
      else compacted = mid;
    }
    return readable > revision ? readable : undefined;
  }

  private async isReadableAt(revision: number, opts: grpc.CallOptions): Promise<boolean> {
    try {
      await this.client.kv.range({ key: keyBytes(REVISION_PROBE_KEY), count_only: true, limit: 1, revision }, opts);
      return true;
    } catch (err) {
      if (etcdCodeOf(err) === EtcdErrorCode.Compacted) return false;
      throw err;
    }
  }
}

// ---- errors -------------------------------------------------------------------

/**
 * etcd's error texts, longest first: the etcd3 client keeps the server's text
 * in the message (after "<status> <NAME>: "), and "request timed out, possibly
 * due to ..." must be found before "request timed out".
 */
const ETCD_TEXTS: readonly { readonly code: EtcdErrorCode; readonly text: string }[] = (Object.keys(WIRE_ERRORS) as EtcdErrorCode[])
  .map((code) => ({ code, text: WIRE_ERRORS[code].message }))
  .filter((e) => e.text !== '')
  .sort((a, b) => b.text.length - a.text.length);

function etcdCodeOf(err: unknown): EtcdErrorCode | undefined {
  if (!(err instanceof Error)) return undefined;
  return ETCD_TEXTS.find((e) => err.message.includes(e.text))?.code;
}

/** The client's errors as KvBackendError where the contract names them; anything else as is. */
export function mapClientError(err: unknown): unknown {
  if (err instanceof KvBackendError || !(err instanceof Error)) return err;
  const code = etcdCodeOf(err);
  if (code !== undefined) return kvErrorOfEtcdCode(code, err.message) ?? err;
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    // The server cancels calls when it shuts down; our own aborts never cancel a call.
    err instanceof GRPCCancelledError ||
    err instanceof EtcdWatchStreamEnded ||
    err instanceof ClientClosedError
  ) {
    return new KvBackendError(KvBackendErrorCode.Unavailable, err.message);
  }
  // gRPC's own size limit ("Received message larger than max"), before etcd's text applies.
  if (err instanceof GRPCResourceExhastedError) return new KvBackendError(KvBackendErrorCode.Refused, err.message);
  return err;
}

// ---- conversions --------------------------------------------------------------

function entryOf(kv: IKeyValue): KvEntry {
  return {
    key: keyString(kv.key),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: Number(kv.lease),
  };
}

/** proto-loader hands enums over by their proto names ("PUT"), whatever etcd3's typing says ("Put"). */
function eventOf(e: IEvent): KvEvent {
  const type = String(e.type).toUpperCase() === 'PUT' ? KvEventType.Put : KvEventType.Delete;
  // An absent prev_kv decodes as null.
  const prev = (e.prev_kv as IKeyValue | null | undefined) ?? undefined;
  return prev === undefined ? { type, entry: entryOf(e.kv) } : { type, entry: entryOf(e.kv), prev: entryOf(prev) };
}

function requestOpOf(op: KvOp): IRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: { key: keyBytes(op.key), value: Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength), lease: op.lease ?? 0 } };
    case 'delete':
      return { request_delete_range: { key: keyBytes(op.key) } };
    case 'get':
      return { request_range: { key: keyBytes(op.key) } };
  }
}

/** The response to `op`; a oneof, so only the member for the op's kind is set. */
function resultOf(op: KvOp, res: Partial<IResponseOp> | undefined): KvOpResult {
  switch (op.type) {
    case 'put':
      return { type: 'put' };
    case 'delete':
      return { type: 'delete', deleted: Number(res?.response_delete_range?.deleted ?? 0) > 0 };
    case 'get': {
      const kv = res?.response_range?.kvs[0];
      return kv === undefined ? { type: 'get' } : { type: 'get', entry: entryOf(kv) };
    }
  }
}

// ---- watch --------------------------------------------------------------------

interface Etcd3WatchHooks {
  /** The compaction point if `revision` is compacted, else undefined (backend.compactRevisionAt). */
  compactRevisionAt(revision: number): Promise<number | undefined>;
  onEnd(w: Etcd3Watch): void;
}

/**
 * One etcd3 Watcher, held to the KvWatchSink contract:
 *  - every reconnect resumes at the revision after the last one delivered (or
 *    reported as progress): the 'connecting' hook sets the create request's
 *    start_revision just before etcd3 sends it;
 *  - delivery goes through WatchDelivery, which drops anything at or below
 *    what was delivered, so no revision is delivered twice;
 *  - a response without events is a timed progress notification. etcd sends
 *    one only to a watcher that has caught up, through the same channel as
 *    its events, with the store's revision at that moment, so every event up
 *    to it has been sent before it.
 * etcd puts whole revisions in each response (its catch-up batches end on a
 * revision boundary, and fragmenting is off), which the grouping relies on.
 */
class Etcd3Watch implements KvWatch {
  private readonly delivery: WatchDelivery;
  private readonly watcher: Watcher;

  constructor(
    client: Etcd3,
    req: KvWatchRequest,
    sink: KvWatchSink,
    private readonly hooks: Etcd3WatchHooks,
  ) {
    this.delivery = new WatchDelivery(sink, req.startRevision);
    // watcher() rather than create(): the listeners are on before the first response can arrive.
    this.watcher = client
      .watch()
      .inRange({ start: keyBytes(req.key), end: keyBytes(req.rangeEnd) })
      .withPreviousKV()
      .startRevision(String(req.startRevision))
      .watcher();
    this.watcher.on('connecting', () => {
      this.watcher.request.start_revision = this.delivery.nextRevision;
    });
    this.watcher.on('data', (res: IWatchResponse) => this.onData(res));
    // Also keeps an 'error' event from being thrown, which an EventEmitter does without a listener.
    this.watcher.on('error', (err: unknown) => void this.onServerCancel(err));
  }

  cancel(): void {
    if (this.delivery.isEnded) return;
    this.delivery.end();
    void this.detach();
  }

  /** Ends with `error` and asks the server to cancel; resolves when it confirmed. */
  end(error: unknown): Promise<void> {
    this.delivery.end({ error });
    return this.detach();
  }

  private detach(): Promise<void> {
    this.hooks.onEnd(this);
    return this.watcher.cancel().catch(() => undefined);
  }

  private onData(res: IWatchResponse): void {
    if (res.events.length > 0) this.delivery.events(res.events.map(eventOf));
    else this.delivery.progress(Number(res.header.revision));
  }

  /**
   * The server cancelled the watch. For a compaction etcd says so only in the
   * compact_revision field, which etcd3 drops: find out with reads whether the
   * next revision is compacted, and where history begins.
   */
  private async onServerCancel(err: unknown): Promise<void> {
    if (this.delivery.isEnded) return;
    const compactRevision = await this.hooks.compactRevisionAt(this.delivery.nextRevision).catch(() => undefined);
    this.delivery.end(compactRevision !== undefined ? { compactRevision } : { error: mapClientError(err) });
    this.hooks.onEnd(this);
  }
}
