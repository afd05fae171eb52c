/**
 * The application's handle on a Raft node: feeds it ticks, messages and
 * requests, and takes its output as Ready batches (persist → send → apply →
 * advance). Synchronous and deterministic, like the state machine inside.
 */
import { assert } from './assert.js';
import type { ConfChange } from './conf-change.js';
import { encodeConfChange } from './conf-change.js';
import type { RaftConfig } from './config.js';
import { RaftError } from './errors.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import type { ConfState, Entry, HardState, Message, Ready, SoftState } from './types.js';
import { EntryType, MessageType, NONE, StateRole, hardStateEqual } from './types.js';

/** Message types that only the local node may generate; never accepted from the network. */
const LOCAL_ONLY_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Unreachable,
  MessageType.SnapStatus,
  MessageType.CheckQuorum,
]);

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly inflight: number;
}

export interface Status {
  readonly id: number;
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
  readonly applied: number;
  readonly lead: number;
  readonly role: StateRole;
  readonly confState: ConfState;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leadTransferee: number;
  /** Leader only: each member's replication progress. */
  readonly progress?: ReadonlyMap<number, ProgressStatus>;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet acknowledged by advance(). */
  private pending: Ready | undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.hardState();
  }

  get id(): number {
    return this.raft.id;
  }

  /** Index of the last entry handed to the application (cheaper than status()). */
  get applied(): number {
    return this.raft.raftLog.applied;
  }

  tick(): void {
    this.raft.tick();
  }

  campaign(): void {
    this.raft.step({ type: MessageType.Hup, from: NONE, to: this.raft.id, term: 0 });
  }

  /** Proposes `data` for the log. Throws NotLeaderError, ProposalDroppedError or UncommittedLimitError. */
  propose(data: Uint8Array): void {
    this.stepLocal(MessageType.Prop, [{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /** Proposes a membership change. Throws ConfChangePendingError, InvalidConfChangeError or NotLeaderError. */
  proposeConfChange(cc: ConfChange): void {
    this.stepLocal(MessageType.Prop, [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  /** Requests a linearizable read; a ReadState with `ctx` appears in a later Ready. */
  readIndex(ctx: string): void {
    this.raft.step({ type: MessageType.ReadIndex, from: NONE, to: this.raft.id, term: 0, context: ctx });
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeadership(transferee: number): void {
    this.raft.step({ type: MessageType.TransferLeader, from: transferee, to: this.raft.id, term: 0 });
  }

  reportUnreachable(id: number): void {
    this.raft.step({ type: MessageType.Unreachable, from: id, to: this.raft.id, term: 0 });
  }

  reportSnapshot(id: number, ok: boolean): void {
    this.raft.step({ type: MessageType.SnapStatus, from: id, to: this.raft.id, term: 0, reject: !ok });
  }

  /**
   * Feeds a message received from a peer. Local-only types are ignored, as are
   * refusals of forwarded requests (the requester times out and retries).
   * Returns false when the message was dropped.
   */
  step(m: Message): boolean {
    if (LOCAL_ONLY_TYPES.has(m.type)) return false;
    if (m.from === NONE || m.to !== this.raft.id) return false;
    try {
      this.raft.step(m);
      return true;
    } catch (err) {
      if (err instanceof RaftError) return false;
      throw err;
    }
  }

  private stepLocal(type: MessageType, entries: Entry[]): void {
    this.raft.step({ type, from: NONE, to: this.raft.id, term: 0, entries });
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(this.softState(), this.prevSoftState)) return true;
    if (!hardStateEqual(this.hardState(), this.prevHardState)) return true;
    if (r.raftLog.unstable.snapshot !== undefined) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.unstable.entries.length > 0) return true;
    return r.raftLog.hasNextCommittedEntries();
  }

  /** The pending work. Must be followed by advance() before the next ready(). */
  ready(): Ready {
    assert(this.pending === undefined, 'ready() called again before advance()');
    const r = this.raft;
    const soft = this.softState();
    const hard = this.hardState();
    const entries = r.raftLog.unstableEntries();
    const snapshot = r.raftLog.unstable.snapshot;
    const hardChanged = !hardStateEqual(hard, this.prevHardState);
    const rd: Ready = {
      ...(softStateEqual(soft, this.prevSoftState) ? {} : { softState: soft }),
      ...(hardChanged ? { hardState: hard } : {}),
      readStates: r.readStates,
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHardState.term ||
        hard.vote !== this.prevHardState.vote,
    };
    r.msgs = [];
    r.readStates = [];
    if (rd.softState !== undefined) this.prevSoftState = rd.softState;
    this.pending = rd;
    return rd;
  }

  /** Acknowledges the last Ready: its writes are durable, its messages sent and its entries applied. */
  advance(): void {
    const rd = this.pending;
    assert(rd !== undefined, 'advance() without a Ready');
    this.pending = undefined;
    const log = this.raft.raftLog;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      log.appliedTo(rd.snapshot.metadata.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) {
      log.stableTo(lastEntry.index, lastEntry.term);
      this.raft.onStablePersisted(lastEntry.index, lastEntry.term);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      log.appliedTo(lastCommitted.index);
      this.raft.reduceUncommittedBytes(rd.committedEntries);
    }
  }

  status(): Status {
    const r = this.raft;
    const base = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      confState: r.trk.confState(),
      firstIndex: r.raftLog.firstIndex(),
      lastIndex: r.raftLog.lastIndex(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role !== StateRole.Leader) return base;
    const progress = new Map<number, ProgressStatus>();
    for (const [id, pr] of r.trk.progress) {
      progress.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        recentActive: pr.recentActive,
        isLearner: pr.isLearner,
        inflight: pr.inflights.count,
      });
    }
    return { ...base, progress };
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.raftLog.committed };
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role;
}
