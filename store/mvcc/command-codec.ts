/**
 * Decoding of log entries into commands. An entry comes off disk or the network,
 * so every field is checked and rebuilt into a clean typed object; anything else
 * is a MalformedCommandError naming the field. Unknown extra fields are ignored.
 */
import { Unpackr } from 'msgpackr';
import { MalformedCommandError } from './errors.js';
import { MAX_TXN_OPS } from './limits.js';
import type * as T from './types.js';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from './types.js';
import type { Command } from './commands.js';

/** Bumped when the encoding changes incompatibly; entries carry it. */
export const COMMAND_FORMAT_VERSION = 1;

/**
 * Nesting bound for txns. Each level spends at least one op of the parent's
 * MAX_TXN_OPS budget, so a valid txn is never deeper; the bound keeps a hostile
 * entry from exhausting the stack.
 */
const TXN_DEPTH_MAX = MAX_TXN_OPS;

/**
 * Bytes decode as views into the entry, not copies: a command lives only for
 * its apply, and the store copies what it keeps (owned-bytes.ts).
 */
const unpackr = new Unpackr({ useRecords: false, copyBuffers: false, mapsAsObjects: true });

class Malformed extends Error {}

function fail(what: string): never {
  throw new Malformed(what);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) fail(`${at} is not a map`);
  return v as Obj;
}

const absent = (v: unknown): boolean => v === undefined || v === null;

