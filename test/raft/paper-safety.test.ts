/**
 * The Raft paper's safety rules (§5.4 election restriction, committing entries
 * from previous terms, the safety argument), §5.5 crashes, §5.6 timing and §8
 * client interaction, one test per rule, named after its section. Basic Raft:
 * pre-vote and check-quorum off. See paper.test.ts for the conventions.
 */
import { describe, it, expect } from 'vitest';
import { NONE } from '../../raft/core/types.js';
import { text } from './network.js';
import { SafetyViolation } from './safety.js';
import { runBasicSimulation } from './sim.js';
import { ELECTION_TICKS, committedTexts, electedNet, hs, msg, ofType, paperNet } from './paper-helpers.js';

describe('§5.4 safety', () => {
  describe('§5.4.1 voter rejects a candidate with a less up-to-date log', () => {
    // Voter log terms [1, 1, 2]: last index 3, last term 2.
    const cases: Array<[string, number, number, boolean]> = [
      ['same last term, same length', 3, 2, true],
      ['same last term, longer', 4, 2, true],
      ['higher last term, shorter', 1, 3, true],
      ['same last term, shorter', 2, 2, false],
      ['lower last term, longer', 5, 1, false],
      ['lower last term, same length', 3, 1, false],
      ['empty log', 0, 0, false],
    ];
    for (const [name, lastIndex, lastTerm, grants] of cases) {
      it(`${name}: ${grants ? 'grant' : 'reject'}`, () => {
        const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 2] }, hardStates: { 1: hs(2) } });
        net.deliver(msg('Vote', 2, 1, 3, { index: lastIndex, logTerm: lastTerm }));
        net.stabilize();
        const resp = ofType(net.takeOutbox(), 'VoteResp');
        expect(resp).toHaveLength(1);
        expect(resp[0]).toMatchObject({ to: 2, term: 3 });
        expect(resp[0]?.reject !== true).toBe(grants);
        expect(net.status(1)).toMatchObject({ term: 3, vote: grants ? 2 : NONE, role: 'Follower' });
      });
    }
  });

  it('§5.4.1 (control) the up-to-date check is what refuses the stale candidate: without it the vote is granted', () => {
    const net = paperNet({
      voters: [1, 2, 3],
      nodes: [1],
      logs: { 1: [1, 1, 2] },
      hardStates: { 1: hs(2) },
      config: { plantedBugs: { voteWithoutLogCheck: true } },
    });
    net.deliver(msg('Vote', 2, 1, 3, { index: 5, logTerm: 1 }));
    net.stabilize();
    const resp = ofType(net.takeOutbox(), 'VoteResp');
    expect(resp.map((m) => m.reject === true)).toEqual([false]);
  });

  it('§5.4.1 a vote is durable before the granting response is sent', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.deliver(msg('Vote', 2, 1, 1, { index: 0, logTerm: 0 }));
    const rd = net.processReady(1);
    expect(rd?.messages.some((m) => m.type === 'VoteResp' && m.reject !== true)).toBe(true);
    expect(rd?.hardState).toMatchObject({ term: 1, vote: 2 });
    expect(rd?.mustSync).toBe(true);
  });

  it('§5.4.1 a node missing committed entries cannot be elected; one that has them can', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(3);
    net.propose(1, 'a');
    net.propose(1, 'b');
    net.stabilize();
    expect(committedTexts(net, 1)).toEqual(['a', 'b']);
    net.recover();
    net.isolate(1);
    net.campaign(3);
    expect(net.status(3).role).not.toBe('Leader');
    expect(net.leaders()).toEqual([1]); // only the isolated old leader still believes it leads
    net.campaign(2);
    expect(net.status(2).role).toBe('Leader');
    net.tickStabilize(1, [2]);
    expect(committedTexts(net, 3)).toEqual(['a', 'b']);
  });

  it('§5.4.2 leader only commits entries from its current term by counting replicas (Figure 8)', () => {
    // Node 1 holds an uncommitted entry 2 from term 2; it becomes leader of term 3 and appends its no-op at 3.
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 2] }, hardStates: { 1: hs(2, NONE, 1) } });
    net.campaign(1);
    net.deliver(msg('VoteResp', 2, 1, 3, { reject: false }));
    net.stabilize();
    expect(net.status(1)).toMatchObject({ role: 'Leader', term: 3, lastIndex: 3, commit: 1 });
    net.takeOutbox();
    // Node 2 now stores entry 2: a majority holds it, but it is from term 2.
    net.deliver(msg('AppResp', 2, 1, 3, { index: 2 }));
    net.stabilize();
    expect(net.progress(1, 2)?.match).toBe(2);
    expect(net.status(1).commit).toBe(1);
    expect(net.mustNode(1).appliedEntries.map((e) => e.index)).toEqual([1]);
    // Once the term-3 entry is on a majority, it and everything before it commit.
    net.deliver(msg('AppResp', 2, 1, 3, { index: 3 }));
    net.stabilize();
    expect(net.status(1).commit).toBe(3);
    expect(net.mustNode(1).appliedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('§5.4.2 (control) counting replicas of an old-term entry would commit it: the check above can fail', () => {
    const net = paperNet({
      voters: [1, 2, 3],
      nodes: [1],
      logs: { 1: [1, 2] },
      hardStates: { 1: hs(2, NONE, 1) },
      config: { plantedBugs: { commitPreviousTermByCount: true } },
    });
    net.campaign(1);
    net.deliver(msg('VoteResp', 2, 1, 3, { reject: false }));
    net.stabilize();
    net.deliver(msg('AppResp', 2, 1, 3, { index: 2 }));
    net.stabilize();
    expect(net.status(1).commit).toBe(2);
  });

  it('§5.4.2 entries from previous terms commit together with the first entry of the new term', () => {
    const net = paperNet({
      voters: [1, 2, 3],
      logs: { 1: [1, 2], 2: [1, 2], 3: [1] },
      hardStates: { 1: hs(2, NONE, 1), 2: hs(2, NONE, 1), 3: hs(2, NONE, 1) },
    });
    net.campaign(1);
    expect(net.status(1)).toMatchObject({ role: 'Leader', term: 3 });
    net.tickStabilize(1, [1]);
    for (const id of [1, 2, 3]) {
      expect(net.logTerms(id)).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
      ]);
      expect(net.status(id).commit).toBe(3);
    }
  });

  it('§5.4.3 (control) the simulation below catches a planted bug: votes granted without the log check', () => {
    let violations = 0;
    for (let seed = 1; seed <= 10; seed++) {
      try {
        runBasicSimulation(seed, { voteWithoutLogCheck: true });
      } catch (err) {
        if (err instanceof SafetyViolation) violations++;
      }
    }
    expect(violations).toBeGreaterThanOrEqual(1);
  });

  it('§5.4.3 a committed entry is in the log of every later leader (leader completeness)', () => {
    const net = electedNet({ voters: [1, 2, 3, 4, 5] });
    net.partition([1, 2, 3], [4, 5]);
    net.propose(1, 'committed');
    net.stabilize();
    expect(committedTexts(net, 1)).toEqual(['committed']);
    // Leader and one replica fail: the remaining replica plus the two stale nodes must elect it.
    net.recover();
    net.isolate(1);
    net.isolate(2);
    net.campaign(4);
    expect(net.status(4).role).not.toBe('Leader');
    net.campaign(5);
    expect(net.status(5).role).not.toBe('Leader');
    net.campaign(3);
    expect(net.status(3).role).toBe('Leader');
    expect(net.log(3).map(text)).toContain('committed');
    net.tickStabilize(1, [3]);
    for (const id of [3, 4, 5]) expect(committedTexts(net, id)).toEqual(['committed']);
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`§5.4.3 safety holds across seeded partitions and leader changes (seed ${seed})`, () => {
      const stats = runBasicSimulation(seed);
      // The run must have exercised what it checks: several leaders, many committed entries.
      expect(stats.leaderTerms, `seed ${seed}`).toBeGreaterThanOrEqual(3);
      expect(stats.appliedIndexes, `seed ${seed}`).toBeGreaterThanOrEqual(10);
    });
  }
});

