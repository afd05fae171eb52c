/**
 * Txn evaluation, in etcd 3.4's order (etcdserver/apply.go Txn):
 *  1. plan: evaluate the compares of the txn and of every nested txn on the
 *     chosen path, all against the state before the txn (nested compares do
 *     not see the outer txn's writes);
 *  2. check the puts on the path (ignore_* needs an existing key, a lease must
 *     exist), then the ranges (revision not future, not compacted);
 *  3. execute the path in order in one write txn: one revision for all writes.
 * Failing step 2 changes nothing: the txn is atomic.
 */
import { assert, assertNever } from './assert.js';
import { CompactedError, FutureRevisionError, KeyNotFoundError, LeaseNotFoundError, MvccError } from './errors.js';
import { compareBytes, keyIdOf, rangeContains, toKeyRange, type KeyRange } from './key-range.js';
import type { KvStore, WriteTxn } from './kv-store.js';
import type { Lessor } from './lessor.js';
import { executeRange } from './range.js';
import { NO_LEASE, type Compare, type KeyValue, type PutRequest, type RequestOp, type ResponseOp, type TxnRequest } from './types.js';
import { applyDeleteRange, applyPut } from './write-ops.js';

/** The branch a txn takes, with the plans of the nested txns on it (by op index). */
export interface TxnPlan {
  readonly succeeded: boolean;
  readonly ops: readonly RequestOp[];
  readonly nested: ReadonlyMap<number, TxnPlan>;
}

const ZERO_KV: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: NO_LEASE };

export function planTxn(store: KvStore, req: TxnRequest, rev: number): TxnPlan {
  const succeeded = (req.compare ?? []).every((c) => applyCompare(store, c, rev));
  const ops = (succeeded ? req.success : req.failure) ?? [];
  const nested = new Map<number, TxnPlan>();
  ops.forEach((op, i) => {
    if (op.op === 'txn') nested.set(i, planTxn(store, op.request, rev));
  });
  return { succeeded, ops, nested };
}

/**
 * A compare over a range holds only if it holds for every key. With no key, a
 * VALUE compare fails and the others compare against zero (so "version = 0"
 * means "absent").
 */
function applyCompare(store: KvStore, c: Compare, rev: number): boolean {
  const { kvs } = store.rangeKeys(toKeyRange(c.key, c.rangeEnd), rev, 0);
  if (kvs.length === 0) return c.target !== 'VALUE' && compareKv(c, ZERO_KV);
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  const result = Math.sign(targetDifference(c, kv));
  switch (c.result) {
    case 'EQUAL':
      return result === 0;
    case 'NOT_EQUAL':
      return result !== 0;
    case 'GREATER':
      return result > 0;
    case 'LESS':
      return result < 0;
    default:
      return assertNever(c.result, 'compare result');
  }
}

function targetDifference(c: Compare, kv: KeyValue): number {
  switch (c.target) {
    case 'VERSION':
      return kv.version - c.version;
    case 'CREATE':
      return kv.createRevision - c.createRevision;
    case 'MOD':
      return kv.modRevision - c.modRevision;
    case 'VALUE':
      return compareBytes(kv.value, c.value);
    case 'LEASE':
      return kv.lease - c.lease;
    default:
      return assertNever(c, 'compare target');
  }
}

/** Visits the ops that will run, in execution order, descending into nested txns. */
function forEachPlannedOp(plan: TxnPlan, visit: (op: Exclude<RequestOp, { op: 'txn' }>) => MvccError | undefined): MvccError | undefined {
  for (const [i, op] of plan.ops.entries()) {
    const error = op.op === 'txn' ? forEachPlannedOp(plan.nested.get(i)!, visit) : visit(op);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** Step 2, against the state at `rev` (before the txn). */
export function checkPlan(plan: TxnPlan, store: KvStore, lessor: Lessor, rev: number): MvccError | undefined {
  const putError = forEachPlannedOp(plan, (op) => (op.op === 'put' ? checkPut(op.request, store, lessor, rev) : undefined));
  if (putError !== undefined) return putError;
  const rangeError = forEachPlannedOp(plan, (op) => {
    if (op.op !== 'range') return undefined;
    const revision = op.request.revision ?? 0;
    if (revision === 0) return undefined;
    if (revision > rev) return new FutureRevisionError(revision, rev);
    if (revision < store.compactRevision) return new CompactedError(revision, store.compactRevision);
    return undefined;
  });
  return rangeError ?? checkIgnoredKeysSurvive(plan);
}

function checkPut(req: PutRequest, store: KvStore, lessor: Lessor, rev: number): MvccError | undefined {
  if (req.ignoreValue === true || req.ignoreLease === true) {
    if (store.rangeKeys(toKeyRange(req.key, undefined), rev, 1).count === 0) {
      return new KeyNotFoundError(req.key, 'ignore_value/ignore_lease needs an existing key');
    }
  }
  const lease = req.lease ?? NO_LEASE;
  if (lease !== NO_LEASE && lessor.get(lease) === undefined) return new LeaseNotFoundError(lease);
  return undefined;
}

/**
 * One case etcd does not catch before applying: a from-key delete ("\0" range
 * end) passes the duplicate-key check, and a later ignore_value/ignore_lease put
 * of a key it deleted then finds no key; an etcd member panics there. Refusing
 * such a txn up front, with the error that put would have returned, keeps every
 * replica alive and in agreement.
 */
function checkIgnoredKeysSurvive(plan: TxnPlan): MvccError | undefined {
  const deleted: KeyRange[] = [];
  return forEachPlannedOp(plan, (op) => {
    if (op.op === 'deleteRange') deleted.push(toKeyRange(op.request.key, op.request.rangeEnd));
    if (op.op !== 'put' || (op.request.ignoreValue !== true && op.request.ignoreLease !== true)) return undefined;
    const id = keyIdOf(op.request.key);
    return deleted.some((range) => rangeContains(range, id))
      ? new KeyNotFoundError(op.request.key, 'deleted earlier in the same txn, so ignore_value/ignore_lease has nothing to keep')
      : undefined;
  });
}

/** Step 3. Checked plans cannot fail here; a failure is a bug and stops the replica. */
export function executePlan(plan: TxnPlan, store: KvStore, txn: WriteTxn): ResponseOp[] {
  return plan.ops.map((op, i): ResponseOp => {
    switch (op.op) {
      case 'range': {
        const response = executeRange(store, op.request, txn.readRevision);
        assert(!(response instanceof MvccError), () => `checked txn range failed: ${(response as MvccError).detail}`);
        return { op: 'range', response };
      }
      case 'put': {
        const response = applyPut(txn, op.request);
        assert(!(response instanceof MvccError), () => `checked txn put failed: ${(response as MvccError).detail}`);
        return { op: 'put', response };
      }
      case 'deleteRange':
        return { op: 'deleteRange', response: applyDeleteRange(store, txn, op.request) };
      case 'txn': {
        const nested = plan.nested.get(i)!;
        // etcd leaves a nested txn's response header empty, so its revision reads 0.
        return { op: 'txn', response: { revision: 0, succeeded: nested.succeeded, responses: executePlan(nested, store, txn) } };
      }
      default:
        return assertNever(op, 'txn op');
    }
  });
}
