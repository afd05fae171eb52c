/**
 * The watch hub: every watcher of this member shares the one stream of events
 * the state machine produces as it applies entries.
 *
 * A watcher is either synced (it has seen everything up to the current
 * revision and receives new revisions as they are applied) or catching up (it
 * started in the past, or the state was replaced by a snapshot): then it reads
 * history in bounded chunks, one chunk per turn of the event loop, until it
 * reaches the current revision and joins the synced set. Applying never waits
 * for a watcher; delivery into each watcher's stream is the edge's business
 * (it cancels a watcher whose client does not keep up).
 *
 * Invariant: a watcher receives every event of its range with revision >=
 * its start, in revision order, each once, whole revisions at a time.
 */
import type { WatchHandle, WatchSink } from '../etcd-server/backend.js';
import type { WatchRequest } from '../etcd-server/types.js';
import { keyIdOf, rangeContains, toKeyRange, type KeyRange } from '../mvcc/key-range.js';
import type { MvccStateMachine } from '../mvcc/state-machine.js';
import type { WatchEvent } from '../mvcc/types.js';
import { CompactedError } from '../mvcc/errors.js';

/** Events read from history per catch-up step: keeps one step short. */
export const CATCH_UP_EVENTS_PER_STEP = 1000;
/** Watchers per member; beyond this a new watch is refused rather than slowing every apply. */
export const MAX_WATCHERS = 100_000;

export interface WatchHubOptions {
  /** Events read from history per catch-up step; default CATCH_UP_EVENTS_PER_STEP (tests use tiny steps). */
  readonly catchUpEventsPerStep?: number;
}

interface Watcher {
  readonly range: KeyRange;
  readonly prevKv: boolean;
  readonly sink: WatchSink;
  /** The next revision this watcher has not seen. */
  nextRevision: number;
  synced: boolean;
  canceled: boolean;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly catchUpEventsPerStep: number;

  constructor(
    private readonly state: () => MvccStateMachine,
    options: WatchHubOptions = {},
  ) {
    this.catchUpEventsPerStep = options.catchUpEventsPerStep ?? CATCH_UP_EVENTS_PER_STEP;
  }

  get size(): number {
    return this.watchers.size;
  }

  register(req: WatchRequest, sink: WatchSink): WatchHandle | undefined {
    if (this.watchers.size >= MAX_WATCHERS) return undefined;
    const current = this.state().currentRevision;
    const start = req.startRevision <= 0 ? current + 1 : req.startRevision;
    const w: Watcher = {
      range: toKeyRange(req.key, req.rangeEnd),
      prevKv: req.prevKv,
      sink,
      nextRevision: start,
      synced: start > current,
      canceled: false,
    };
    this.watchers.add(w);
    if (!w.synced) this.scheduleCatchUp(w);
    return {
      revision: current,
      requestProgress: () => Promise.resolve(this.progressOf(w)),
      cancel: () => this.remove(w),
    };
  }

  /** Called after each applied write with the events of its one revision. */
  onApplied(revision: number, events: readonly WatchEvent[]): void {
    if (this.watchers.size === 0) return;
    // Decoded once per revision, not once per watcher: this runs on every apply.
    const keyIds = events.map((e) => keyIdOf(e.kv.key));
    for (const w of this.watchers) {
      if (!w.synced || revision < w.nextRevision) continue;
      const mine = this.select(w, events, keyIds);
      w.nextRevision = revision + 1;
      if (mine.length > 0) w.sink.onEvents(mine);
    }
  }

  /** The state was replaced by a snapshot: every watcher re-reads what it missed from history. */
  onRestored(): void {
    for (const w of this.watchers) {
      if (!w.synced) continue;
      w.synced = false;
      this.scheduleCatchUp(w);
    }
  }

  /** Cancels every watcher (the member is stopping). */
  closeAll(error: unknown): void {
    for (const w of [...this.watchers]) {
      this.remove(w);
      w.sink.onCanceled({ error });
    }
  }

  private remove(w: Watcher): void {
    w.canceled = true;
    this.watchers.delete(w);
  }

  /**
   * Every event of `w` up to the returned revision has been delivered. Never
   * past the store's revision: a watcher that starts in the future and is
   * catching up after a restore has nextRevision - 1 beyond it.
   */
  private progressOf(w: Watcher): number {
    const current = this.state().currentRevision;
    return w.synced ? current : Math.min(w.nextRevision - 1, current);
  }

  private select(w: Watcher, events: readonly WatchEvent[], keyIds: readonly string[]): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      if (rangeContains(w.range, keyIds[i]!)) out.push(asRequested(w, events[i]!));
    }
    return out;
  }

  private scheduleCatchUp(w: Watcher): void {
    setImmediate(() => this.catchUp(w));
  }

  private catchUp(w: Watcher): void {
    if (w.canceled || w.synced) return;
    const sm = this.state();
    const rangeEnd = rangeEndOf(w.range);
    const result = sm.readEvents({
      key: Buffer.from(w.range.start, 'latin1'),
      ...(rangeEnd === undefined ? {} : { rangeEnd }),
      startRevision: w.nextRevision,
      maxEvents: this.catchUpEventsPerStep,
    });
    if (!result.ok) {
      this.remove(w);
      if (result.error instanceof CompactedError) w.sink.onCanceled({ compactRevision: sm.compactRevision });
      else w.sink.onCanceled({ error: result.error });
      return;
    }
    const events = result.value.events.map((e) => asRequested(w, e));
    w.nextRevision = result.value.nextRevision;
    if (events.length > 0) w.sink.onEvents(events);
    if (w.canceled) return;
    // Synchronous with apply: nothing can be applied between this read and joining the synced set.
    if (w.nextRevision > sm.currentRevision) w.synced = true;
    else this.scheduleCatchUp(w);
  }
}

function rangeEndOf(r: KeyRange): Uint8Array | undefined {
  switch (r.kind) {
    case 'single':
      return undefined;
    case 'fromKey':
      return new Uint8Array([0]);
    case 'range':
      return Buffer.from(r.end, 'latin1');
  }
}

/** The event as this watcher asked for it: without prevKv unless requested. */
function asRequested(w: Watcher, e: WatchEvent): WatchEvent {
  return w.prevKv || e.prevKv === undefined ? e : { type: e.type, kv: e.kv };
}