describe('§5.5 follower and candidate crashes', () => {
  it('§5.5 a restarted node recovers its term, vote and log from stable storage and rejoins', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.propose(1, 'before-crash');
    net.stabilize();
    const before = net.status(2);
    const logBefore = net.logTerms(2);
    net.restart(2);
    const after = net.status(2);
    expect(after).toMatchObject({ term: before.term, vote: before.vote, commit: before.commit, lastIndex: before.lastIndex });
    expect(net.logTerms(2)).toEqual(logBefore);
    net.propose(1, 'after-crash');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(committedTexts(net, 2)).toEqual(['before-crash', 'after-crash']);
  });

  it('§5.5 a restarted node does not vote twice in one term', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.deliver(msg('Vote', 2, 1, 1, { index: 0, logTerm: 0 }));
    net.stabilize();
    expect(ofType(net.takeOutbox(), 'VoteResp').map((m) => m.reject === true)).toEqual([false]);
    net.restart(1);
    net.deliver(msg('Vote', 3, 1, 1, { index: 0, logTerm: 0 }));
    net.stabilize();
    expect(ofType(net.takeOutbox(), 'VoteResp').map((m) => m.reject === true)).toEqual([true]);
    expect(net.status(1).vote).toBe(2);
  });

  it('§5.5 a candidate that restarts comes back as a follower of the same term', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.campaign(1);
    net.restart(1);
    expect(net.status(1)).toMatchObject({ role: 'Follower', term: 1, vote: 1 });
  });
});

