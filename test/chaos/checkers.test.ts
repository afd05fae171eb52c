/**
 * Each simulator checker, fed a hand-made history that breaks its invariant,
 * must fire — and must stay quiet on the matching good history. A checker
 * that cannot fail would let the simulator pass anything.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/core/types.js';
import { chainHash, EMPTY_PREFIX_HASH } from '../../chaos/sim/entry-hash.js';
import {
  CommitChecker,
  ElectionSafetyChecker,
  Invariant,
  InvariantViolationError,
  LogMatchingChecker,
  MonotonicityChecker,
  StateMachineChecker,
} from '../../chaos/sim/invariants.js';
import { LogHashes } from '../../chaos/sim/log-hashes.js';
import { ReadChecker } from '../../chaos/sim/read-checker.js';
import { encodeWrite } from '../../chaos/sim/state-machine.js';

function entry(index: number, term: number, id = index): Entry {
  return { index, term, type: 'Normal', data: encodeWrite({ key: id % 4, id }) };
}

/** Prefix hashes of a log given as terms: terms[k] is the term of index k+1. */
function prefixHashes(terms: readonly number[], idBase = 0): number[] {
  const out: number[] = [];
  let h = EMPTY_PREFIX_HASH;
  terms.forEach((term, k) => {
    h = chainHash(h, entry(k + 1, term, idBase + k + 1));
    out.push(h);
  });
  return out;
}

function violationOf(f: () => void): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof InvariantViolationError) return err.invariant;
    throw err;
  }
  return undefined;
}

describe('election safety', () => {
  it('fires on two leaders in one term', () => {
    const c = new ElectionSafetyChecker();
    c.onLeader(1, 5);
    c.onLeader(2, 6);
    c.onLeader(1, 5); // the same leader reported again is fine
    expect(violationOf(() => c.onLeader(3, 5))).toBe(Invariant.ElectionSafety);
  });
});

describe('log matching', () => {
  it('accepts logs that share (index, term) with the same prefix', () => {
    const c = new LogMatchingChecker();
    const h = prefixHashes([1, 1, 2]);
    h.forEach((hash, k) => c.onEntry(1, k + 1, [1, 1, 2][k]!, hash));
    h.forEach((hash, k) => c.onEntry(2, k + 1, [1, 1, 2][k]!, hash));
  });

  it('fires when the same (index, term) ends different prefixes', () => {
    const c = new LogMatchingChecker();
    // Node 1: terms [1, 1, 2]; node 2: [1, 2, 2] — index 3 has term 2 on both, prefixes differ.
    const a = prefixHashes([1, 1, 2]);
    const b = prefixHashes([1, 2, 2]);
    c.onEntry(1, 3, 2, a[2]!);
    expect(violationOf(() => c.onEntry(2, 3, 2, b[2]!))).toBe(Invariant.LogMatching);
  });

  it('fires through LogHashes when an entry with a known (index, term) carries other data', () => {
    const c = new LogMatchingChecker();
    const logs = [new LogHashes(), new LogHashes()];
    logs[0]!.append([entry(1, 1, 10), entry(2, 1, 11)], 1, (i, t, h) => c.onEntry(1, i, t, h));
    expect(
      violationOf(() => logs[1]!.append([entry(1, 1, 10), entry(2, 1, 99)], 1, (i, t, h) => c.onEntry(2, i, t, h))),
    ).toBe(Invariant.LogMatching);
  });
});

describe('commits and leader completeness', () => {
  const view = (hashes: readonly number[]) => ({
    lastIndex: () => hashes.length,
    hashAt: (i: number) => (i === 0 ? EMPTY_PREFIX_HASH : hashes[i - 1]),
  });

  it('accepts a new leader that holds the highest committed entry', () => {
    const c = new CommitChecker();
    const log = prefixHashes([1, 1, 2]);
    c.onCommit(1, 2, log[1]);
    c.onLeader(3, 3, view(log));
  });

  it('fires when a new leader lacks a committed index', () => {
    const c = new CommitChecker();
    const log = prefixHashes([1, 1, 2]);
    c.onCommit(1, 3, log[2]);
    expect(violationOf(() => c.onLeader(2, 3, view(log.slice(0, 2))))).toBe(Invariant.LeaderCompleteness);
  });

  it('fires when a new leader holds another entry at the committed index (Figure 8)', () => {
    const c = new CommitChecker();
    const committed = prefixHashes([1, 2]); // index 2 of term 2 committed by count in term 4
    const other = prefixHashes([1, 3]); // the term-3 leader's entry at index 2
    c.onCommit(1, 2, committed[1]);
    expect(violationOf(() => c.onLeader(5, 5, view(other)))).toBe(Invariant.LeaderCompleteness);
  });

  it('fires when two replicas commit different entries at one index', () => {
    const c = new CommitChecker();
    c.onCommit(1, 2, prefixHashes([1, 2])[1]);
    expect(violationOf(() => c.onCommit(2, 2, prefixHashes([1, 3])[1]))).toBe(Invariant.StateMachineSafety);
  });
});

