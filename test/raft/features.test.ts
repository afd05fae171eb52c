/**
 * The extensions beyond the basic algorithm (Raft thesis §6, §9.6 and etcd-raft):
 * pre-vote, check-quorum and leader leases, ReadIndex, leadership transfer,
 * learners, proposal limits, flow control and the leader's per-follower
 * progress states. Pre-vote and check-quorum are on (the defaults) unless a
 * test says otherwise.
 */
import { describe, it, expect } from 'vitest';
import {
  NotLeaderError,
  ProposalDroppedError,
  UncommittedLimitError,
} from '../../raft/core/errors.js';
import type { Message } from '../../raft/core/types.js';
import { CAMPAIGN_TRANSFER, NONE, entriesBytes } from '../../raft/core/types.js';
import { Network, text, type NetworkOptions } from './network.js';
import { runFeatureSimulation, runMembershipSimulation } from './sim.js';

const ELECTION_TICKS = 10;

function electedNet(opts: NetworkOptions, leader = 1): Network {
  const net = new Network(opts);
  net.campaign(leader);
  expect(net.status(leader).role).toBe('Leader');
  return net;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Ticks `ids` one at a time (stabilizing) until `done`, at most `max` ticks; returns the ticks taken or -1. */
function tickUntil(net: Network, ids: readonly number[], max: number, done: () => boolean): number {
  for (let t = 1; t <= max; t++) {
    net.tickStabilize(1, ids);
    if (done()) return t;
  }
  return -1;
}

function sentSince(net: Network, mark: number, pred: (m: Message) => boolean): Message[] {
  return net.sent.slice(mark).map((s) => s.msg).filter(pred);
}

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

describe('learners', () => {
  const opts: NetworkOptions = { voters: [1, 2, 3], learners: [4] };

  it('a learner receives and applies the log', () => {
    const net = electedNet(opts);
    net.propose(1, 'a');
    net.propose(1, 'b');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(net.logTerms(4)).toEqual(net.logTerms(1));
    expect(net.appliedState(4)).toEqual(['a', 'b']);
    expect(net.status(4).confState).toEqual({ voters: [1, 2, 3], learners: [4] });
  });

  it('a learner never campaigns, even when it hears from no leader', () => {
    const net = electedNet(opts);
    net.isolate(4);
    net.tickStabilize(5 * ELECTION_TICKS, [4]);
    expect(net.status(4)).toMatchObject({ role: 'Follower', term: 1 });
    expect(net.sentWhere((m) => m.from === 4 && (m.type === 'Vote' || m.type === 'PreVote'))).toEqual([]);
    net.recover();
    net.isolate(1);
    tickUntil(net, [2, 3, 4], 10 * ELECTION_TICKS, () => [2, 3].some((id) => net.status(id).role === 'Leader'));
    expect(net.status(4).role).toBe('Follower');
    expect(net.sentWhere((m) => m.from === 4 && (m.type === 'Vote' || m.type === 'PreVote'))).toEqual([]);
  });

  it('a learner asked to campaign does nothing', () => {
    const net = electedNet(opts);
    net.isolate(1);
    net.tickStabilize(3 * ELECTION_TICKS, [4]);
    net.raw(4).campaign();
    net.stabilize();
    expect(net.status(4)).toMatchObject({ role: 'Follower', term: 1 });
    expect(net.sentWhere((m) => m.from === 4 && (m.type === 'Vote' || m.type === 'PreVote'))).toEqual([]);
  });

  it('a candidate does not ask a learner for its vote and does not count one', () => {
    const net = new Network({ ...opts, nodes: [1], config: { preVote: false } });
    net.campaign(1);
    const votes = net.takeOutbox().filter((m) => m.type === 'Vote');
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
    net.deliver({ type: 'VoteResp', from: 4, to: 1, term: 1, reject: false });
    net.stabilize();
    expect(net.status(1).role).toBe('Candidate');
    net.deliver({ type: 'VoteResp', from: 2, to: 1, term: 1, reject: false });
    net.stabilize();
    expect(net.status(1).role).toBe('Leader');
  });

  it('learners do not count toward commitment', () => {
    const net = electedNet({ voters: [1, 2, 3], learners: [4, 5] });
    const commit = net.status(1).commit;
    net.isolate(2);
    net.isolate(3);
    net.propose(1, 'x');
    net.stabilize();
    for (const id of [4, 5]) expect(net.status(id).lastIndex).toBe(commit + 1);
    expect(net.status(1).commit).toBe(commit);
    net.recover();
    net.tickStabilize(1, [1]);
    expect(net.status(1).commit).toBe(commit + 1);
  });

  it('a removed learner no longer receives the log', () => {
    const net = electedNet(opts);
    net.proposeConfChange(1, { type: 'RemoveNode', nodeId: 4 });
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(net.status(1).confState).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(net.progress(1, 4)).toBeUndefined();
    const mark = net.sent.length;
    net.propose(1, 'not-for-4');
    net.stabilize();
    net.tickStabilize(2, [1]);
    expect(sentSince(net, mark, (m) => m.to === 4)).toEqual([]);
    expect(net.appliedState(4)).not.toContain('not-for-4');
  });

  it('transfer of leadership to a learner is ignored', () => {
    const net = electedNet(opts);
    net.raw(1).transferLeadership(4);
    net.stabilize();
    net.propose(1, 'still-leader');
    net.tickStabilize(3 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([1]);
    expect(net.appliedState(4)).toEqual(['still-leader']);
  });

  it('promotion to voter works: the promoted node votes, counts toward the quorum and can lead', () => {
    const net = electedNet(opts);
    net.proposeConfChange(1, { type: 'AddVoter', nodeId: 4 });
    net.stabilize();
    net.tickStabilize(1, [1]);
    for (const id of [1, 2, 3, 4]) expect(net.status(id).confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(net.progress(1, 4)?.isLearner).toBe(false);
    // Four voters: the leader and node 4 alone are not a quorum.
    const commit = net.status(1).commit;
    net.isolate(2);
    net.isolate(3);
    net.propose(1, 'needs-three');
    net.stabilize();
    expect(net.status(1).commit).toBe(commit);
    net.recover();
    net.tickStabilize(1, [1]);
    expect(net.status(1).commit).toBe(commit + 1);
    net.raw(1).transferLeadership(4);
    net.stabilize();
    expect(net.leaders()).toEqual([4]);
  });
});

describe('proposal limits', () => {
  it('UncommittedLimitError once uncommitted entries reach maxUncommittedEntriesBytes; accepted again after commit', () => {
    const LIMIT_BYTES = 1000;
    const net = electedNet({ voters: [1, 2, 3], config: { maxUncommittedEntriesBytes: LIMIT_BYTES } });
    net.isolate(2);
    net.isolate(3);
    const payload = 'p'.repeat(100);
    let accepted = 0;
    let err: unknown;
    for (let i = 0; i < 30 && err === undefined; i++) {
      err = thrown(() => net.propose(1, payload));
      if (err === undefined) accepted++;
    }
    expect(err).toBeInstanceOf(UncommittedLimitError);
    const e = err as UncommittedLimitError;
    expect(e.limitBytes).toBe(LIMIT_BYTES);
    expect(e.uncommittedBytes + e.proposalBytes).toBeGreaterThan(LIMIT_BYTES);
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted * 100).toBeLessThanOrEqual(LIMIT_BYTES);
    net.stabilize();
    expect(net.status(1).lastIndex - net.status(1).commit).toBe(accepted);
    net.recover();
    net.tickStabilize(2, [1]);
    expect(net.status(1).commit).toBe(net.status(1).lastIndex);
    expect(thrown(() => net.propose(1, payload))).toBeUndefined();
    net.stabilize();
    expect(net.appliedState(2)).toHaveLength(accepted + 1);
  });

  it('NotLeaderError with the leader hint when forwarding is disabled', () => {
    const net = electedNet({
      voters: [1, 2, 3],
      configFor: (id) => (id === 2 ? { disableProposalForwarding: true } : {}),
    });
    const err = thrown(() => net.propose(2, 'x'));
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderHint).toBe(1);
    expect((err as NotLeaderError).nodeId).toBe(2);
    net.stabilize();
    expect(net.appliedState(1)).toEqual([]);
  });

  it('NotLeaderError with no hint when no leader is known', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const err = thrown(() => net.propose(1, 'x'));
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderHint).toBe(0);
  });

  it('a follower forwards proposals to the leader, which commits them', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(3, 'forwarded');
    net.stabilize();
    expect(net.sentWhere((m) => m.type === 'Prop' && m.from === 3 && m.to === 1).length).toBe(1);
    for (const id of [1, 2, 3]) expect(net.appliedState(id)).toEqual(['forwarded']);
  });
});

