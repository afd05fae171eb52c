/**
 * The extensions beyond the basic algorithm (Raft thesis §6, §9.6 and etcd-raft):
 * pre-vote, check-quorum and leader leases, ReadIndex and leadership transfer.
 * Learners and proposal limits are in learners-and-limits.test.ts; flow control,
 * progress states and the driver contract in replication-flow.test.ts.
 * Pre-vote and check-quorum are on (the defaults) unless a test says otherwise.
 */
import { describe, it, expect } from 'vitest';
import { NotLeaderError, ProposalDroppedError } from '../../raft/core/errors.js';
import { CAMPAIGN_TRANSFER, NONE } from '../../raft/core/types.js';
import { Network } from './network.js';

import { ELECTION_TICKS, electedNet, thrown, tickUntil } from './features-helpers.js';

describe('pre-vote', () => {
  it('a partitioned node rejoining does not disrupt the leader and does not bump terms', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const term = net.status(1).term;
    net.isolate(3);
    net.tickStabilize(5 * ELECTION_TICKS);
    expect(net.status(3).term).toBe(term);
    expect(net.sentWhere((m) => m.from === 3 && m.type === 'PreVote').length).toBeGreaterThan(0);
    expect(net.sentWhere((m) => m.from === 3 && m.type === 'Vote')).toEqual([]);
    net.recover();
    net.tickStabilize(3 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([1]);
    for (const id of [1, 2, 3]) expect(net.status(id)).toMatchObject({ term, lead: 1 });
  });

  it('(control) without pre-vote and check-quorum the same rejoin deposes the leader', () => {
    const net = electedNet({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    const term = net.status(1).term;
    net.isolate(3);
    net.tickStabilize(5 * ELECTION_TICKS);
    expect(net.status(3).term).toBeGreaterThan(term);
    net.recover();
    net.tickStabilize(3 * ELECTION_TICKS);
    expect(net.status(1).term).toBeGreaterThan(term);
  });

  it('PreVote messages carry term+1 while the pre-candidate keeps its own term', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const term = net.status(1).term;
    net.isolate(3);
    const ticks = tickUntil(net, [3], 3 * ELECTION_TICKS, () => net.status(3).role === 'PreCandidate');
    expect(ticks).toBeGreaterThan(0);
    expect(net.status(3)).toMatchObject({ role: 'PreCandidate', term });
    const preVotes = net.sentWhere((m) => m.from === 3 && m.type === 'PreVote');
    expect(preVotes.map((m) => m.to).sort()).toEqual([1, 2]);
    for (const m of preVotes) expect(m.term).toBe(term + 1);
    // The pre-candidate's term is not persisted either.
    expect(net.mustNode(3).storage.initialState().hardState.term).toBe(term);
  });

  it('a PreVote neither changes the voter\'s term nor its vote, and is refused to a stale log', () => {
    const net = new Network({
      voters: [1, 2, 3],
      nodes: [1],
      logs: { 1: [1, 1, 2] },
      hardStates: { 1: { term: 2, vote: 3, commit: 0 } },
    });
    net.deliver({ type: 'PreVote', from: 2, to: 1, term: 3, index: 2, logTerm: 1 });
    net.deliver({ type: 'PreVote', from: 3, to: 1, term: 3, index: 3, logTerm: 2 });
    net.stabilize();
    const resps = net.takeOutbox().filter((m) => m.type === 'PreVoteResp');
    expect(resps.map((m) => [m.to, m.reject === true])).toEqual([
      [2, true],
      [3, false],
    ]);
    expect(net.status(1)).toMatchObject({ term: 2, vote: 3, role: 'Follower' });
    expect(net.mustNode(1).storage.initialState().hardState).toMatchObject({ term: 2, vote: 3 });
  });

  it('a node stuck at a higher term with a stale log does not keep the others from electing a leader', () => {
    const net = new Network({
      voters: [1, 2, 3],
      logs: { 1: [1, 1, 2], 2: [1, 1, 2], 3: [1] },
      hardStates: { 1: { term: 2, vote: 0, commit: 1 }, 2: { term: 2, vote: 0, commit: 1 }, 3: { term: 5, vote: 3, commit: 1 } },
    });
    const ticks = tickUntil(net, [1, 2, 3], 20 * ELECTION_TICKS, () => net.leaders().length === 1);
    expect(ticks).toBeGreaterThan(0);
    const [leader] = net.leaders();
    expect([1, 2]).toContain(leader);
    expect(net.status(leader!).term).toBeGreaterThan(5);
    net.tickStabilize(2);
    expect(net.logTerms(3)).toEqual(net.logTerms(leader!));
  });

  it('a removed node that missed its removal does not disrupt the cluster', () => {
    const net = electedNet({ voters: [1, 2, 3, 4] });
    net.isolate(4);
    net.proposeConfChange(1, { type: 'RemoveNode', nodeId: 4 });
    net.stabilize();
    net.tickStabilize(1, [1, 2, 3]);
    expect(net.status(1).confState.voters).toEqual([1, 2, 3]);
    expect(net.status(4).confState.voters).toEqual([1, 2, 3, 4]); // it never heard
    net.recover();
    net.tickStabilize(10 * ELECTION_TICKS);
    expect(net.sentWhere((m) => m.from === 4 && m.type === 'PreVote').length).toBeGreaterThan(0);
    expect(net.leaders()).toEqual([1]);
    for (const id of [1, 2, 3]) expect(net.status(id)).toMatchObject({ term: 1, lead: 1 });
  });

  it('a pre-candidate that wins the pre-vote runs the real election and wins it', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    expect(net.sentWhere((m) => m.from === 1 && m.type === 'PreVote').length).toBe(2);
    expect(net.sentWhere((m) => m.from === 1 && m.type === 'Vote').length).toBe(2);
    for (const id of [1, 2, 3]) expect(net.status(id)).toMatchObject({ term: 1, lead: 1 });
  });
});

