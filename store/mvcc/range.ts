/**
 * A RangeRequest served against the key space, reproducing etcd 3.4's applier
 * (etcdserver/apply.go Range) step by step, because clients see each quirk:
 *  1. without sort and filters, fetch limit + 1 keys (to know `more`), else all;
 *  2. `count` is every key of the range at the read revision, before filters and limit;
 *  3. drop kvs outside min/max mod/create revision (0 = no bound);
 *  4. sort: a target other than KEY with order NONE sorts ASCEND;
 *  5. cut to `limit`, setting `more`;
 *  6. keysOnly blanks values.
 * Sorting is stable: ties keep byte order of keys, in both directions (what Go's
 * sort does for the small result sets where ties can be observed reliably).
 */
import { compareBytes, toKeyRange } from './key-range.js';
import type { KvStore } from './kv-store.js';
import { MvccError } from './errors.js';
import { assertNever } from './assert.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest, type RangeResponse } from './types.js';

const EMPTY_BYTES = new Uint8Array(0);

export function executeRange(store: KvStore, req: RangeRequest, readRevision: number): RangeResponse | MvccError {
  const rev = store.resolveReadRevision(req.revision ?? 0, readRevision);
  if (rev instanceof MvccError) return rev;
  const requestedLimit = req.limit ?? 0;
  const sortOrder = req.sortOrder ?? SortOrder.None;
  const sortTarget = req.sortTarget ?? SortTarget.Key;
  const fetchAll = sortOrder !== SortOrder.None || hasRevisionFilter(req);
  const fetchLimit = !fetchAll && requestedLimit > 0 ? requestedLimit + 1 : 0;
  const fetched = store.rangeKeys(toKeyRange(req.key, req.rangeEnd), rev, fetchLimit, req.countOnly !== true);
  let kvs = hasRevisionFilter(req) ? fetched.kvs.filter((kv) => passesRevisionFilters(kv, req)) : fetched.kvs;
  const order = sortTarget !== SortTarget.Key && sortOrder === SortOrder.None ? SortOrder.Ascend : sortOrder;
  if (order !== SortOrder.None) kvs = sortKvs(kvs, sortTarget, order);
  let more = false;
  if (requestedLimit > 0 && kvs.length > requestedLimit) {
    kvs = kvs.slice(0, requestedLimit);
    more = true;
  }
  if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  return { revision: readRevision, kvs, more, count: fetched.count };
}

function hasRevisionFilter(req: RangeRequest): boolean {
  return (req.minModRevision ?? 0) !== 0 || (req.maxModRevision ?? 0) !== 0 ||
    (req.minCreateRevision ?? 0) !== 0 || (req.maxCreateRevision ?? 0) !== 0;
}

function passesRevisionFilters(kv: KeyValue, req: RangeRequest): boolean {
  const maxMod = req.maxModRevision ?? 0;
  const minMod = req.minModRevision ?? 0;
  const maxCreate = req.maxCreateRevision ?? 0;
  const minCreate = req.minCreateRevision ?? 0;
  if (maxMod !== 0 && kv.modRevision > maxMod) return false;
  if (minMod !== 0 && kv.modRevision < minMod) return false;
  if (maxCreate !== 0 && kv.createRevision > maxCreate) return false;
  if (minCreate !== 0 && kv.createRevision < minCreate) return false;
  return true;
}

function comparatorFor(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.Key:
      return (a, b) => compareBytes(a.key, b.key);
    case SortTarget.Version:
      return (a, b) => a.version - b.version;
    case SortTarget.Create:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.Mod:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.Value:
      return (a, b) => compareBytes(a.value, b.value);
    default:
      return assertNever(target, 'sort target');
  }
}

function sortKvs(kvs: readonly KeyValue[], target: SortTarget, order: SortOrder): KeyValue[] {
  const compare = comparatorFor(target);
  const sign = order === SortOrder.Descend ? -1 : 1;
  return [...kvs].sort((a, b) => sign * compare(a, b));
}