describe('state machine safety', () => {
  it('fires when two replicas apply different entries at one index', () => {
    const c = new StateMachineChecker();
    const a = prefixHashes([1, 1, 1], 0);
    const b = prefixHashes([1, 1, 1], 100); // same terms, other proposals
    expect(c.onApply(1, 1, a[0]!)).toBe(true);
    expect(c.onApply(2, 1, a[0]!)).toBe(false);
    c.onApply(1, 2, a[1]!);
    expect(violationOf(() => c.onApply(2, 2, b[1]!))).toBe(Invariant.StateMachineSafety);
  });

  it('fires when a snapshot disagrees with what was applied at its index', () => {
    const c = new StateMachineChecker();
    c.onApply(1, 1, prefixHashes([1])[0]!);
    expect(violationOf(() => c.onSnapshot(2, 1, prefixHashes([2])[0]!))).toBe(Invariant.StateMachineSafety);
  });
});

describe('monotonicity', () => {
  it('fires when the commit index goes back within an incarnation', () => {
    const c = new MonotonicityChecker(1, 1);
    c.onStart(0, 3, 0);
    c.onCommit(5);
    expect(violationOf(() => c.onCommit(4))).toBe(Invariant.Monotonicity);
  });

  it('fires when the applied index goes back or passes the commit index', () => {
    const c = new MonotonicityChecker(1, 1);
    c.onStart(0, 5, 0);
    c.onApplied(4);
    expect(violationOf(() => c.onApplied(3))).toBe(Invariant.Monotonicity);
    expect(violationOf(() => c.onApplied(6))).toBe(Invariant.Monotonicity);
  });

  it('fires when a restart comes back below the durable commit index', () => {
    const c = new MonotonicityChecker(1, 2);
    expect(violationOf(() => c.onStart(7, 6, 0))).toBe(Invariant.Monotonicity);
  });
});

describe('linearizable reads', () => {
  /** History: index 1 writes key 0 (id 1), index 2 is a no-op, index 3 writes key 0 (id 3). */
  function withHistory(): ReadChecker {
    const c = new ReadChecker();
    c.onFirstApply(1, { key: 0, id: 1 });
    c.onFirstApply(2, undefined);
    c.onFirstApply(3, { key: 0, id: 3 });
    return c;
  }

  it('accepts a read that sees the last write committed before it', () => {
    const c = withHistory();
    c.onIssued('r1', 0, 3);
    c.onReadIndex('r1', 3);
    c.onServed('r1', 3, { id: 3, index: 3 });
  });

  it('fires when the read index is below what was committed when the read began', () => {
    const c = withHistory();
    c.onIssued('r1', 0, 3);
    expect(violationOf(() => c.onReadIndex('r1', 2))).toBe(Invariant.LinearizableRead);
  });

  it('fires on a stale value: an older write than one committed before the read', () => {
    const c = withHistory();
    c.onIssued('r1', 0, 3);
    c.onReadIndex('r1', 3);
    expect(violationOf(() => c.onServed('r1', 3, { id: 1, index: 1 }))).toBe(Invariant.LinearizableRead);
  });

  it('fires when the value does not match the history at the applied index', () => {
    const c = withHistory();
    c.onIssued('r1', 0, 1);
    c.onReadIndex('r1', 1);
    expect(violationOf(() => c.onServed('r1', 2, { id: 7, index: 2 }))).toBe(Invariant.LinearizableRead);
  });
});
