/**
 * runSeed: one deterministic simulation. The seed drives everything — the
 * profile, the network's fates, the nemesis, the client load and every node's
 * election timeouts — so a seed replays exactly. A fault phase runs with the
 * checkers on after every step; then all faults heal and the cluster must,
 * within LIVENESS_TICKS_MAX, have a leader and commit every pending proposal.
 */
import { AssertionError } from '../../raft/core/assert.js';
import { SeededRng } from '../../raft/core/rng.js';
import { Cluster } from './cluster.js';
import type { Invariant } from './invariants.js';
import { InvariantViolationError, Invariant as Inv } from './invariants.js';
import { NO_NETWORK_FAULTS } from './network.js';
import { Nemesis } from './nemesis.js';
import type { SeedProfile, SimOptions } from './profile.js';
import { drawProfile, FAULT_TICKS_DEFAULT, LIVENESS_TICKS_MAX } from './profile.js';
import { Trace, TRACE_EVENTS_DEFAULT } from './trace.js';
import { Workload } from './workload.js';

/** Virtual time units per tick: with 1–3 units of latency, a few round trips fit in a tick. */
export const TIME_UNITS_PER_TICK = 5;
/** The buggy driver's page cache is written back every this many ticks (a crash loses up to that much). */
export const WRITEBACK_INTERVAL_TICKS = 5;

export interface SeedFailure {
  readonly invariant: Invariant | 'liveness';
  readonly detail: string;
  readonly tick: number;
  readonly trace: readonly string[];
}

export interface SeedResult {
  readonly seed: number;
  readonly replicas: number;
  /** Undefined when the seed passed. */
  readonly failure?: SeedFailure;
  readonly elections: number;
  /** Highest commit index reached (entries committed, including no-ops and membership changes). */
  readonly committed: number;
  readonly ticks: number;
  readonly proposalsAcked: number;
  readonly readsServed: number;
}

interface Run {
  readonly o: SimOptions;
  readonly profile: SeedProfile;
  readonly cluster: Cluster;
  readonly workload: Workload;
  readonly nemesis: Nemesis;
  readonly trace: Trace;
  tick: number;
}

export function runSeed(o: SimOptions): SeedResult {
  const run = setUp(o);
  let failure: SeedFailure | undefined;
  try {
    failure = simulate(run);
  } catch (err) {
    failure = toFailure(run, err);
  }
  return {
    seed: o.seed,
    replicas: o.replicas,
    ...(failure === undefined ? {} : { failure }),
    elections: run.cluster.elections,
    committed: run.cluster.commits.maxCommitIndex,
    ticks: run.tick,
    proposalsAcked: run.workload.proposalsAcked,
    readsServed: run.workload.readsServed,
  };
}

function setUp(o: SimOptions): Run {
  const master = new SeededRng(o.seed);
  // Independent streams, so that e.g. more client load does not reshuffle the fault schedule.
  const stream = (): SeededRng => new SeededRng(master.nextInt(0x7fff_ffff) + 1);
  const profile = drawProfile(stream(), o);
  const trace = new Trace(o.traceEvents ?? TRACE_EVENTS_DEFAULT, o.echo);
  const cluster = new Cluster({
    replicas: o.replicas,
    tuning: profile.tuning,
    driver: profile.driver,
    networkFaults: profile.network,
    networkRng: stream(),
    nodeRng: stream(),
    trace,
  });
  const workload = new Workload(stream(), profile.workload, cluster);
  cluster.client = workload;
  const nemesis = new Nemesis(stream(), profile.nemesis, profile.membership, cluster);
  return { o, profile, cluster, workload, nemesis, trace, tick: 0 };
}

