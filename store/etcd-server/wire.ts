/**
 * The etcd v3 messages as @grpc/proto-loader hands them over (proto/load.ts
 * options: snake_case names, 64-bit integers as numbers, enums as names,
 * bytes as Buffers, scalar defaults filled in, unset messages null, the set
 * member of a oneof named by its oneof field). These shapes never leave
 * store/etcd-server: convert.ts turns them into domain types.
 *
 * Requests are described as what can arrive (an unknown enum number stays a
 * number); responses as what we send (omitted fields encode as defaults).
 */
import type * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';

/** Enum fields decode to their name, or to the raw number when the name is unknown. */
export type WireEnum<Names extends string> = Names | number;

export interface WireHeader {
  cluster_id: number;
  member_id: number;
  revision: number;
  raft_term: number;
}

export interface WireKeyValue {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

export interface WireEvent {
  type: 'PUT' | 'DELETE';
  kv: WireKeyValue;
  prev_kv?: WireKeyValue;
}

export interface WireRangeRequest {
  key: Buffer;
  range_end: Buffer;
  limit: number;
  revision: number;
  sort_order: WireEnum<'NONE' | 'ASCEND' | 'DESCEND'>;
  sort_target: WireEnum<'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'>;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: number;
  max_mod_revision: number;
  min_create_revision: number;
  max_create_revision: number;
}

export interface WireRangeResponse {
  header: WireHeader;
  kvs: WireKeyValue[];
  more: boolean;
  count: number;
}

export interface WirePutRequest {
  key: Buffer;
  value: Buffer;
  lease: number;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

export interface WirePutResponse {
  header: WireHeader;
  prev_kv?: WireKeyValue;
}

export interface WireDeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}

export interface WireDeleteRangeResponse {
  header: WireHeader;
  deleted: number;
  prev_kvs: WireKeyValue[];
}

export interface WireRequestOp {
  request?: 'request_range' | 'request_put' | 'request_delete_range' | 'request_txn';
  request_range?: WireRangeRequest;
  request_put?: WirePutRequest;
  request_delete_range?: WireDeleteRangeRequest;
  request_txn?: WireTxnRequest;
}

export type WireResponseOp =
  | { response_range: WireRangeResponse }
  | { response_put: WirePutResponse }
  | { response_delete_range: WireDeleteRangeResponse }
  | { response_txn: WireTxnResponse };

export interface WireCompare {
  result: WireEnum<'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'>;
  target: WireEnum<'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE'>;
  key: Buffer;
  range_end: Buffer;
  target_union?: 'version' | 'create_revision' | 'mod_revision' | 'value' | 'lease';
  version?: number;
  create_revision?: number;
  mod_revision?: number;
  value?: Buffer;
  lease?: number;
}

export interface WireTxnRequest {
  compare: WireCompare[];
  success: WireRequestOp[];
  failure: WireRequestOp[];
}

export interface WireTxnResponse {
  header: WireHeader;
  succeeded: boolean;
  responses: WireResponseOp[];
}

export interface WireCompactionRequest {
  revision: number;
  physical: boolean;
}

export interface WireWatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: number;
  progress_notify: boolean;
  filters: WireEnum<'NOPUT' | 'NODELETE'>[];
  prev_kv: boolean;
  watch_id: number;
  fragment: boolean;
}

export interface WireWatchRequest {
  request_union?: 'create_request' | 'cancel_request' | 'progress_request';
  create_request?: WireWatchCreateRequest;
  cancel_request?: { watch_id: number };
  progress_request?: object;
}

export interface WireWatchResponse {
  header: WireHeader;
  watch_id: number;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: number;
  cancel_reason?: string;
  fragment?: boolean;
  events?: WireEvent[];
}

export interface WireMember {
  ID: number;
  name: string;
  peerURLs: readonly string[];
  clientURLs: readonly string[];
  isLearner: boolean;
}

export interface WireAlarmMember {
  memberID: number;
  alarm: 'NONE' | 'NOSPACE' | 'CORRUPT';
}

export interface WireAlarmRequest {
  action: WireEnum<'GET' | 'ACTIVATE' | 'DEACTIVATE'>;
  memberID: number;
  alarm: WireEnum<'NONE' | 'NOSPACE' | 'CORRUPT'>;
}

export interface WireSnapshotResponse {
  header?: WireHeader;
  remaining_bytes: number;
  blob: Uint8Array;
}

// ------------------------------------------------------------------ decoding guard

/** Set on a request object in place of its fields when its bytes could not be decoded. */
export const MALFORMED = Symbol('malformed request');
/** Set on every decoded request: its encoded size in bytes. */
export const WIRE_BYTES = Symbol('wire bytes');

export interface DecodedRequest {
  [MALFORMED]?: string;
  [WIRE_BYTES]?: number;
}

type MethodDefinition = grpc.MethodDefinition<object, object>;

/**
 * Wraps a method's deserializer so that undecodable bytes reach the handler
 * as a MALFORMED marker (answered INVALID_ARGUMENT with the decoder's reason)
 * instead of grpc-js's bare INTERNAL, and records each request's size.
 */
function guardDeserializer(name: string, method: MethodDefinition): MethodDefinition {
  const decode = method.requestDeserialize;
  const requestDeserialize = (bytes: Buffer): object => {
    let decoded: object & DecodedRequest;
    try {
      decoded = decode(bytes) as object & DecodedRequest;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      decoded = { [MALFORMED]: `malformed ${name} request (${bytes.length} bytes): ${reason}` };
    }
    decoded[WIRE_BYTES] = bytes.length;
    return decoded;
  };
  return { ...method, requestDeserialize };
}

export interface EtcdServiceDefinitions {
  readonly KV: grpc.ServiceDefinition;
  readonly Watch: grpc.ServiceDefinition;
  readonly Lease: grpc.ServiceDefinition;
  readonly Cluster: grpc.ServiceDefinition;
  readonly Maintenance: grpc.ServiceDefinition;
}

type ServiceName = keyof EtcdServiceDefinitions;
const SERVICE_NAMES: readonly ServiceName[] = ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance'];

let cached: EtcdServiceDefinitions | undefined;

/** The five services of proto/etcd/rpc.proto, with guarded deserializers. Loaded once. */
export function etcdServiceDefinitions(): EtcdServiceDefinitions {
  if (cached !== undefined) return cached;
  const pkg = loadProto(['etcd/rpc.proto']) as unknown as {
    etcdserverpb: Record<ServiceName, grpc.ServiceClientConstructor>;
  };
  const out: Partial<Record<ServiceName, grpc.ServiceDefinition>> = {};
  for (const name of SERVICE_NAMES) {
    const service = pkg.etcdserverpb[name].service;
    const guarded: Record<string, MethodDefinition> = {};
    for (const [method, def] of Object.entries(service)) {
      guarded[method] = guardDeserializer(`${name}.${method}`, def as MethodDefinition);
    }
    out[name] = guarded as grpc.ServiceDefinition;
  }
  cached = out as EtcdServiceDefinitions;
  return cached;
}
