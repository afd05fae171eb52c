/**
 * The set of linearized operations and the memo of configurations already
 * explored. Two search paths that linearized the same operations and reached the
 * same model state have the same future, so the second is cut (Lowe's
 * improvement to Wing & Gong; the bitset-plus-state cache follows Porcupine).
 *
 * Ambiguous operations get a bitset of their own because of one more cut: a
 * configuration is also dominated by a failed one that has the same definite
 * operations and state and a subset of its ambiguous ones. The failed one could
 * have run any completion of the other and left the extra ambiguous operations
 * for the end (they return at +Infinity, so they never constrain anyone). Every
 * open ambiguous operation may or may not be placed yet, up to 2^k subsets for k
 * of them; the cut trims that growth but cannot remove it.
 *
 * The definite bitset carries an incremental Zobrist hash (xor of one random word
 * per member), so adding or removing costs O(1). The ambiguous bitset stays out
 * of the hash, which puts dominated configurations in the same bucket.
 */

export class LinearizedSet {
  readonly definite: Uint32Array;
  readonly ambiguous: Uint32Array;
  /** Xor of zobrist(op) over the definite members. */
  definiteHash = 0;
  /** Per operation: its bit index within its own bitset. */
  private readonly slot: Int32Array;

  constructor(private readonly isAmbiguous: readonly boolean[]) {
    this.slot = new Int32Array(isAmbiguous.length);
    let definiteCount = 0;
    let ambiguousCount = 0;
    isAmbiguous.forEach((ambiguous, op) => {
      this.slot[op] = ambiguous ? ambiguousCount++ : definiteCount++;
    });
    this.definite = new Uint32Array(Math.ceil(definiteCount / 32));
    this.ambiguous = new Uint32Array(Math.ceil(ambiguousCount / 32));
  }

  add(op: number): void {
    const bit = this.slot[op]!;
    const words = this.isAmbiguous[op] ? this.ambiguous : this.definite;
    words[bit >>> 5] = words[bit >>> 5]! | (1 << (bit & 31));
    if (!this.isAmbiguous[op]) this.definiteHash ^= zobrist(op);
  }

  remove(op: number): void {
    const bit = this.slot[op]!;
    const words = this.isAmbiguous[op] ? this.ambiguous : this.definite;
    words[bit >>> 5] = words[bit >>> 5]! & ~(1 << (bit & 31));
    if (!this.isAmbiguous[op]) this.definiteHash ^= zobrist(op);
  }
}

/** A well-mixed 32-bit word per operation index (a murmur3 finalizer). */
function zobrist(op: number): number {
  let z = Math.imul(op + 1, 0x9e3779b1);
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h | 0;
}

export interface MemoEntry {
  readonly ambiguous: Uint32Array;
  /** Set by `markFailed`: no completion exists from this configuration. */
  failed: boolean;
  readonly group: MemoGroup;
}

/** The configurations that share one definite set and state; they differ in ambiguous operations. */
interface MemoGroup {
  readonly definite: Uint32Array;
  readonly stateKey: string;
  readonly entries: MemoEntry[];
}

/**
 * Rough V8 costs of the objects around the bitsets (headers, typed-array
 * backing store, map slot); only the order of magnitude matters for the bound.
 */
const GROUP_OVERHEAD_BYTES = 200;
const ENTRY_OVERHEAD_BYTES = 120;

export class Memo {
  private readonly buckets = new Map<number, MemoGroup[]>();
  /** Estimated heap held by the memo. */
  bytes = 0;

  /**
   * Records (set, state) and returns its entry; undefined when that configuration
   * was visited before or is dominated by a failed one.
   */
  tryAdd(set: LinearizedSet, stateKey: string): MemoEntry | undefined {
    const group = this.groupOf(set, stateKey);
    for (const entry of group.entries) {
      if (sameWords(entry.ambiguous, set.ambiguous)) return undefined;
      if (entry.failed && isSubset(entry.ambiguous, set.ambiguous)) return undefined;
    }
    const entry = { ambiguous: set.ambiguous.slice(), failed: false, group };
    group.entries.push(entry);
    this.bytes += ENTRY_OVERHEAD_BYTES + entry.ambiguous.byteLength;
    return entry;
  }

  /**
   * The search backtracked out of `entry`. Failed entries that it dominates are
   * dropped: every lookup they would stop, it stops too. That keeps each group's
   * failed entries an antichain, and its scans short.
   */
  markFailed(entry: MemoEntry): void {
    entry.failed = true;
    const entries = entry.group.entries;
    let kept = 0;
    for (const other of entries) {
      const dominated = other !== entry && other.failed && isSubset(entry.ambiguous, other.ambiguous);
      if (!dominated) entries[kept++] = other;
    }
    this.bytes -= (entries.length - kept) * (ENTRY_OVERHEAD_BYTES + entry.ambiguous.byteLength);
    entries.length = kept;
  }

  private groupOf(set: LinearizedSet, stateKey: string): MemoGroup {
    const hash = (set.definiteHash ^ stringHash(stateKey)) | 0;
    let bucket = this.buckets.get(hash);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(hash, bucket);
    }
    for (const group of bucket) {
      if (group.stateKey === stateKey && sameWords(group.definite, set.definite)) return group;
    }
    const group = { definite: set.definite.slice(), stateKey, entries: [] };
    bucket.push(group);
    this.bytes += GROUP_OVERHEAD_BYTES + group.definite.byteLength + 2 * stateKey.length;
    return group;
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Whether every bit of `a` is set in `b`. */
function isSubset(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    if ((a[i]! & ~b[i]!) !== 0) return false;
  }
  return true;
}
