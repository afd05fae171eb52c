/**
 * What one seed runs: the options a caller passes, and the per-seed profile
 * (Raft tuning, fault rates, load) drawn from the seed within the caller's
 * fault mix. Every seed draws a different mix, so a batch of seeds covers
 * calm and stormy runs, tiny and default flow-control limits, pre-vote and
 * check-quorum on and off.
 */
import type { PlantedBugs } from '../../raft/core/config.js';
import type { Rng } from '../../raft/core/rng.js';
import type { NetworkFaults } from './network.js';
import type { MembershipBounds, NemesisRates } from './nemesis.js';
import type { DriverOptions, RaftTuning } from './replica.js';
import type { WorkloadRates } from './workload.js';

export const REPLICA_COUNTS = [3, 5, 7] as const;
export type ReplicaCount = (typeof REPLICA_COUNTS)[number];

/**
 * Ticks of the fault phase. With electionTicks = 10 this is ~50 election
 * timeouts: room for several crashes, partitions and membership changes
 * (a five-replica seed averages ~50 ms of CPU), while 10,000 five-replica
 * seeds still take only minutes on two cores.
 */
export const FAULT_TICKS_DEFAULT = 500;
/**
 * Ticks the healed cluster gets to elect a leader and commit every pending
 * proposal. A worst case chains: a restarted majority waiting out randomized
 * timeouts (up to 2 × electionTicks = 20) with split votes (a few rounds), a
 * lagging leader-to-be catching up by snapshot, then client retries
 * (RETRY_AFTER_TICKS = 10). 200 ticks is ~10 election timeouts of slack.
 */
export const LIVENESS_TICKS_MAX = 200;
/** Election timeout and heartbeat interval, as etcd sets them. */
export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 1;

/** Upper bounds for the per-seed fault rates (each seed draws its own rates in [0, max]). */
export interface FaultMix {
  /** Per message. */
  readonly dropProbabilityMax: number;
  readonly duplicateProbabilityMax: number;
  /** Per message: arrives up to LONG_DELAY_UNITS_MAX late instead of 1–3 units. */
  readonly longDelayProbabilityMax: number;
  /** Per tick: one live replica crashes (losing unsynced writes and its send buffers). */
  readonly crashPerTickMax: number;
  /** A crashed replica restarts after 1..downTicks ticks. */
  readonly downTicksMax: number;
  /** Per tick, while the network is whole: a partition starts. */
  readonly partitionPerTickMax: number;
  /** A partition heals after 1..partitionTicks ticks. */
  readonly partitionTicksMax: number;
  /** Per tick: a membership change is proposed. */
  readonly membershipPerTickMax: number;
  /** Per tick: a leadership transfer is requested. */
  readonly transferPerTickMax: number;
  /** Per tick: a random replica is told to campaign. */
  readonly campaignPerTickMax: number;
  /** Per election: the new leader is doomed to crash soon (see nemesis.ts). */
  readonly newLeaderCrashMax: number;
  /** Mean new client writes per tick (bounded by PENDING_PROPOSALS_MAX outstanding). */
  readonly proposalsPerTickMax: number;
  /** Mean new client reads per tick. */
  readonly readsPerTickMax: number;
}

export const DEFAULT_FAULT_MIX: FaultMix = {
  dropProbabilityMax: 0.1,
  duplicateProbabilityMax: 0.05,
  longDelayProbabilityMax: 0.05,
  crashPerTickMax: 0.03,
  downTicksMax: 60,
  partitionPerTickMax: 0.03,
  partitionTicksMax: 80,
  membershipPerTickMax: 0.03,
  transferPerTickMax: 0.02,
  campaignPerTickMax: 0.01,
  newLeaderCrashMax: 0.1,
  proposalsPerTickMax: 2,
  readsPerTickMax: 0.5,
};

