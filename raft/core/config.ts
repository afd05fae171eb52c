/** Configuration of one Raft node. Units are last in every name. */
import { assert } from './assert.js';
import type { Rng } from './rng.js';
import type { Storage } from './storage.js';

export interface RaftConfig {
  /** This node's id; non-zero and never reused after removal. */
  readonly id: number;
  readonly storage: Storage;
  /** Source of randomized election timeouts; seed it for replay. */
  readonly rng: Rng;
  /**
   * A follower that hears nothing from a leader for a random time in
   * [electionTicks, 2*electionTicks) starts an election. etcd: 10.
   */
  readonly electionTicks: number;
  /** Leader sends heartbeats every heartbeatTicks. Invariant: heartbeatTicks < electionTicks. etcd: 1. */
  readonly heartbeatTicks: number;
  /** Index the application has already applied (on restart: the snapshot index, or more). */
  readonly appliedIndex?: number;
  /** Largest append message, in bytes (always at least one entry). etcd server: 1 MiB. */
  readonly maxSizePerMsgBytes?: number;
  /** Bound on append messages in flight to one follower in Replicate state. etcd server: 512. */
  readonly maxInflightMsgs?: number;
  /** Bound on bytes in flight to one follower; 0 = no byte bound. */
  readonly maxInflightBytes?: number;
  /** Bound on the bytes of appended but uncommitted entries on the leader; 0 = no bound. */
  readonly maxUncommittedEntriesBytes?: number;
  /** Largest batch of committed entries per Ready, in bytes. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** Pre-vote phase (thesis §9.6) before real elections. Default true. */
  readonly preVote?: boolean;
  /** Leader steps down when a quorum is not active for an election timeout. Default true. */
  readonly checkQuorum?: boolean;
  /** When true, followers reject proposals (NotLeaderError) instead of forwarding them. */
  readonly disableProposalForwarding?: boolean;
  /**
   * Test-only: deliberately broken behaviour that the simulator's checkers must
   * catch. Never set outside checker tests.
   */
  readonly plantedBugs?: PlantedBugs;
}

export interface PlantedBugs {
  /** Commit an entry of a previous term once a majority stores it (Raft paper, Figure 8). */
  readonly commitPreviousTermByCount?: boolean;
  /** Grant votes without the §5.4.1 up-to-date log check. */
  readonly voteWithoutLogCheck?: boolean;
}

/** 1 MiB, as etcd's server sets it: large enough for batching, small enough to interleave heartbeats. */
export const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1024 * 1024;
/** 256 append messages in flight per follower: enough to fill a fast link's pipe. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** 64 MiB of unacknowledged data per follower bounds the leader's memory per peer. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
/** 64 MiB of uncommitted proposals: beyond this a leaderless or slow cluster pushes back. */
export const DEFAULT_MAX_UNCOMMITTED_ENTRIES_BYTES = 64 * 1024 * 1024;
/** 16 MiB of committed entries per Ready keeps one apply batch short. */
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES = 16 * 1024 * 1024;

export type ResolvedConfig = Required<Omit<RaftConfig, 'plantedBugs'>> & { readonly plantedBugs: PlantedBugs };

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  assert(Number.isInteger(c.id) && c.id > 0, () => `raft id must be a positive integer, got ${c.id}`);
  assert(c.heartbeatTicks > 0, () => `heartbeatTicks must be positive, got ${c.heartbeatTicks}`);
  assert(
    c.electionTicks > c.heartbeatTicks,
    () => `electionTicks (${c.electionTicks}) must exceed heartbeatTicks (${c.heartbeatTicks})`,
  );
  const r: ResolvedConfig = {
    id: c.id,
    storage: c.storage,
    rng: c.rng,
    electionTicks: c.electionTicks,
    heartbeatTicks: c.heartbeatTicks,
    appliedIndex: c.appliedIndex ?? 0,
    maxSizePerMsgBytes: c.maxSizePerMsgBytes ?? DEFAULT_MAX_SIZE_PER_MSG_BYTES,
    maxInflightMsgs: c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS,
    maxInflightBytes: c.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES,
    maxUncommittedEntriesBytes: c.maxUncommittedEntriesBytes ?? DEFAULT_MAX_UNCOMMITTED_ENTRIES_BYTES,
    maxCommittedSizePerReadyBytes: c.maxCommittedSizePerReadyBytes ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES,
    preVote: c.preVote ?? true,
    checkQuorum: c.checkQuorum ?? true,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    plantedBugs: c.plantedBugs ?? {},
  };
  assert(r.maxInflightMsgs > 0, () => `maxInflightMsgs must be positive, got ${r.maxInflightMsgs}`);
  return r;
}
