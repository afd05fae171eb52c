/**
 * Safety checkers of the simulator. Each is fed events as they happen (a node
 * became leader, appended an entry, committed, applied) and throws
 * InvariantViolationError the moment a history breaks its invariant, so the
 * simulator stops at the step that broke it. Each checker is independent and
 * holds only what its invariant needs (incremental: no log is ever rescanned).
 */
import { formatHash } from './entry-hash.js';

export const Invariant = {
  /** At most one leader per term (Raft §5.2). */
  ElectionSafety: 'election-safety',
  /** Same index and term ⇒ identical prefix (§5.3). */
  LogMatching: 'log-matching',
  /** A new leader's log holds every entry committed so far (§5.4). */
  LeaderCompleteness: 'leader-completeness',
  /** No two replicas commit or apply different entries at one index (§5.4.3). */
  StateMachineSafety: 'state-machine-safety',
  /** Commit and applied indexes never go back within one incarnation; a restart keeps the durable commit. */
  Monotonicity: 'monotonicity',
  /** An acknowledged read saw every write committed before it began. */
  LinearizableRead: 'linearizable-read',
  /** The core threw something other than its documented typed errors, or failed an assertion. */
  UnexpectedError: 'unexpected-error',
} as const;
export type Invariant = (typeof Invariant)[keyof typeof Invariant];

export class InvariantViolationError extends Error {
  readonly code = 'INVARIANT_VIOLATION';
  constructor(
    readonly invariant: Invariant,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantViolationError';
  }
}

/**
 * Entries are keyed by index and term in one number. Terms stay far below
 * 2^20 in any bounded run; indexes far below 2^33, so the key is a safe integer.
 */
const TERM_KEY_SPAN = 0x10_0000;

function entryKey(index: number, term: number): number {
  if (term >= TERM_KEY_SPAN) throw new InvariantViolationError(Invariant.UnexpectedError, `term ${term} beyond ${TERM_KEY_SPAN}`);
  return index * TERM_KEY_SPAN + term;
}

export class ElectionSafetyChecker {
  private readonly leaderByTerm = new Map<number, number>();

  onLeader(nodeId: number, term: number): void {
    const other = this.leaderByTerm.get(term);
    if (other !== undefined && other !== nodeId) {
      throw new InvariantViolationError(
        Invariant.ElectionSafety,
        `node ${nodeId} became leader in term ${term}, which node ${other} already leads`,
      );
    }
    this.leaderByTerm.set(term, nodeId);
  }
}

export class LogMatchingChecker {
  private readonly prefixByEntry = new Map<number, { hash: number; nodeId: number }>();

  /** Node `nodeId` holds the entry (index, term) and its log's prefix hash there is `prefixHash`. */
  onEntry(nodeId: number, index: number, term: number, prefixHash: number): void {
    const key = entryKey(index, term);
    const seen = this.prefixByEntry.get(key);
    if (seen === undefined) {
      this.prefixByEntry.set(key, { hash: prefixHash, nodeId });
    } else if (seen.hash !== prefixHash) {
      throw new InvariantViolationError(
        Invariant.LogMatching,
        `entry index ${index} term ${term}: node ${nodeId} has prefix ${formatHash(prefixHash)}, ` +
          `node ${seen.nodeId} had ${formatHash(seen.hash)}`,
      );
    }
  }
}

/** A replica's log as the completeness check sees it. */
export interface LogView {
  lastIndex(): number;
  /** Prefix hash at `index`, or undefined when compacted away. */
  hashAt(index: number): number | undefined;
}

/**
 * Tracks what is committed (the prefix hash at every reported commit index must
 * agree) and checks that each new leader holds the highest committed entry —
 * which, with log matching, means it holds every committed entry.
 */
export class CommitChecker {
  private readonly hashByCommit = new Map<number, { hash: number; nodeId: number }>();
  private maxIndex = 0;
  private maxHash: number | undefined;

  /** Highest commit index reported by any replica so far. */
  get maxCommitIndex(): number {
    return this.maxIndex;
  }