function bytes(v: unknown, at: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${at} is not bytes`);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function optBytes(v: unknown, at: string): Uint8Array | undefined {
  return absent(v) ? undefined : bytes(v, at);
}

function int(v: unknown, at: string): number {
  if (!Number.isSafeInteger(v)) fail(`${at} is ${String(v)}, not a safe integer`);
  return v as number;
}

function optInt(v: unknown, at: string): number | undefined {
  return absent(v) ? undefined : int(v, at);
}

function optBool(v: unknown, at: string): boolean | undefined {
  if (absent(v)) return undefined;
  if (typeof v !== 'boolean') fail(`${at} is not a boolean`);
  return v;
}

function list(v: unknown, at: string, maxLength: number): unknown[] {
  if (absent(v)) return [];
  if (!Array.isArray(v)) fail(`${at} is not a list`);
  if (v.length > maxLength) fail(`${at} has ${v.length} items; at most ${maxLength} are accepted`);
  return v;
}

function member<V extends string>(v: unknown, values: Record<string, V>, at: string): V | undefined {
  if (absent(v)) return undefined;
  if (!Object.values(values).includes(v as V)) fail(`${at} is ${String(v)}; expected one of ${Object.values(values).join(', ')}`);
  return v as V;
}

/** Drops absent optional fields so decoded commands compare equal to the originals. */
function clean<O extends object>(o: O): O {
  for (const k of Object.keys(o) as (keyof O)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function parseRange(v: unknown, at: string): T.RangeRequest {
  const o = obj(v, at);
  return clean({
    key: bytes(o.key, `${at}.key`),
    rangeEnd: optBytes(o.rangeEnd, `${at}.rangeEnd`),
    limit: optInt(o.limit, `${at}.limit`),
    revision: optInt(o.revision, `${at}.revision`),
    sortOrder: member(o.sortOrder, SortOrder, `${at}.sortOrder`),
    sortTarget: member(o.sortTarget, SortTarget, `${at}.sortTarget`),
    serializable: optBool(o.serializable, `${at}.serializable`),
    keysOnly: optBool(o.keysOnly, `${at}.keysOnly`),
    countOnly: optBool(o.countOnly, `${at}.countOnly`),
    minModRevision: optInt(o.minModRevision, `${at}.minModRevision`),
    maxModRevision: optInt(o.maxModRevision, `${at}.maxModRevision`),
    minCreateRevision: optInt(o.minCreateRevision, `${at}.minCreateRevision`),
    maxCreateRevision: optInt(o.maxCreateRevision, `${at}.maxCreateRevision`),
  });
}

function parsePut(v: unknown, at: string): T.PutRequest {
  const o = obj(v, at);
  return clean({
    key: bytes(o.key, `${at}.key`),
    value: optBytes(o.value, `${at}.value`),
    lease: optInt(o.lease, `${at}.lease`),
    prevKv: optBool(o.prevKv, `${at}.prevKv`),
    ignoreValue: optBool(o.ignoreValue, `${at}.ignoreValue`),
    ignoreLease: optBool(o.ignoreLease, `${at}.ignoreLease`),
  });
}

function parseDeleteRange(v: unknown, at: string): T.DeleteRangeRequest {
  const o = obj(v, at);
  return clean({ key: bytes(o.key, `${at}.key`), rangeEnd: optBytes(o.rangeEnd, `${at}.rangeEnd`), prevKv: optBool(o.prevKv, `${at}.prevKv`) });
}

function parseCompare(v: unknown, at: string): T.Compare {
  const o = obj(v, at);
  const base = clean({
    result: member(o.result, CompareResult, `${at}.result`) ?? fail(`${at}.result is missing`),
    key: bytes(o.key, `${at}.key`),
    rangeEnd: optBytes(o.rangeEnd, `${at}.rangeEnd`),
  });
  const target = member(o.target, CompareTarget, `${at}.target`) ?? fail(`${at}.target is missing`);
  switch (target) {
    case 'VERSION':
      return { ...base, target, version: int(o.version, `${at}.version`) };
    case 'CREATE':
      return { ...base, target, createRevision: int(o.createRevision, `${at}.createRevision`) };
    case 'MOD':
      return { ...base, target, modRevision: int(o.modRevision, `${at}.modRevision`) };
    case 'VALUE':
      return { ...base, target, value: bytes(o.value, `${at}.value`) };
    case 'LEASE':
      return { ...base, target, lease: int(o.lease, `${at}.lease`) };
  }
}

function parseRequestOp(v: unknown, at: string, depth: number): T.RequestOp {
  const o = obj(v, at);
  switch (o.op) {
    case 'range':
      return { op: 'range', request: parseRange(o.request, `${at}.request`) };
    case 'put':
      return { op: 'put', request: parsePut(o.request, `${at}.request`) };
    case 'deleteRange':
      return { op: 'deleteRange', request: parseDeleteRange(o.request, `${at}.request`) };
    case 'txn':
      return { op: 'txn', request: parseTxn(o.request, `${at}.request`, depth + 1) };
    default:
      return fail(`${at}.op is ${String(o.op)}`);
  }
}

/** Lists may exceed MAX_TXN_OPS here (the state machine answers TooManyOps); this bound only caps memory. */
const TXN_LIST_DECODE_MAX = 64 * MAX_TXN_OPS;

function parseTxn(v: unknown, at: string, depth: number): T.TxnRequest {
  if (depth > TXN_DEPTH_MAX) fail(`${at} nests txns deeper than ${TXN_DEPTH_MAX}`);
  const o = obj(v, at);
  const ops = (name: 'success' | 'failure'): T.RequestOp[] | undefined =>
    absent(o[name]) ? undefined : list(o[name], `${at}.${name}`, TXN_LIST_DECODE_MAX).map((r, i) => parseRequestOp(r, `${at}.${name}[${i}]`, depth));
  return clean({
    compare: absent(o.compare)
      ? undefined
      : list(o.compare, `${at}.compare`, TXN_LIST_DECODE_MAX).map((c, i) => parseCompare(c, `${at}.compare[${i}]`)),
    success: ops('success'),
    failure: ops('failure'),
  });
}

/** Checkpoints per entry; etcd batches at most 1000 (maxLeaseCheckpointBatchSize). */
const CHECKPOINTS_PER_COMMAND_MAX = 1000;

function parseCommandBody(op: unknown, r: unknown): Command {
  switch (op) {
    case 'put':
      return { op, request: parsePut(r, 'request') };
    case 'deleteRange':
      return { op, request: parseDeleteRange(r, 'request') };
    case 'txn':
      return { op, request: parseTxn(r, 'request', 0) };
    case 'compact': {
      const o = obj(r, 'request');
      return { op, request: clean({ revision: int(o.revision, 'request.revision'), physical: optBool(o.physical, 'request.physical') }) };
    }
    case 'leaseGrant': {
      const o = obj(r, 'request');
      return { op, request: { id: int(o.id, 'request.id'), ttlSeconds: int(o.ttlSeconds, 'request.ttlSeconds'), nowMs: int(o.nowMs, 'request.nowMs') } };
    }
    case 'leaseRevoke': {
      const o = obj(r, 'request');
      return { op, request: clean({ id: int(o.id, 'request.id'), ifExpiredAtMs: optInt(o.ifExpiredAtMs, 'request.ifExpiredAtMs') }) };
    }
    case 'leaseRenew': {
      const o = obj(r, 'request');
      return { op, request: { id: int(o.id, 'request.id'), nowMs: int(o.nowMs, 'request.nowMs') } };
    }
    case 'leaseCheckpoint': {
      const items = list(obj(r, 'request').checkpoints, 'request.checkpoints', CHECKPOINTS_PER_COMMAND_MAX);
      const checkpoints = items.map((c, i) => {
        const o = obj(c, `request.checkpoints[${i}]`);
        return { id: int(o.id, `checkpoints[${i}].id`), remainingTtlSeconds: int(o.remainingTtlSeconds, `checkpoints[${i}].remainingTtlSeconds`) };
      });
      return { op, request: { checkpoints } };
    }
    case 'leasePromote': {
      const o = obj(r, 'request');
      return { op, request: { nowMs: int(o.nowMs, 'request.nowMs'), extendMs: int(o.extendMs, 'request.extendMs') } };
    }
    default:
      return fail(`op is ${String(op)}`);
  }
}

/** The command in an entry, or a MalformedCommandError (the same on every replica). */
export function decodeCommand(bytes: Uint8Array): Command | MalformedCommandError {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (e) {
    return new MalformedCommandError(`entry does not decode as msgpack: ${(e as Error).message}`);
  }
  try {
    if (!Array.isArray(raw) || raw.length !== 2) fail('entry is not [formatVersion, command]');
    if (raw[0] !== COMMAND_FORMAT_VERSION) fail(`format version ${String(raw[0])}; this build reads ${COMMAND_FORMAT_VERSION}`);
    const o = obj(raw[1], 'command');
    return parseCommandBody(o.op, o.request);
  } catch (e) {
    if (e instanceof Malformed) return new MalformedCommandError(e.message);
    throw e;
  }
}
