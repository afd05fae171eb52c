/**
 * A small deterministic model of lease expiry under leader changes, for the
 * lease failover property test.
 *
 * Three replicas, each with a real MvccStateMachine, apply one command log in
 * order, each with its own apply lag. Each has its own clock (an offset from
 * the model's real time) and its own lease keeper memory, checked every
 * LEASE_EXPIRY_CHECK_MS at its own phase through the real decision function
 * (or a planted broken one). Only the leader proposes; it stamps grants and
 * keep-alives with its clock, as the commands expect. An entry commits after
 * its term's latency and after the term's no-op; a leader change leaves the
 * old leader's uncommitted entries dropped or carried into the next term, as
 * Raft may do either. Clients grant one lease each and send keep-alives at the
 * planned gaps, then stop.
 *
 * Observed, in real (model) time: every acknowledged grant or keep-alive (by
 * when it was sent) and every revoke (when it commits, the earliest any
 * replica can apply it and delete the lease's keys).
 */
import { applyCommand, MvccStateMachine, type Command } from '../../store/mvcc/index.js';
import {
  newLeaseKeeperMemory,
  noteProposalSettled,
  type LeaseCheckInput,
  type LeaseKeeperCommand,
  type LeaseKeeperMemory,
} from '../../store/replica/lease-keeper.js';
import { LEASE_EXPIRY_CHECK_MS, MAX_LEASE_REVOKES_PER_CHECK } from '../../store/replica/limits.js';

/** The model's time step; every planned time is a multiple of it. */
export const TICK_MS = 10;
export const REPLICAS = 3;
export const ELECTION_TIMEOUT_MS = 1000;
const MS_PER_SECOND = 1000;
/** Bound on the time the keep-alive plans may still run after the last leader change. */
export const KEEP_ALIVE_PLAN_MAX_MS = 120_000;

export interface LeasePlan {
  readonly ttlSeconds: number;
  readonly grantAtMs: number;
  /** Gaps between keep-alives (the first after the grant is sent), in percent of the TTL; then they stop. */
  readonly keepAliveGapsPct: readonly number[];
  /** The member the client is connected to (it forwards to the leader). */
  readonly member: number;
}

export interface LeaderChange {
  /** Time from the previous leader's election to this leader losing leadership. */
  readonly afterMs: number;
  /** Time without a leader. */
  readonly gapMs: number;
  readonly next: number;
  /** The old leader's uncommitted entries survive into the next term (else they are dropped). */
  readonly keepPending: boolean;
  /** Commit latency of the new term's entries. */
  readonly latencyMs: number;
  /** The new leader refuses its first proposal (a transfer in progress, the uncommitted-entry limit). */
  readonly refusesFirstProposal: boolean;
}

export interface LeaseSimConfig {
  readonly skewsMs: readonly number[];
  readonly checkPhasesMs: readonly number[];
  readonly applyLagsMs: readonly number[];
  readonly firstLatencyMs: number;
  readonly leases: readonly LeasePlan[];
  readonly changes: readonly LeaderChange[];
  /** Time after the last leader's election during which nothing fails. */
  readonly stableTailMs: number;
  /**
   * Grants and keep-alives carry the clock of the member the client talks to,
   * not the leader's. Off: the leader stamps them, as the lease commands expect.
   */
  readonly receiverStamps?: boolean;
}

export type Decide = (memory: LeaseKeeperMemory, input: LeaseCheckInput) => LeaseKeeperCommand[];

interface LogEntry {
  readonly command: Command;
  readonly proposer: number;
  readonly term: number;
  /** Infinity while its fate waits for the next leader. */
  commitAtMs: number;
  dropped: boolean;
  /** When the client sent the grant or keep-alive this entry carries. */
  readonly sentAtMs?: number;
}

interface Term {
  readonly number: number;
  readonly leader: number;
  readonly noopCommitAtMs: number;
  readonly latencyMs: number;
  refusesNext: boolean;
}

interface LeaseState {
  readonly id: number;
  readonly plan: LeasePlan;
  /** A grant is in the log and not yet known to have failed. */
  grantInFlight: boolean;
  granted: boolean;
  /** Send time of the newest acknowledged grant or keep-alive. */
  lastAckSentAtMs: number;
  /** Index of the next planned keep-alive; the plan is done when it reaches the end. */
  nextKeepAlive: number;
  nextKeepAliveAtMs: number;
  revokedAtMs: number | undefined;
}

