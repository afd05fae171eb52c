/**
 * One test per rule of the Raft paper ("In Search of an Understandable
 * Consensus Algorithm", extended version) and the thesis where the paper
 * defers to it, named after its section: §5.1–§5.3 here (states and terms,
 * leader election, log replication); §5.4–§5.6 and §8 in paper-safety.test.ts,
 * §6 in paper-membership.test.ts, §7 in paper-compaction.test.ts. Basic Raft:
 * pre-vote and check-quorum are off (features.test.ts covers them).
 *
 * Two styles: a lone node driven by hand-written messages (the other members
 * are absent; what it sends lands in the network's outbox), and a whole
 * in-memory network driven through Readys.
 */
import { describe, it, expect } from 'vitest';
import type { MessageType } from '../../raft/core/types.js';
import { NONE } from '../../raft/core/types.js';
import { entry, text } from './network.js';
import { ELECTION_TICKS, app, committedTexts, electedNet, hs, loneLeader, msg, ofType, paperNet, ticksUntil } from './paper-helpers.js';

describe('§5.1 server states and terms', () => {
  it('§5.1 a node starts as a follower, at term 0 or at its persisted term', () => {
    const fresh = paperNet({ voters: [1, 2, 3] });
    for (const id of [1, 2, 3]) {
      expect(fresh.status(id).role).toBe('Follower');
      expect(fresh.status(id).term).toBe(0);
    }
    const restarted = paperNet({ voters: [1, 2, 3], nodes: [1], hardStates: { 1: hs(5, 2) }, logs: { 1: [1, 5] } });
    expect(restarted.status(1)).toMatchObject({ role: 'Follower', term: 5, vote: 2, lead: NONE });
  });

  describe('§5.1 a node with a higher term\'s message updates its term and becomes follower', () => {
    const roles = ['Follower', 'Candidate', 'Leader'] as const;
    const senders: Array<{ type: MessageType; lead: number }> = [
      { type: 'App', lead: 2 },
      { type: 'Heartbeat', lead: 2 },
      { type: 'Vote', lead: NONE },
    ];
    for (const role of roles) {
      for (const { type, lead } of senders) {
        it(`${role} receiving ${type} at a higher term`, () => {
          const net =
            role === 'Leader'
              ? loneLeader({ voters: [1, 2, 3] }, [2])
              : paperNet({ voters: [1, 2, 3], nodes: [1] });
          if (role === 'Candidate') {
            net.campaign(1);
            net.takeOutbox();
          }
          expect(net.status(1).role).toBe(role);
          const before = net.status(1);
          const higher = before.term + 3;
          const m =
            type === 'App'
              ? app(2, 1, higher, [0, 0], [], 0)
              : type === 'Heartbeat'
                ? msg('Heartbeat', 2, 1, higher, { commit: 0 })
                : msg('Vote', 2, 1, higher, { index: before.lastIndex + 5, logTerm: higher - 1 });
          net.deliver(m);
          net.stabilize();
          const after = net.status(1);
          expect(after.term).toBe(higher);
          expect(after.role).toBe('Follower');
          expect(after.lead).toBe(lead);
          // The new term is durable before anything is said in it.
          expect(net.mustNode(1).storage.initialState().hardState.term).toBe(higher);
        });
      }
    }
  });

  it('§5.1 a message with a stale term changes nothing and is not acknowledged as a success', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], hardStates: { 1: hs(3, NONE, 2) }, logs: { 1: [1, 1] } });
    net.deliver(app(2, 1, 2, [2, 1], [entry(3, 2, 'stale')], 3));
    net.deliver(msg('Heartbeat', 3, 1, 2, { commit: 2 }));
    net.deliver(msg('Vote', 2, 1, 2, { index: 10, logTerm: 2 }));
    net.stabilize();
    const st = net.status(1);
    expect(st).toMatchObject({ term: 3, vote: NONE, lead: NONE, role: 'Follower', lastIndex: 2 });
    expect(net.logTerms(1)).toEqual([
      [1, 1],
      [2, 1],
    ]);
    for (const m of net.takeOutbox()) {
      expect(m.term).toBe(3); // any reply carries the current term so the sender steps down
      if (m.type === 'AppResp') expect(m.reject === true || (m.index ?? 0) <= 2).toBe(true);
      expect(m.type === 'VoteResp' && m.reject !== true).toBe(false);
    }
  });
});

