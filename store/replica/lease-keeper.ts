/**
 * Lease expiry, decided by the leader alone: every LEASE_EXPIRY_CHECK_MS the
 * leader proposes revokes for leases past their expiry. When a member becomes
 * leader it first proposes a promote that extends every lease by an election
 * timeout from its own clock (as etcd does), so no lease expires early because
 * leadership moved while its keep-alives were in flight.
 */
import { StateRole } from '../../raft/core/types.js';
import type { RaftBackend } from './raft-backend.js';
import type { ReplicatedState } from './replicated-state.js';
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import { encodeCommand } from '../mvcc/commands.js';
import { LEASE_EXPIRY_CHECK_MS, MAX_LEASE_REVOKES_PER_CHECK } from './limits.js';
import { encodeProposal } from './proposal.js';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private promotedTerm = 0;
  /** Revokes proposed and not yet applied, with when they were proposed. */
  private readonly revoking = new Map<number, number>();

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

  private propose(cmd: Parameters<typeof encodeCommand>[0]): void {
    try {
      this.driver.propose(encodeProposal({ requestId: this.backend.nextRequestId(), kind: 'kv', command: encodeCommand(cmd) }));
    } catch {
      // Not the leader any more, or pushed back: the next check tries again.
    }
  }

  private check(): void {
    const raft = this.driver.node.raft;
    if (raft.role !== StateRole.Leader) {
      this.revoking.clear();
      return;
    }
    const now = Date.now();
    if (this.promotedTerm !== raft.term) {
      if (!raft.committedEntryInCurrentTerm()) return; // the no-op first: it carries the new term's start
      this.promotedTerm = raft.term;
      this.propose({ op: 'leasePromote', request: { nowMs: now, extendMs: this.electionTimeoutMs } });
      return;
    }
    for (const [id, at] of this.revoking) if (now - at > this.electionTimeoutMs * 3) this.revoking.delete(id);
    const expired = this.state.mvcc.expiredLeases(now, MAX_LEASE_REVOKES_PER_CHECK);
    for (const id of expired) {
      if (this.revoking.has(id)) continue;
      this.revoking.set(id, now);
      this.propose({ op: 'leaseRevoke', request: { id } });
    }
  }
}
