/**
 * Client load: writes with unique proposal ids sent to random live replicas
 * and retried (same id, so the state machine applies each once) until some
 * replica applies them; and linearizable reads through readIndex, served once
 * the replica has applied up to the read index.
 */
import { RaftErrorCode } from '../../raft/core/errors.js';
import type { Rng } from '../../raft/core/rng.js';
import type { ReadState } from '../../raft/core/types.js';
import type { Cluster, ClientHooks } from './cluster.js';
import type { Replica } from './replica.js';
import { encodeWrite } from './state-machine.js';

/** Registers written and read; few, so reads often race with writes to the same key. */
export const KEYS_COUNT = 8;
/** Unacknowledged proposals at once (client concurrency); beyond it no new proposal is issued. */
export const PENDING_PROPOSALS_MAX = 32;
/** A proposal silently lost (forwarded to a dead leader, truncated) is retried after this long; ~one election timeout. */
export const RETRY_AFTER_TICKS = 10;
/**
 * Each accepted-but-unacknowledged attempt doubles the wait, up to 2^3 × 10 =
 * 80 ticks: every retry appends another copy to the log, so eager retries
 * against a slow (tiny-window) leader would grow its backlog without bound.
 */
export const RETRY_BACKOFF_DOUBLINGS_MAX = 3;
/** After a refusal that names no leader, wait this long: an election is under way (a third of its timeout). */
export const NO_LEADER_RETRY_TICKS = 3;
/** Reads outstanding at once. */
export const PENDING_READS_MAX = 16;
/** A read not served within this long is abandoned by its client (two maximal election timeouts). */
export const READ_TIMEOUT_TICKS = 40;

export interface WorkloadRates {
  /** Mean new proposals per tick. */
  readonly proposalsPerTick: number;
  /** Mean new reads per tick. */
  readonly readsPerTick: number;
}

interface PendingProposal {
  readonly data: Uint8Array;
  /** Attempts the core accepted (each may have put a copy in some log). */
  accepted: number;
  /** Tick of the next attempt. */
  retryAtTick: number;
  /** Where to send the next attempt: the leader the last refusing replica named, if any. */
  hint: number;
}

interface PendingRead {
  readonly replicaId: number;
  readonly incarnation: number;
  readonly key: number;
  readonly issuedTick: number;
  readIndex: number | undefined;
}

export class Workload implements ClientHooks {
  private nextProposalId = 1;
  private nextReadId = 1;
  private readonly pending = new Map<number, PendingProposal>();
  private readonly reads = new Map<string, PendingRead>();
  /** Reads holding a read index, waiting for their replica to apply up to it. */
  private readsWaiting = 0;
  proposalsAcked = 0;
  readsServed = 0;

  constructor(
    private readonly rng: Rng,
    private readonly rates: WorkloadRates,
    private readonly cluster: Cluster,
  ) {}

  get pendingProposals(): number {
    return this.pending.size;
  }

  /** Once per tick: expire reads, retry proposals that are due, and (unless draining) issue new work. */
  onTick(tick: number, issueNew: boolean): void {
    this.expireReads(tick);
    this.retryDue(tick);
    if (!issueNew) return;
    for (let n = this.draw(this.rates.proposalsPerTick); n > 0 && this.pending.size < PENDING_PROPOSALS_MAX; n--) {
      const id = this.nextProposalId++;
      const p = { data: encodeWrite({ key: this.rng.nextInt(KEYS_COUNT), id }), accepted: 0, retryAtTick: tick, hint: 0 };
      this.pending.set(id, p);
      this.attempt(p, tick);
    }
    for (let n = this.draw(this.rates.readsPerTick); n > 0 && this.reads.size < PENDING_READS_MAX; n--) {
      this.issueRead(tick);
    }
  }

  acked(proposalId: number): void {
    if (this.pending.delete(proposalId)) this.proposalsAcked++;
  }

  readState(r: Replica, rs: ReadState): void {
    const p = this.reads.get(rs.requestCtx);
    // Duplicated responses, or a response reaching a later incarnation, are not this read's answer.
    if (p === undefined || p.replicaId !== r.id || p.incarnation !== r.incarnation || p.readIndex !== undefined) return;
    this.cluster.reads.onReadIndex(rs.requestCtx, rs.index);
    p.readIndex = rs.index;
    this.readsWaiting++;
  }

  serveReads(r: Replica): void {
    if (this.readsWaiting === 0) return;
    for (const [ctx, p] of this.reads) {
      if (p.replicaId !== r.id || p.readIndex === undefined || r.sm.appliedIndex < p.readIndex) continue;
      this.cluster.reads.onServed(ctx, r.sm.appliedIndex, r.sm.get(p.key));
      this.reads.delete(ctx);
      this.readsWaiting--;
      this.readsServed++;
    }
  }

  private attempt(p: PendingProposal, tick: number): void {
    const hinted = this.cluster.replicas.get(p.hint);
    const r = hinted?.up === true ? hinted : this.pickLive();
    if (r === undefined) {
      p.retryAtTick = tick + 1;
      return;
    }
    const outcome = r.propose(p.data);
    p.hint = outcome === RaftErrorCode.NotLeader ? r.lead : 0;
    // A typed refusal is known at once: try elsewhere next tick. Silence needs a timeout.
    if (outcome === 'ok') {
      p.retryAtTick = tick + RETRY_AFTER_TICKS * 2 ** Math.min(p.accepted, RETRY_BACKOFF_DOUBLINGS_MAX);
      p.accepted++;
    } else {
      p.retryAtTick = tick + (p.hint !== 0 ? 1 : NO_LEADER_RETRY_TICKS);
    }
    this.cluster.afterStep(r);
  }

  private retryDue(tick: number): void {
    for (const p of this.pending.values()) {
      if (p.retryAtTick <= tick) this.attempt(p, tick);
    }
  }

  private issueRead(tick: number): void {
    const r = this.pickLive();
    if (r === undefined) return;
    const ctx = `read-${this.nextReadId++}`;
    const key = this.rng.nextInt(KEYS_COUNT);
    this.reads.set(ctx, { replicaId: r.id, incarnation: r.incarnation, key, issuedTick: tick, readIndex: undefined });
    this.cluster.reads.onIssued(ctx, key, this.cluster.commits.maxCommitIndex);
    const outcome = r.readIndex(ctx);
    if (outcome !== 'ok' && this.reads.get(ctx)?.readIndex === undefined) this.forgetRead(ctx);
    this.cluster.afterStep(r);
  }

  private expireReads(tick: number): void {
    for (const [ctx, p] of this.reads) {
      const r = this.cluster.replicas.get(p.replicaId);
      const gone = r === undefined || !r.up || r.incarnation !== p.incarnation;
      if (gone || tick - p.issuedTick > READ_TIMEOUT_TICKS) this.forgetRead(ctx);
    }
  }

  private forgetRead(ctx: string): void {
    const p = this.reads.get(ctx);
    if (p === undefined) return;
    if (p.readIndex !== undefined) this.readsWaiting--;
    this.reads.delete(ctx);
    this.cluster.reads.forget(ctx);
  }

  private pickLive(): Replica | undefined {
    const live = this.cluster.liveReplicas();
    return live.length === 0 ? undefined : live[this.rng.nextInt(live.length)];
  }

  /** A count with mean `rate`: the integer part, plus one with the fractional part's probability. */
  private draw(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.rng.nextFloat() < rate - whole ? 1 : 0);
  }
}