describe('flow control', () => {
  it('appends in flight to one follower are bounded by maxInflightMsgs', () => {
    const MAX_INFLIGHT = 3;
    const net = electedNet({ voters: [1, 2, 3], config: { maxInflightMsgs: MAX_INFLIGHT } });
    expect(net.progress(1, 2)?.state).toBe('Replicate');
    net.drop(2, 1); // node 2 receives but its acknowledgements are lost
    const mark = net.sent.length;
    for (let i = 0; i < 10; i++) {
      net.propose(1, `m${i}`);
      net.stabilize();
      expect(net.progress(1, 2)?.inflight ?? 0).toBeLessThanOrEqual(MAX_INFLIGHT);
    }
    const withEntries = (to: number) =>
      sentSince(net, mark, (m) => m.type === 'App' && m.to === to && (m.entries?.length ?? 0) > 0);
    expect(withEntries(2).length).toBe(MAX_INFLIGHT);
    expect(withEntries(3).length).toBeGreaterThan(MAX_INFLIGHT); // node 3 is not held back
    expect(net.appliedState(1)).toHaveLength(10);
    net.recover();
    net.tickStabilize(3, [1]);
    expect(net.logTerms(2)).toEqual(net.logTerms(1));
  });

  it('append messages are bounded by maxSizePerMsgBytes (but carry at least one entry)', () => {
    const MAX_MSG_BYTES = 300;
    const net = electedNet({ voters: [1, 2, 3], config: { maxSizePerMsgBytes: MAX_MSG_BYTES } });
    net.isolate(2);
    for (let i = 0; i < 10; i++) net.propose(1, `${i}`.padEnd(100, '.'));
    net.propose(1, 'big'.padEnd(500, '.'));
    net.stabilize();
    net.recover();
    const mark = net.sent.length;
    net.tickStabilize(3, [1]);
    expect(net.logTerms(2)).toEqual(net.logTerms(1));
    const apps = sentSince(net, mark, (m) => m.type === 'App' && m.to === 2 && (m.entries?.length ?? 0) > 0);
    expect(apps.length).toBeGreaterThan(1);
    for (const m of apps) {
      const ents = m.entries ?? [];
      expect(ents.length === 1 || entriesBytes(ents) <= MAX_MSG_BYTES).toBe(true);
    }
    expect(apps.some((m) => (m.entries?.length ?? 0) >= 2)).toBe(true); // still batches within the limit
    expect(apps.some((m) => m.entries?.length === 1 && entriesBytes(m.entries) > MAX_MSG_BYTES)).toBe(true);
  });
});

