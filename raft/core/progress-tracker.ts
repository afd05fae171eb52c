/**
 * The current configuration (voters and learners), the leader's Progress for
 * each member, and the votes of an election. Quorums are majorities of voters;
 * learners never count.
 */
import { Progress } from './progress.js';
import type { ConfState } from './types.js';

export const VoteResult = {
  Pending: 'Pending',
  Won: 'Won',
  Lost: 'Lost',
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

export class ProgressTracker {
  voters = new Set<number>();
  learners = new Set<number>();
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();

  constructor(
    private readonly maxInflightMsgs: number,
    private readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  /**
   * Switches to `cs`: new members start probing at `nextIndex`. Removed members
   * listed in `retain` keep their progress (and so keep receiving the log, which
   * is how they learn of their removal) but never count toward a quorum.
   */
  applyConf(cs: ConfState, nextIndex: number, retain: readonly number[] = []): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners);
    const kept = new Set(retain);
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id) && !kept.has(id)) this.progress.delete(id);
    }
    for (const id of [...cs.voters, ...cs.learners]) {
      const existing = this.progress.get(id);
      if (existing !== undefined) {
        existing.isLearner = this.learners.has(id);
        continue;
      }
      const pr = new Progress(nextIndex, this.learners.has(id), this.maxInflightMsgs, this.maxInflightBytes);
      // A new member gets a full election timeout before it can cost the leader its quorum.
      pr.recentActive = true;
      this.progress.set(id, pr);
    }
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The largest index that a quorum of voters has matched (0 without voters). */
  committed(): number {
    if (this.voters.size === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1]!;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return this.voteResult(this.votes);
  }

  /** Outcome of a poll among voters; answers from non-voters are ignored. */
  voteResult(votes: ReadonlyMap<number, boolean> | ReadonlySet<number>): VoteResult {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = votes instanceof Set ? (votes.has(id) ? true : undefined) : (votes as ReadonlyMap<number, boolean>).get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    if (granted >= q) return VoteResult.Won;
    if (rejected > this.voters.size - q) return VoteResult.Lost;
    return VoteResult.Pending;
  }

  /** Check-quorum: has a quorum of voters been active (self counted by the caller)? */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress.get(id)?.recentActive === true) active++;
    return active >= this.quorum();
  }
}
