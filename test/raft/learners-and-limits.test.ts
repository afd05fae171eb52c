/**
 * Learners (non-voting members that catch up before promotion) and the bounds
 * on proposals: the uncommitted-log byte limit and NotLeader with a leader hint.
 */
import { describe, it, expect } from 'vitest';
import { NotLeaderError, UncommittedLimitError } from '../../raft/core/errors.js';
import { Network, type NetworkOptions } from './network.js';

import { ELECTION_TICKS, electedNet, sentSince, thrown, tickUntil } from './features-helpers.js';

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
