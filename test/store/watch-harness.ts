/**
 * In-process replicas and a watch checker for the watch-hub property test.
 *
 * A replica applies commands from a log in order and can install a snapshot
 * image, the way a Raft member does; its watchers live in its WatchHub. Two
 * flavours: the real ReplicatedState (entries, snapshot image and hub wiring as
 * a member runs them), and a bare MvccStateMachine + any WatchHub (so a test
 * can shrink the catch-up step, or plant a broken hub).
 *
 * The checker holds, for each watcher, what it must see: every event of its
 * range with revision >= its start, in revision order, whole revisions per
 * call, prev_kv exactly when requested and the key existed (it may be missing
 * only where the revision before the event is compacted), and a cancellation
 * only when its next revision was compacted away. Violations are collected, not
 * thrown: the sinks run inside the hub (some from setImmediate), where a throw
 * would not reach the test.
 */
import type { WatchHandle, WatchSink } from '../../store/etcd-server/backend.js';
import type { WatchRequest } from '../../store/etcd-server/types.js';
import { applyCommand, encodeCommand, MvccStateMachine, type Command, type WatchEvent } from '../../store/mvcc/index.js';
import { encodeProposal } from '../../store/replica/proposal.js';
import { ReplicatedState } from '../../store/replica/replicated-state.js';
import { WatchHub } from '../../store/replica/watch-hub.js';
import { EntryType } from '../../raft/core/types.js';
import { b, str } from './helpers.js';
import { inRange, prefixEnd, type ModelEvent, type ModelRange } from './model.js';

export interface WatchedReplica {
  readonly mvcc: MvccStateMachine;
  /** Applies the log entry at `index` (1-based, in order). */
  apply(index: number, command: Command): void;
  /** The state image a follower would install. */
  snapshotImage(): Uint8Array;
  /** Replaces the state with an image taken at log index `index`. */
  install(image: Uint8Array, index: number): void;
  register(req: WatchRequest, sink: WatchSink): WatchHandle | undefined;
}

const SINGLE_TERM = 1;

/** The real thing: entries, snapshot image and hub wiring exactly as a member runs them. */
export function replicatedStateReplica(): WatchedReplica {
  const rs = new ReplicatedState({ onResult: () => undefined, onMembersChanged: () => undefined });
  return {
    get mvcc() {
      return rs.mvcc;
    },
    apply(index, command) {
      const data = encodeProposal({ requestId: `r-${index}`, kind: 'kv', command: encodeCommand(command) });
      rs.apply([{ term: SINGLE_TERM, index, type: EntryType.Normal, data }]);
      if (rs.appliedIndex !== index) throw new Error(`applied index ${rs.appliedIndex}, expected ${index}`);
    },
    snapshotImage: () => rs.snapshot(),
    install(image, index) {
      rs.restore({ metadata: { index, term: SINGLE_TERM, confState: { voters: [1], learners: [] } }, data: image });
    },
    register: (req, sink) => rs.watchHub.register(req, sink),
  };
}

/** A bare state machine with the hub `makeHub` builds over it (wired like ReplicatedState). */
export function hubReplica(makeHub: (state: () => MvccStateMachine) => WatchHub): WatchedReplica {
  let sm = new MvccStateMachine();
  const hub = makeHub(() => sm);
  return {
    get mvcc() {
      return sm;
    },
    apply(_index, command) {
      const result = applyCommand(command, sm);
      if (result.ok && result.events.length > 0) hub.onApplied(sm.currentRevision, result.events);
    },
    snapshotImage: () => sm.snapshot(),
    install(image) {
      const restored = MvccStateMachine.restore(image);
      if (!(restored instanceof MvccStateMachine)) throw restored;
      sm = restored;
      hub.onRestored();
    },
    register: (req, sink) => hub.register(req, sink),
  };
}

export function watchRequest(range: ModelRange, startRevision: number, prevKv: boolean): WatchRequest {
  const end = range.kind === 'single' ? '' : range.kind === 'fromKey' ? '\0' : range.kind === 'prefix' ? prefixEnd(range.key) : range.end;
  return { key: b(range.key), rangeEnd: b(end), startRevision, prevKv };
}

