/**
 * A sorted set of key ids kept as a list of sorted chunks (a one-level B-tree).
 * One flat sorted array would make every new key an O(n) insert; chunks bound
 * the shifting to one chunk plus, on a split, the chunk list.
 *
 * Complexity with n ids: search O(log n); insert O(log n + CHUNK_IDS_MAX + n / CHUNK_IDS_MAX);
 * ordered iteration O(1) per id; bulk removal O(n).
 */
import { assert } from './assert.js';
import type { KeyId } from './key-range.js';

/**
 * Ids per chunk before it splits. Shifting ~1k pointers is a few hundred
 * nanoseconds, and a million keys then need only ~2k chunks to search.
 */
const CHUNK_IDS_MAX = 1024;

export class SortedIds {
  /** Invariant: every chunk non-empty and sorted; chunks in order, no id twice. */
  private chunks: KeyId[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds an id that is not present. */
  insert(id: KeyId): void {
    if (this.chunks.length === 0) {
      this.chunks.push([id]);
      this.count = 1;
      return;
    }
    const c = Math.min(this.chunkFor(id), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const at = lowerBound(chunk, id);
    assert(chunk[at] !== id, () => `id ${JSON.stringify(id)} is already indexed`);
    chunk.splice(at, 0, id);
    this.count++;
    if (chunk.length > CHUNK_IDS_MAX) this.chunks.splice(c + 1, 0, chunk.splice(chunk.length >>> 1));
  }

  /** Calls `visit` for each id >= `start`, in order, until it returns false. */
  forEachFrom(start: KeyId, visit: (id: KeyId) => boolean | void): void {
    const first = this.chunkFor(start);
    for (let c = first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      for (let i = c === first ? lowerBound(chunk, start) : 0; i < chunk.length; i++) {
        if (visit(chunk[i]!) === false) return;
      }
    }
  }

  forEach(visit: (id: KeyId) => void): void {
    for (const chunk of this.chunks) for (const id of chunk) visit(id);
  }

  /** Removes every id in `ids` (all of which must be present). */
  removeAll(ids: ReadonlySet<KeyId>): void {
    const kept: KeyId[] = [];
    this.forEach((id) => {
      if (!ids.has(id)) kept.push(id);
    });
    assert(kept.length === this.count - ids.size, 'every removed id was indexed');
    const fill = CHUNK_IDS_MAX >>> 1; // half-full chunks leave room for inserts
    this.chunks = [];
    for (let i = 0; i < kept.length; i += fill) this.chunks.push(kept.slice(i, i + fill));
    this.count = kept.length;
  }

  /** Index of the first chunk whose last id is >= id (chunks.length if none). */
  private chunkFor(id: KeyId): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - 1]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(ids: readonly KeyId[], id: KeyId): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
