/**
 * Seeded simulations over the test network. One seed drives everything
 * (faults, requests, tick counts, the nodes' election timeouts), so a failure
 * names its seed and replays exactly. Each run has a safety phase with faults,
 * with the SafetyChecker after every step, then a liveness phase: healed, the
 * cluster must elect one leader and every member must apply the same log.
 */
import { expect } from 'vitest';
import type { PlantedBugs } from '../../raft/core/config.js';
import { RaftError } from '../../raft/core/errors.js';
import { SeededRng, type Rng } from '../../raft/core/rng.js';
import { MemoryStorage } from '../../raft/core/storage.js';
import { Network, type NetworkOptions } from './network.js';
import { SafetyChecker, type SafetyStats } from './safety.js';

/** Election timeout of the simulated nodes, in ticks (the network's default). */
const ELECTION_TICKS = 10;
/** Bound on ticks for a healed cluster to elect a leader and catch every member up. */
export const CONVERGE_TICKS_MAX = 300;
/** Share of messages a chaotic round delivers twice (the copy arrives a round later). */
const DUPLICATE_PCT = 20;

export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One simulated run: the network, its checker and the seeded source of every choice. */
class Sim {
  readonly rng: Rng;
  readonly net: Network;
  readonly checker: SafetyChecker;
  readonly label: string;
  private payloads = 0;

  constructor(seed: number, opts: NetworkOptions) {
    this.rng = new SeededRng(seed);
    this.net = new Network({ ...opts, seed });
    this.label = `seed ${seed}`;
    this.checker = new SafetyChecker(this.net, this.label);
  }

  pick(from: readonly number[]): number {
    return from[this.rng.nextInt(from.length)]!;
  }

  /** A unique payload or read context. */
  nextName(kind: string): string {
    return `${this.label}-${kind}${this.payloads++}`;
  }