/** What the checker knows about one watcher. */
interface WatchRecord {
  readonly id: number;
  readonly range: ModelRange;
  /** The first revision it must deliver (0 in the request resolved to current + 1). */
  readonly start: number;
  readonly prevKv: boolean;
  /** Its start was already compacted when it registered: the hub must cancel it before any event. */
  readonly compactedAtStart: boolean;
  handle: WatchHandle | undefined;
  /** Events delivered so far; by the checks, always a prefix of `expected()`. */
  delivered: number;
  lastRevision: number;
  /** Highest revision R the handle reported with every event <= R delivered. */
  maxProgress: number;
  ended: 'no' | 'byClient' | 'byHub';
}

function viewOf(e: WatchEvent): ModelEvent {
  const prev = e.prevKv === undefined ? {} : { prev: str(e.prevKv.value) };
  return { type: e.type, key: str(e.kv.key), value: str(e.kv.value), modRevision: e.kv.modRevision, ...prev };
}

function same(a: ModelEvent, b: ModelEvent): boolean {
  return a.type === b.type && a.key === b.key && a.value === b.value && a.modRevision === b.modRevision;
}

export class WatchChecker {
  readonly violations: string[] = [];
  private readonly records: WatchRecord[] = [];

  /** `history`: every event the log has produced so far, in order (grows as writes are appended). */
  constructor(
    private readonly history: readonly ModelEvent[],
    private readonly replica: () => WatchedReplica,
  ) {}

  watch(range: ModelRange, startRevision: number, prevKv: boolean): void {
    const { currentRevision: current, compactRevision } = this.replica().mvcc;
    const start = startRevision <= 0 ? current + 1 : startRevision;
    const compactedAtStart = start < compactRevision;
    const rec: WatchRecord = { id: this.records.length, range, start, prevKv, compactedAtStart, handle: undefined, delivered: 0, lastRevision: 0, maxProgress: 0, ended: 'no' };
    this.records.push(rec);
    rec.handle = this.replica().register(watchRequest(range, startRevision, prevKv), this.sinkFor(rec));
    if (rec.handle === undefined) this.fail(rec, 'register refused a watcher far below MAX_WATCHERS');
    else if (rec.handle.revision !== current) this.fail(rec, `created at revision ${rec.handle.revision}, store is at ${current}`);
  }

  /** Cancels the `pick`-th live watcher (modulo), if any. */
  cancel(pick: number): void {
    const live = this.records.filter((r) => r.ended === 'no');
    const rec = live[pick % Math.max(1, live.length)];
    if (rec === undefined) return;
    rec.ended = 'byClient';
    rec.handle?.cancel();
  }

  /** Asks every live watcher for its progress and checks the answer against what it delivered. */
  async checkProgress(): Promise<void> {
    for (const rec of this.records) {
      if (rec.ended !== 'no' || rec.handle === undefined) continue;
      const current = this.replica().mvcc.currentRevision;
      const p = await rec.handle.requestProgress();
      if (rec.ended !== 'no') continue;
      if (p > current) this.fail(rec, `progress ${p} is past the store's revision ${current}`);
      const due = this.expected(rec).filter((e) => e.modRevision <= p).length;
      if (due > rec.delivered) this.fail(rec, `progress ${p} claimed, but only ${rec.delivered} of the ${due} events up to it were delivered`);
      rec.maxProgress = Math.max(rec.maxProgress, p);
    }
  }

  /** True when every live watcher reports progress at the store's revision (it has caught up). */
  async allCaughtUp(): Promise<boolean> {
    const current = this.replica().mvcc.currentRevision;
    for (const rec of this.records) {
      if (rec.ended !== 'no' || rec.handle === undefined) continue;
      if ((await rec.handle.requestProgress()) < current) return false;
    }
    return true;
  }

  /** At quiescence: every live watcher has delivered its whole expected stream. */
  checkComplete(): void {
    for (const rec of this.records) {
      if (rec.ended !== 'no') continue;
      if (rec.compactedAtStart) this.fail(rec, 'its start was compacted when it registered, but it was never cancelled');
      const want = this.expected(rec).length;
      if (rec.delivered !== want) this.fail(rec, `delivered ${rec.delivered} of ${want} events after catching up`);
    }
  }