describe('flow control by bytes', () => {
  it('bytes in flight to one follower are bounded by maxInflightBytes', () => {
    const MAX_INFLIGHT_BYTES = 300;
    const net = electedNet({ voters: [1, 2, 3], config: { maxInflightBytes: MAX_INFLIGHT_BYTES } });
    net.drop(2, 1);
    const mark = net.sent.length;
    for (let i = 0; i < 10; i++) {
      net.propose(1, `${i}`.padEnd(100, '.'));
      net.stabilize();
    }
    const toTwo = sentSince(net, mark, (m) => m.type === 'App' && m.to === 2 && (m.entries?.length ?? 0) > 0);
    const largest = Math.max(...toTwo.map((m) => entriesBytes(m.entries ?? [])));
    // The window is checked before sending, so it may be overshot by at most one message.
    expect(toTwo.reduce((sum, m) => sum + entriesBytes(m.entries ?? []), 0)).toBeLessThanOrEqual(MAX_INFLIGHT_BYTES + largest);
    expect(toTwo.length).toBeLessThan(10);
    expect(net.appliedState(3)).toHaveLength(10);
  });

  it('committed entries handed out per Ready are bounded by maxCommittedSizePerReadyBytes', () => {
    const MAX_READY_BYTES = 250;
    const net = electedNet({ voters: [1, 2, 3], config: { maxCommittedSizePerReadyBytes: MAX_READY_BYTES } });
    net.isolate(3);
    for (let i = 0; i < 8; i++) net.propose(1, `${i}`.padEnd(100, '.'));
    net.stabilize();
    const readysBefore = net.mustNode(3).readys.length;
    net.recover();
    net.tickStabilize(2, [1]);
    const batches = net.mustNode(3).readys.slice(readysBefore).map((rd) => rd.committedEntries).filter((c) => c.length > 0);
    expect(batches.length).toBeGreaterThan(1);
    for (const c of batches) expect(c.length === 1 || entriesBytes(c) <= MAX_READY_BYTES).toBe(true);
    expect(net.appliedState(3)).toHaveLength(8);
  });
});

