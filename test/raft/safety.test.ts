/**
 * The safety checker must catch what it claims to: each test plants one
 * violation (nodes configured as separate clusters, or a forged ReadState)
 * and expects the checker to report it.
 */
import { describe, it, expect } from 'vitest';
import { MemoryStorage } from '../../raft/core/storage.js';
import { Network } from './network.js';
import { SafetyChecker, SafetyViolation } from './safety.js';

/** Nodes 1 and 2, each believing it is a one-voter cluster of its own: split brain by construction. */
function splitBrain(): Network {
  const net = new Network({ voters: [1, 2], nodes: [] });
  net.addNode(1, new MemoryStorage({ voters: [1], learners: [] }));
  net.addNode(2, new MemoryStorage({ voters: [2], learners: [] }));
  return net;
}

describe('SafetyChecker', () => {
  it('accepts a healthy cluster', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const checker = new SafetyChecker(net, 'healthy');
    net.campaign(1);
    net.propose(1, 'a');
    net.stabilize();
    checker.noteReadRequested('r');
    net.raw(2).readIndex('r');
    net.stabilize();
    expect(() => checker.check()).not.toThrow();
    expect(checker.stats()).toEqual({ leaderTerms: 1, appliedIndexes: 2, readsServed: 1 });
  });

  it('catches two leaders in one term', () => {
    const net = splitBrain();
    const checker = new SafetyChecker(net, 'planted');
    net.campaign(1);
    net.campaign(2);
    expect(net.leaders()).toEqual([1, 2]);
    expect(() => checker.check()).toThrow(SafetyViolation);
    expect(() => checker.check()).toThrow(/both lead term 1/);
  });

  it('catches two nodes applying different entries at one index', () => {
    const net = new Network({ voters: [1, 2], nodes: [] });
    net.addNode(1, new MemoryStorage({ voters: [1], learners: [] }));
    const s2 = new MemoryStorage({ voters: [2], learners: [] });
    s2.setHardState({ term: 1, vote: 0, commit: 0 }); // so node 2 leads term 2, not term 1
    net.addNode(2, s2);
    const checker = new SafetyChecker(net, 'planted');
    net.campaign(1);
    net.propose(1, 'from-1');
    net.stabilize();
    checker.check();
    net.campaign(2);
    expect(net.status(2)).toMatchObject({ role: 'Leader', term: 2 });
    expect(() => checker.check()).toThrow(/node 2 applied .* at index 1/);
  });

  it('catches a later leader that lacks a committed entry', () => {
    const net = new Network({ voters: [1, 2], nodes: [] });
    net.addNode(1, new MemoryStorage({ voters: [1], learners: [] }));
    // Node 2 needs absent node 3's vote: it leads term 2 without committing or applying anything.
    const s2 = new MemoryStorage({ voters: [2, 3], learners: [] });
    s2.setHardState({ term: 1, vote: 0, commit: 0 });
    net.addNode(2, s2);
    const checker = new SafetyChecker(net, 'planted');
    net.campaign(1);
    net.propose(1, 'committed');
    net.stabilize();
    checker.check();
    net.campaign(2);
    net.deliver({ type: 'PreVoteResp', from: 3, to: 2, term: 2 });
    net.stabilize();
    net.deliver({ type: 'VoteResp', from: 3, to: 2, term: 2 });
    net.stabilize();
    expect(net.status(2)).toMatchObject({ role: 'Leader', term: 2, commit: 0 });
    expect(() => checker.check()).toThrow(/leader 2 of term 2 lacks committed entry 1/);
  });

  it('catches a read answered below a commit index known when it was asked', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const checker = new SafetyChecker(net, 'planted');
    net.campaign(1);
    net.propose(1, 'a');
    net.stabilize();
    checker.noteReadRequested('stale-read');
    net.mustNode(2).readStates.push({ index: 1, requestCtx: 'stale-read' });
    expect(() => checker.check()).toThrow(/stale-read at index 1, but 2 was committed/);
  });
});