  cancelAll(): void {
    for (const rec of this.records) {
      if (rec.ended === 'no') rec.ended = 'byClient';
      rec.handle?.cancel();
    }
  }

  private expected(rec: WatchRecord): ModelEvent[] {
    return this.history.filter((e) => e.modRevision >= rec.start && inRange(rec.range, e.key));
  }

  private fail(rec: WatchRecord, what: string): void {
    const r = rec.range;
    this.violations.push(`watcher ${rec.id} (${r.kind} ${JSON.stringify(r.key)} from ${rec.start}${rec.prevKv ? ', prevKv' : ''}): ${what}`);
  }

  private sinkFor(rec: WatchRecord): WatchSink {
    return {
      onEvents: (events) => this.onEvents(rec, events.map(viewOf)),
      onCanceled: (reason) => this.onCanceled(rec, reason),
    };
  }

  private onEvents(rec: WatchRecord, got: readonly ModelEvent[]): void {
    if (rec.ended !== 'no') return this.fail(rec, `events after it was cancelled (${rec.ended})`);
    if (got.length === 0) return this.fail(rec, 'an empty onEvents call');
    if (rec.compactedAtStart) this.fail(rec, 'events for a watcher whose start was compacted when it registered');
    const mvcc = this.replica().mvcc;
    const expected = this.expected(rec);
    const first = got[0]!.modRevision;
    if (first <= rec.lastRevision) this.fail(rec, `revision ${first} delivered after revision ${rec.lastRevision} (duplicate, reordered or split)`);
    for (const [i, e] of got.entries()) {
      const want = expected[rec.delivered + i];
      if (want === undefined || !same(e, want)) {
        return this.fail(rec, `event #${rec.delivered + i} is ${JSON.stringify(e)}, expected ${JSON.stringify(want ?? 'nothing')}`);
      }
      if (e.modRevision > mvcc.currentRevision) this.fail(rec, `event at ${e.modRevision}, beyond the store's revision ${mvcc.currentRevision}`);
      this.checkPrev(rec, e, want, mvcc.compactRevision);
    }
    rec.delivered += got.length;
    rec.lastRevision = got[got.length - 1]!.modRevision;
    const next = expected[rec.delivered];
    if (next !== undefined && next.modRevision === rec.lastRevision) this.fail(rec, `revision ${rec.lastRevision} split across calls`);
  }

  private checkPrev(rec: WatchRecord, got: ModelEvent, want: ModelEvent, compactRevision: number): void {
    const shouldHave = rec.prevKv && want.prev !== undefined;
    if (!shouldHave && got.prev !== undefined) return this.fail(rec, `prev_kv on ${JSON.stringify(got)} (requested: ${rec.prevKv})`);
    if (!shouldHave || got.prev === want.prev) return;
    // etcd reads prev_kv at modRevision - 1 when it sends the event; compacted, it is left out.
    if (got.prev === undefined && want.modRevision - 1 < compactRevision) return;
    this.fail(rec, `prev_kv of ${JSON.stringify(got)} should be ${JSON.stringify(want.prev)}`);
  }

  private onCanceled(rec: WatchRecord, reason: { readonly compactRevision?: number; readonly error?: unknown }): void {
    if (rec.ended !== 'no') return this.fail(rec, `cancelled by the hub after it was cancelled (${rec.ended})`);
    rec.ended = 'byHub';
    const compactRevision = this.replica().mvcc.compactRevision;
    if (reason.compactRevision === undefined) return this.fail(rec, `cancelled without a compact revision: ${String(reason.error)}`);
    if (reason.compactRevision !== compactRevision) this.fail(rec, `cancelled with compact revision ${reason.compactRevision}, the store's is ${compactRevision}`);
    // Its next revision is past everything it delivered and everything it reported as progress.
    const nextAtLeast = Math.max(rec.start, rec.lastRevision + 1, rec.maxProgress + 1);
    if (nextAtLeast >= reason.compactRevision) this.fail(rec, `cancelled as compacted at ${reason.compactRevision}, but its next revision is at least ${nextAtLeast}`);
  }
}
