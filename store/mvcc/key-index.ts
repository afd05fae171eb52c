/**
 * The key index: every key that has retained history, in byte order, each with
 * its revisions.
 *
 * Complexity (n keys in the index, h revisions of one key, r keys in a range):
 *  - lookup of a key: O(1) (Map);
 *  - new key: O(log n) plus a shift within one chunk of SortedIds;
 *  - new revision of a known key: amortized O(1) append;
 *  - value of a key at a revision: O(log h);
 *  - range: O(log n + r log h);
 *  - compaction: O(n + total revisions).
 */
import { assert } from './assert.js';
import type { KeyId, KeyRange } from './key-range.js';
import { ownedCopy } from './owned-bytes.js';
import { SortedIds } from './sorted-ids.js';
import type { KeyValue } from './types.js';

/** One stored revision of one key. Immutable once appended. */
export interface RevisionRecord {
  readonly main: number;
  readonly sub: number;
  readonly keyId: KeyId;
  readonly tombstone: boolean;
  /**
   * For a put, the stored KeyValue. For a tombstone, etcd's DELETE-event shape:
   * only key and modRevision (= main) are set.
   */
  readonly kv: KeyValue;
}

export interface KeyHistory {
  readonly id: KeyId;
  /** The key's bytes, shared by every record of the key. */
  readonly key: Uint8Array;
  /** Ordered by (main, sub). Never empty while the history is in the index. */
  records: RevisionRecord[];
}

export function compareRevisions(a: { main: number; sub: number }, b: { main: number; sub: number }): number {
  return a.main - b.main || a.sub - b.sub;
}

/** Index of the last record with main <= rev, or -1. */
export function lastRecordAtOrBefore(records: readonly RevisionRecord[], rev: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.main <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The key's value as of revision `rev`, or undefined if it did not exist then. */
export function visibleAt(history: KeyHistory, rev: number): KeyValue | undefined {
  const i = lastRecordAtOrBefore(history.records, rev);
  if (i < 0) return undefined;
  const record = history.records[i]!;
  return record.tombstone ? undefined : record.kv;
}

/** The newest record of the key, if it is a live value. */
export function latestLive(history: KeyHistory): KeyValue | undefined {
  const last = history.records[history.records.length - 1];
  return last === undefined || last.tombstone ? undefined : last.kv;
}

export class KeyIndex {
  private readonly byId = new Map<KeyId, KeyHistory>();
  /** Invariant: exactly the keys of byId. */
  private readonly sortedIds = new SortedIds();

  get size(): number {
    return this.byId.size;
  }

  get(id: KeyId): KeyHistory | undefined {
    return this.byId.get(id);
  }

  /**
   * The history of `id`, created empty (and placed in order) if the key is new.
   * The key bytes are copied unless the caller hands them over (`owned`).
   */
  getOrCreate(id: KeyId, key: Uint8Array, owned = false): KeyHistory {
    const existing = this.byId.get(id);
    if (existing !== undefined) return existing;
    const history: KeyHistory = { id, key: owned ? key : ownedCopy(key), records: [] };
    this.byId.set(id, history);
    this.sortedIds.insert(id);
    return history;
  }

  /** Calls `visit` for each key in the range, in byte order, until it returns false. */
  forEachInRange(range: KeyRange, visit: (history: KeyHistory) => boolean | void): void {
    if (range.kind === 'single') {
      const history = this.byId.get(range.start);
      if (history !== undefined) visit(history);
      return;
    }
    this.sortedIds.forEachFrom(range.start, (id) => {
      if (range.kind === 'range' && id >= range.end) return false;
      return visit(this.byId.get(id)!);
    });
  }

  /** Every history, in byte order. */
  forEach(visit: (history: KeyHistory) => void): void {
    this.sortedIds.forEach((id) => visit(this.byId.get(id)!));
  }

  /** Drops the histories whose records became empty (after compaction). */
  removeEmpty(ids: ReadonlySet<KeyId>): void {
    if (ids.size === 0) return;
    for (const id of ids) {
      const history = this.byId.get(id);
      assert(history !== undefined && history.records.length === 0, () => `removing non-empty history of ${JSON.stringify(id)}`);
      this.byId.delete(id);
    }
    this.sortedIds.removeAll(ids);
  }
}