describe('progress states', () => {
  it('probe → replicate → snapshot → probe → replicate', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.ignore('App');
    net.campaign(1);
    expect(net.status(1).role).toBe('Leader');
    expect(net.progress(1, 2)?.state).toBe('Probe');
    expect(net.progress(1, 3)?.state).toBe('Probe');

    net.recover();
    net.tickStabilize(1, [1]);
    expect(net.progress(1, 2)?.state).toBe('Replicate');
    expect(net.progress(1, 3)).toMatchObject({ state: 'Replicate', match: net.status(1).lastIndex });

    net.isolate(3);
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    net.stabilize();
    net.compact(1);
    net.recover();
    net.ignore('Snap');
    net.tickStabilize(1, [1]);
    expect(net.progress(1, 3)?.state).toBe('Snapshot');
    // While the snapshot is outstanding, no appends go to that follower.
    const mark = net.sent.length;
    net.propose(1, 'd');
    net.tickStabilize(3, [1]);
    expect(sentSince(net, mark, (m) => m.type === 'App' && m.to === 3)).toEqual([]);

    net.raw(1).reportSnapshot(3, false);
    expect(net.progress(1, 3)?.state).toBe('Probe');
    net.recover();
    net.tickStabilize(3, [1]);
    expect(net.progress(1, 3)).toMatchObject({ state: 'Replicate', match: net.status(1).lastIndex });
    expect(net.appliedState(3)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a probing leader sends one append at a time to that follower', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.ignore('App');
    net.campaign(1);
    expect(net.progress(1, 2)?.state).toBe('Probe');
    net.recover();
    net.ignore('AppResp');
    const mark = net.sent.length;
    for (const d of ['a', 'b', 'c', 'd']) net.propose(1, d);
    net.stabilize();
    expect(sentSince(net, mark, (m) => m.type === 'App' && m.to === 2).length).toBeLessThanOrEqual(1);
  });

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    expect(net.progress(1, 2)?.state).toBe('Replicate');
    net.raw(1).reportUnreachable(2);
    expect(net.progress(1, 2)?.state).toBe('Probe');
    expect(net.progress(1, 3)?.state).toBe('Replicate');
  });
});

describe('driver contract', () => {
  it('a Ready that grants a vote also carries that vote to persist, with mustSync', () => {
    // So a driver that persists before sending never grants a vote it could forget.
    const net = new Network({ voters: [1, 2, 3], config: { preVote: false } });
    net.campaign(1);
    for (const id of [2, 3]) {
      const grants = net.mustNode(id).readys.filter((rd) => rd.messages.some((m) => m.type === 'VoteResp' && m.reject !== true));
      expect(grants).toHaveLength(1);
      expect(grants[0]?.hardState).toMatchObject({ term: 1, vote: 1 });
      expect(grants[0]?.mustSync).toBe(true);
    }
  });

  it('work that arrives between ready() and advance() is handed out in the next Ready', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const node = net.mustNode(1);
    net.propose(1, 'a');
    const rd = node.raw.ready();
    expect(rd.committedEntries).toEqual([]); // nothing to apply by hand in this test
    node.storage.append(rd.entries);
    net.propose(1, 'b'); // stepped before the driver acknowledges the first Ready
    net.send(rd.messages);
    node.raw.advance();
    const next = node.raw.ready();
    expect(next.committedEntries).toEqual([]);
    expect(next.entries.map(text)).toEqual(['b']);
    node.storage.append(next.entries);
    net.send(next.messages);
    node.raw.advance();
    net.stabilize();
    net.tickStabilize(1, [1]);
    for (const id of [1, 2, 3]) expect(net.appliedState(id)).toEqual(['a', 'b']);
  });

  it('entries committed but not applied before a crash are handed out again after restart', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(1, 'a');
    net.flush(1);
    net.deliverAll();
    net.flush(2);
    net.flush(3);
    net.deliverAll();
    net.flush(1); // commits 'a' and tells the followers
    net.deliverAll();
    const node2 = net.mustNode(2);
    const rd = node2.raw.ready();
    expect(rd.committedEntries.map(text)).toEqual(['a']);
    // Persist, then crash before applying or advancing.
    node2.storage.append(rd.entries);
    if (rd.hardState !== undefined) node2.storage.setHardState(rd.hardState);
    net.restart(2);
    net.stabilize();
    expect(net.appliedState(2)).toEqual(['a']);
  });

  it('a Ready reports role and leader changes in softState', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    const soft = net.mustNode(1).readys.map((rd) => rd.softState).filter((s) => s !== undefined);
    expect(soft[soft.length - 1]).toEqual({ lead: 1, role: 'Leader' });
    expect(soft.some((s) => s.role === 'PreCandidate')).toBe(true);
    const followerSoft = net.mustNode(2).readys.map((rd) => rd.softState).filter((s) => s !== undefined);
    expect(followerSoft[followerSoft.length - 1]).toEqual({ lead: 1, role: 'Follower' });
  });

  it('local-only message types from the network are ignored', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const before = net.status(2);
    expect(net.raw(2).step({ type: 'Hup', from: 3, to: 2, term: 1 })).toBe(false);
    net.stabilize();
    expect(net.status(2)).toMatchObject({ term: before.term, role: 'Follower', lead: 1 });
  });
});

describe('seeded simulation with every feature on', () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    it(`partitions, transfers and reads keep the cluster safe and it re-converges (seed ${seed})`, () => {
      runFeatureSimulation(seed);
    });
  }
});

describe('seeded simulation with membership changes, compaction and restarts', () => {
  for (const seed of [21, 22, 23, 24, 25, 26]) {
    it(`the cluster stays safe and re-converges (seed ${seed})`, () => {
      runMembershipSimulation(seed);
    });
  }
});
