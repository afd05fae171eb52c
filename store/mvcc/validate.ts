/**
 * Request checks etcd makes before a request reaches Raft (etcdserver/api/v3rpc/key.go
 * and the size check in v3_server.go). The edge runs them before proposing, so that
 * bad requests cost no log entry; the state machine runs them again when applying,
 * so a command that skipped them still yields the same error on every replica.
 * Each returns the first error found, or undefined.
 */
import {
  DuplicateKeyError,
  EmptyKeyError,
  LeaseProvidedError,
  RequestTooLargeError,
  TooManyOpsError,
  ValueProvidedError,
  type MvccError,
} from './errors.js';
import { keyIdOf, keyOfId, type KeyId } from './key-range.js';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS } from './limits.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

export function validateRange(req: RangeRequest): MvccError | undefined {
  if (req.key.length === 0) return new EmptyKeyError('range');
  return undefined;
}

export function validatePut(req: PutRequest): MvccError | undefined {
  if (req.key.length === 0) return new EmptyKeyError('put');
  if (req.ignoreValue === true && (req.value?.length ?? 0) !== 0) return new ValueProvidedError(req.key);
  if (req.ignoreLease === true && (req.lease ?? 0) !== 0) return new LeaseProvidedError(req.key, req.lease ?? 0);
  return undefined;
}

export function validateDeleteRange(req: DeleteRangeRequest): MvccError | undefined {
  if (req.key.length === 0) return new EmptyKeyError('delete range');
  return undefined;
}

/** Size, key, op-count and duplicate-key checks of a txn, in etcd's order. */
export function validateTxn(req: TxnRequest, maxTxnOps = MAX_TXN_OPS): MvccError | undefined {
  const shapeError = checkTxnShape(req, maxTxnOps);
  if (shapeError !== undefined) return shapeError;
  for (const ops of [req.success ?? [], req.failure ?? []]) {
    const overlap = checkIntervals(ops);
    if (overlap instanceof DuplicateKeyError) return overlap;
  }
  return undefined;
}

/** etcd refuses a proposal whose encoding exceeds --max-request-bytes. */
export function validateRequestBytes(requestBytes: number, limitBytes = MAX_REQUEST_BYTES): MvccError | undefined {
  return requestBytes > limitBytes ? new RequestTooLargeError(requestBytes, limitBytes) : undefined;
}

/**
 * The longest of compare/success/failure may not exceed the budget; a nested
 * txn gets what its parent left (budget minus the parent's longest list).
 */
function checkTxnShape(req: TxnRequest, maxTxnOps: number): MvccError | undefined {
  const compare = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxTxnOps) return new TooManyOpsError(opc, maxTxnOps);
  for (const c of compare) {
    if (c.key.length === 0) return new EmptyKeyError('txn compare');
  }
  for (const op of [...success, ...failure]) {
    const error = checkRequestOp(op, maxTxnOps - opc);
    if (error !== undefined) return error;
  }
  return undefined;
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): MvccError | undefined {
  switch (op.op) {
    case 'range':
      return validateRange(op.request);
    case 'put':
      return validatePut(op.request);
    case 'deleteRange':
      return validateDeleteRange(op.request);
    case 'txn':
      return checkTxnShape(op.request, maxTxnOps);
  }
}

/**
 * A delete's key interval, compared on raw bytes the way etcd's interval tree does.
 * A "\0" range end is taken literally here (etcd does the same), so a from-key
 * delete never conflicts with a put; point deletes have no `end`.
 */
interface DeleteInterval {
  readonly start: KeyId;
  readonly end?: KeyId;
}

function intersects(dels: readonly DeleteInterval[], id: KeyId): boolean {
  return dels.some((d) => (d.end === undefined ? d.start === id : d.start <= id && id < d.end));
}

interface Writes {
  readonly puts: Set<KeyId>;
  readonly dels: DeleteInterval[];
}

/**
 * etcd's checkIntervals: within one op list (recursively through nested txns),
 * a key may be put once and not also deleted. A key put in both branches of a
 * nested txn is fine, since only one branch runs.
 */
function checkIntervals(ops: readonly RequestOp[]): Writes | DuplicateKeyError {
  const dels: DeleteInterval[] = [];
  for (const op of ops) {
    if (op.op !== 'deleteRange') continue;
    const { key, rangeEnd } = op.request;
    dels.push(rangeEnd !== undefined && rangeEnd.length > 0 ? { start: keyIdOf(key), end: keyIdOf(rangeEnd) } : { start: keyIdOf(key) });
  }
  const puts = new Set<KeyId>();
  for (const op of ops) {
    if (op.op !== 'txn') continue;
    const then = checkIntervals(op.request.success ?? []);
    if (then instanceof DuplicateKeyError) return then;
    const otherwise = checkIntervals(op.request.failure ?? []);
    if (otherwise instanceof DuplicateKeyError) return otherwise;
    for (const id of then.puts) {
      if (puts.has(id) || intersects(dels, id)) return new DuplicateKeyError(keyOfId(id));
      puts.add(id);
    }
    for (const id of otherwise.puts) {
      if ((puts.has(id) && !then.puts.has(id)) || intersects(dels, id)) return new DuplicateKeyError(keyOfId(id));
      puts.add(id);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (op.op !== 'put') continue;
    const id = keyIdOf(op.request.key);
    if (puts.has(id) || intersects(dels, id)) return new DuplicateKeyError(op.request.key);
    puts.add(id);
  }
  return { puts, dels };
}
