/**
 * etcd's membership rules (store/replica/membership-rules.ts) on hand-made
 * membership tables: each refusal carries etcd's code (so etcdctl prints its
 * exact text) and a detail that names the member and the limit. And the table's
 * memory of removed members, which lets peers tell a removed member to stop.
 */
import { describe, expect, it } from 'vitest';
import { ConfChangeType, encodeConfChange, type ConfChange } from '../../raft/core/conf-change.js';
import { EntryType, type Entry } from '../../raft/core/types.js';
import { EtcdServerError, toGrpcStatus } from '../../store/etcd-server/errors.js';
import type { Member } from '../../store/etcd-server/types.js';
import { Members, MAX_REMOVED_IDS_REMEMBERED } from '../../store/replica/members.js';
import { checkAdd, checkPromote, checkRemove, checkUpdate, type ClusterView } from '../../store/replica/membership-rules.js';
import { ReplicatedState } from '../../store/replica/replicated-state.js';

function member(id: number, o: Partial<Member> = {}): Member {
  return { id, name: `m${id}`, peerUrls: [`http://127.0.0.1:${36_000 + id}`], clientUrls: [`http://127.0.0.1:${37_000 + id}`], isLearner: false, ...o };
}

const started3: ClusterView = { members: [member(1), member(2), member(3)], selfId: 1 };
const unstarted = (id: number, o: Partial<Member> = {}): Member => member(id, { name: '', clientUrls: [], ...o });

function refusal(f: () => void): { code: string; message: string; wire: string } {
  try {
    f();
  } catch (err) {
    if (!(err instanceof EtcdServerError)) throw err;
    return { code: err.code, message: err.message, wire: String(toGrpcStatus(err).details) };
  }
  throw new Error('the change was allowed');
}

describe('adding a member', () => {
  it('refuses a peer URL another member has, with etcd text', () => {
    const r = refusal(() => checkAdd(started3, { peerUrls: ['http://127.0.0.1:36002'], isLearner: true }));
    expect(r).toMatchObject({ code: 'PEER_URL_EXISTS', wire: 'etcdserver: Peer URLs already exists' });
    expect(r.message).toContain('http://127.0.0.1:36002 is already member 2');
  });

  it('allows one learner at a time (etcd 3.4 maxLearners = 1)', () => {
    expect(() => checkAdd(started3, { peerUrls: ['http://127.0.0.1:36004'], isLearner: true })).not.toThrow();
    const withLearner = { ...started3, members: [...started3.members, unstarted(4, { isLearner: true })] };
    const r = refusal(() => checkAdd(withLearner, { peerUrls: ['http://127.0.0.1:36005'], isLearner: true }));
    expect(r).toMatchObject({ code: 'TOO_MANY_LEARNERS', wire: 'etcdserver: too many learner members in cluster' });
    expect(r.message).toContain('the limit is 1');
  });

  it('adds a voter only when the started voters make the quorum with it', () => {
    expect(() => checkAdd(started3, { peerUrls: ['http://127.0.0.1:36004'], isLearner: false })).not.toThrow();
    const twoUnstarted = { members: [member(1), unstarted(2), unstarted(3)], selfId: 1 };
    const r = refusal(() => checkAdd(twoUnstarted, { peerUrls: ['http://127.0.0.1:36004'], isLearner: false }));
    expect(r).toMatchObject({ code: 'MEMBER_NOT_ENOUGH_STARTED', wire: 'etcdserver: re-configuration failed due to not enough started members' });
  });

  it('refuses a second voter for a single member, whose quorum would then need the new one (use a learner)', () => {
    const single = { members: [member(1)], selfId: 1 };
    expect(refusal(() => checkAdd(single, { peerUrls: ['http://127.0.0.1:36002'], isLearner: false })).message).toContain('--learner');
    expect(() => checkAdd(single, { peerUrls: ['http://127.0.0.1:36002'], isLearner: true })).not.toThrow();
  });

  it('on the leader, refuses while a voter is silent', () => {
    const view = { ...started3, isActive: (id: number) => id !== 3 };
    expect(refusal(() => checkAdd(view, { peerUrls: ['http://127.0.0.1:36004'], isLearner: true }))).toMatchObject({
      code: 'UNHEALTHY',
      wire: 'etcdserver: unhealthy cluster',
    });
  });
});