  /** Runs a client request; refusals (no leader, transfer under way, limits) are expected. */
  attempt(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  /** Heals the previous round's faults; one round in three has a reordering, duplicating transport. */
  newRound(): void {
    this.net.recover();
    this.net.setChaos(this.rng.nextInt(3) === 0 ? { rng: this.rng, duplicatePct: DUPLICATE_PCT } : undefined);
  }

  /** Splits `ids` into two random groups of `firstSize` and the rest. */
  partition(ids: readonly number[], firstSize: number): void {
    const shuffled = shuffle(ids, this.rng);
    this.net.partition(shuffled.slice(0, firstSize), shuffled.slice(firstSize));
  }

  /** Settles, then ticks everyone a random number of times (up to three election timeouts). */
  settleAndTick(): void {
    this.net.stabilize();
    this.checker.check();
    for (let t = 1 + this.rng.nextInt(3 * ELECTION_TICKS); t > 0; t--) {
      this.net.tickStabilize(1);
      this.checker.check();
    }
  }

  /** Liveness: once healed, the cluster elects one leader and every member applies the same log. */
  healAndConverge(): number {
    const net = this.net;
    net.recover();
    net.setChaos(undefined);
    for (let t = 0; t < CONVERGE_TICKS_MAX && !this.converged(); t++) {
      net.tickStabilize(1);
      this.checker.check();
    }
    const leaders = net.leaders();
    expect(leaders, `${this.label}: no single leader after healing`).toHaveLength(1);
    const leader = leaders[0]!;
    const want = net.appliedState(leader);
    for (const id of this.members(leader)) {
      expect(net.appliedState(id), `${this.label}: node ${id} did not converge`).toEqual(want);
    }
    return leader;
  }

  private converged(): boolean {
    const leaders = this.net.leaders();
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!;
    const commit = this.net.status(leader).commit;
    return this.members(leader).every(
      (id) => this.net.mustNode(id).appliedIndex === commit && this.net.status(id).lead === leader,
    );
  }

  /** The leader's members that have a node in the network. */
  private members(leader: number): number[] {
    const cs = this.net.status(leader).confState;
    return [...cs.voters, ...cs.learners].filter((id) => this.net.nodes.has(id));
  }
}

/**
 * Basic Raft (no pre-vote, no check-quorum), five voters: seeded isolations,
 * 2|3 partitions, message chaos and proposals. Returns what the run exercised.
 */
export function runBasicSimulation(seed: number, plantedBugs: PlantedBugs = {}): SafetyStats {
  const ROUNDS = 30;
  const ids = [1, 2, 3, 4, 5];
  const sim = new Sim(seed, { voters: ids, config: { preVote: false, checkQuorum: false, plantedBugs } });
  for (let round = 0; round < ROUNDS; round++) {
    sim.newRound();
    const fault = sim.rng.nextInt(3);
    if (fault === 1) sim.net.isolate(sim.pick(ids));
    if (fault === 2) sim.partition(ids, 2);
    for (let p = sim.rng.nextInt(3); p > 0; p--) sim.attempt(() => sim.net.propose(sim.pick(ids), sim.nextName('w')));
    sim.settleAndTick();
  }
  sim.healAndConverge();
  return sim.checker.stats();
}

/**
 * Five voters and a learner with pre-vote and check-quorum: seeded
 * isolations, 3|3 partitions, one-way link failures, message chaos,
 * proposals, reads (checked for linearizability) and leadership transfers.
 */
export function runFeatureSimulation(seed: number): void {
  const ROUNDS = 30;
  const voters = [1, 2, 3, 4, 5];
  const ids = [...voters, 6];
  const sim = new Sim(seed, { voters, learners: [6] });
  const net = sim.net;
  for (let round = 0; round < ROUNDS; round++) {
    sim.newRound();
    const fault = sim.rng.nextInt(4);
    if (fault === 1) net.isolate(sim.pick(ids));
    if (fault === 2) sim.partition(ids, 3);
    if (fault === 3) net.drop(sim.pick(ids), sim.pick(ids));
    for (let a = sim.rng.nextInt(4); a > 0; a--) {
      const action = sim.rng.nextInt(3);
      if (action === 0) sim.attempt(() => net.propose(sim.pick(ids), sim.nextName('w')));
      if (action === 1) {
        const ctx = sim.nextName('r');
        sim.checker.noteReadRequested(ctx);
        sim.attempt(() => net.raw(sim.pick(ids)).readIndex(ctx));
      }
      if (action === 2) for (const l of net.leaders()) net.raw(l).transferLeadership(sim.pick(voters));
    }
    sim.settleAndTick();
  }
  sim.healAndConverge();
  const stats = sim.checker.stats();
  expect(stats.leaderTerms, sim.label).toBeGreaterThanOrEqual(2);
  expect(stats.appliedIndexes, sim.label).toBeGreaterThanOrEqual(5);
  expect(stats.readsServed, sim.label).toBeGreaterThanOrEqual(1);
}

/**
 * Voters 1-5, learner 6, node 7 waiting to join: seeded isolations, message
 * chaos, proposals and membership changes (add 7 as a learner, promote
 * learners, remove one voter), log compaction on any node and crash-restarts.
 */
export function runMembershipSimulation(seed: number): void {
  const ROUNDS = 40;
  const ids = [1, 2, 3, 4, 5, 6, 7];
  const sim = new Sim(seed, { voters: [1, 2, 3, 4, 5], learners: [6] });
  const net = sim.net;
  // Node 7 starts empty, knowing only the initial membership, until it is added.
  net.addNode(7, new MemoryStorage({ voters: [1, 2, 3, 4, 5], learners: [6] }));
  let removedVoter = false;
  for (let round = 0; round < ROUNDS; round++) {
    sim.newRound();
    if (sim.rng.nextInt(3) === 0) net.isolate(sim.pick(ids));
    for (const l of net.leaders()) removedVoter = changeMembership(sim, l, removedVoter);
    for (let p = sim.rng.nextInt(4); p > 0; p--) sim.attempt(() => net.propose(sim.pick(ids), sim.nextName('w')));
    net.stabilize();
    if (sim.rng.nextInt(3) === 0) {
      const node = net.mustNode(sim.pick(ids));
      if (node.appliedIndex > node.storage.firstIndex()) net.compact(node.id);
    }
    if (sim.rng.nextInt(4) === 0) net.restart(sim.pick(ids));
    sim.settleAndTick();
  }
  const leader = sim.healAndConverge();
  expect(sim.checker.stats().appliedIndexes, sim.label).toBeGreaterThanOrEqual(5);
  // The run must have changed the membership: node 7 joined.
  const cs = net.status(leader).confState;
  expect([...cs.voters, ...cs.learners], sim.label).toContain(7);
}

/** Maybe proposes one membership change on `leader`; returns whether a voter has been removed. */
function changeMembership(sim: Sim, leader: number, removedVoter: boolean): boolean {
  const net = sim.net;
  const cs = net.status(leader).confState;
  const change = sim.rng.nextInt(4);
  if (change === 0 && !cs.learners.includes(7) && !cs.voters.includes(7)) {
    sim.attempt(() => net.proposeConfChange(leader, { type: 'AddLearner', nodeId: 7 }));
  }
  if (change === 1 && cs.learners.length > 0) {
    sim.attempt(() => net.proposeConfChange(leader, { type: 'AddVoter', nodeId: sim.pick(cs.learners) }));
  }
  if (change === 2 && !removedVoter && cs.voters.length > 3) {
    const victim = sim.pick(cs.voters);
    sim.attempt(() => net.proposeConfChange(leader, { type: 'RemoveNode', nodeId: victim }));
    return net.status(leader).confState.voters.length < cs.voters.length;
  }
  return removedVoter;
}
