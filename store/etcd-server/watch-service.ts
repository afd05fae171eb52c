/**
 * etcdserverpb.Watch: one bidi stream carries many watchers.
 *
 * Per stream, requests are handled one at a time in arrival order, so
 * "created" responses come back in the order of the create requests (the etcd3
 * client and etcdctl match them up by order). Watch ids are assigned like
 * etcd's: the requested id if non-zero, else the lowest free id counting up
 * from 0. Events that the backend delivers before the client has seen the
 * "created" response are held and sent right after it.
 *
 * Progress: a progress_request is answered with watch_id -1 and a header
 * revision R such that every watcher on the stream has delivered its events
 * up to R; watchers created with progress_notify get an empty response with
 * their own id when a whole interval passed without events.
 *
 * Like etcd, a client half-close does not end the stream (watchers keep
 * delivering); the stream ends when the client cancels or disconnects. A
 * client that stops reading is cut off with UNAVAILABLE once
 * WATCH_STREAM_BUFFERED_RESPONSES_MAX responses wait in the send buffer; it
 * can resume from its last revision on a new stream.
 */
import type { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { WatchHandle, WatchSink } from './backend.js';
import { callScope, mustDecoded, requestsOf, wireHeader, type CallScope, type EdgeContext } from './call.js';
import { eventToWire, safeInt } from './convert.js';
import { EtcdErrorCode, etcdError, toGrpcStatus } from './errors.js';
import type { WatchEvent } from './types.js';
import type { WireEvent, WireWatchCreateRequest, WireWatchRequest, WireWatchResponse } from './wire.js';
import { WatcherRegistry, type WatcherState } from './watcher-registry.js';

/** Responses waiting in one stream's send buffer before the client counts as stuck (about 1-2 s of a busy stream). */
export const WATCH_STREAM_BUFFERED_RESPONSES_MAX = 1024;
/** etcd's default interval for progress_notify (progressReportInterval). */
export const PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;
/** Encoded-size estimate per event beyond its key and value bytes (revisions, tags, prev_kv framing). */
const EVENT_OVERHEAD_BYTES = 64;
/** etcd's cancel_reason when a requested watch id is taken. */
const DUPLICATE_WATCH_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
/** etcd answers errors about no particular watcher with this id. */
const NO_WATCH_ID = -1;

export interface WatchServiceOptions {
  readonly progressNotifyIntervalMs: number;
}

function eventBytes(ev: WatchEvent): number {
  const prev = ev.prevKv === undefined ? 0 : ev.prevKv.key.length + ev.prevKv.value.length;
  return ev.kv.key.length + ev.kv.value.length + prev + EVENT_OVERHEAD_BYTES;
}

/** Splits events into groups of at most `bytesMax` (estimated), each holding at least one event. */
export function fragmentEvents(events: readonly WatchEvent[], bytesMax: number): WatchEvent[][] {
  const groups: WatchEvent[][] = [];
  let current: WatchEvent[] = [];
  let bytes = 0;
  for (const ev of events) {
    const size = eventBytes(ev);
    if (current.length > 0 && bytes + size > bytesMax) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(ev);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

class WatchStream {
  private readonly registry = new WatcherRegistry();
  private readonly scope: CallScope;
  private progressTimer: NodeJS.Timeout | undefined;
  private progressInFlight = false;
  private progressAgain = false;
  private closed = false;

  constructor(
    private readonly ctx: EdgeContext,
    private readonly call: grpc.ServerDuplexStream<WireWatchRequest, WireWatchResponse>,
    private readonly options: WatchServiceOptions,
  ) {
    this.scope = callScope(call);
    this.scope.opts.signal.addEventListener(
      'abort',
      () => {
        this.close();
        call.destroy(); // ends the request loop; the client is gone or past its deadline
      },
      { once: true },
    );
  }

  async run(): Promise<void> {
    try {
      for await (const req of requestsOf<WireWatchRequest>(this.call as unknown as Readable)) {
        if (this.closed) break;
        await this.handle(req);
      }
      // Half-close: keep delivering until the client cancels (etcd does the same).
    } catch (err) {
      this.fail(err);
    }
  }

  private async handle(req: WireWatchRequest): Promise<void> {
    mustDecoded(req);
    switch (req.request_union) {
      case 'create_request':
        return this.create(req.create_request!);
      case 'cancel_request':
        return this.cancel(safeInt('watch_id', req.cancel_request!.watch_id));
      case 'progress_request':
        return this.requestStreamProgress();
      case undefined:
        // An empty request: etcd ignores it rather than breaking the stream.
        return;
    }
  }

  private async create(creq: WireWatchCreateRequest): Promise<void> {
    const { backend } = this.ctx;
    const requestedId = safeInt('watch_id', creq.watch_id);
    const startRevision = safeInt('start_revision', creq.start_revision);
    // Like etcd, filter values it does not know are ignored.
    const filters = creq.filters.filter((f) => f === 'NOPUT' || f === 'NODELETE');
    const refused = (reason: string, id: number): void =>
      this.send({ header: wireHeader(backend), watch_id: id, created: true, canceled: true, cancel_reason: reason });
    if (startRevision < 0) return refused(`start_revision ${startRevision} is negative`, requestedId);
    const admitted = this.registry.admit(requestedId, {
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      progressNotify: creq.progress_notify,
      fragment: creq.fragment,
    });
    if (admitted === 'duplicate') return refused(DUPLICATE_WATCH_ID_REASON, NO_WATCH_ID);
    if (admitted === 'full') return refused(this.registry.fullReason(), NO_WATCH_ID);
    const state = admitted;
    // etcd: an empty key means "\0", the smallest key.
    const key = creq.key.length === 0 ? Buffer.from([0]) : creq.key;
    let handle: WatchHandle;
    try {
      const req = { key, rangeEnd: creq.range_end, startRevision, prevKv: creq.prev_kv };
      handle = await backend.watch(req, this.sinkFor(state), this.scope.opts);
    } catch (err) {
      this.registry.remove(state.id);
      return refused(String(toGrpcStatus(err).details), state.id);
    }
    if (this.closed) {
      handle.cancel();
      return;
    }
    // The backend may already have ended the watcher (compacted start); the
    // client still gets "created" first, then the held cancel response.
    if (!state.ended) state.handle = handle;
    this.send({ header: wireHeader(backend, handle.revision), watch_id: state.id, created: true });
    state.announced = true;
    for (const held of state.held.splice(0)) this.send(held);
    if (state.progressNotify && !state.ended) this.startProgressTimer();
  }

  private sinkFor(state: WatcherState): WatchSink {
    return {
      onEvents: (events) => this.deliver(state, events),
      onCanceled: ({ compactRevision, error }) => {
        if (state.ended || this.closed) return;
        this.registry.remove(state.id);
        state.ended = true;
        const res: WireWatchResponse = { header: wireHeader(this.ctx.backend), watch_id: state.id, canceled: true };
        if (compactRevision !== undefined && compactRevision > 0) res.compact_revision = compactRevision;
        if (error !== undefined) res.cancel_reason = String(toGrpcStatus(error).details);
        this.sendFor(state, res);
      },
    };
  }

  private deliver(state: WatcherState, events: readonly WatchEvent[]): void {
    if (state.ended || this.closed) return;
    const kept = events.filter((ev) => !(ev.type === 'PUT' ? state.noPut : state.noDelete));
    const last = kept[kept.length - 1];
    if (last === undefined) return;
    state.eventsSinceTick = true;
    const revision = Math.max(this.ctx.backend.header().revision, last.kv.modRevision);
    const header = wireHeader(this.ctx.backend, revision);
    const groups = state.fragment ? fragmentEvents(kept, this.ctx.limits.maxRequestBytes) : [kept];
    groups.forEach((group, i) => {
      const wireEvents: WireEvent[] = group.map(eventToWire);
      const res: WireWatchResponse = { header, watch_id: state.id, events: wireEvents };
      if (i < groups.length - 1) res.fragment = true;
      this.sendFor(state, res);
    });
  }

  /** Sends now if the client knows the watcher, else holds until its "created" response went out. */
  private sendFor(state: WatcherState, res: WireWatchResponse): void {
    if (state.announced) this.send(res);
    else if (!this.registry.hold(state, res)) this.fail(this.registry.slowError(state));
  }

  private cancel(id: number): void {
    const state = this.registry.get(id);
    // etcd sends nothing for an id it does not know.
    if (state === undefined || state.ended) return;
    state.ended = true;
    state.handle?.cancel();
    this.registry.remove(id);
    this.send({ header: wireHeader(this.ctx.backend), watch_id: id, canceled: true });
  }

  private requestStreamProgress(): void {
    if (this.progressInFlight) {
      this.progressAgain = true;
      return;
    }
    this.progressInFlight = true;
    const handles = this.registry.announcedHandles();
    void Promise.allSettled(handles.map((h) => h.requestProgress())).then((results) => {
      this.progressInFlight = false;
      const revisions = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const current = this.ctx.backend.header().revision;
      const revision = revisions.length === 0 ? current : Math.min(...revisions);
      this.send({ header: wireHeader(this.ctx.backend, revision), watch_id: NO_WATCH_ID });
      if (this.progressAgain) {
        this.progressAgain = false;
        this.requestStreamProgress();
      }
    });
  }

  private startProgressTimer(): void {
    if (this.progressTimer !== undefined || this.closed) return;
    this.progressTimer = setInterval(() => this.notifyIdleWatchers(), this.options.progressNotifyIntervalMs);
  }

  /** Sends a progress response to each progress_notify watcher that had no events for a whole interval. */
  private notifyIdleWatchers(): void {
    for (const state of this.registry.progressWatchers()) {
      if (state.eventsSinceTick) {
        state.eventsSinceTick = false;
        continue;
      }
      state.handle?.requestProgress().then(
        (revision) => {
          if (state.ended || this.closed || state.eventsSinceTick) return;
          this.send({ header: wireHeader(this.ctx.backend, revision), watch_id: state.id });
        },
        () => undefined, // the watcher ended meanwhile; its cancel response says why
      );
    }
  }

  private send(res: WireWatchResponse): void {
    if (this.closed) return;
    this.call.write(res);
    if (this.call.writableLength > WATCH_STREAM_BUFFERED_RESPONSES_MAX) {
      const detail = `watch stream closed: the client is ${this.call.writableLength} responses behind (limit ${WATCH_STREAM_BUFFERED_RESPONSES_MAX}); resume from the last revision`;
      this.fail(etcdError(EtcdErrorCode.SlowConsumer, detail));
    }
  }

  /** Ends the stream with the error's status (after what is already buffered). */
  private fail(err: unknown): void {
    if (this.closed) return;
    const aborted = this.scope.opts.signal.aborted;
    this.close();
    if (!aborted) this.call.emit('error', toGrpcStatus(err));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    this.registry.cancelAll();
    this.scope.dispose();
  }
}

export function watchService(ctx: EdgeContext, options: WatchServiceOptions): grpc.UntypedServiceImplementation {
  return {
    Watch: (call: grpc.ServerDuplexStream<WireWatchRequest, WireWatchResponse>) => {
      void new WatchStream(ctx, call, options).run();
    },
  };
}