describe('check-quorum', () => {
  it('an isolated leader steps down once it has not heard from a quorum for an election timeout', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(1);
    // The leader checks once per election timeout, so it notices no later than the end of the first
    // full timeout window without contact.
    const ticks = tickUntil(net, [1], 2 * ELECTION_TICKS, () => net.status(1).role !== 'Leader');
    expect(ticks).toBeGreaterThan(0);
    expect(net.status(1)).toMatchObject({ role: 'Follower', lead: NONE });
    expect(thrown(() => net.propose(1, 'x'))).toBeInstanceOf(NotLeaderError);
  });

  it('a leader that keeps a quorum stays leader', () => {
    const net = electedNet({ voters: [1, 2, 3, 4, 5] });
    net.isolate(4);
    net.isolate(5);
    net.tickStabilize(10 * ELECTION_TICKS, [1, 2, 3]);
    expect(net.leaders()).toEqual([1]);
    expect(net.status(1).term).toBe(1);
  });

  it('only voters count toward check-quorum: a leader that reaches only a learner steps down', () => {
    const net = electedNet({ voters: [1, 2, 3], learners: [4] });
    net.isolate(2);
    net.isolate(3);
    const ticks = tickUntil(net, [1, 4], 2 * ELECTION_TICKS, () => net.status(1).role !== 'Leader');
    expect(ticks).toBeGreaterThan(0);
    expect(net.sentWhere((m) => m.from === 4 && m.to === 1 && m.type === 'HeartbeatResp').length).toBeGreaterThan(0);
  });

  for (const preVote of [false, true]) {
    it(`leader lease: votes are ignored while a leader is known (${preVote ? 'PreVote' : 'Vote'})`, () => {
      const net = electedNet({ voters: [1, 2, 3], config: { preVote } });
      net.raw(3).campaign();
      net.flush(3);
      net.deliverAll();
      net.flush(1);
      net.flush(2);
      const type = preVote ? 'PreVoteResp' : 'VoteResp';
      expect(net.pending().filter((m) => m.type === type && m.reject !== true)).toEqual([]);
      expect(net.status(1)).toMatchObject({ role: 'Leader', term: 1 });
      expect(net.status(2)).toMatchObject({ term: 1, lead: 1, vote: 1 });
      net.stabilize();
      expect(net.status(3).role).not.toBe('Leader');
    });
  }

  it('leader lease: a node that lost the leader for an election timeout votes again', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(1);
    const ticks = tickUntil(net, [2, 3], 10 * ELECTION_TICKS, () =>
      [2, 3].some((id) => net.status(id).role === 'Leader'),
    );
    expect(ticks).toBeGreaterThan(0);
    expect(net.leaders().filter((id) => id !== 1)).toHaveLength(1);
  });
});

