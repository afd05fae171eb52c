/**
 * Lease expiry, decided by the leader alone: every LEASE_EXPIRY_CHECK_MS the
 * leader proposes revokes for leases past their expiry. When a member becomes
 * leader it first proposes a promote that restarts every lease's clock from its
 * own clock, extended by an election timeout (as etcd does), so no lease expires
 * early because leadership moved while its keep-alives were in flight, or
 * because the new leader's clock runs ahead of the old one's.
 *
 * The decision is `decideLeaseCommands`, a deterministic function of what the
 * keeper remembers and what it sees; `LeaseKeeper` is the timer around it.
 *
 * Invariants: a leader proposes no revoke before its own promote of this term
 * has been applied here (until then the expiries it would compare with its
 * clock were stamped with another member's clock); and a revoke it proposes
 * takes effect only if the lease is still expired when the entry applies (a
 * keep-alive committed while the revoke was in flight wins).
 */
import { StateRole } from '../../raft/core/types.js';
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import { encodeCommand } from '../mvcc/commands.js';
import type { LeasePromoteRequest, LeaseRevokeRequest } from '../mvcc/types.js';
import { LEASE_EXPIRY_CHECK_MS, MAX_LEASE_REVOKES_PER_CHECK } from './limits.js';
import type { RaftBackend } from './raft-backend.js';
import type { ReplicatedState } from './replicated-state.js';

/**
 * A promote or revoke proposed and not applied after this many election
 * timeouts is taken as lost (dropped with a leader change, or timed out) and
 * proposed again; long enough that a slow commit is not doubled.
 */
export const LEASE_PROPOSAL_RETRY_ELECTION_TIMEOUTS = 3;

/** What the keeper remembers between checks; `decideLeaseCommands` updates it. */
export interface LeaseKeeperMemory {
  /** The term the rest is about; leadership in a new term starts over. 0: not leader. */
  term: number;
  /** When (this member's clock) it proposed the promote of `term`; undefined: not yet. */
  promoteProposedAtMs: number | undefined;
  /** This member has applied its promote of `term`: every expiry is now in its clock. */
  promoteApplied: boolean;
  /** Revokes proposed in `term` and not yet applied, with when they were proposed. */
  readonly revoking: Map<number, number>;
}

export function newLeaseKeeperMemory(): LeaseKeeperMemory {
  return { term: 0, promoteProposedAtMs: undefined, promoteApplied: false, revoking: new Map() };
}

/** What one check sees. */
export interface LeaseCheckInput {
  readonly isLeader: boolean;
  readonly term: number;
  /** An entry of `term` (the leader's no-op) is committed: the log before it is final. */
  readonly committedEntryInCurrentTerm: boolean;
  /** This member's clock. */
  readonly nowMs: number;
  readonly electionTimeoutMs: number;
  /** Leases expired at `nowMs` in this member's applied state, soonest first, at most MAX_LEASE_REVOKES_PER_CHECK. */
  expiredLeases(nowMs: number): readonly number[];
}

export type LeaseKeeperCommand =
  | { readonly op: 'leasePromote'; readonly request: LeasePromoteRequest }
  | { readonly op: 'leaseRevoke'; readonly request: LeaseRevokeRequest };

function startTerm(memory: LeaseKeeperMemory, term: number): void {
  memory.term = term;
  memory.promoteProposedAtMs = undefined;
  memory.promoteApplied = false;
  memory.revoking.clear();
}

/** The commands one check proposes. Deterministic; updates `memory`. */
export function decideLeaseCommands(memory: LeaseKeeperMemory, input: LeaseCheckInput): LeaseKeeperCommand[] {
  if (!input.isLeader) {
    if (memory.term !== 0) startTerm(memory, 0);
    return [];
  }
  if (memory.term !== input.term) startTerm(memory, input.term);
  const now = input.nowMs;
  const retryMs = input.electionTimeoutMs * LEASE_PROPOSAL_RETRY_ELECTION_TIMEOUTS;
  if (!memory.promoteApplied) {
    // The no-op first: a promote must come after every entry of earlier terms.
    if (!input.committedEntryInCurrentTerm) return [];
    const at = memory.promoteProposedAtMs;
    if (at !== undefined && now - at <= retryMs) return [];
    memory.promoteProposedAtMs = now;
    return [{ op: 'leasePromote', request: { nowMs: now, extendMs: input.electionTimeoutMs } }];
  }
  for (const [id, at] of memory.revoking) if (now - at > retryMs) memory.revoking.delete(id);
  const commands: LeaseKeeperCommand[] = [];
  for (const id of input.expiredLeases(now)) {
    if (memory.revoking.has(id)) continue;
    memory.revoking.set(id, now);
    commands.push({ op: 'leaseRevoke', request: { id, ifExpiredAtMs: now } });
  }
  return commands;
}

/**
 * A command this member proposed as leader of `term` was applied here, or
 * failed (dropped, timed out). A failed promote is proposed again at the next
 * check; a settled revoke is forgotten, so a lease renewed meanwhile is judged
 * afresh.
 */
export function noteProposalSettled(memory: LeaseKeeperMemory, term: number, command: LeaseKeeperCommand, applied: boolean): void {
  if (memory.term !== term) return;
  if (command.op === 'leaseRevoke') memory.revoking.delete(command.request.id);
  else if (applied) memory.promoteApplied = true;
  else memory.promoteProposedAtMs = undefined;
}

/** The timer around `decideLeaseCommands` on a running member. */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private readonly memory = newLeaseKeeperMemory();

  constructor(
    private readonly driver: RaftDriver,
    private readonly state: ReplicatedState,
    private readonly backend: RaftBackend,
    private readonly electionTimeoutMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), LEASE_EXPIRY_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /**
   * Whether this member leads and has applied its promote of this term: only
   * then are the lease expiries in its own clock, so only then may it judge a
   * renewal or a remaining TTL (etcd's "primary lessor").
   */
  isPrimary(): boolean {
    const raft = this.driver.node.raft;
    return raft.role === StateRole.Leader && this.memory.term === raft.term && this.memory.promoteApplied;
  }

  private check(): void {
    const raft = this.driver.node.raft;
    const isLeader = raft.role === StateRole.Leader;
    const term = raft.term;
    const commands = decideLeaseCommands(this.memory, {
      isLeader,
      term,
      committedEntryInCurrentTerm: isLeader && raft.committedEntryInCurrentTerm(),
      nowMs: Date.now(),
      electionTimeoutMs: this.electionTimeoutMs,
      expiredLeases: (nowMs) => this.state.mvcc.expiredLeases(nowMs, MAX_LEASE_REVOKES_PER_CHECK),
    });
    for (const command of commands) this.propose(command, term);
  }

  /** Proposes, and tells the decision when this member has applied the entry (or it failed). */
  private propose(command: LeaseKeeperCommand, term: number): void {
    const proposal = { requestId: this.backend.nextRequestId(), kind: 'kv', command: encodeCommand(command) } as const;
    // Settles when this member applies the entry; rejects when it is not the
    // leader any more, the entry was dropped or timed out, or the member stops.
    this.backend.proposeAndWait(proposal, { signal: new AbortController().signal }).then(
      (outcome) => noteProposalSettled(this.memory, term, command, outcome.ok),
      () => noteProposalSettled(this.memory, term, command, false),
    );
  }
}
