/**
 * The driver around a RawNode in a real process: ticks it from a timer, feeds it
 * peer messages and client requests, and runs the Ready loop in the order that
 * keeps acknowledged data safe:
 *
 *   persist (fsync) → send → apply → advance
 *
 * A message never leaves before the hard state and entries it depends on are on
 * disk; a committed entry is applied exactly once, in order (the state machine
 * is rebuilt from the latest snapshot plus the log at every start).
 */
import { assert } from '../core/assert.js';
import { applyConfChange, decodeConfChange, type ConfChange } from '../core/conf-change.js';
import type { RaftConfig } from '../core/config.js';
import { RawNode, type Status } from '../core/raw-node.js';
import type { Rng } from '../core/rng.js';
import type { ConfState, Entry, Message, ReadState, Ready, Snapshot } from '../core/types.js';
import { EntryType, MessageType } from '../core/types.js';
import type { LevelStorage } from '../storage/level-storage.js';
import { DriverStoppedError, ReadTimeoutError } from './errors.js';

/** What the driver applies committed entries to. */
export interface StateMachine {
  /** Applies committed entries in log order; conf-change entries are included for bookkeeping. */
  apply(entries: readonly Entry[]): void;
  /** Replaces the whole state with a snapshot image. */
  restore(snapshot: Snapshot): void;
  /** Serializes the state as of the last applied entry. */
  snapshot(): Uint8Array;
}

export interface Transport {
  /** Queues messages for their peers; must not block. */
  send(messages: readonly Message[]): void;
}

export interface RaftDriverOptions {
  readonly id: number;
  readonly storage: LevelStorage;
  readonly stateMachine: StateMachine;
  readonly transport: Transport;
  readonly rng: Rng;
  /** Duration of one tick; the heartbeat interval when heartbeatTicks is 1. etcd: 100 ms. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Take a state-machine snapshot after this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** Entries kept below a snapshot so slightly slow followers catch up from the log. */
  readonly snapshotCatchUpEntries: number;
  readonly raftConfig?: Partial<Omit<RaftConfig, 'id' | 'storage' | 'rng' | 'electionTicks' | 'heartbeatTicks'>>;
  /** Called with every new soft state (leader changes). */
  readonly onSoftState?: (s: { lead: number; role: string }) => void;
  readonly onError?: (err: unknown) => void;
}

interface ReadWaiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const EARLY_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.App,
  MessageType.Heartbeat,
  MessageType.Snap,
  MessageType.TimeoutNow,
  MessageType.Prop,
  MessageType.ReadIndex,
  MessageType.TransferLeader,
]);

/** Reads waiting for one ReadIndex round; bounded so a leaderless member pushes back. */
export const MAX_WAITING_READS = 16_384;

export class RaftDriver {
  readonly node: RawNode;
  private readonly opts: RaftDriverOptions;
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private stopped = false;
  /** Membership as of the last applied entry (what a snapshot records). */
  private appliedConf: ConfState;
  private lastSnapshotIndex: number;
  private readonly applyWaiters: Array<{ index: number; resolve: () => void }> = [];
  /** Reads that will share the next ReadIndex request. */
  private nextReadBatch: ReadWaiter[] = [];
  /** Reads whose ReadIndex request is out, by request context. */
  private readonly inflightReads = new Map<string, ReadWaiter[]>();
  private readCounter = 0;
  /** Term and vote as last made durable; a Ready that changes them sends nothing early. */
  private persistedTermVote: { term: number; vote: number };
  private readonly readsAwaitingApply: Array<{ index: number; waiters: ReadWaiter[] }> = [];

  constructor(opts: RaftDriverOptions) {
    this.opts = opts;
    const snap = opts.storage.snapshot();
    this.appliedConf = snap.metadata.confState;
    this.lastSnapshotIndex = snap.metadata.index;
    const hs = opts.storage.initialState().hardState;
    this.persistedTermVote = { term: hs.term, vote: hs.vote };
    if (snap.metadata.index > 0) opts.stateMachine.restore(snap);
    this.node = new RawNode({
      ...opts.raftConfig,
      id: opts.id,
      storage: opts.storage,
      rng: opts.rng,
      electionTicks: opts.electionTicks,
      heartbeatTicks: opts.heartbeatTicks,
      appliedIndex: snap.metadata.index,
    });
  }

