/**
 * The driver around one RawNode, as a correct server runs it: for each Ready,
 * write (snapshot, entries, hard state) → fsync when mustSync → send → apply →
 * advance; then, every so often, snapshot the state machine and compact the
 * log. A crash loses the node and every unsynced write; `start()` rebuilds the
 * node from the durable disk contents alone. Everything the checkers need is
 * reported to a ReplicaObserver as it happens.
 */
import { assert } from '../../raft/core/assert.js';
import type { ConfChange } from '../../raft/core/conf-change.js';
import type { RaftConfig } from '../../raft/core/config.js';
import { RaftError, RaftErrorCode } from '../../raft/core/errors.js';
import { SeededRng } from '../../raft/core/rng.js';
import { RawNode } from '../../raft/core/raw-node.js';
import type { Entry, Message, ReadState, Ready, Snapshot, SoftState } from '../../raft/core/types.js';
import { isEmptySnapshot, StateRole } from '../../raft/core/types.js';
import type { Disk } from './disk.js';
import type { EntryHashSink } from './log-hashes.js';
import { LogHashes } from './log-hashes.js';
import { Invariant, InvariantViolationError, MonotonicityChecker } from './invariants.js';
import type { ApplyEffect } from './state-machine.js';
import { KvStateMachine, snapshotPrefixHash } from './state-machine.js';

/**
 * Ready batches handled per drain. One event rarely yields more than two or
 * three (a batch capped by maxCommittedSizePerReadyBytes); the rest waits for
 * the next event, as it would in a server loop.
 */
export const READY_ROUNDS_MAX = 16;

/** The RaftConfig fields the simulator chooses per seed (the rest belong to the replica). */
export type RaftTuning = Omit<RaftConfig, 'id' | 'storage' | 'rng' | 'appliedIndex'>;

export interface DriverOptions {
  /**
   * Planted bug: send messages before the writes they depend on are fsynced;
   * writes reach the disk only by periodic writeback, so a crash can lose a
   * vote or an entry that was already acknowledged.
   */
  readonly skipFsyncBeforeSend: boolean;
  /** Snapshot the state machine once this many entries were applied since the last snapshot. */
  readonly snapshotEveryEntries: number;
  /** Entries kept behind a snapshot, so slightly lagging followers still get entries. */
  readonly snapshotTrailingEntries: number;
}

export interface ReplicaObserver {
  send(from: Replica, msg: Message): void;
  entryHash(r: Replica, index: number, term: number, prefixHash: number): void;
  committed(r: Replica, commit: number, prefixHash: number | undefined): void;
  becameLeader(r: Replica): void;
  applied(r: Replica, index: number, prefixHash: number, effect: ApplyEffect): void;
  restoredSnapshot(r: Replica, index: number, prefixHash: number): void;
  readState(r: Replica, rs: ReadState): void;
}

/** Client operations and the typed errors each may legitimately end with. */
const EXPECTED_ERRORS = {
  propose: [RaftErrorCode.NotLeader, RaftErrorCode.ProposalDropped, RaftErrorCode.UncommittedLimit],
  proposeConfChange: [
    RaftErrorCode.NotLeader,
    RaftErrorCode.ProposalDropped,
    RaftErrorCode.UncommittedLimit,
    RaftErrorCode.ConfChangePending,
    RaftErrorCode.InvalidConfChange,
  ],
  readIndex: [RaftErrorCode.NotLeader, RaftErrorCode.ProposalDropped],
  transferLeadership: Object.values(RaftErrorCode),
  campaign: Object.values(RaftErrorCode),
} as const satisfies Record<string, readonly RaftErrorCode[]>;
export type ClientOp = keyof typeof EXPECTED_ERRORS;

/** 'ok', or the code of the expected typed error the operation ended with. */
export type OpOutcome = 'ok' | RaftErrorCode;