  /** `nodeId` reports commit index `index`; `prefixHash` is its log's hash there (undefined if compacted). */
  onCommit(nodeId: number, index: number, prefixHash: number | undefined): void {
    if (prefixHash !== undefined) {
      const seen = this.hashByCommit.get(index);
      if (seen === undefined) {
        this.hashByCommit.set(index, { hash: prefixHash, nodeId });
      } else if (seen.hash !== prefixHash) {
        throw new InvariantViolationError(
          Invariant.StateMachineSafety,
          `commit index ${index}: node ${nodeId} committed prefix ${formatHash(prefixHash)}, ` +
            `node ${seen.nodeId} committed ${formatHash(seen.hash)}`,
        );
      }
    }
    if (index > this.maxIndex) {
      this.maxIndex = index;
      this.maxHash = prefixHash;
    }
  }

  onLeader(nodeId: number, term: number, log: LogView): void {
    const c = this.maxIndex;
    if (c === 0) return;
    if (log.lastIndex() < c) {
      throw new InvariantViolationError(
        Invariant.LeaderCompleteness,
        `node ${nodeId} became leader of term ${term} with last index ${log.lastIndex()}, but index ${c} is committed`,
      );
    }
    const h = log.hashAt(c);
    const committed = this.maxHash ?? this.hashByCommit.get(c)?.hash;
    if (h !== undefined && committed !== undefined && h !== committed) {
      throw new InvariantViolationError(
        Invariant.LeaderCompleteness,
        `node ${nodeId} became leader of term ${term} with prefix ${formatHash(h)} at committed index ${c}, ` +
          `committed prefix is ${formatHash(committed)}`,
      );
    }
  }
}

export class StateMachineChecker {
  private readonly hashByIndex = new Map<number, { hash: number; nodeId: number }>();
  private highest = 0;

  /** Highest index applied by any replica. */
  get maxAppliedIndex(): number {
    return this.highest;
  }

  /**
   * `nodeId` applied the entry at `index`; `prefixHash` covers everything it
   * applied up to there. Returns true when this is the first time anyone applied `index`.
   */
  onApply(nodeId: number, index: number, prefixHash: number): boolean {
    const seen = this.hashByIndex.get(index);
    if (seen === undefined) {
      this.hashByIndex.set(index, { hash: prefixHash, nodeId });
      if (index > this.highest) this.highest = index;
      return true;
    }
    if (seen.hash !== prefixHash) {
      throw new InvariantViolationError(
        Invariant.StateMachineSafety,
        `index ${index}: node ${nodeId} applied prefix ${formatHash(prefixHash)}, ` +
          `node ${seen.nodeId} applied ${formatHash(seen.hash)}`,
      );
    }
    return false;
  }

  /** A replica restored a snapshot standing for the prefix up to `index`. */
  onSnapshot(nodeId: number, index: number, prefixHash: number): void {
    const seen = this.hashByIndex.get(index);
    if (seen !== undefined && seen.hash !== prefixHash) {
      throw new InvariantViolationError(
        Invariant.StateMachineSafety,
        `snapshot at index ${index} on node ${nodeId} has prefix ${formatHash(prefixHash)}, ` +
          `node ${seen.nodeId} applied ${formatHash(seen.hash)}`,
      );
    }
  }
}

/** Commit and applied indexes of one incarnation of one replica. */
export class MonotonicityChecker {
  private commit = 0;
  private applied = 0;

  constructor(
    private readonly nodeId: number,
    private readonly incarnation: number,
  ) {}

  /** A restarted node must start at or above the commit index it had made durable. */
  onStart(durableCommit: number, commit: number, applied: number): void {
    if (commit < durableCommit) {
      this.fail(`restarted with commit index ${commit}, below the durable commit index ${durableCommit}`);
    }
    this.commit = commit;
    this.applied = applied;
  }

  onCommit(commit: number): void {
    if (commit < this.commit) this.fail(`commit index went back from ${this.commit} to ${commit}`);
    this.commit = commit;
  }

  onApplied(applied: number): void {
    if (applied < this.applied) this.fail(`applied index went back from ${this.applied} to ${applied}`);
    if (applied > this.commit) this.fail(`applied index ${applied} passed the commit index ${this.commit}`);
    this.applied = applied;
  }

  private fail(what: string): never {
    throw new InvariantViolationError(Invariant.Monotonicity, `node ${this.nodeId} (incarnation ${this.incarnation}) ${what}`);
  }
}