  start(): void {
    assert(this.timer === undefined, 'driver already started');
    this.timer = setInterval(() => {
      this.node.tick();
      this.schedule();
    }, this.opts.tickMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const err = new DriverStoppedError();
    for (const w of this.nextReadBatch) w.reject(err);
    for (const ws of this.inflightReads.values()) for (const w of ws) w.reject(err);
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w.reject(err);
    this.nextReadBatch = [];
    this.inflightReads.clear();
    this.readsAwaitingApply.length = 0;
    // Let an in-flight Ready finish its write before the caller closes storage.
    for (let i = 0; i < 1000 && this.pumping; i++) await new Promise((r) => setTimeout(r, 5));
  }

  status(): Status {
    return this.node.status();
  }

  /** Feeds a message from a peer. */
  receive(m: Message): void {
    if (this.stopped) return;
    this.node.step(m);
    this.schedule();
  }

  reportUnreachable(id: number): void {
    this.node.reportUnreachable(id);
    this.schedule();
  }

  reportSnapshot(id: number, ok: boolean): void {
    this.node.reportSnapshot(id, ok);
    this.schedule();
  }

  /** Proposes data; throws the core's typed errors (NotLeaderError, ...). The caller waits for its apply. */
  propose(data: Uint8Array): void {
    if (this.stopped) throw new DriverStoppedError();
    this.node.propose(data);
    this.schedule();
  }

  /** Asks the leader (this member) to hand leadership to `to`. */
  transferLeadership(to: number): void {
    this.node.transferLeadership(to);
    this.schedule();
  }

  /** Proposes a membership change; throws the core's typed errors. */
  proposeConfChange(cc: ConfChange): void {
    if (this.stopped) throw new DriverStoppedError();
    this.node.proposeConfChange(cc);
    this.schedule();
  }

  /** Resolves once the state machine has applied at least `index`. */
  waitApplied(index: number): Promise<void> {
    if (this.node.applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.applyWaiters.push({ index, resolve }));
  }

  /**
   * Linearizable read barrier (ReadIndex): resolves when the local state machine
   * reflects every write committed before this call. Concurrent reads share one
   * ReadIndex round; a read joins the next round, never one already under way.
   */
  readBarrier(timeoutMs: number): Promise<void> {
    if (this.stopped) return Promise.reject(new DriverStoppedError());
    if (this.nextReadBatch.length >= MAX_WAITING_READS) {
      return Promise.reject(new ReadTimeoutError(`${MAX_WAITING_READS} reads are already waiting`));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ReadTimeoutError(`no read index within ${timeoutMs} ms`)), timeoutMs);
      this.nextReadBatch.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.maybeStartReadRound();
    });
  }

  private maybeStartReadRound(): void {
    if (this.inflightReads.size > 0 || this.nextReadBatch.length === 0) return;
    const batch = this.nextReadBatch;
    this.nextReadBatch = [];
    const ctx = `${this.opts.id}-${++this.readCounter}`;
    try {
      this.node.readIndex(ctx);
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
      return;
    }
    this.inflightReads.set(ctx, batch);
    // A lost ReadIndex round (leader change) must not strand its readers: they time out
    // individually, and the round is abandoned after a bounded wait so later reads proceed.
    const abandonAfterMs = this.opts.tickMs * this.opts.electionTicks * 2;
    setTimeout(() => {
      const stranded = this.inflightReads.get(ctx);
      if (stranded === undefined) return;
      this.inflightReads.delete(ctx);
      this.nextReadBatch.unshift(...stranded);
      this.maybeStartReadRound();
    }, abandonAfterMs).unref();
    this.schedule();
  }

  private onReadStates(readStates: readonly ReadState[]): void {
    for (const rs of readStates) {
      const waiters = this.inflightReads.get(rs.requestCtx);
      if (waiters === undefined) continue;
      this.inflightReads.delete(rs.requestCtx);
      this.readsAwaitingApply.push({ index: rs.index, waiters });
    }
    this.maybeStartReadRound();
  }

  private releaseApplied(applied: number): void {
    for (let i = this.readsAwaitingApply.length - 1; i >= 0; i--) {
      const r = this.readsAwaitingApply[i]!;
      if (r.index > applied) continue;
      this.readsAwaitingApply.splice(i, 1);
      for (const w of r.waiters) w.resolve();
    }
    for (let i = this.applyWaiters.length - 1; i >= 0; i--) {
      const w = this.applyWaiters[i]!;
      if (w.index > applied) continue;
      this.applyWaiters.splice(i, 1);
      w.resolve();
    }
  }

  /** Runs the Ready loop soon; coalesces many triggers into one pass. */
  private schedule(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        while (!this.stopped && this.node.hasReady()) await this.handleReady();
      } while (this.pumpAgain && !this.stopped);
    } catch (err) {
      // A failed fsync or apply leaves the member in an unknown state: stop, never guess.
      this.stopped = true;
      if (this.timer !== undefined) clearInterval(this.timer);
      this.opts.onError?.(err);
    } finally {
      this.pumping = false;
    }
  }

  private async handleReady(): Promise<void> {
    const rd = this.node.ready();
    const { early, late } = this.splitMessages(rd);
    // Appends and heartbeats do not depend on this Ready's writes (the leader counts
    // its own copy only once durable), so they overlap with the fsync (§10.2.1).
    if (early.length > 0) this.opts.transport.send(early);
    // Committed entries are durable on a quorum already, and the state machine is
    // rebuilt from the log at every start, so applying them need not wait for this
    // member's own write (the snapshot case keeps the strict order).
    const applyEarly = rd.snapshot === undefined;
    if (applyEarly) this.applyCommitted(rd.committedEntries);
    await this.opts.storage.persist(rd);
    if (rd.hardState !== undefined) this.persistedTermVote = { term: rd.hardState.term, vote: rd.hardState.vote };
    if (late.length > 0) this.opts.transport.send(late);
    if (rd.snapshot !== undefined) {
      this.opts.stateMachine.restore(rd.snapshot);
      this.appliedConf = rd.snapshot.metadata.confState;
      this.lastSnapshotIndex = rd.snapshot.metadata.index;
    }
    if (!applyEarly) this.applyCommitted(rd.committedEntries);
    if (rd.softState !== undefined) this.opts.onSoftState?.(rd.softState);
    this.node.advance();
    if (rd.readStates.length > 0) this.onReadStates(rd.readStates);
    const applied = this.node.applied;
    this.releaseApplied(applied);
    await this.maybeSnapshot(applied);
  }

  private applyCommitted(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) {
      if (e.type === EntryType.ConfChange) this.appliedConf = applyConfChange(this.appliedConf, decodeConfChange(e.data));
    }
    this.opts.stateMachine.apply(entries);
  }

  /**
   * Messages that may leave before this Ready is durable: a leader's appends,
   * heartbeats, snapshots and transfers, and forwarded requests — unless the Ready
   * changes term or vote, in which case everything waits for the fsync.
   */
  private splitMessages(rd: Ready): { early: Message[]; late: Message[] } {
    const hs = rd.hardState;
    const termOrVoteChanges = hs !== undefined && (hs.term !== this.persistedTermVote.term || hs.vote !== this.persistedTermVote.vote);
    if (termOrVoteChanges || rd.messages.length === 0) return { early: [], late: [...rd.messages] };
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) (EARLY_MESSAGE_TYPES.has(m.type) ? early : late).push(m);
    return { early, late };
  }

  private async maybeSnapshot(applied: number): Promise<void> {
    if (applied - this.lastSnapshotIndex < this.opts.snapshotEveryEntries) return;
    const data = this.opts.stateMachine.snapshot();
    const compactIndex = Math.max(0, applied - this.opts.snapshotCatchUpEntries);
    await this.opts.storage.createSnapshot(applied, this.appliedConf, data, compactIndex);
    this.lastSnapshotIndex = applied;
  }
}