describe('§5.2 leader election', () => {
  it('§5.2 a follower that hears nothing for an election timeout becomes candidate: new term, votes for itself, asks every peer', () => {
    const net = paperNet({ voters: [1, 2, 3, 4, 5], nodes: [1], logs: { 1: [1, 1, 2] }, hardStates: { 1: hs(2) } });
    ticksUntil(net, () => net.status(1).role !== 'Follower');
    expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 3, vote: 1 });
    const votes = ofType(net.takeOutbox(), 'Vote');
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3, 4, 5]);
    for (const v of votes) expect(v).toMatchObject({ from: 1, term: 3, index: 3, logTerm: 2 });
  });

  it('§5.2 the candidate\'s own vote is durable before its vote requests are sent', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.raw(1).campaign();
    net.stabilize();
    const readys = net.mustNode(1).readys;
    const firstWithVote = readys.findIndex((rd) => rd.messages.some((m) => m.type === 'Vote'));
    expect(firstWithVote).toBeGreaterThanOrEqual(0);
    const persisted = readys
      .slice(0, firstWithVote + 1)
      .some((rd) => rd.hardState !== undefined && rd.hardState.term === 1 && rd.hardState.vote === 1 && rd.mustSync);
    expect(persisted).toBe(true);
  });

  it('§5.2 a candidate that neither wins nor loses starts a new election after another timeout', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.campaign(1);
    expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 1 });
    net.takeOutbox();
    const ticks = ticksUntil(net, () => net.status(1).term === 2);
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
    expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 2, vote: 1 });
    expect(ofType(net.takeOutbox(), 'Vote').map((m) => [m.to, m.term])).toEqual([
      [2, 2],
      [3, 2],
    ]);
  });

  describe('§5.2 leader election in one round of RPCs', () => {
    // size, granted voters, refused voters, wins?
    const cases: Array<[number, number[], number[], boolean]> = [
      [1, [], [], true],
      [3, [2, 3], [], true],
      [3, [2], [], true],
      [5, [2, 3, 4, 5], [], true],
      [5, [2, 3], [], true],
      [5, [2, 3], [4, 5], true],
      [3, [], [], false],
      [3, [], [2, 3], false],
      [5, [2], [], false],
      [5, [2], [3, 4, 5], false],
      [5, [], [2, 3, 4], false],
    ];
    for (const [size, granted, refused, wins] of cases) {
      it(`${size} voters, granted by ${JSON.stringify(granted)}, refused by ${JSON.stringify(refused)}: ${wins ? 'leader' : 'not leader'}`, () => {
        const voters = Array.from({ length: size }, (_, i) => i + 1);
        const net = paperNet({ voters, nodes: [1] });
        net.campaign(1);
        const term = net.status(1).term;
        expect(term).toBe(1);
        for (const v of granted) net.deliver(msg('VoteResp', v, 1, term, { reject: false }));
        for (const v of refused) net.deliver(msg('VoteResp', v, 1, term, { reject: true }));
        net.stabilize();
        const st = net.status(1);
        expect(st.role === 'Leader').toBe(wins);
        expect(st.term).toBe(term);
        if (wins) expect(st.lead).toBe(1);
      });
    }
  });

  it('§5.2 a follower votes at most once per term, first come first served', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
    net.deliver(msg('Vote', 2, 1, 1, { index: 0, logTerm: 0 }));
    net.deliver(msg('Vote', 3, 1, 1, { index: 0, logTerm: 0 }));
    net.deliver(msg('Vote', 2, 1, 1, { index: 0, logTerm: 0 })); // a retry from the same candidate
    net.stabilize();
    const resps = ofType(net.takeOutbox(), 'VoteResp').map((m) => [m.to, m.term, m.reject === true]);
    expect(resps).toEqual([
      [2, 1, false],
      [3, 1, true],
      [2, 1, false],
    ]);
    expect(net.status(1).vote).toBe(2);
  });

  for (const type of ['App', 'Heartbeat'] as const) {
    it(`§5.2 candidate falls back to follower on ${type === 'App' ? 'AppendEntries' : 'a heartbeat'} from a leader of equal term`, () => {
      const net = paperNet({ voters: [1, 2, 3], nodes: [1] });
      net.campaign(1);
      expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 1 });
      net.deliver(type === 'App' ? app(2, 1, 1, [0, 0], [entry(1, 1)], 0) : msg('Heartbeat', 2, 1, 1, { commit: 0 }));
      net.stabilize();
      expect(net.status(1)).toMatchObject({ role: 'Follower', term: 1, lead: 2, vote: 1 });
    });
  }

  it('§5.2 candidate stays candidate on AppendEntries from a stale leader', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], hardStates: { 1: hs(1) } });
    net.campaign(1);
    expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 2 });
    net.deliver(app(2, 1, 1, [0, 0], [entry(1, 1)], 0));
    net.deliver(msg('Heartbeat', 3, 1, 1, { commit: 0 }));
    net.stabilize();
    expect(net.status(1)).toMatchObject({ role: 'Candidate', term: 2, lastIndex: 0 });
  });

  it('§5.2 randomized election timeouts differ and lie in [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const net = paperNet({ voters: [1, 2, 3], nodes: [1], seed });
      const first = ticksUntil(net, () => net.status(1).role !== 'Follower');
      // Each election resets the timer with a fresh random timeout, so measure the next one too.
      const second = ticksUntil(net, () => net.status(1).term === 2);
      for (const t of [first, second]) {
        expect(t, `seed ${seed}`).toBeGreaterThanOrEqual(ELECTION_TICKS);
        expect(t, `seed ${seed}`).toBeLessThan(2 * ELECTION_TICKS);
        seen.add(t);
      }
    }
    // 80 draws from 10 values: a fixed or barely varying timeout would show up here.
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('§5.2 nodes of one cluster draw different election timeouts', () => {
    const net = paperNet({ voters: [1, 2, 3, 4, 5], seed: 7 });
    const firstTick = new Map<number, number>();
    for (let t = 1; t <= 2 * ELECTION_TICKS && firstTick.size < 5; t++) {
      net.tick(1);
      for (const id of [1, 2, 3, 4, 5]) {
        if (!firstTick.has(id) && net.status(id).role !== 'Follower') firstTick.set(id, t);
      }
    }
    expect(firstTick.size).toBe(5);
    expect(new Set(firstTick.values()).size).toBeGreaterThan(1);
  });

  for (const size of [3, 5]) {
    it(`§5.2 an election in a ${size}-node cluster yields one leader that every node follows`, () => {
      const voters = Array.from({ length: size }, (_, i) => i + 1);
      const net = electedNet({ voters });
      expect(net.leaders()).toEqual([1]);
      for (const id of voters) expect(net.status(id)).toMatchObject({ term: 1, lead: 1 });
    });
  }

  it('§5.2 a candidate in a minority partition cannot win; the majority side elects a leader', () => {
    const net = paperNet({ voters: [1, 2, 3, 4, 5] });
    net.partition([1, 2], [3, 4, 5]);
    net.campaign(1);
    expect(net.status(1).role).toBe('Candidate');
    expect(net.leaders()).toEqual([]);
    net.campaign(3);
    expect(net.leaders()).toEqual([3]);
    for (const id of [3, 4, 5]) expect(net.status(id).lead).toBe(3);
  });

  it('§5.2 once elected, a leader sends heartbeats every heartbeatTicks', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], config: { heartbeatTicks: 3 } });
    net.campaign(1);
    net.deliver(msg('VoteResp', 2, 1, 1, { reject: false }));
    net.stabilize();
    expect(net.status(1).role).toBe('Leader');
    net.takeOutbox();
    net.tick(2, [1]);
    net.stabilize();
    expect(ofType(net.takeOutbox(), 'Heartbeat')).toEqual([]);
    net.tick(1, [1]);
    net.stabilize();
    const beats = ofType(net.takeOutbox(), 'Heartbeat');
    expect(beats.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const b of beats) expect(b.term).toBe(1);
    // Three more heartbeat intervals, each handed out in its own Ready (heartbeats
    // queued in one Ready replace each other: raft/core/coalesce.ts).
    for (let round = 0; round < 3; round++) {
      net.tick(3, [1]);
      net.stabilize();
    }
    expect(ofType(net.takeOutbox(), 'Heartbeat')).toHaveLength(3 * 2);
  });
});