export interface LeaseSimResult {
  readonly violations: readonly string[];
  /** Revokes that took effect (the model's own sanity: runs must exercise expiry). */
  readonly revokes: number;
  /** Leases the liveness bound was checked for. */
  readonly livenessChecked: number;
}

function isKeeperCommand(c: Command): c is LeaseKeeperCommand {
  return c.op === 'leasePromote' || c.op === 'leaseRevoke';
}

export class LeaseSim {
  private t = 0;
  private readonly replicas: MvccStateMachine[] = [];
  private readonly appliedUpTo: number[] = [];
  private readonly memories: LeaseKeeperMemory[] = [];
  /** Applies at commit time: the log's outcome, which every replica reaches. */
  private readonly reference = new MvccStateMachine();
  private referenceUpTo = 0;
  private readonly log: LogEntry[] = [];
  private term: Term | undefined;
  private termNumber = 1;
  private readonly leases: LeaseState[];
  private readonly violations: string[] = [];
  private revokes = 0;
  private livenessChecked = 0;
  private lastCommitAtMs = 0;

  constructor(
    private readonly config: LeaseSimConfig,
    private readonly decide: Decide,
  ) {
    for (let i = 0; i < REPLICAS; i++) {
      this.replicas.push(new MvccStateMachine());
      this.appliedUpTo.push(0);
      this.memories.push(newLeaseKeeperMemory());
    }
    this.term = { number: 1, leader: 0, noopCommitAtMs: config.firstLatencyMs, latencyMs: config.firstLatencyMs, refusesNext: false };
    this.leases = config.leases.map((plan, i) => ({
      id: i + 1,
      plan,
      grantInFlight: false,
      granted: false,
      lastAckSentAtMs: -Infinity,
      nextKeepAlive: 0,
      nextKeepAliveAtMs: Infinity,
      revokedAtMs: undefined,
    }));
  }

  run(): LeaseSimResult {
    let electedAtMs = 0;
    let latencyMs = this.config.firstLatencyMs;
    for (const change of this.config.changes) {
      this.runUntil(electedAtMs + change.afterMs);
      this.stepDown(change.keepPending);
      this.runUntil(this.t + change.gapMs);
      this.elect(change);
      electedAtMs = this.t;
      latencyMs = change.latencyMs;
    }
    // Stable from here: let every keep-alive plan finish, then leave time for expiry.
    const plansDoneByMs = this.t + KEEP_ALIVE_PLAN_MAX_MS;
    while (this.t < plansDoneByMs && this.leases.some((l) => !l.granted || l.nextKeepAliveAtMs !== Infinity)) this.runUntil(this.t + TICK_MS);
    const endMs = Math.max(this.t, electedAtMs) + this.config.stableTailMs;
    this.runUntil(endMs);
    this.checkLiveness(electedAtMs, latencyMs, endMs);
    this.checkReplicasAgree();
    return { violations: this.violations, revokes: this.revokes, livenessChecked: this.livenessChecked };
  }

  /**
   * With one leader since `electedAtMs`, a lease whose keep-alives stopped is
   * revoked by: its TTL after the last acknowledged keep-alive, or after the
   * promote (proposed at the first check after the no-op commits, extended by
   * an election timeout), whichever is later; plus one check interval and one
   * commit latency for the revoke itself.
   */
  private checkLiveness(electedAtMs: number, latencyMs: number, endMs: number): void {
    const lagMs = this.config.applyLagsMs[this.term!.leader]!;
    const promoteByMs = electedAtMs + latencyMs + LEASE_EXPIRY_CHECK_MS;
    for (const lease of this.leases) {
      const ttlMs = lease.plan.ttlSeconds * MS_PER_SECOND;
      const dueMs = Math.max(lease.lastAckSentAtMs + ttlMs, promoteByMs + ELECTION_TIMEOUT_MS + ttlMs, promoteByMs + latencyMs + lagMs);
      const deadlineMs = dueMs + LEASE_EXPIRY_CHECK_MS + latencyMs + TICK_MS;
      if (deadlineMs > endMs) {
        this.violations.push(`model: lease ${lease.id} cannot be judged, its deadline ${deadlineMs} ms is past the end ${endMs} ms`);
        continue;
      }
      this.livenessChecked++;
      if (lease.revokedAtMs === undefined || lease.revokedAtMs > deadlineMs) {
        this.violations.push(
          `lease ${lease.id} (ttl ${lease.plan.ttlSeconds}s, last acknowledged keep-alive sent at ${lease.lastAckSentAtMs} ms, leader since ${electedAtMs} ms) ` +
            `should be revoked by ${deadlineMs} ms, ${lease.revokedAtMs === undefined ? 'but never was' : `but was at ${lease.revokedAtMs} ms`}`,
        );
      }
    }
  }

