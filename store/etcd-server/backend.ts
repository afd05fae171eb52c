/**
 * EtcdBackend: everything the etcd v3 gRPC edge needs from the store, in
 * domain types (types.ts). The replica layer implements it over Raft + MVCC;
 * tests implement it with an in-memory fake.
 *
 * Contract for every method:
 *  - It honours `opts.signal`: when the client goes away or its deadline
 *    passes the signal aborts, and the method should stop waiting and reject
 *    (any error; the edge already answered CANCELLED / DEADLINE_EXCEEDED).
 *    A proposal that was already handed to Raft may still commit.
 *  - Operating errors are thrown as typed errors whose `code` is one of
 *    EtcdErrorCode (errors.ts), e.g. NO_LEADER, TIMEOUT, COMPACTED,
 *    LEASE_NOT_FOUND; the MVCC errors (store/mvcc/errors.ts) already qualify.
 *    The edge alone turns them into gRPC statuses and etcd's texts. Anything
 *    else is reported as UNKNOWN: a backend bug.
 *  - Requests arrive checked by store/mvcc/validate.ts (keys present,
 *    ignore_value/ignore_lease rules, txn op budget, no duplicate keys) and
 *    with every number a safe integer; range limit and revision are >= 0.
 *  - Every response's `revision` becomes ResponseHeader.revision; the other
 *    header fields come from `header()`.
 */
import type {
  AlarmMember,
  AlarmRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKvResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberAddRequest,
  MemberAddResponse,
  MembersResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  Snapshot,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchEvent,
  WatchRequest,
} from './types.js';

export interface CallOptions {
  /** Aborts when the caller cancels, disconnects, or its deadline passes. */
  readonly signal: AbortSignal;
  /** The caller's deadline (Date.now() scale), when it sent one. */
  readonly deadlineEpochMs?: number;
}

export interface RangeOptions extends CallOptions {
  /** Serve from this member's applied state without confirming leadership (may be stale). */
  readonly serializable: boolean;
}

/**
 * Receives the output of one watcher. Calls happen in revision order and
 * never after `onCanceled` or after the handle's `cancel()`.
 */
export interface WatchSink {
  /**
   * Events of one or more whole revisions, ascending. All events of a revision
   * arrive in one call (the atomicity etcd promises). The edge applies the
   * NOPUT/NODELETE filters itself.
   */
  onEvents(events: readonly WatchEvent[]): void;
  /**
   * The watcher stopped on its own. `compactRevision` > 0: its next revision
   * was compacted away (the oldest still available is compactRevision). An
   * `error` (typed, as above) says why otherwise, e.g. the member lost its data.
   */
  onCanceled(reason: { readonly compactRevision?: number; readonly error?: unknown }): void;
}

export interface WatchHandle {
  /** The store revision when the watcher was registered (the "created" response's header revision). */
  readonly revision: number;
  /**
   * Resolves with a revision R such that every event of this watcher with a
   * revision <= R has already been passed to `onEvents`. Used for progress
   * notifications; R is the current revision once the watcher has caught up.
   */
  requestProgress(): Promise<number>;
  /** Stops delivery at once; idempotent. */
  cancel(): void;
}

export interface EtcdBackend {
  /** Who is answering: filled into every response header. Cheap and synchronous (local state). */
  header(): ResponseHeader;
  /**
   * Whether this member is a learner now. The edge then serves only what etcd
   * 3.4 lets a learner serve (learner-gate.ts). Cheap and synchronous (local
   * state); asked on every call. Backends that are never a learner omit it.
   */
  isLearner?(): boolean;

  // KV
  range(req: RangeRequest, opts: RangeOptions): Promise<RangeResponse>;
  put(req: PutRequest, opts: CallOptions): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest, opts: CallOptions): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest, opts: CallOptions): Promise<TxnResponse>;
  /** `physical`: resolve only once the compaction reached local storage. */
  compact(revision: number, opts: CallOptions & { readonly physical: boolean }): Promise<CompactionResponse>;

  // Watch
  /**
   * Registers a watcher. Events may reach `sink` before the promise resolves;
   * the edge holds them until the client has seen the "created" response.
   * A start revision below the compaction point is not an error here: the
   * watcher reports it through `sink.onCanceled({ compactRevision })`.
   * `opts.signal` aborts when the whole watch stream ends; the edge also calls
   * `cancel()` on every handle then.
   */
  watch(req: WatchRequest, sink: WatchSink, opts: CallOptions): Promise<WatchHandle>;

  // Lease
  leaseGrant(req: LeaseGrantRequest, opts: CallOptions): Promise<LeaseGrantResponse>;
  leaseRevoke(id: number, opts: CallOptions): Promise<LeaseRevokeResponse>;
  /** Renews the lease; resolves with its new TTL in seconds. Throws LEASE_NOT_FOUND if it does not exist. */
  leaseKeepAlive(id: number, opts: CallOptions): Promise<number>;
  /** Throws LEASE_NOT_FOUND if the lease does not exist (the edge answers TTL -1, as etcd does). */
  leaseTimeToLive(id: number, opts: CallOptions & { readonly keys: boolean }): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(opts: CallOptions): Promise<LeaseLeasesResponse>;

  // Cluster
  memberList(opts: CallOptions): Promise<MembersResponse>;
  memberAdd(req: MemberAddRequest, opts: CallOptions): Promise<MemberAddResponse>;
  memberRemove(id: number, opts: CallOptions): Promise<MembersResponse>;
  memberUpdate(id: number, peerUrls: readonly string[], opts: CallOptions): Promise<MembersResponse>;
  memberPromote(id: number, opts: CallOptions): Promise<MembersResponse>;

  // Maintenance
  status(opts: CallOptions): Promise<StatusResponse>;
  /**
   * GET lists the raised alarms of type `alarm` (NONE = all; etcd ignores memberId in a GET).
   * ACTIVATE / DEACTIVATE raise or clear one and resolve with it ([] when there was nothing to clear).
   */
  alarm(req: AlarmRequest, opts: CallOptions): Promise<readonly AlarmMember[]>;
  defragment(opts: CallOptions): Promise<void>;
  /** `revision` 0 = the current revision. */
  hashKV(revision: number, opts: CallOptions): Promise<HashKvResponse>;
  /**
   * A point-in-time copy of the member's state. The edge streams the chunks,
   * pads them with zeros to a multiple of 512 bytes and appends the SHA-256
   * of all of it (what etcdctl checks; see maintenance-service.ts), so the
   * data must carry its own length. Chunks are pulled at the client's pace;
   * the backend need not hold the whole snapshot in memory.
   */
  snapshot(opts: CallOptions): Promise<Snapshot>;
  /** Hands leadership to `targetId`; resolves when the transfer finished. Only the leader may do this (NOT_LEADER). */
  moveLeader(targetId: number, opts: CallOptions): Promise<void>;
}