describe('ReadIndex', () => {
  it('single node: a ReadState at the commit index comes in the next Ready', () => {
    const net = electedNet({ voters: [1] });
    net.propose(1, 'w');
    net.stabilize();
    const commit = net.status(1).commit;
    expect(commit).toBe(2);
    net.raw(1).readIndex('r1');
    const rd = net.processReady(1);
    expect(rd?.readStates).toEqual([{ index: commit, requestCtx: 'r1' }]);
  });

  it('3 nodes: the ReadState appears only after a heartbeat quorum confirms leadership', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(1, 'w');
    net.stabilize();
    const commit = net.status(1).commit;
    net.dropIf((m) => m.to === 3 || m.from === 3);
    net.raw(1).readIndex('x');
    const rd = net.processReady(1);
    expect(rd?.readStates).toEqual([]);
    const beats = (rd?.messages ?? []).filter((m) => m.type === 'Heartbeat');
    expect(beats.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const b of beats) expect(b.context).toBe('x');
    net.deliverAll(); // heartbeat reaches node 2 only
    expect(net.processReady(1)?.readStates ?? []).toEqual([]);
    net.flush(2);
    net.deliverAll(); // node 2's response reaches the leader: 2 of 3
    net.flush(1);
    expect(net.mustNode(1).readStates).toEqual([{ index: commit, requestCtx: 'x' }]);
  });

  it('the ReadState index is the commit index when the read arrived, even if more commits land before it is confirmed', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const commit = net.status(1).commit;
    net.raw(1).readIndex('x');
    net.flush(1);
    const heartbeats = net.takePending(); // the confirmation round is delayed...
    expect(heartbeats.every((m) => m.type === 'Heartbeat' && m.context === 'x')).toBe(true);
    net.propose(1, 'later'); // ...while another write commits
    net.stabilize();
    expect(net.status(1).commit).toBe(commit + 1);
    expect(net.mustNode(1).readStates).toEqual([]);
    net.requeue(heartbeats);
    net.stabilize();
    expect(net.mustNode(1).readStates).toEqual([{ index: commit, requestCtx: 'x' }]);
  });

  it('no ReadState without a quorum of heartbeat responses', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.ignore('HeartbeatResp');
    net.raw(1).readIndex('never');
    net.stabilize();
    net.tickStabilize(ELECTION_TICKS - 1, [1]);
    expect(net.mustNode(1).readStates).toEqual([]);
  });

  it('a follower read is forwarded to the leader and answered at the leader\'s commit index', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(1, 'w');
    net.stabilize();
    const commit = net.status(1).commit;
    net.raw(2).readIndex('f');
    net.stabilize();
    expect(net.mustNode(2).readStates).toEqual([{ index: commit, requestCtx: 'f' }]);
    expect(net.mustNode(1).readStates).toEqual([]);
    expect(net.sentWhere((m) => m.type === 'ReadIndex' && m.from === 2 && m.to === 1).length).toBe(1);
  });

  it('no ReadState from a partitioned stale leader', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(1);
    const ticks = tickUntil(net, [2, 3], 10 * ELECTION_TICKS, () =>
      [2, 3].some((id) => net.status(id).role === 'Leader'),
    );
    expect(ticks).toBeGreaterThan(0);
    const [newLeader] = net.leaders().filter((id) => id !== 1);
    net.propose(newLeader!, 'newer-write');
    net.stabilize();
    expect(net.status(1).role).toBe('Leader'); // it has not ticked, so it still believes it leads
    net.raw(1).readIndex('stale');
    net.stabilize();
    expect(net.mustNode(1).readStates).toEqual([]);
    net.recover();
    net.tickStabilize(2, [newLeader!]);
    expect(net.status(1).lead).toBe(newLeader);
    expect(net.mustNode(1).readStates).toEqual([]);
  });

  it('a read before the leader commits an entry of its term is deferred until it does', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.ignore('App');
    net.campaign(1);
    expect(net.status(1).role).toBe('Leader');
    expect(net.status(1).commit).toBe(0);
    net.raw(1).readIndex('early');
    net.stabilize();
    net.tickStabilize(2, [1]);
    expect(net.mustNode(1).readStates).toEqual([]);
    net.recover();
    net.tickStabilize(2, [1]);
    const noop = net.status(1).lastIndex;
    expect(net.status(1).commit).toBe(noop);
    expect(net.mustNode(1).readStates).toEqual([{ index: noop, requestCtx: 'early' }]);
  });
});

