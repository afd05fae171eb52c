/**
 * `-w json` in etcdctl's shapes. etcdctl marshals the Go protobuf structs with
 * encoding/json: snake_case field names, `omitempty` on every protobuf field
 * (zero numbers, false, empty bytes and lists vanish), bytes as base64, and
 * 64-bit integers as exact JSON numbers. Integers are bigints here so that ids
 * above 2^53 print exactly, as Go prints them.
 */
import type {
  IDeleteRangeResponse,
  IEvent,
  IKeyValue,
  IPutResponse,
  IRangeResponse,
  IResponseHeader,
  IResponseOp,
  ITxnResponse,
} from 'etcd3';
import { assertNever } from './errors.js';

export type JsonValue =
  | null
  | boolean
  | string
  | bigint
  | readonly JsonValue[]
  | { readonly [field: string]: JsonValue | undefined };

/** Serialises without whitespace, like Go; `undefined` fields are left out. */
export function toJson(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
  }
  if (isJsonArray(value)) return `[${value.map(toJson).join(',')}]`;
  const fields: string[] = [];
  for (const [name, field] of Object.entries(value)) {
    if (field !== undefined) fields.push(`${JSON.stringify(name)}:${toJson(field)}`);
  }
  return `{${fields.join(',')}}`;
}

function isJsonArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}

/** A protobuf int64/uint64 (a decimal string from the etcd3 client), left out when zero. */
export function int(decimal: string | number | undefined): bigint | undefined {
  if (decimal === undefined) return undefined;
  const n = BigInt(decimal);
  return n === 0n ? undefined : n;
}

/** A protobuf int64 that Go prints even when zero (fields of clientv3's own structs). */
export function intAlways(decimal: string | number | undefined): bigint {
  return decimal === undefined ? 0n : BigInt(decimal);
}

export function bytes(buf: Buffer | undefined | null): string | undefined {
  return buf && buf.length > 0 ? buf.toString('base64') : undefined;
}

export function flag(b: boolean | undefined): true | undefined {
  return b ? true : undefined;
}

export function list<T>(items: readonly T[] | undefined, each: (item: T) => JsonValue): JsonValue[] | undefined {
  return items && items.length > 0 ? items.map(each) : undefined;
}

type JsonObject = { [field: string]: JsonValue | undefined };

export function headerJson(h: IResponseHeader | null | undefined): JsonObject | undefined {
  if (!h) return undefined;
  return { cluster_id: int(h.cluster_id), member_id: int(h.member_id), revision: int(h.revision), raft_term: int(h.raft_term) };
}

/** clientv3 embeds the header in its lease responses, so there its fields sit at the top level. */
export function flatHeaderJson(h: IResponseHeader | null | undefined): JsonObject {
  return headerJson(h) ?? {};
}

export function kvJson(kv: IKeyValue | null | undefined): JsonValue | undefined {
  if (!kv) return undefined;
  return {
    key: bytes(kv.key),
    create_revision: int(kv.create_revision),
    mod_revision: int(kv.mod_revision),
    version: int(kv.version),
    value: bytes(kv.value),
    lease: int(kv.lease),
  };
}

export function rangeJson(r: IRangeResponse): JsonValue {
  return { header: headerJson(r.header), kvs: list(r.kvs, (kv) => kvJson(kv) ?? null), more: flag(r.more), count: int(r.count) };
}

export function putJson(r: IPutResponse): JsonValue {
  return { header: headerJson(r.header), prev_kv: kvJson(r.prev_kv) };
}

export function deleteJson(r: IDeleteRangeResponse): JsonValue {
  return { header: headerJson(r.header), deleted: int(r.deleted), prev_kvs: list(r.prev_kvs, (kv) => kvJson(kv) ?? null) };
}

/** A oneof marshals as {"Response":{"ResponsePut":{...}}}: Go's field names, since the oneof wrappers have no json tags. */
export function txnJson(r: ITxnResponse): JsonValue {
  return { header: headerJson(r.header), succeeded: flag(r.succeeded), responses: list(r.responses, responseOpJson) };
}

function responseOpJson(op: IResponseOp): JsonValue {
  const kind = responseKind(op);
  switch (kind) {
    case 'response_range':
      return { Response: { ResponseRange: rangeJson(op.response_range) } };
    case 'response_put':
      return { Response: { ResponsePut: putJson(op.response_put) } };
    case 'response_delete_range':
      return { Response: { ResponseDeleteRange: deleteJson(op.response_delete_range) } };
    case 'response_txn':
      return { Response: { ResponseTxn: txnJson(op.response_txn) } };
    default:
      return assertNever(kind, 'txn response kind');
  }
}

export type ResponseKind = 'response_range' | 'response_put' | 'response_delete_range' | 'response_txn';

/** The etcd3 client loads the protos with `oneofs: true`: the set member's name is in `response`. */
export function responseKind(op: IResponseOp): ResponseKind {
  const named = (op as IResponseOp & { response?: string }).response;
  if (named === 'response_range' || named === 'response_put' || named === 'response_delete_range' || named === 'response_txn') {
    return named;
  }
  if (op.response_range) return 'response_range';
  if (op.response_put) return 'response_put';
  if (op.response_delete_range) return 'response_delete_range';
  return 'response_txn';
}

/** mvccpb.Event: the PUT type is zero and so left out; DELETE is 1. */
export function eventJson(e: IEvent): JsonValue {
  return { type: e.type === 'Delete' ? 1n : undefined, kv: kvJson(e.kv), prev_kv: kvJson(e.prev_kv) };
}
