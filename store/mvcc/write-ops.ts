/**
 * Put and delete-range inside a write txn, shared by the standalone requests and
 * by txn ops (etcd's applierV3backend.Put / DeleteRange with a txn given).
 */
import { KeyNotFoundError } from './errors.js';
import { toKeyRange } from './key-range.js';
import type { KvStore, WriteTxn } from './kv-store.js';
import { NO_LEASE, type DeleteRangeRequest, type DeleteRangeResponse, type PutRequest, type PutResponse } from './types.js';

const EMPTY_BYTES = new Uint8Array(0);

/**
 * ignore_value / ignore_lease keep the key's current value / lease, so the key
 * must exist (seen inside the txn). prevKv is the value before this put.
 */
export function applyPut(txn: WriteTxn, req: PutRequest): PutResponse | KeyNotFoundError {
  const ignoring = req.ignoreValue === true || req.ignoreLease === true;
  const prev = ignoring || req.prevKv === true ? txn.get(req.key) : undefined;
  if (ignoring && prev === undefined) {
    return new KeyNotFoundError(req.key, 'ignore_value/ignore_lease needs an existing key');
  }
  const value = req.ignoreValue === true ? prev!.value : (req.value ?? EMPTY_BYTES);
  const lease = req.ignoreLease === true ? prev!.lease : (req.lease ?? NO_LEASE);
  const revision = txn.put(req.key, value, lease);
  return req.prevKv === true && prev !== undefined ? { revision, prevKv: prev } : { revision };
}

export function applyDeleteRange(store: KvStore, txn: WriteTxn, req: DeleteRangeRequest): DeleteRangeResponse {
  const range = toKeyRange(req.key, req.rangeEnd);
  const prevKvs = req.prevKv === true ? store.rangeKeys(range, txn.readRevision, 0).kvs : [];
  const { deleted, revision } = txn.deleteRange(range);
  return { revision, deleted, prevKvs };
}
