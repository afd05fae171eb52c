/**
 * Conversion between the decoded etcd messages (wire.ts) and domain types
 * (types.ts). Requests get etcd's pre-proposal checks (store/mvcc/validate.ts:
 * key required, ignore_value/ignore_lease rules, txn op budget, duplicate keys)
 * plus the edge's own: every number must be a safe integer and every enum
 * known, so nothing reaches the backend rounded or out of its domain.
 */
import { KeyNotFoundError, type MvccError } from '../mvcc/errors.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from '../mvcc/validate.js';
import { EtcdErrorCode, etcdError, invalidRequest } from './errors.js';
import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  KeyValue,
  Member,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseHeader,
  SortOrder,
  SortTarget,
  TxnRequest,
  WatchEvent,
} from './types.js';
import type {
  WireCompare,
  WireDeleteRangeRequest,
  WireEnum,
  WireEvent,
  WireHeader,
  WireKeyValue,
  WireMember,
  WirePutRequest,
  WireRangeRequest,
  WireRequestOp,
  WireTxnRequest,
} from './wire.js';

// ------------------------------------------------------------------ scalars

/** A 64-bit field as a number, refusing values a double cannot hold exactly. */
export function safeInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value)) {
    throw invalidRequest(`${field} ${value} is out of range: integers must be within ±${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
}

/** An unsigned id (member, lease): a safe integer >= 0. */
export function safeId(field: string, value: number): number {
  const v = safeInt(field, value);
  if (v < 0) throw invalidRequest(`${field} ${v} must not be negative`);
  return v;
}

export function enumValue<T extends string>(field: string, value: WireEnum<T>, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value;
  throw invalidRequest(`${field} ${String(value)} is not one of ${allowed.join(', ')}`);
}

const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const COMPARE_RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_TARGETS = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;

// ------------------------------------------------------------------ requests

/** Throws the validator's typed error, if any. */
function must(error: MvccError | undefined): void {
  if (error !== undefined) throw error;
}

export function rangeFromWire(r: WireRangeRequest): RangeRequest {
  const req: RangeRequest = {
    key: r.key,
    rangeEnd: r.range_end,
    // etcd treats a negative limit or revision like 0 (no limit / newest).
    limit: Math.max(0, safeInt('range limit', r.limit)),
    revision: Math.max(0, safeInt('range revision', r.revision)),
    sortOrder: enumValue('range sort_order', r.sort_order, SORT_ORDERS),
    sortTarget: enumValue('range sort_target', r.sort_target, SORT_TARGETS),
    serializable: r.serializable,
    keysOnly: r.keys_only,
    countOnly: r.count_only,
    minModRevision: safeInt('range min_mod_revision', r.min_mod_revision),
    maxModRevision: safeInt('range max_mod_revision', r.max_mod_revision),
    minCreateRevision: safeInt('range min_create_revision', r.min_create_revision),
    maxCreateRevision: safeInt('range max_create_revision', r.max_create_revision),
  };
  must(validateRange(req));
  return req;
}

export function putFromWire(r: WirePutRequest): PutRequest {
  const req: PutRequest = {
    key: r.key,
    value: r.value,
    lease: safeInt('put lease', r.lease),
    prevKv: r.prev_kv,
    ignoreValue: r.ignore_value,
    ignoreLease: r.ignore_lease,
  };
  must(validatePut(req));
  return req;
}

export function deleteRangeFromWire(r: WireDeleteRangeRequest): DeleteRangeRequest {
  const req: DeleteRangeRequest = { key: r.key, rangeEnd: r.range_end, prevKv: r.prev_kv };
  must(validateDeleteRange(req));
  return req;
}

/** An unset operand (or one for another target) compares against zero, as in etcd. */
function compareFromWire(c: WireCompare): Compare {
  const base = { key: c.key, rangeEnd: c.range_end, result: enumValue('compare result', c.result, COMPARE_RESULTS) };
  const target = enumValue('compare target', c.target, COMPARE_TARGETS);
  switch (target) {
    case 'VALUE':
      return { ...base, target, value: c.value ?? Buffer.alloc(0) };
    case 'VERSION':
      return { ...base, target, version: safeInt('compare version', c.version ?? 0) };
    case 'CREATE':
      return { ...base, target, createRevision: safeInt('compare create_revision', c.create_revision ?? 0) };
    case 'MOD':
      return { ...base, target, modRevision: safeInt('compare mod_revision', c.mod_revision ?? 0) };
    case 'LEASE':
      return { ...base, target, lease: safeInt('compare lease', c.lease ?? 0) };
  }
}

function requestOpFromWire(op: WireRequestOp, depth: number, maxTxnOps: number): RequestOp {
  switch (op.request) {
    case 'request_range':
      return { op: 'range', request: rangeFromWire(op.request_range!) };
    case 'request_put':
      return { op: 'put', request: putFromWire(op.request_put!) };
    case 'request_delete_range':
      return { op: 'deleteRange', request: deleteRangeFromWire(op.request_delete_range!) };
    case 'request_txn':
      return { op: 'txn', request: txnOpsFromWire(op.request_txn!, depth + 1, maxTxnOps) };
    default:
      // An empty RequestOp: etcd answers "key not found".
      throw new KeyNotFoundError(undefined, 'a txn holds an empty request op');
  }
}

/**
 * Each nesting level spends at least one op of etcd's shrinking txn budget, so
 * no valid txn nests deeper than maxTxnOps + 1; refusing deeper ones here keeps
 * the conversion's recursion bounded before validateTxn looks at the rest.
 */
function txnOpsFromWire(t: WireTxnRequest, depth: number, maxTxnOps: number): TxnRequest {
  if (depth > maxTxnOps + 1) {
    throw etcdError(EtcdErrorCode.TooManyOps, `txn nests ${depth} levels deep; with ${maxTxnOps} ops at most ${maxTxnOps + 1} fit`);
  }
  return {
    compare: t.compare.map(compareFromWire),
    success: t.success.map((op) => requestOpFromWire(op, depth, maxTxnOps)),
    failure: t.failure.map((op) => requestOpFromWire(op, depth, maxTxnOps)),
  };
}

/** The txn with etcd's checks: op budget, keys present, no key written twice in a branch. */
export function txnFromWire(t: WireTxnRequest, maxTxnOps: number): TxnRequest {
  const txn = txnOpsFromWire(t, 1, maxTxnOps);
  must(validateTxn(txn, maxTxnOps));
  return txn;
}

// ------------------------------------------------------------------ responses

export function headerToWire(h: ResponseHeader): WireHeader {
  return { cluster_id: h.clusterId, member_id: h.memberId, revision: h.revision, raft_term: h.raftTerm };
}

export function kvToWire(kv: KeyValue): WireKeyValue {
  return {
    key: kv.key,
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value,
    lease: kv.lease,
  };
}

export function eventToWire(ev: WatchEvent): WireEvent {
  const out: WireEvent = { type: ev.type, kv: kvToWire(ev.kv) };
  if (ev.prevKv !== undefined) out.prev_kv = kvToWire(ev.prevKv);
  return out;
}

export function memberToWire(m: Member): WireMember {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}