describe('§5.6 timing and availability', () => {
  it('§5.6 a leader stays in power while heartbeats flow (broadcast time << election timeout)', () => {
    const net = electedNet({ voters: [1, 2, 3, 4, 5] });
    net.tickStabilize(20 * ELECTION_TICKS);
    expect(net.leaders()).toEqual([1]);
    for (const id of [1, 2, 3, 4, 5]) expect(net.status(id)).toMatchObject({ term: 1, lead: 1 });
  });

  it('§5.6 when the leader fails, the others elect a new one within a few election timeouts', () => {
    const net = electedNet({ voters: [1, 2, 3, 4, 5] });
    net.isolate(1);
    let ticks = 0;
    for (; ticks < 10 * ELECTION_TICKS; ticks++) {
      net.tickStabilize(1, [2, 3, 4, 5]);
      if ([2, 3, 4, 5].some((id) => net.status(id).role === 'Leader')) break;
    }
    expect(ticks).toBeLessThan(10 * ELECTION_TICKS);
    const newLeader = [2, 3, 4, 5].filter((id) => net.status(id).role === 'Leader');
    expect(newLeader).toHaveLength(1);
    expect(net.status(newLeader[0]!).term).toBeGreaterThan(1);
  });
});

describe('§8 client interaction', () => {
  it('§8 a new leader appends a blank no-op entry of its term and commits it', () => {
    const net = paperNet({ voters: [1, 2, 3], logs: { 1: [1, 1], 2: [1, 1], 3: [1] }, hardStates: { 1: hs(1), 2: hs(1), 3: hs(1) } });
    net.campaign(1);
    const log = net.log(1);
    const last = log[log.length - 1]!;
    expect(last).toMatchObject({ index: 3, term: 2, type: 'Normal' });
    expect(last.data.byteLength).toBe(0);
    for (const id of [1, 2, 3]) expect(net.status(id).commit).toBeGreaterThanOrEqual(3);
  });
});