  private runUntil(endMs: number): void {
    for (; this.t < endMs; this.t += TICK_MS) {
      this.applyCommitted();
      this.clients();
      this.checks();
    }
  }

  private clock(replica: number): number {
    return this.t + this.config.skewsMs[replica]!;
  }

  private stepDown(keepPending: boolean): void {
    for (const e of this.log) {
      if (e.dropped || e.commitAtMs <= this.t) continue;
      if (keepPending) e.commitAtMs = Infinity;
      else this.drop(e);
    }
    this.term = undefined;
  }

  private drop(e: LogEntry): void {
    e.dropped = true;
    if (isKeeperCommand(e.command)) noteProposalSettled(this.memories[e.proposer]!, e.term, e.command, false);
    const grant = e.command.op === 'leaseGrant' ? this.leases[e.command.request.id - 1] : undefined;
    if (grant !== undefined) grant.grantInFlight = false; // the client saw an error and grants again
  }

  private elect(change: LeaderChange): void {
    const { latencyMs } = change;
    const noopCommitAtMs = this.t + latencyMs;
    this.termNumber++;
    this.term = { number: this.termNumber, leader: change.next % REPLICAS, noopCommitAtMs, latencyMs, refusesNext: change.refusesFirstProposal };
    for (const e of this.log) if (e.commitAtMs === Infinity) e.commitAtMs = noopCommitAtMs;
  }

  /** The leader `proposer` appends `command`; false when it is not the leader or refuses. */
  private propose(proposer: number, command: Command, sentAtMs?: number): boolean {
    const term = this.term;
    if (term === undefined || term.leader !== proposer) return false;
    if (term.refusesNext) {
      term.refusesNext = false;
      return false;
    }
    // Log order is commit order: never before an earlier entry.
    const commitAtMs = Math.max(this.t + term.latencyMs, term.noopCommitAtMs, this.lastCommitAtMs);
    this.lastCommitAtMs = commitAtMs;
    this.log.push({ command, proposer, term: term.number, commitAtMs, dropped: false, ...(sentAtMs === undefined ? {} : { sentAtMs }) });
    return true;
  }

  private applyCommitted(): void {
    for (; this.referenceUpTo < this.log.length; this.referenceUpTo++) {
      const e = this.log[this.referenceUpTo]!;
      if (e.dropped) continue;
      if (e.commitAtMs > this.t) break;
      this.observe(e, applyCommand(e.command, this.reference).ok);
    }
    for (let i = 0; i < REPLICAS; i++) {
      for (; this.appliedUpTo[i]! < this.log.length; this.appliedUpTo[i]!++) {
        const e = this.log[this.appliedUpTo[i]!]!;
        if (e.dropped) continue;
        if (e.commitAtMs + this.config.applyLagsMs[i]! > this.t) break;
        const ok = applyCommand(e.command, this.replicas[i]!).ok;
        // What proposeAndWait reports to the proposer's keeper.
        if (e.proposer === i && isKeeperCommand(e.command)) noteProposalSettled(this.memories[i]!, e.term, e.command, ok);
      }
    }
  }