export class Replica {
  /** Bumped by every start; 0 = never started. */
  incarnation = 0;
  up = false;
  role: StateRole = StateRole.Follower;
  lead = 0;
  term = 0;
  commit = 0;
  sm = new KvStateMachine();
  private node: RawNode | undefined;
  private readonly hashes = new LogHashes();
  private monotonic = new MonotonicityChecker(0, 0);
  private readonly entrySink: EntryHashSink;

  constructor(
    readonly id: number,
    readonly disk: Disk,
    private readonly tuning: RaftTuning,
    private readonly driver: DriverOptions,
    private readonly observer: ReplicaObserver,
  ) {
    this.entrySink = (index, term, hash) => this.observer.entryHash(this, index, term, hash);
  }

  /** The replica's log as prefix hashes (for leader completeness). */
  get log(): LogHashes {
    return this.hashes;
  }

  /** Builds a fresh node from the durable disk contents: hard state, snapshot, entries. */
  start(rngSeed: number): void {
    assert(!this.up, () => `node ${this.id} is already up`);
    this.incarnation++;
    const storage = this.disk.storage;
    const snap = storage.snapshot();
    const hs = storage.initialState().hardState;
    this.sm = KvStateMachine.restore(snap);
    const snapIndex = snap.metadata.index;
    this.hashes.reset(snapIndex, this.sm.prefixHash);
    if (snapIndex > 0) this.observer.restoredSnapshot(this, snapIndex, this.sm.prefixHash);
    const first = Math.max(storage.firstIndex(), snapIndex + 1);
    const last = storage.lastIndex();
    if (last >= first) this.hashes.append(storage.entries(first, last + 1, Number.POSITIVE_INFINITY), first, this.entrySink);
    const node = new RawNode({ ...this.tuning, id: this.id, storage, rng: new SeededRng(rngSeed), appliedIndex: snapIndex });
    const st = node.status();
    this.node = node;
    this.up = true;
    this.term = st.term;
    this.commit = st.commit;
    this.role = st.role;
    this.lead = st.lead;
    this.monotonic = new MonotonicityChecker(this.id, this.incarnation);
    this.monotonic.onStart(hs.commit, st.commit, snapIndex);
  }

  /** Power loss: the node and every unsynced write are gone. */
  crash(): void {
    assert(this.up, () => `node ${this.id} is already down`);
    this.up = false;
    this.node = undefined;
    this.role = StateRole.Follower;
    this.lead = 0;
    this.disk.crash();
  }

  /** Background writeback of the page cache (only the buggy driver relies on it). */
  writeback(): void {
    this.disk.sync();
  }

  tick(): void {
    this.mustNode().tick();
    this.drain();
  }

  step(m: Message): void {
    this.mustNode().step(m);
    this.drain();
  }

  reportSnapshot(to: number, ok: boolean): void {
    this.mustNode().reportSnapshot(to, ok);
    this.drain();
  }

  reportUnreachable(to: number): void {
    this.mustNode().reportUnreachable(to);
    this.drain();
  }

  propose(data: Uint8Array): OpOutcome {
    return this.clientOp('propose', (n) => n.propose(data));
  }

  proposeConfChange(cc: ConfChange): OpOutcome {
    return this.clientOp('proposeConfChange', (n) => n.proposeConfChange(cc));
  }

  readIndex(ctx: string): OpOutcome {
    return this.clientOp('readIndex', (n) => n.readIndex(ctx));
  }

  transferLeadership(to: number): OpOutcome {
    return this.clientOp('transferLeadership', (n) => n.transferLeadership(to));
  }

  campaign(): OpOutcome {
    return this.clientOp('campaign', (n) => n.campaign());
  }

  /** Handles Ready batches until the node has none (bounded by READY_ROUNDS_MAX). */
  drain(): void {
    const node = this.mustNode();
    for (let round = 0; round < READY_ROUNDS_MAX && node.hasReady(); round++) {
      this.handleReady(node, node.ready());
    }
  }