describe('leadership transfer', () => {
  it('to a caught-up follower: it becomes leader in the next term, bypassing the others\' lease', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.raw(1).transferLeadership(2);
    net.stabilize();
    expect(net.leaders()).toEqual([2]);
    for (const id of [1, 2, 3]) expect(net.status(id)).toMatchObject({ term: 2, lead: 2 });
    const votes = net.sentWhere((m) => m.from === 2 && m.type === 'Vote');
    expect(votes.length).toBe(2);
    for (const v of votes) expect(v.context).toBe(CAMPAIGN_TRANSFER);
    net.propose(2, 'after-transfer');
    net.stabilize();
    expect(net.appliedState(3)).toEqual(['after-transfer']);
  });

  it('to a lagging follower: the leader catches it up before sending TimeoutNow', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2);
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    net.stabilize();
    net.recover();
    const lastIndex = net.status(1).lastIndex;
    expect(net.status(2).lastIndex).toBeLessThan(lastIndex);
    const mark = net.sent.length;
    net.raw(1).transferLeadership(2);
    net.stabilize();
    net.tickStabilize(2, [1, 2, 3]);
    expect(net.leaders()).toEqual([2]);
    expect(net.appliedState(2)).toEqual(['a', 'b', 'c']);
    const after = net.sent.slice(mark).map((s) => s.msg);
    const timeoutNow = after.findIndex((m) => m.type === 'TimeoutNow' && m.to === 2);
    const caughtUp = after.findIndex(
      (m) => m.type === 'AppResp' && m.from === 2 && m.reject !== true && (m.index ?? 0) >= lastIndex,
    );
    expect(caughtUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(caughtUp);
  });

  for (const [name, target] of [
    ['to itself', 1],
    ['to a non-member', 9],
  ] as const) {
    it(`${name} is ignored: no election, proposals still accepted`, () => {
      const net = electedNet({ voters: [1, 2, 3] });
      net.raw(1).transferLeadership(target);
      net.stabilize();
      net.propose(1, 'still-leader');
      net.tickStabilize(3 * ELECTION_TICKS);
      expect(net.leaders()).toEqual([1]);
      expect(net.status(1).term).toBe(1);
      expect(net.appliedState(2)).toEqual(['still-leader']);
    });
  }

  it('a transfer to another node replaces one that is under way', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2);
    net.raw(1).transferLeadership(2);
    net.stabilize();
    net.raw(1).transferLeadership(3);
    net.stabilize();
    expect(net.leaders()).toEqual([3]);
    expect(net.status(3).term).toBe(2);
  });

  it('proposals are dropped while a transfer is under way, and accepted again once it is aborted after an election timeout', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2); // the transfer cannot complete
    net.raw(1).transferLeadership(2);
    net.stabilize();
    expect(thrown(() => net.propose(1, 'during'))).toBeInstanceOf(ProposalDroppedError);
    net.tickStabilize(ELECTION_TICKS, [1, 3]);
    expect(net.status(1).role).toBe('Leader');
    net.propose(1, 'after-abort');
    net.stabilize();
    expect(net.appliedState(3)).toEqual(['after-abort']);
    net.recover();
    net.tickStabilize(3 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([1]);
    expect(net.status(1).term).toBe(1);
  });
});
