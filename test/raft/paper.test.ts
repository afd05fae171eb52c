/**
 * One test per rule of the Raft paper ("In Search of an Understandable
 * Consensus Algorithm", extended version) and the thesis where the paper
 * defers to it, named after its section. Basic Raft: pre-vote and
 * check-quorum are off here (features.test.ts covers them).
 *
 * Two styles: a lone node driven by hand-written messages (the other members
 * are absent; what it sends lands in the network's outbox), and a whole
 * in-memory network driven through Readys.
 */
import { describe, it, expect } from 'vitest';
import { bootstrapEntries, type ConfChange } from '../../raft/core/conf-change.js';
import { ConfChangePendingError, InvalidConfChangeError } from '../../raft/core/errors.js';
import { MemoryStorage } from '../../raft/core/storage.js';
import type { Entry, HardState, Message, MessageType } from '../../raft/core/types.js';
import { NONE } from '../../raft/core/types.js';
import { Network, bytes, entry, text, type NetworkOptions } from './network.js';
import { SafetyViolation } from './safety.js';
import { runBasicSimulation } from './sim.js';

const ELECTION_TICKS = 10;

function paperNet(opts: NetworkOptions): Network {
  return new Network({ ...opts, config: { preVote: false, checkQuorum: false, ...opts.config } });
}

function hs(term: number, vote = NONE, commit = 0): HardState {
  return { term, vote, commit };
}

/** A message from `from` to `to`, with the fields a peer would fill in. */
function msg(type: MessageType, from: number, to: number, term: number, rest: Partial<Message> = {}): Message {
  return { type, from, to, term, ...rest };
}

function app(from: number, to: number, term: number, prev: [number, number], entries: Entry[], commit = 0): Message {
  return msg('App', from, to, term, { index: prev[0], logTerm: prev[1], entries, commit });
}

function ofType(msgs: readonly Message[], type: MessageType): Message[] {
  return msgs.filter((m) => m.type === type);
}

/** Builds a network, elects node 1 and settles. */
function electedNet(opts: NetworkOptions): Network {
  const net = paperNet(opts);
  net.campaign(1);
  expect(net.status(1).role).toBe('Leader');
  return net;
}

/**
 * Node 1 alone (the other voters absent) as leader of `term`: it campaigns,
 * the absent voters `granters` grant, and its first appends are taken from the outbox.
 */
function loneLeader(opts: NetworkOptions, granters: readonly number[]): Network {
  const net = paperNet({ ...opts, nodes: [1] });
  net.campaign(1);
  const term = net.status(1).term;
  for (const v of granters) net.deliver(msg('VoteResp', v, 1, term, { reject: false }));
  net.stabilize();
  expect(net.status(1).role).toBe('Leader');
  net.takeOutbox();
  return net;
}

function committedTexts(net: Network, id: number): string[] {
  return net.appliedState(id);
}

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
    net.tick(3 * 3, [1]);
    net.stabilize();
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

/** Ticks node 1 until `done` (bounded by three election timeouts); returns the ticks taken. */
function ticksUntil(net: Network, done: () => boolean): number {
  for (let t = 1; t <= 3 * ELECTION_TICKS; t++) {
    net.tick(1, [1]);
    net.stabilize();
    if (done()) return t;
  }
  throw new Error('condition not reached within three election timeouts');
}
