/**
 * Domain types of the MVCC key-value state machine, independent of protobuf.
 * They mirror etcd v3's `mvccpb` and `etcdserverpb` messages field for field;
 * the gRPC adapter converts at the edge and adds the cluster/member/term parts
 * of the response header.
 *
 * Numbers: revisions, versions, lease ids and TTLs are JS numbers. They are exact
 * up to Number.MAX_SAFE_INTEGER (2^53 - 1): at a million writes a second the
 * revision would take 285 years to get there, and the store asserts before it
 * does. Lease ids are chosen by this store (small) or by a client; the adapter
 * must refuse a client-chosen id outside the safe range instead of rounding it.
 *
 * Optional request fields follow protobuf's defaults: absent means zero / empty /
 * false, exactly like an unset proto3 field.
 */

/** Lease id 0 means "no lease", as in etcd. */
export const NO_LEASE = 0;

export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the last creation of the key (start of its current generation). */
  readonly createRevision: number;
  /** Revision of the last modification; a DELETE event carries the deletion revision. */
  readonly modRevision: number;
  /** 1 on create, +1 per modification; a delete resets it (the key is gone). */
  readonly version: number;
  readonly value: Uint8Array;
  /** Attached lease id, or NO_LEASE. */
  readonly lease: number;
}

export const SortOrder = { None: 'NONE', Ascend: 'ASCEND', Descend: 'DESCEND' } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

export const SortTarget = { Key: 'KEY', Version: 'VERSION', Create: 'CREATE', Mod: 'MOD', Value: 'VALUE' } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/**
 * Key-range conventions (etcd's): `rangeEnd` absent or empty means the single
 * key `key`; `rangeEnd` = [0x00] means every key >= `key`; otherwise the half-open
 * range [key, rangeEnd) in byte order. A prefix is [p, prefixRangeEnd(p)).
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** At most this many kvs; <= 0 means no limit. */
  readonly limit?: number;
  /** Read as of this revision; <= 0 means the current revision. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Consistency choice of the serving member; the state machine ignores it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  /** Filters; 0 means "no filter". They do not change `count`, as in etcd. */
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

/**
 * Every response carries `revision`: the value etcd puts in ResponseHeader.revision
 * for that response (the store revision when it was served or applied). The other
 * header fields belong to the serving member and are added by the gRPC adapter.
 */
