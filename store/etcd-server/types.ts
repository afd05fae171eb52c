/**
 * Domain types of the etcd v3 edge: what the gRPC handlers hand to an
 * EtcdBackend and get back. The key-value, txn, lease and watch-event types
 * are the MVCC state machine's own (store/mvcc/types.ts); this file adds the
 * parts that belong to a serving member rather than to the state machine:
 * membership, alarms, status, snapshots and the response header. None of them
 * know protobuf: the generated message shapes stay inside wire.ts/convert.ts.
 *
 * Numbers: every 64-bit quantity (revision, lease id, member id) is a JS
 * number. Member ids are 48-bit, lease ids and revisions stay below 2^53, and
 * the edge refuses any request number that is not a safe integer, so no value
 * is ever silently rounded.
 */
export type {
  Compare,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKvResponse,
  KeyValue,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchEvent,
} from '../mvcc/types.js';
export { CompareResult, CompareTarget, EventType, SortOrder, SortTarget } from '../mvcc/types.js';

export type Bytes = Uint8Array;

/** A lease grant as a client asks for it (the replica adds its clock reading). */
export interface LeaseGrantRequest {
  readonly ttlSeconds: number;
  /** 0 = the backend picks an id. */
  readonly id: number;
}

/** What a watcher follows. Key-range conventions are etcd's (see RangeRequest). */
export interface WatchRequest {
  readonly key: Bytes;
  readonly rangeEnd: Bytes;
  /** First revision delivered (inclusive). 0 = the changes after the current revision. */
  readonly startRevision: number;
  /** Attach the previous version to each event. */
  readonly prevKv: boolean;
}

// ------------------------------------------------------------------ Cluster

export interface Member {
  readonly id: number;
  /** Empty until the member has started. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** Empty until the member has started. */
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MemberAddRequest {
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MemberAddResponse {
  readonly member: Member;
  readonly members: readonly Member[];
}

export interface MembersResponse {
  readonly members: readonly Member[];
}

// ------------------------------------------------------------------ Maintenance

export const AlarmType = { None: 'NONE', NoSpace: 'NOSPACE', Corrupt: 'CORRUPT' } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

export const AlarmAction = { Get: 'GET', Activate: 'ACTIVATE', Deactivate: 'DEACTIVATE' } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

export interface AlarmMember {
  readonly memberId: number;
  readonly alarm: AlarmType;
}

export interface AlarmRequest {
  readonly action: AlarmAction;
  /** 0 = every member. */
  readonly memberId: number;
  /** NONE in a GET = every alarm type. */
  readonly alarm: AlarmType;
}

export interface StatusResponse {
  /** Server version string as etcdctl prints it, e.g. "3.4.0". */
  readonly version: string;
  readonly dbSizeBytes: number;
  readonly dbSizeInUseBytes: number;
  /** Leader's member id as this member sees it; 0 = no leader. */
  readonly leader: number;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly isLearner: boolean;
  /** Raised alarms; the edge renders them (and a missing leader) as etcd's error strings. */
  readonly alarms: readonly AlarmMember[];
}

export interface Snapshot {
  /** The store revision the snapshot captures. */
  readonly revision: number;
  /** Exact number of bytes `chunks` will yield. */
  readonly totalBytes: number;
  /** The snapshot data in order; chunk sizes are the backend's choice. */
  readonly chunks: AsyncIterable<Bytes>;
}

/** The fields every response header carries. */
export interface ResponseHeader {
  readonly clusterId: number;
  readonly memberId: number;
  readonly revision: number;
  readonly raftTerm: number;
}