  private clientOp(op: ClientOp, call: (n: RawNode) => void): OpOutcome {
    const node = this.mustNode();
    let outcome: OpOutcome = 'ok';
    try {
      call(node);
    } catch (err) {
      if (!(err instanceof RaftError) || !(EXPECTED_ERRORS[op] as readonly RaftErrorCode[]).includes(err.code)) {
        const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw new InvariantViolationError(Invariant.UnexpectedError, `${op} on node ${this.id} threw ${what}`);
      }
      outcome = err.code;
    }
    this.drain();
    return outcome;
  }

  private handleReady(node: RawNode, rd: Ready): void {
    this.persist(rd);
    if (rd.mustSync && !this.driver.skipFsyncBeforeSend) this.disk.sync();
    for (const m of rd.messages) this.observer.send(this, m);
    if (rd.softState !== undefined) this.updateRole(rd.softState);
    if (rd.snapshot !== undefined && !isEmptySnapshot(rd.snapshot)) this.restoreSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) this.observer.readState(this, rs);
    node.advance();
    this.maybeSnapshot();
  }

  private persist(rd: Ready): void {
    const snap = rd.snapshot;
    if (snap !== undefined && !isEmptySnapshot(snap)) {
      this.disk.applySnapshot(snap);
      const hash = snapshotPrefixHash(snap);
      this.hashes.reset(snap.metadata.index, hash);
      this.observer.entryHash(this, snap.metadata.index, snap.metadata.term, hash);
    }
    if (rd.entries.length > 0) {
      this.disk.append(rd.entries);
      this.hashes.append(rd.entries, this.disk.storage.firstIndex(), this.entrySink);
    }
    const hs = rd.hardState;
    if (hs !== undefined) {
      this.disk.setHardState(hs);
      this.term = hs.term;
      if (hs.commit !== this.commit) {
        this.monotonic.onCommit(hs.commit);
        this.commit = hs.commit;
        this.observer.committed(this, hs.commit, this.hashes.hashAt(hs.commit));
      }
    }
  }

  private updateRole(ss: SoftState): void {
    const wasLeader = this.role === StateRole.Leader;
    this.role = ss.role;
    this.lead = ss.lead;
    if (ss.role === StateRole.Leader && !wasLeader) this.observer.becameLeader(this);
  }

  private restoreSnapshot(snap: Snapshot): void {
    const index = snap.metadata.index;
    if (index <= this.sm.appliedIndex) {
      throw new InvariantViolationError(
        Invariant.Monotonicity,
        `node ${this.id} was handed a snapshot at ${index}, at or below its applied index ${this.sm.appliedIndex}`,
      );
    }
    this.sm = KvStateMachine.restore(snap);
    this.monotonic.onApplied(index);
    this.observer.restoredSnapshot(this, index, this.sm.prefixHash);
  }

  private applyEntry(e: Entry): void {
    if (e.index !== this.sm.appliedIndex + 1) {
      throw new InvariantViolationError(
        Invariant.Monotonicity,
        `node ${this.id} was handed entry ${e.index} to apply after applied index ${this.sm.appliedIndex}`,
      );
    }
    const effect = this.sm.apply(e);
    this.monotonic.onApplied(e.index);
    this.observer.applied(this, e.index, this.sm.prefixHash, effect);
  }

  /** The application snapshots its state and compacts the log, keeping some trailing entries. */
  private maybeSnapshot(): void {
    const storage = this.disk.storage;
    const applied = this.sm.appliedIndex;
    if (applied - storage.snapshot().metadata.index < this.driver.snapshotEveryEntries) return;
    if (applied > storage.lastIndex()) return;
    this.disk.createSnapshot(applied, this.sm.confState, this.sm.encodeSnapshot());
    const compactTo = applied - this.driver.snapshotTrailingEntries;
    if (compactTo >= storage.firstIndex()) {
      this.disk.compact(compactTo);
      this.hashes.compact(compactTo);
    }
    // The application fsyncs its snapshot; the buggy driver leaves it to writeback like everything else.
    if (!this.driver.skipFsyncBeforeSend) this.disk.sync();
  }

  private mustNode(): RawNode {
    assert(this.node !== undefined, () => `node ${this.id} is down`);
    return this.node;
  }
}