export interface RangeResponse {
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  /** More keys matched than `limit` allowed. */
  readonly more: boolean;
  /** Keys in the range at the read revision, before limit and filters. */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: number;
  readonly prevKv?: boolean;
  /** Keep the current value; the key must exist and `value` must be empty. */
  readonly ignoreValue?: boolean;
  /** Keep the current lease; the key must exist and `lease` must be 0. */
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly revision: number;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

export const CompareResult = { Equal: 'EQUAL', Greater: 'GREATER', Less: 'LESS', NotEqual: 'NOT_EQUAL' } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

export const CompareTarget = { Version: 'VERSION', Create: 'CREATE', Mod: 'MOD', Value: 'VALUE', Lease: 'LEASE' } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

interface CompareBase {
  readonly result: CompareResult;
  readonly key: Uint8Array;
  /** Compare every key of a range (same conventions as RangeRequest). */
  readonly rangeEnd?: Uint8Array;
}

/**
 * One compare of a txn. The operand's field follows the target, like the
 * protobuf oneof; the adapter passes 0 / empty when a client set a different
 * oneof member than the target names (etcd compares against zero then).
 */
export type Compare = CompareBase &
  (
    | { readonly target: 'VERSION'; readonly version: number }
    | { readonly target: 'CREATE'; readonly createRevision: number }
    | { readonly target: 'MOD'; readonly modRevision: number }
    | { readonly target: 'VALUE'; readonly value: Uint8Array }
    | { readonly target: 'LEASE'; readonly lease: number }
  );

export type RequestOp =
  | { readonly op: 'range'; readonly request: RangeRequest }
  | { readonly op: 'put'; readonly request: PutRequest }
  | { readonly op: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly op: 'txn'; readonly request: TxnRequest };

export type ResponseOp =
  | { readonly op: 'range'; readonly response: RangeResponse }
  | { readonly op: 'put'; readonly response: PutResponse }
  | { readonly op: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly op: 'txn'; readonly response: TxnResponse };

export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

export interface TxnResponse {
  /** Outer txn: the store revision after it. A nested txn reports 0, as etcd does. */
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  /** etcd waits for the backend when set; compaction here is immediate either way. */
  readonly physical?: boolean;
}

export interface CompactionResponse {
  readonly revision: number;
}

export const EventType = { Put: 'PUT', Delete: 'DELETE' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/**
 * A watch event. A DELETE's kv holds only the key and modRevision (the deletion
 * revision), like etcd's. `prevKv` is the key's value at modRevision - 1 when
 * that is still readable; a create event (createRevision == modRevision) has none.
 */
export interface WatchEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface LeaseGrantRequest {
  /** 0 asks the store to choose an id. */
  readonly id: number;
  readonly ttlSeconds: number;
  /** The proposer's clock when it proposed the grant (the store has no clock). */
  readonly nowMs: number;
}

export interface LeaseGrantResponse {
  readonly revision: number;
  readonly id: number;
  /** The granted TTL, raised to the minimum TTL when smaller. */
  readonly ttlSeconds: number;
}

export interface LeaseRevokeRequest {
  readonly id: number;
  /**
   * Set by the leader's expiry check: the time (its clock) at which it found the
   * lease expired. The revoke then happens only if the lease is still expired at
   * that time when the entry applies; a keep-alive applied in between wins.
   */
  readonly ifExpiredAtMs?: number;
}

export interface LeaseRevokeResponse {
  readonly revision: number;
}

/** A keep-alive, replicated with the leader's clock reading. */
export interface LeaseRenewRequest {
  readonly id: number;
  readonly nowMs: number;
}

export interface LeaseRenewResponse {
  readonly revision: number;
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseCheckpoint {
  readonly id: number;
  readonly remainingTtlSeconds: number;
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[];
}

export interface LeaseCheckpointResponse {
  readonly revision: number;
}

/** A new leader refreshes every lease's expiry from its own clock plus a grace period. */
export interface LeasePromoteRequest {
  readonly nowMs: number;
  readonly extendMs: number;
}

export interface LeasePromoteResponse {
  readonly revision: number;
}

export interface LeaseTimeToLiveRequest {
  readonly id: number;
  readonly keys?: boolean;
  readonly nowMs: number;
}

export interface LeaseTimeToLiveResponse {
  readonly revision: number;
  readonly id: number;
  /** Whole seconds left, truncated toward zero (may be <= 0 until the leader revokes). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  /** Attached keys in byte order; empty unless requested. */
  readonly keys: readonly Uint8Array[];
}

export interface LeaseLeasesResponse {
  readonly revision: number;
  /** Ordered by expiry, then id. */
  readonly leases: readonly { readonly id: number }[];
}

export interface HashKvResponse {
  /** CRC-32C over the key space up to the revision, computed the way etcd 3.4 does. */
  readonly hash: number;
  readonly compactRevision: number;
  /** The current revision (ResponseHeader.revision). */
  readonly revision: number;
}

export interface MvccStatus {
  readonly revision: number;
  /** -1 until the first compaction, as etcd reports it. */
  readonly compactRevision: number;
  /** Logical size: revision keys plus encoded kvs of every retained revision, plus leases. */
  readonly dbSizeBytes: number;
  /** Keys that exist at the current revision. */
  readonly keyCount: number;
  readonly leaseCount: number;
}

export interface ReadEventsRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** First revision wanted; <= 0 means "after the current revision" (nothing yet). */
  readonly startRevision: number;
  /** Stop after the revision at which this many events have been collected. */
  readonly maxEvents: number;
}

export interface ReadEventsResponse {
  /** Ordered by revision, then by order within the revision. Never splits a revision. */
  readonly events: readonly WatchEvent[];
  /** Where to continue: every event below it in the range has been returned. */
  readonly nextRevision: number;
}