export interface SimOptions {
  readonly seed: number;
  readonly replicas: ReplicaCount;
  readonly faultTicks?: number;
  readonly livenessTicksMax?: number;
  /** Overrides of DEFAULT_FAULT_MIX (e.g. more crashes to hunt a durability bug). */
  readonly faults?: Partial<FaultMix>;
  /**
   * Use the mix's maxima as this seed's rates instead of drawing each in
   * [0, max]: for hunting one bug with a known recipe.
   */
  readonly pinFaultRates?: boolean;
  /** Overrides of the Raft tuning drawn for the seed (e.g. one-entry appends to hunt Figure 8). */
  readonly raft?: Partial<Omit<RaftTuning, 'plantedBugs'>>;
  /** Core bugs to plant (checker tests only). */
  readonly plantedBugs?: PlantedBugs;
  /** Driver bug to plant: send before fsync (checker tests only). */
  readonly skipFsyncBeforeSend?: boolean;
  /** Events kept for the failure trace. */
  readonly traceEvents?: number;
  /** Receives every event as it happens (replaying one seed). */
  readonly echo?: (line: string) => void;
}

export interface SeedProfile {
  readonly tuning: RaftTuning;
  readonly driver: DriverOptions;
  readonly network: NetworkFaults;
  readonly nemesis: NemesisRates;
  readonly workload: WorkloadRates;
  readonly membership: MembershipBounds;
}

/** Draws the profile of one seed. Consumes `rng` in a fixed order, so it replays exactly. */
export function drawProfile(rng: Rng, o: SimOptions): SeedProfile {
  const mix = { ...DEFAULT_FAULT_MIX, ...o.faults };
  const upTo = (max: number): number => {
    const drawn = max * rng.nextFloat(); // drawn even when pinned, so the stream stays aligned
    return o.pinFaultRates === true ? max : drawn;
  };
  const oneOf = <T>(items: readonly T[]): T => items[rng.nextInt(items.length)]!;
  const drawn: RaftTuning = {
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: HEARTBEAT_TICKS,
    preVote: rng.nextFloat() < 0.8,
    checkQuorum: rng.nextFloat() < 0.8,
    disableProposalForwarding: rng.nextFloat() < 0.2,
    // Tiny limits force one-entry appends, stalled pipelines and refused proposals.
    maxSizePerMsgBytes: oneOf([1, 1024, 1024 * 1024]),
    maxInflightMsgs: oneOf([2, 8, 256]),
    maxUncommittedEntriesBytes: oneOf([0, 256, 64 * 1024 * 1024]),
    maxCommittedSizePerReadyBytes: oneOf([128, 16 * 1024 * 1024]),
  };
  // Overrides apply after drawing, so a seed consumes the same randomness with or without them.
  const tuning: RaftTuning = { ...drawn, ...o.raft, plantedBugs: o.plantedBugs ?? {} };
  const driver: DriverOptions = {
    skipFsyncBeforeSend: o.skipFsyncBeforeSend ?? false,
    snapshotEveryEntries: 10 + rng.nextInt(60),
    snapshotTrailingEntries: rng.nextInt(10),
  };
  const network: NetworkFaults = {
    dropProbability: upTo(mix.dropProbabilityMax),
    duplicateProbability: upTo(mix.duplicateProbabilityMax),
    longDelayProbability: upTo(mix.longDelayProbabilityMax),
  };
  const nemesis: NemesisRates = {
    crashPerTick: upTo(mix.crashPerTickMax),
    downTicksMax: Math.max(1, Math.round(upTo(mix.downTicksMax))),
    partitionPerTick: upTo(mix.partitionPerTickMax),
    partitionTicksMax: Math.max(1, Math.round(upTo(mix.partitionTicksMax))),
    membershipPerTick: upTo(mix.membershipPerTickMax),
    transferPerTick: upTo(mix.transferPerTickMax),
    campaignPerTick: upTo(mix.campaignPerTickMax),
    newLeaderCrash: upTo(mix.newLeaderCrashMax),
  };
  const workload: WorkloadRates = {
    proposalsPerTick: upTo(mix.proposalsPerTickMax),
    readsPerTick: upTo(mix.readsPerTickMax),
  };
  const n = o.replicas;
  const membership: MembershipBounds = { votersMin: n === 3 ? 3 : n - 2, votersMax: n + 2, learnersMax: 2 };
  return { tuning, driver, network, nemesis, workload, membership };
}