  /** The committed outcome of an entry, as clients and the safety property see it. */
  private observe(e: LogEntry, ok: boolean): void {
    const c = e.command;
    if (c.op === 'leaseGrant' || c.op === 'leaseRenew') {
      const lease = this.leases[c.request.id - 1]!;
      if (c.op === 'leaseGrant') {
        lease.grantInFlight = false;
        lease.granted ||= ok;
      }
      if (ok) lease.lastAckSentAtMs = Math.max(lease.lastAckSentAtMs, e.sentAtMs!);
    } else if (c.op === 'leaseRevoke' && ok && this.reference.lessor.get(c.request.id) === undefined) {
      // (An expiry revoke of a lease renewed meanwhile applies as a no-op: the lease is still there.)
      const lease = this.leases[c.request.id - 1]!;
      lease.revokedAtMs = e.commitAtMs;
      this.revokes++;
      const safeUntilMs = lease.lastAckSentAtMs + lease.plan.ttlSeconds * MS_PER_SECOND;
      if (e.commitAtMs < safeUntilMs) {
        this.violations.push(
          `lease ${lease.id} (ttl ${lease.plan.ttlSeconds}s) revoked at ${e.commitAtMs} ms by the leader of term ${e.term} (replica ${e.proposer}), ` +
            `but its last acknowledged keep-alive was sent at ${lease.lastAckSentAtMs} ms, so it must live until ${safeUntilMs} ms`,
        );
      }
    }
  }

  private clients(): void {
    const leader = this.term?.leader;
    for (const lease of this.leases) {
      const stamper = this.config.receiverStamps === true ? lease.plan.member % REPLICAS : leader ?? 0;
      if (!lease.granted && !lease.grantInFlight && this.t >= lease.plan.grantAtMs && leader !== undefined) {
        const request = { id: lease.id, ttlSeconds: lease.plan.ttlSeconds, nowMs: this.clock(stamper) };
        lease.grantInFlight = this.propose(leader, { op: 'leaseGrant', request }, this.t);
        if (lease.grantInFlight && lease.nextKeepAlive === 0) lease.nextKeepAliveAtMs = this.t + this.gapMs(lease);
      }
      if (this.t < lease.nextKeepAliveAtMs) continue;
      // A keep-alive without a leader fails at once; the client keeps its schedule.
      if (leader !== undefined) this.propose(leader, { op: 'leaseRenew', request: { id: lease.id, nowMs: this.clock(stamper) } }, this.t);
      lease.nextKeepAlive++;
      lease.nextKeepAliveAtMs = lease.nextKeepAlive < lease.plan.keepAliveGapsPct.length ? this.t + this.gapMs(lease) : Infinity;
    }
  }

  private gapMs(lease: LeaseState): number {
    const pct = lease.plan.keepAliveGapsPct[lease.nextKeepAlive] ?? 0;
    const ms = (lease.plan.ttlSeconds * MS_PER_SECOND * pct) / 100;
    return Math.max(TICK_MS, Math.round(ms / TICK_MS) * TICK_MS);
  }

  private checks(): void {
    for (let i = 0; i < REPLICAS; i++) {
      if ((this.t - this.config.checkPhasesMs[i]!) % LEASE_EXPIRY_CHECK_MS !== 0) continue;
      const term = this.term;
      const isLeader = term?.leader === i;
      const commands = this.decide(this.memories[i]!, {
        isLeader,
        term: isLeader ? term!.number : 0,
        committedEntryInCurrentTerm: isLeader && this.t >= term!.noopCommitAtMs,
        nowMs: this.clock(i),
        electionTimeoutMs: ELECTION_TIMEOUT_MS,
        expiredLeases: (nowMs) => this.replicas[i]!.expiredLeases(nowMs, MAX_LEASE_REVOKES_PER_CHECK),
      });
      for (const command of commands) {
        if (!this.propose(i, command)) noteProposalSettled(this.memories[i]!, term?.number ?? 0, command, false);
      }
    }
  }

  /** Every replica, having applied the whole log, holds the same leases as the log's outcome. */
  private checkReplicasAgree(): void {
    for (; this.referenceUpTo < this.log.length; this.referenceUpTo++) {
      const e = this.log[this.referenceUpTo]!;
      if (!e.dropped) this.observe(e, applyCommand(e.command, this.reference).ok);
    }
    const want = JSON.stringify(this.reference.lessor.snapshot());
    for (const [i, sm] of this.replicas.entries()) {
      for (const e of this.log.slice(this.appliedUpTo[i])) if (!e.dropped) applyCommand(e.command, sm);
      const got = JSON.stringify(sm.lessor.snapshot());
      if (got !== want) this.violations.push(`replica ${i} ended with leases ${got}, the log's outcome is ${want}`);
    }
  }
}
