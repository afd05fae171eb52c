/**
 * Mirrors one replica's log as prefix hashes, so log matching and leader
 * completeness can be checked per appended entry without rescanning logs.
 * It follows the storage exactly: appends truncate a conflicting suffix,
 * compaction drops the prefix, a snapshot replaces everything.
 */
import { assert } from '../../raft/core/assert.js';
import type { Entry } from '../../raft/core/types.js';
import { chainHash, EMPTY_PREFIX_HASH } from './entry-hash.js';

/** Called for every entry the log gains, with its prefix hash. */
export type EntryHashSink = (index: number, term: number, prefixHash: number) => void;

export class LogHashes {
  /** Index just before the first hashed entry (the compaction point). */
  private baseIndex = 0;
  private baseHash = EMPTY_PREFIX_HASH;
  /** hashes[k] is the prefix hash at baseIndex + 1 + k. */
  private hashes: number[] = [];

  lastIndex(): number {
    return this.baseIndex + this.hashes.length;
  }

  /** Prefix hash at `index`, or undefined when compacted away or beyond the log. */
  hashAt(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseHash;
    if (index < this.baseIndex || index > this.lastIndex()) return undefined;
    return this.hashes[index - this.baseIndex - 1];
  }

  /** The log now starts after a snapshot at `index` whose prefix hash is `prefixHash`. */
  reset(index: number, prefixHash: number): void {
    this.baseIndex = index;
    this.baseHash = prefixHash;
    this.hashes = [];
  }

  /**
   * Appends `entries` as MemoryStorage.append does: entries at or below
   * `firstRetainedIndex - 1` are skipped, a conflicting suffix is replaced.
   */
  append(entries: readonly Entry[], firstRetainedIndex: number, sink: EntryHashSink): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const skip = Math.max(0, firstRetainedIndex - first, this.baseIndex + 1 - first);
    if (skip >= entries.length) return;
    const start = first + skip;
    assert(start <= this.lastIndex() + 1, () => `log gap: appending at ${start} after last index ${this.lastIndex()}`);
    this.hashes.length = start - this.baseIndex - 1;
    let prev = this.hashAt(start - 1);
    assert(prev !== undefined, () => `no prefix hash at ${start - 1}`);
    for (let k = skip; k < entries.length; k++) {
      const e = entries[k]!;
      prev = chainHash(prev, e);
      this.hashes.push(prev);
      sink(e.index, e.term, prev);
    }
  }

  /** Drops hashes up to and including `index`, keeping the hash at `index` as the new base. */
  compact(index: number): void {
    if (index <= this.baseIndex) return;
    const h = this.hashAt(index);
    assert(h !== undefined, () => `compacting to ${index} beyond last index ${this.lastIndex()}`);
    this.hashes = this.hashes.slice(index - this.baseIndex);
    this.baseIndex = index;
    this.baseHash = h;
  }
}