describe('removing a member', () => {
  it('refuses an unknown id', () => {
    expect(refusal(() => checkRemove(started3, 9))).toMatchObject({ code: 'MEMBER_NOT_FOUND', wire: 'etcdserver: member not found' });
  });

  it('refuses the last voter with a clear detail', () => {
    const r = refusal(() => checkRemove({ members: [member(1)], selfId: 1 }, 1));
    expect(r.code).toBe('MEMBER_NOT_ENOUGH_STARTED');
    expect(r.message).toBe('member 1 is the last voter; removing it would leave the cluster without one');
  });

  it('refuses a voter whose removal leaves fewer started voters than the remaining quorum', () => {
    const view = { members: [member(1), member(2), unstarted(3), unstarted(4)], selfId: 1 };
    expect(refusal(() => checkRemove(view, 2)).code).toBe('MEMBER_NOT_ENOUGH_STARTED');
    expect(() => checkRemove(view, 3)).not.toThrow();
  });

  it('always removes a learner', () => {
    expect(() => checkRemove({ members: [member(1), unstarted(2, { isLearner: true })], selfId: 1 }, 2)).not.toThrow();
  });

  it('on the leader, removes a member that is down, but not an active one that the active quorum needs', () => {
    const view = { ...started3, isActive: (id: number) => id !== 3 };
    expect(() => checkRemove(view, 3)).not.toThrow();
    expect(refusal(() => checkRemove(view, 2)).code).toBe('UNHEALTHY');
  });
});

describe('promoting a learner', () => {
  const withLearner: ClusterView = { members: [member(1), member(2), member(3), member(4, { isLearner: true })], selfId: 1 };

  it('refuses a voter', () => {
    expect(refusal(() => checkPromote(withLearner, 2))).toMatchObject({ code: 'MEMBER_NOT_LEARNER', wire: 'etcdserver: can only promote a learner member' });
  });

  it('needs 90% of the leader log', () => {
    const r = refusal(() => checkPromote(withLearner, 4, { learnerMatch: 89, leaderMatch: 100 }));
    expect(r).toMatchObject({ code: 'LEARNER_NOT_READY', wire: 'etcdserver: can only promote a learner member which is in sync with leader' });
    expect(r.message).toContain('index 89 of the leader');
    expect(() => checkPromote(withLearner, 4, { learnerMatch: 90, leaderMatch: 100 })).not.toThrow();
  });

  it('refuses a learner the leader has not heard from lately', () => {
    const view = { ...withLearner, isActive: (id: number) => id !== 4 };
    expect(refusal(() => checkPromote(view, 4, { learnerMatch: 100, leaderMatch: 100 })).code).toBe('LEARNER_NOT_READY');
  });
});

describe("updating a member's peer URLs", () => {
  it("refuses another member's URL and accepts the member's own", () => {
    expect(refusal(() => checkUpdate(started3, 1, ['http://127.0.0.1:36002'])).code).toBe('PEER_URL_EXISTS');
    expect(() => checkUpdate(started3, 1, ['http://127.0.0.1:36001'])).not.toThrow();
    expect(refusal(() => checkUpdate(started3, 9, ['http://127.0.0.1:36009'])).code).toBe('MEMBER_NOT_FOUND');
  });
});

describe('the membership table remembers removed members', () => {
  const entry = (index: number, cc: ConfChange): Entry => ({ term: 1, index, type: EntryType.ConfChange, data: encodeConfChange(cc) });

  it('across a snapshot, so a removed member is still refused after a restart from it', () => {
    const hooks = { onResult: () => undefined, onMembersChanged: () => undefined };
    const state = new ReplicatedState(hooks);
    state.apply([
      entry(1, { type: ConfChangeType.AddVoter, nodeId: 1 }),
      entry(2, { type: ConfChangeType.AddVoter, nodeId: 2 }),
      entry(3, { type: ConfChangeType.RemoveNode, nodeId: 2 }),
    ]);
    expect(state.members.isRemoved(2)).toBe(true);
    const restored = new ReplicatedState(hooks);
    restored.restore({ metadata: { index: 3, term: 1, confState: { voters: [1], learners: [] } }, data: state.snapshot() });
    expect(restored.members.list().map((m) => m.id)).toEqual([1]);
    expect(restored.members.removedIds()).toEqual([2]);
  });

  it(`forgets the oldest beyond ${MAX_REMOVED_IDS_REMEMBERED}`, () => {
    const members = new Members();
    for (let id = 1; id <= MAX_REMOVED_IDS_REMEMBERED + 2; id++) members.applyConfChange({ type: ConfChangeType.RemoveNode, nodeId: id });
    expect(members.isRemoved(1)).toBe(false);
    expect(members.isRemoved(3)).toBe(true);
    expect(members.removedIds()).toHaveLength(MAX_REMOVED_IDS_REMEMBERED);
  });
});
