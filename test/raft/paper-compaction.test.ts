/**
 * The Raft paper's §7 (log compaction): snapshots, InstallSnapshot to
 * followers behind the first retained entry, restart from a snapshot.
 * Basic Raft: pre-vote and check-quorum off. See paper.test.ts for the conventions.
 */
import { describe, it, expect } from 'vitest';
import { MemoryStorage } from '../../raft/core/storage.js';
import { bytes, entry } from './network.js';
import { committedTexts, electedNet, hs, msg, ofType, paperNet } from './paper-helpers.js';

describe('§7 log compaction', () => {
  it('§7 log compaction: follower behind the first retained entry gets InstallSnapshot', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(3);
    for (const d of ['a', 'b', 'c', 'd']) net.propose(1, d);
    net.stabilize();
    const snap = net.compact(1);
    expect(net.mustNode(1).storage.firstIndex()).toBe(snap.metadata.index + 1);
    net.recover();
    net.tickStabilize(2, [1]);
    const snaps = net.sentWhere((m) => m.type === 'Snap' && m.to === 3);
    expect(snaps.length).toBeGreaterThanOrEqual(1);
    expect(snaps[0]?.snapshot?.metadata.index).toBe(snap.metadata.index);
    expect(net.mustNode(3).storage.snapshot().metadata.index).toBe(snap.metadata.index);
    expect(committedTexts(net, 3)).toEqual(['a', 'b', 'c', 'd']);
    expect(net.status(3).commit).toBe(net.status(1).commit);
    // Replication carries on normally after the snapshot.
    net.propose(1, 'e');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(committedTexts(net, 3)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('§7 a snapshot that covers entries the follower lacks replaces its conflicting log', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 1] }, hardStates: { 1: hs(1) } });
    const snapshot = {
      metadata: { index: 5, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
      data: bytes(JSON.stringify(['s1', 's2'])),
    };
    net.deliver(msg('Snap', 2, 1, 2, { snapshot }));
    const rd = net.processReady(1);
    expect(rd?.snapshot?.metadata.index).toBe(5);
    net.stabilize();
    const st = net.status(1);
    expect(st).toMatchObject({ term: 2, lead: 2, commit: 5, lastIndex: 5 });
    expect(net.log(1)).toEqual([]);
    expect(committedTexts(net, 1)).toEqual(['s1', 's2']);
    const acks = ofType(net.takeOutbox(), 'AppResp');
    expect(acks.some((m) => m.reject !== true && m.index === 5)).toBe(true);
  });

  it('§7 a snapshot describing a prefix of the follower\'s log keeps the entries after it', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 1, 1, 1] }, hardStates: { 1: hs(1, 2, 2) } });
    const snapshot = {
      metadata: { index: 3, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
      data: bytes(JSON.stringify([])),
    };
    net.deliver(msg('Snap', 2, 1, 1, { snapshot }));
    net.stabilize();
    expect(net.status(1).lastIndex).toBe(5);
    expect(net.status(1).commit).toBeGreaterThanOrEqual(3);
    const terms = net.logTerms(1);
    expect(terms.slice(-2)).toEqual([
      [4, 1],
      [5, 1],
    ]);
  });

  it('§7 a follower ignores a snapshot older than its commit index', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 1, 1, 1] }, hardStates: { 1: hs(1, 2, 5) } });
    const before = net.logTerms(1);
    const snapshot = {
      metadata: { index: 3, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
      data: bytes(JSON.stringify(['stale'])),
    };
    net.deliver(msg('Snap', 2, 1, 1, { snapshot }));
    net.stabilize();
    expect(net.mustNode(1).readys.some((rd) => rd.snapshot !== undefined)).toBe(false);
    expect(net.logTerms(1)).toEqual(before);
    expect(net.status(1).commit).toBe(5);
    expect(committedTexts(net, 1)).not.toContain('stale');
  });

  it('§7 a stale snapshot does not roll back a follower that has compacted past it', () => {
    const conf = { voters: [1, 2, 3], learners: [] };
    const storage = new MemoryStorage(conf);
    storage.append([1, 2, 3, 4, 5, 6, 7].map((i) => entry(i, 1, `e${i}`)));
    storage.setHardState(hs(1, 2, 7));
    storage.createSnapshot(5, conf, bytes(JSON.stringify(['e1', 'e2', 'e3', 'e4', 'e5'])));
    storage.compact(5);
    const net = paperNet({ voters: [1, 2, 3], nodes: [] });
    net.addNode(1, storage, 5);
    net.stabilize();
    const snapshot = { metadata: { index: 3, term: 1, confState: conf }, data: bytes(JSON.stringify(['old'])) };
    net.deliver(msg('Snap', 2, 1, 1, { snapshot }));
    net.stabilize();
    expect(net.mustNode(1).readys.some((rd) => rd.snapshot !== undefined)).toBe(false);
    expect(net.status(1)).toMatchObject({ commit: 7, lastIndex: 7 });
    expect(storage.snapshot().metadata.index).toBe(5);
    expect(net.logTerms(1)).toEqual([
      [6, 1],
      [7, 1],
    ]);
  });

  it('§7 the snapshot carries the membership to a node that joins after compaction', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1, 2, 3] });
    net.campaign(1);
    net.propose(1, 'a');
    net.stabilize();
    net.proposeConfChange(1, { type: 'AddVoter', nodeId: 4 }); // node 4 does not exist yet
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(net.status(1).commit).toBe(net.status(1).lastIndex);
    net.compact(1);
    net.takeOutbox();
    // Node 4 starts with nothing, not even a membership: all it knows must come from the snapshot.
    net.addNode(4, new MemoryStorage({ voters: [], learners: [] }));
    net.tickStabilize(2, [1]);
    expect(net.sentWhere((m) => m.type === 'Snap' && m.to === 4).length).toBeGreaterThanOrEqual(1);
    expect(net.status(4).confState.voters).toEqual([1, 2, 3, 4]);
    expect(committedTexts(net, 4)).toEqual(['a']);
    net.propose(1, 'b');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(committedTexts(net, 4)).toEqual(['a', 'b']);
  });

  it('§7 each server compacts independently and restarts from its snapshot plus the entries after it', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    net.stabilize();
    net.tickStabilize(1, [1]);
    const snap = net.compact(2, 3);
    const before = net.status(2);
    net.restart(2);
    expect(net.status(2)).toMatchObject({ term: before.term, commit: before.commit, lastIndex: before.lastIndex });
    expect(net.status(2).confState.voters).toEqual([1, 2, 3]);
    expect(net.mustNode(2).storage.firstIndex()).toBe(snap.metadata.index + 1);
    net.propose(1, 'd');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(committedTexts(net, 2)).toEqual(['a', 'b', 'c', 'd']);
  });
});
