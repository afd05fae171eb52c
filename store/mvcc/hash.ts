/**
 * HashKV: the hash etcd 3.4.45 computes in mvcc/kvstore.go HashByRev, so that
 * replicas can be compared with each other (and with etcd for the same history):
 * CRC-32C over the bucket name "key", then, in revision order, the revision key
 * and stored value of every retained revision up to `rev`, where
 *  - revisions at or below the compact revision count only if they are the
 *    newest live value of their key at `rev` (unless no key has one);
 *  - a tombstone exactly at the compact revision does not count.
 */
import { CompactedError, FutureRevisionError, type MvccError } from './errors.js';
import { lastRecordAtOrBefore, type RevisionRecord } from './key-index.js';
import { encodeStoredKeyValue, revisionKeyBytes } from './kv-encoding.js';
import type { KvStore } from './kv-store.js';

const CRC32C_POLYNOMIAL_REFLECTED = 0x82f63b78; // Castagnoli, as Go's crc32.Castagnoli
const KEY_BUCKET_NAME = new Uint8Array([0x6b, 0x65, 0x79]); // "key"

const CRC32C_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLYNOMIAL_REFLECTED : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Incremental CRC-32C; `update` with several chunks equals one update with their concatenation. */
export class Crc32c {
  private state = 0xffffffff;

  update(bytes: Uint8Array): this {
    let c = this.state;
    for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    this.state = c;
    return this;
  }

  digest(): number {
    return (this.state ^ 0xffffffff) >>> 0;
  }
}

export function crc32c(bytes: Uint8Array): number {
  return new Crc32c().update(bytes).digest();
}

/** etcd's keyIndex.keep(rev): per key, its newest revision at or before rev if that is a live value. */
function keptAt(store: KvStore, rev: number): Set<RevisionRecord> {
  const keep = new Set<RevisionRecord>();
  store.index.forEach((history) => {
    const i = lastRecordAtOrBefore(history.records, rev);
    const record = history.records[i];
    if (record !== undefined && !record.tombstone) keep.add(record);
  });
  return keep;
}

/**
 * `rev` 0 hashes up to the current revision. A negative `rev` hashes no revision at
 * all (only the bucket name), which is what etcd does with one.
 */
export function hashKv(store: KvStore, rev: number): { hash: number; compactRevision: number; revision: number } | MvccError {
  const { compactRevision, currentRevision } = store;
  if (rev > 0 && rev < compactRevision) return new CompactedError(rev, compactRevision);
  if (rev > 0 && rev > currentRevision) return new FutureRevisionError(rev, currentRevision);
  const upTo = rev === 0 ? currentRevision : rev;
  const keep = keptAt(store, upTo);
  const crc = new Crc32c().update(KEY_BUCKET_NAME);
  for (const record of store.records()) {
    if (record.main > upTo) break;
    if (record.main <= compactRevision && keep.size > 0 && !keep.has(record)) continue;
    if (record.main === compactRevision && record.tombstone) continue;
    crc.update(revisionKeyBytes(record)).update(encodeStoredKeyValue(record));
  }
  return { hash: crc.digest(), compactRevision, revision: currentRevision };
}