/** Runs both phases; returns the liveness failure, if any (safety violations throw). */
function simulate(run: Run): SeedFailure | undefined {
  const { o, cluster, nemesis } = run;
  run.trace.note(0, `seed ${o.seed}: ${o.replicas} replicas, ${describeProfile(run.profile)}`);
  cluster.bootstrap();
  const faultTicks = o.faultTicks ?? FAULT_TICKS_DEFAULT;
  for (; run.tick < faultTicks; run.tick++) {
    nemesis.onTick(run.tick);
    runTick(run, true);
  }
  run.trace.note(cluster.nowUnits, 'fault phase ends: heal everything');
  nemesis.healAll();
  cluster.network.faults = NO_NETWORK_FAULTS;
  const deadline = run.tick + (o.livenessTicksMax ?? LIVENESS_TICKS_MAX);
  for (; run.tick < deadline; run.tick++) {
    runTick(run, false);
    if (cluster.leader() !== undefined && run.workload.pendingProposals === 0) return undefined;
  }
  return {
    invariant: 'liveness',
    detail:
      `after ${o.livenessTicksMax ?? LIVENESS_TICKS_MAX} healed ticks: ` +
      `${cluster.leader() === undefined ? 'no leader' : `leader ${cluster.leader()!.id}`}, ` +
      `${run.workload.pendingProposals} proposals pending; ${describeCluster(cluster)}`,
    tick: run.tick,
    trace: run.trace.lines(),
  };
}

function runTick(run: Run, faultPhase: boolean): void {
  const { cluster } = run;
  run.workload.onTick(run.tick, faultPhase);
  if (run.profile.driver.skipFsyncBeforeSend && run.tick % WRITEBACK_INTERVAL_TICKS === 0) cluster.writebackAll();
  cluster.tickAll();
  cluster.runUnits(run.tick * TIME_UNITS_PER_TICK, (run.tick + 1) * TIME_UNITS_PER_TICK);
}

function toFailure(run: Run, err: unknown): SeedFailure {
  const base = { tick: run.tick, trace: run.trace.lines() };
  if (err instanceof InvariantViolationError) return { ...base, invariant: err.invariant, detail: err.detail };
  const kind = err instanceof AssertionError ? 'assertion failed' : 'threw';
  const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  return { ...base, invariant: Inv.UnexpectedError, detail: `${kind}: ${what}` };
}

function describeProfile(p: SeedProfile): string {
  const t = p.tuning;
  const f = (x: number): string => x.toFixed(3);
  return (
    `preVote=${t.preVote} checkQuorum=${t.checkQuorum} forwarding=${!t.disableProposalForwarding} ` +
    `maxMsg=${t.maxSizePerMsgBytes} inflight=${t.maxInflightMsgs} uncommitted=${t.maxUncommittedEntriesBytes} ` +
    `drop=${f(p.network.dropProbability)} dup=${f(p.network.duplicateProbability)} ` +
    `crash=${f(p.nemesis.crashPerTick)} partition=${f(p.nemesis.partitionPerTick)} ` +
    `membership=${f(p.nemesis.membershipPerTick)} snapshotEvery=${p.driver.snapshotEveryEntries}`
  );
}

function describeCluster(c: Cluster): string {
  const parts: string[] = [];
  for (const r of c.replicas.values()) {
    if (c.removed.has(r.id)) continue;
    parts.push(
      r.up
        ? `${r.id}:${r.role} term=${r.term} commit=${r.commit} applied=${r.sm.appliedIndex} lead=${r.lead}`
        : `${r.id}:down`,
    );
  }
  return `voters [${c.conf.voters.join(',')}] learners [${c.conf.learners.join(',')}]; ${parts.join('; ')}`;
}

/** The lines printed for a failing seed: what failed, how to replay it, and the trace. */
export function formatFailure(r: SeedResult): string[] {
  const f = r.failure;
  if (f === undefined) return [];
  return [
    `seed ${r.seed} (${r.replicas} replicas) FAILED ${f.invariant} at tick ${f.tick}: ${f.detail}`,
    `replay: strake sim --seed ${r.seed} --replicas ${r.replicas}`,
    `last ${f.trace.length} events:`,
    ...f.trace.map((l) => `  ${l}`),
  ];
}
