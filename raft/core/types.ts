/**
 * Value types of the Raft core: messages, entries, hard state, snapshots and the
 * Ready batch. Node ids, terms and indexes are JS numbers (safe up to 2^53).
 * Node id 0 means "none".
 */

export const NONE = 0;

export const MessageType = {
  /** Local: start an election (pre-vote first when enabled). */
  Hup: 'Hup',
  /** Local: leader sends heartbeats. */
  Beat: 'Beat',
  /** Local or forwarded: a client proposal. */
  Prop: 'Prop',
  App: 'App',
  AppResp: 'AppResp',
  Vote: 'Vote',
  VoteResp: 'VoteResp',
  PreVote: 'PreVote',
  PreVoteResp: 'PreVoteResp',
  /** Leader to follower: install this snapshot. */
  Snap: 'Snap',
  Heartbeat: 'Heartbeat',
  HeartbeatResp: 'HeartbeatResp',
  /** Local: transport reports a peer unreachable. */
  Unreachable: 'Unreachable',
  /** Local: transport reports whether a snapshot reached its peer. */
  SnapStatus: 'SnapStatus',
  /** Local: leader checks that a quorum is still active. */
  CheckQuorum: 'CheckQuorum',
  /** Local or forwarded: transfer leadership to `from` (the transferee). */
  TransferLeader: 'TransferLeader',
  /** Leader to transferee: start an election now, ignoring leases. */
  TimeoutNow: 'TimeoutNow',
  /** Local or forwarded: request a read index; `context` identifies the request. */
  ReadIndex: 'ReadIndex',
  ReadIndexResp: 'ReadIndexResp',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const EntryType = {
  Normal: 'Normal',
  /** data is an encoded ConfChange (see conf-change.ts). */
  ConfChange: 'ConfChange',
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  /** Node voted for in `term`, or NONE. */
  readonly vote: number;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The membership: voters decide elections and commitment; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  /** The membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** Opaque state-machine image. */
  readonly data: Uint8Array;
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export interface Message {
  readonly type: MessageType;
  readonly to: number;
  readonly from: number;
  readonly term: number;
  /** App: term of the entry at `index`; Vote/PreVote: last log term; AppResp reject: hint term. */
  readonly logTerm?: number;
  /** App: index preceding `entries`; Vote: last log index; AppResp: last matched (or rejected) index. */
  readonly index?: number;
  readonly entries?: readonly Entry[];
  readonly commit?: number;
  readonly snapshot?: Snapshot;
  readonly reject?: boolean;
  /** AppResp reject: the follower's suggestion for the next probe index. */
  readonly rejectHint?: number;
  /** ReadIndex request id; on Hup/Vote, CAMPAIGN_TRANSFER marks a leadership transfer. */
  readonly context?: string;
}

/** Vote context that lets a transfer election bypass leader leases. */
export const CAMPAIGN_TRANSFER = 'CampaignTransfer';

export const StateRole = {
  Follower: 'Follower',
  PreCandidate: 'PreCandidate',
  Candidate: 'Candidate',
  Leader: 'Leader',
} as const;
export type StateRole = (typeof StateRole)[keyof typeof StateRole];

export interface SoftState {
  readonly lead: number;
  readonly role: StateRole;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: string;
}

/**
 * One batch of work for the driver. Order (STYLE.md): persist `snapshot`,
 * `entries` and `hardState` (fsync when `mustSync`); then send `messages`; then
 * apply `snapshot` and `committedEntries`; then call `advance()`.
 */
export interface Ready {
  /** Present when leader or role changed since the last Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  /** Entries to append to stable storage (replacing any conflicting suffix). */
  readonly entries: readonly Entry[];
  /** Snapshot to persist and then restore into the state machine. */
  readonly snapshot?: Snapshot;
  /** Entries committed and not yet handed out; apply in order. */
  readonly committedEntries: readonly Entry[];
  /** Messages to send once the writes above are durable. */
  readonly messages: readonly Message[];
  /** True when the writes above must be fsynced before messages go out. */
  readonly mustSync: boolean;
}

/** Approximate byte size of an entry, used by flow control and proposal limits. */
export function entryBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** Term + index + type, encoded; keeps empty entries from being free. */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entryBytes(e);
  return total;
}

/** Bytes of entry payloads alone: what the uncommitted-log limit counts (a leader's no-op is free). */
export function payloadBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += e.data.byteLength;
  return total;
}
