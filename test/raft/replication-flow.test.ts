/**
 * Replication flow control (in-flight messages and bytes), the leader's
 * per-follower progress states, the Ready/advance contract of the driver, and
 * seeded simulations with every feature on.
 */
import { describe, it, expect } from 'vitest';
import { entriesBytes } from '../../raft/core/types.js';
import { Network, text } from './network.js';
import { runFeatureSimulation, runMembershipSimulation } from './sim.js';

import { electedNet, sentSince } from './features-helpers.js';

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
