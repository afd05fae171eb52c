/**
 * The Raft paper's §6 (cluster membership changes), one test per rule, as
 * implemented here: one change at a time, taking effect when appended.
 * Basic Raft: pre-vote and check-quorum off. See paper.test.ts for the conventions.
 */
import { describe, it, expect } from 'vitest';
import { bootstrapEntries, type ConfChange } from '../../raft/core/conf-change.js';
import { ConfChangePendingError, InvalidConfChangeError } from '../../raft/core/errors.js';
import { MemoryStorage } from '../../raft/core/storage.js';
import { NONE } from '../../raft/core/types.js';
import { ELECTION_TICKS, committedTexts, electedNet, hs, paperNet } from './paper-helpers.js';

describe('§6 cluster membership changes', () => {
  const add = (nodeId: number): ConfChange => ({ type: 'AddVoter', nodeId });
  const remove = (nodeId: number): ConfChange => ({ type: 'RemoveNode', nodeId });

  it('§6 membership: add a voter; the new member receives the log and counts toward the quorum', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(1, 'a');
    net.stabilize();
    // A new node starts empty and knows only the cluster it is joining.
    net.addNode(4, new MemoryStorage({ voters: [1, 2, 3], learners: [] }));
    net.proposeConfChange(1, add(4));
    net.stabilize();
    net.tickStabilize(2, [1]);
    for (const id of [1, 2, 3, 4]) expect(net.status(id).confState.voters).toEqual([1, 2, 3, 4]);
    expect(net.logTerms(4)).toEqual(net.logTerms(1));
    expect(committedTexts(net, 4)).toEqual(['a']);
    // Four voters: a quorum is three, so the leader plus one follower no longer commits.
    const commit = net.status(1).commit;
    net.isolate(3);
    net.isolate(4);
    net.propose(1, 'needs-three');
    net.stabilize();
    expect(net.status(1).commit).toBe(commit);
    net.recover();
    net.isolate(3);
    net.tickStabilize(1, [1]);
    expect(committedTexts(net, 1)).toEqual(['a', 'needs-three']);
  });

  it('§6 a cluster bootstrapped from membership entries elects a leader; a node added later learns the membership from the log', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [] });
    for (const id of [1, 2, 3]) {
      const storage = new MemoryStorage();
      storage.append(bootstrapEntries([1, 2, 3]));
      storage.setHardState(hs(1, NONE, 3));
      net.addNode(id, storage);
    }
    net.stabilize();
    for (const id of [1, 2, 3]) expect(net.status(id).confState).toEqual({ voters: [1, 2, 3], learners: [] });
    net.campaign(1);
    expect(net.status(1)).toMatchObject({ role: 'Leader', term: 2 });
    net.propose(1, 'a');
    net.stabilize();
    net.addNode(4, new MemoryStorage()); // knows nothing at all
    net.proposeConfChange(1, add(4));
    net.stabilize();
    net.tickStabilize(2, [1]);
    expect(net.status(4).confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(net.logTerms(4)).toEqual(net.logTerms(1));
    expect(committedTexts(net, 4)).toEqual(['a']);
  });

  it('§6 membership: remove a voter; the smaller quorum commits', () => {
    const net = electedNet({ voters: [1, 2, 3, 4] });
    net.proposeConfChange(1, remove(4));
    net.stabilize();
    for (const id of [1, 2, 3]) expect(net.status(id).confState.voters).toEqual([1, 2, 3]);
    expect(net.progress(1, 4)).toBeUndefined();
    // Three voters: the leader and one follower are a quorum.
    net.isolate(3);
    net.isolate(4);
    net.propose(1, 'two-of-three');
    net.stabilize();
    expect(committedTexts(net, 1)).toEqual(['two-of-three']);
  });

  it('§6 membership: add/remove voters one at a time', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2);
    net.isolate(3);
    net.proposeConfChange(1, add(4));
    expect(() => net.proposeConfChange(1, add(5))).toThrow(ConfChangePendingError);
    expect(() => net.proposeConfChange(1, remove(3))).toThrow(ConfChangePendingError);
    net.stabilize();
    net.recover();
    net.tickStabilize(2, [1, 2, 3]);
    expect(net.status(1).confState.voters).toEqual([1, 2, 3, 4]);
    expect(net.status(1).commit).toBe(net.status(1).lastIndex);
    // The first change committed: the next one is accepted.
    net.proposeConfChange(1, remove(4));
    net.stabilize();
    expect(net.status(1).confState.voters).toEqual([1, 2, 3]);
  });

  it('§6 a change takes effect when its entry is appended, before it commits', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(3);
    net.dropIf((m) => m.type === 'AppResp'); // node 2 stores the entry but the leader never learns it
    const commit = net.status(1).commit;
    net.proposeConfChange(1, add(4));
    net.stabilize();
    expect(net.status(1).commit).toBe(commit);
    expect(net.status(1).confState.voters).toEqual([1, 2, 3, 4]);
    expect(net.progress(1, 4)).toBeDefined();
    expect(net.status(2).confState.voters).toEqual([1, 2, 3, 4]); // appended there too, also uncommitted
    expect(net.status(3).confState.voters).toEqual([1, 2, 3]);
  });

  it('§6 an uncommitted change is undone when its entry is overwritten', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(1);
    net.proposeConfChange(1, add(4));
    net.stabilize();
    expect(net.status(1).confState.voters).toEqual([1, 2, 3, 4]);
    net.campaign(2);
    expect(net.status(2).role).toBe('Leader');
    net.propose(2, 'new-term');
    net.stabilize();
    net.recover();
    net.tickStabilize(2, [2]);
    expect(net.status(1)).toMatchObject({ role: 'Follower', lead: 2 });
    expect(net.status(1).confState.voters).toEqual([1, 2, 3]);
    expect(net.logTerms(1)).toEqual(net.logTerms(2));
  });

  it('§6 a new leader refuses membership changes until an entry of its term is committed', () => {
    const net = paperNet({ voters: [1, 2, 3] });
    net.ignore('App');
    net.campaign(1);
    expect(net.status(1).role).toBe('Leader');
    expect(net.status(1).commit).toBeLessThan(net.status(1).lastIndex);
    expect(() => net.proposeConfChange(1, add(4))).toThrow(ConfChangePendingError);
    net.recover();
    net.tickStabilize(1, [1]);
    expect(net.status(1).commit).toBe(net.status(1).lastIndex);
    net.proposeConfChange(1, add(4));
    net.stabilize();
    expect(net.status(1).confState.voters).toEqual([1, 2, 3, 4]);
  });

  it('§6 removed leader steps down once the removal commits; the rest elect a leader and make progress', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2);
    net.isolate(3);
    net.proposeConfChange(1, remove(1));
    net.stabilize();
    expect(net.status(1).role).toBe('Leader'); // still leading until the change commits
    net.recover();
    net.tickStabilize(1, [1]);
    expect(net.status(2).lastIndex).toBe(net.status(1).lastIndex);
    expect(net.status(1).role).not.toBe('Leader');
    for (let i = 0; i < 10 * ELECTION_TICKS && net.leaders().length === 0; i++) net.tickStabilize(1, [2, 3]);
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect([2, 3]).toContain(leaders[0]);
    net.propose(leaders[0]!, 'after-removal');
    net.stabilize();
    expect(committedTexts(net, 2)).toContain('after-removal');
    expect(committedTexts(net, 3)).toContain('after-removal');
  });

  it('§6 a removed node does not start elections', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.proposeConfChange(1, remove(3));
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(net.status(3).confState.voters).toEqual([1, 2]);
    net.isolate(3);
    const term = net.status(3).term;
    net.tickStabilize(5 * ELECTION_TICKS, [3]);
    expect(net.status(3)).toMatchObject({ role: 'Follower', term });
    expect(net.sentWhere((m) => m.from === 3 && (m.type === 'Vote' || m.type === 'PreVote'))).toEqual([]);
  });

  it('§6 invalid membership changes are refused', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    expect(() => net.proposeConfChange(1, add(2))).toThrow(InvalidConfChangeError);
    expect(() => net.proposeConfChange(1, remove(7))).toThrow(InvalidConfChangeError);
    expect(() => net.proposeConfChange(1, add(0))).toThrow(InvalidConfChangeError);
    const solo = electedNet({ voters: [1] });
    expect(() => solo.proposeConfChange(1, remove(1))).toThrow(InvalidConfChangeError);
    expect(solo.status(1).role).toBe('Leader');
  });
});