describe('§5.3 log replication', () => {
  it('§5.3 leader appends a proposal to its log and sends it to every follower', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const sentBefore = net.sent.length;
    net.propose(1, 'x');
    const rd = net.processReady(1);
    expect(rd?.entries.map((e) => [e.index, e.term, text(e)])).toEqual([[2, 1, 'x']]);
    net.stabilize();
    const apps = net.sent.slice(sentBefore).map((s) => s.msg).filter((m) => m.type === 'App' && m.from === 1);
    for (const to of [2, 3]) {
      expect(apps.some((m) => m.to === to && (m.entries ?? []).some((e) => text(e) === 'x' && e.term === 1))).toBe(true);
    }
  });

  it('§5.3 leader commits an entry once replicated to a majority', () => {
    const net = electedNet({ voters: [1, 2, 3, 4, 5] });
    const base = net.status(1).commit;
    net.isolate(3);
    net.isolate(4);
    net.isolate(5);
    net.propose(1, 'minority');
    net.stabilize();
    expect(net.status(1).lastIndex).toBe(base + 1);
    expect(net.status(1).commit).toBe(base); // 2 of 5 store it: not committed
    net.recover();
    net.isolate(4);
    net.isolate(5);
    net.tickStabilize(1, [1]); // a heartbeat round lets node 3 catch up
    expect(net.status(1).commit).toBe(base + 1); // 3 of 5
    expect(committedTexts(net, 1)).toEqual(['minority']);
  });

  it('§5.3 committing an entry also commits every preceding entry in the leader\'s log', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(2);
    net.isolate(3);
    net.propose(1, 'a');
    net.propose(1, 'b');
    net.stabilize();
    expect(committedTexts(net, 1)).toEqual([]);
    net.recover();
    net.propose(1, 'c');
    net.stabilize();
    net.tickStabilize(1, [1]);
    expect(net.status(1).commit).toBe(net.status(1).lastIndex);
    for (const id of [1, 2, 3]) expect(committedTexts(net, id)).toEqual(['a', 'b', 'c']);
  });

  it('§5.3 followers learn the commit index from the leader and apply entries in log order', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    for (const d of ['p', 'q', 'r']) net.propose(1, d);
    net.stabilize();
    for (const id of [2, 3]) {
      expect(net.status(id).commit).toBe(net.status(1).commit);
      expect(net.mustNode(id).appliedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
      expect(committedTexts(net, id)).toEqual(['p', 'q', 'r']);
    }
  });

  it('§5.3 follower appends entries whose prevLogIndex/prevLogTerm match, durably, then acknowledges', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1] }, hardStates: { 1: hs(2) } });
    net.deliver(app(2, 1, 2, [2, 1], [entry(3, 2, 'c'), entry(4, 2, 'd')], 0));
    const rd = net.processReady(1);
    expect(rd?.entries.map((e) => [e.index, e.term])).toEqual([
      [3, 2],
      [4, 2],
    ]);
    expect(rd?.mustSync).toBe(true);
    const ack = ofType(rd?.messages ?? [], 'AppResp');
    expect(ack).toHaveLength(1);
    expect(ack[0]).toMatchObject({ to: 2, term: 2, index: 4 });
    expect(ack[0]?.reject).not.toBe(true);
    net.stabilize();
    expect(net.logTerms(1).map(([, t]) => t)).toEqual([1, 1, 2, 2]);
  });

  describe('§5.3 follower rejects AppendEntries whose prevLogIndex/term don\'t match', () => {
    // Follower log terms [1, 2, 2] at term 2.
    const cases: Array<[string, [number, number], boolean]> = [
      ['prev term differs at an existing index', [3, 3], true],
      ['prev term differs further back', [2, 1], true],
      ['prev index beyond the log', [4, 2], true],
      ['prev matches the last entry', [3, 2], false],
      ['prev matches an earlier entry', [1, 1], false],
      ['prev is the empty prefix', [0, 0], false],
    ];
    for (const [name, prev, rejects] of cases) {
      it(`${name}: ${rejects ? 'reject' : 'accept'}`, () => {
        const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 2, 2] }, hardStates: { 1: hs(3) } });
        net.deliver(app(2, 1, 3, prev, [entry(prev[0] + 1, 3, 'new')], 0));
        net.stabilize();
        const resp = ofType(net.takeOutbox(), 'AppResp');
        expect(resp).toHaveLength(1);
        expect(resp[0]?.reject === true).toBe(rejects);
        if (rejects) {
          expect(resp[0]?.index).toBe(prev[0]); // names the probe it refuses
          expect(net.logTerms(1).map(([, t]) => t)).toEqual([1, 2, 2]);
        } else {
          expect(net.logTerms(1).slice(0, prev[0] + 1).map(([, t]) => t)).toEqual([...[1, 2, 2].slice(0, prev[0]), 3]);
          expect(resp[0]?.index).toBe(prev[0] + 1);
        }
      });
    }
  });

  describe('§5.3 follower truncates conflicting entries', () => {
    // Follower log terms [1, 1, 2, 2, 2] at term 3.
    const cases: Array<[string, [number, number], number[], number[]]> = [
      ['a conflict in the middle drops the rest', [2, 1], [3], [1, 1, 3]],
      ['a conflict near the end', [4, 2], [3, 3], [1, 1, 2, 2, 3, 3]],
      ['a conflict at the first entry', [0, 0], [3], [3]],
      ['no conflict: a pure extension', [5, 2], [3, 3], [1, 1, 2, 2, 2, 3, 3]],
    ];
    for (const [name, prev, newTerms, want] of cases) {
      it(name, () => {
        const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 2, 2, 2] }, hardStates: { 1: hs(3) } });
        const ents = newTerms.map((t, i) => entry(prev[0] + 1 + i, t, `leader-${i}`));
        net.deliver(app(2, 1, 3, prev, ents, 0));
        net.stabilize();
        expect(net.logTerms(1).map(([, t]) => t)).toEqual(want);
        expect(net.status(1).lastIndex).toBe(want.length);
        const ack = ofType(net.takeOutbox(), 'AppResp');
        expect(ack.map((m) => [m.reject === true, m.index])).toEqual([[false, prev[0] + newTerms.length]]);
      });
    }
  });

  describe('§5.3 a rejection carries a hint: the follower\'s last index at or below the probe whose term is not above the probe\'s term', () => {
    // Follower log terms [1, 2, 2, 4, 4] at term 5.
    const cases: Array<[string, [number, number], [number, number]]> = [
      ['probe term is older than the follower\'s entry there', [5, 3], [3, 2]],
      ['probe beyond the follower\'s log', [7, 4], [5, 4]],
      ['probe term older than almost everything', [4, 1], [1, 1]],
    ];
    for (const [name, prev, [hintIndex, hintTerm]] of cases) {
      it(name, () => {
        const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 2, 2, 4, 4] }, hardStates: { 1: hs(5) } });
        net.deliver(app(2, 1, 5, prev, [entry(prev[0] + 1, 5)], 0));
        net.stabilize();
        const resp = ofType(net.takeOutbox(), 'AppResp');
        expect(resp).toHaveLength(1);
        expect(resp[0]).toMatchObject({ reject: true, index: prev[0], rejectHint: hintIndex, logTerm: hintTerm });
      });
    }
  });

  it('§5.3 a delayed AppendEntries whose entries are already in the log does not truncate later entries', () => {
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 1, 1] }, hardStates: { 1: hs(1, 2) } });
    const logBefore = net.log(1);
    net.deliver(app(2, 1, 1, [1, 1], [logBefore[1]!], 0)); // an old copy of entry 2
    net.stabilize();
    expect(net.log(1).map((e) => [e.index, e.term, text(e)])).toEqual(logBefore.map((e) => [e.index, e.term, text(e)]));
    const ack = ofType(net.takeOutbox(), 'AppResp');
    expect(ack).toHaveLength(1);
    expect(ack[0]?.reject).not.toBe(true);
  });

  it('§5.3 follower sets commit to min(leaderCommit, index of the last new entry)', () => {
    // Entry 3 (term 1) may not be the leader's entry 3: a commit of 3 must not reach it.
    const net = paperNet({ voters: [1, 2, 3], nodes: [1], logs: { 1: [1, 1, 1] }, hardStates: { 1: hs(2) } });
    net.deliver(app(2, 1, 2, [1, 1], [entry(2, 1, 'e2@t1')], 3));
    net.stabilize();
    expect(net.status(1).commit).toBe(2);
    expect(net.mustNode(1).appliedEntries.map((e) => e.index)).toEqual([1, 2]);
    // An append carrying a smaller commit never moves the commit index back.
    net.deliver(app(2, 1, 2, [2, 1], [], 1));
    net.stabilize();
    expect(net.status(1).commit).toBe(2);
    // A leader commit below the new entries commits only up to the leader commit.
    net.deliver(app(2, 1, 2, [2, 1], [entry(3, 2, 'x'), entry(4, 2, 'y')], 3));
    net.stabilize();
    expect(net.status(1).commit).toBe(3);
  });

  describe('§5.3 leader brings each follower\'s log into agreement with its own (Figure 7)', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Array<[string, number[]]> = [
      ['(a) missing one entry', [1, 1, 1, 4, 4, 5, 5, 6, 6]],
      ['(b) missing many entries', [1, 1, 1, 4]],
      ['(c) one extra entry', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]],
      ['(d) extra entries from a later term', [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]],
      ['(e) missing entries and extra ones from term 4', [1, 1, 1, 4, 4, 4, 4]],
      ['(f) many extra entries from terms 2 and 3', [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]],
    ];
    for (const [name, followerLog] of followers) {
      it(name, () => {
        // Node 3 holds the leader's log, so node 1 wins at term 8 even when node 2 refuses.
        const net = paperNet({
          voters: [1, 2, 3],
          logs: { 1: leaderLog, 2: followerLog, 3: leaderLog },
          hardStates: { 1: hs(7), 2: hs(7), 3: hs(7) },
        });
        const leaderBefore = net.log(1);
        net.campaign(1);
        expect(net.status(1)).toMatchObject({ role: 'Leader', term: 8 });
        net.tickStabilize(2, [1]);
        const want = [...leaderLog, 8];
        for (const id of [1, 2, 3]) {
          expect(net.logTerms(id).map(([, t]) => t)).toEqual(want);
          expect(net.status(id).commit).toBe(want.length);
        }
        expect(net.log(2).map(text)).toEqual(net.log(1).map(text));
        // The leader never rewrote its own entries.
        expect(net.log(1).slice(0, leaderLog.length).map(text)).toEqual(leaderBefore.map(text));
      });
    }
  });

  describe('§5.3 leader backs up nextIndex (fast backtracking with the conflict hint)', () => {
    const long = (term: number): number[] => [1, ...Array<number>(50).fill(term)];
    const cases: Array<[string, number[], number[]]> = [
      ['follower has 50 conflicting entries of an older term', long(3), long(2)],
      ['follower has a longer conflicting suffix', [1, 3, 3, 3, 3, 3], long(2)],
      ['follower is 50 entries behind', long(3), [1]],
    ];
    for (const [name, leaderLog, followerLog] of cases) {
      it(name, () => {
        const net = paperNet({
          voters: [1, 2, 3],
          logs: { 1: leaderLog, 2: followerLog, 3: leaderLog },
          hardStates: { 1: hs(3), 2: hs(3), 3: hs(3) },
        });
        net.campaign(1);
        expect(net.status(1).role).toBe('Leader');
        net.tickStabilize(2, [1]);
        expect(net.logTerms(2)).toEqual(net.logTerms(1));
        const rejects = net.sentWhere((m) => m.type === 'AppResp' && m.from === 2 && m.reject === true);
        // Backing up one entry per round trip would take ~50 rejections.
        expect(rejects.length).toBeGreaterThanOrEqual(1);
        expect(rejects.length).toBeLessThanOrEqual(3);
      });
    }
  });

  it('§5.3 a follower that missed entries catches up once it can be reached again', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.isolate(3);
    for (const d of ['a', 'b', 'c', 'd', 'e']) net.propose(1, d);
    net.stabilize();
    expect(committedTexts(net, 1)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(committedTexts(net, 3)).toEqual([]);
    net.recover();
    net.tickStabilize(2, [1]);
    expect(net.logTerms(3)).toEqual(net.logTerms(1));
    expect(committedTexts(net, 3)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('§5.3 heartbeats never carry a commit index beyond what the follower is known to store', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    net.dropIf((m) => m.type === 'App' && m.to === 3);
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    net.stabilize();
    const commit = net.status(1).commit;
    const match3 = net.progress(1, 3)?.match ?? -1;
    expect(match3).toBeLessThan(commit);
    const from = net.sent.length;
    net.tick(1, [1]);
    net.processReady(1);
    const beats = net.sent.slice(from).map((s) => s.msg).filter((m) => m.type === 'Heartbeat');
    const to3 = beats.find((m) => m.to === 3);
    const to2 = beats.find((m) => m.to === 2);
    expect(to3?.commit ?? 0).toBeLessThanOrEqual(match3);
    expect(to2?.commit).toBe(commit);
    net.stabilize();
    expect(net.status(3).commit).toBeLessThanOrEqual(net.status(3).lastIndex);
  });
});
