/**
 * The read side of stable storage as the core sees it. The driver writes what a
 * Ready hands it; the core only reads through this interface. Ranges are
 * half-open: [lo, hi).
 *
 * Invariant: firstIndex() - 1 is the index of the latest snapshot (or 0), and
 * term(firstIndex() - 1) is answered from the snapshot metadata.
 */
import { assert } from './assert.js';
import {
  CompactedError,
  SnapshotOutOfDateError,
  UnavailableError,
} from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_HARD_STATE, entryBytes } from './types.js';

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

export interface Storage {
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), at least one if any exist, and no more than `maxBytes`
   * in total otherwise. Throws CompactedError if lo <= the snapshot index,
   * UnavailableError if hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i; valid for firstIndex()-1 <= i <= lastIndex(). Throws CompactedError/UnavailableError. */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  /** The latest snapshot; may throw SnapshotTemporarilyUnavailableError. */
  snapshot(): Snapshot;
}

/** Limits the entries returned so their total size stays within `maxBytes` (always at least one). */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entryBytes(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entryBytes(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * In-memory Storage: the reference implementation, used by tests and the
 * simulator. entries[0] is a dummy holding the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  private ents: Entry[];

  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snap = { metadata: { index: 0, term: 0, confState }, data: new Uint8Array() };
    this.ents = [dummy(0, 0)];
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new CompactedError(i, offset + 1);
    if (i - offset >= this.ents.length) throw new UnavailableError(i, this.lastIndex());
    return this.ents[i - offset]!.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with `snap` (a follower installing a leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    const current = this.snap.metadata.index;
    if (snap.metadata.index <= current) throw new SnapshotOutOfDateError(snap.metadata.index, current);
    this.snap = snap;
    this.ents = [dummy(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot of the applied state at index i (<= lastIndex). The log
   * is not compacted here; call compact() for that.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError(i, this.snap.metadata.index);
    assert(i <= this.lastIndex(), () => `snapshot index ${i} is beyond the last index ${this.lastIndex()}`);
    this.snap = { metadata: { index: i, term: this.term(i), confState }, data };
    return this.snap;
  }

  /** Discards entries up to and including `compactIndex`. */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError(compactIndex, offset + 1);
    assert(compactIndex <= this.lastIndex(), () => `compact ${compactIndex} is beyond the last index ${this.lastIndex()}`);
    const i = compactIndex - offset;
    const rest = this.ents.slice(i + 1);
    this.ents = [dummy(compactIndex, this.ents[i]!.term), ...rest];
  }

  /** Appends entries, truncating any conflicting suffix first. Entries must be contiguous. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // entirely compacted away already
    const toAdd = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = toAdd[0]!.index - this.ents[0]!.index;
    assert(offset <= this.ents.length, () => `missing log entry: last index ${this.lastIndex()}, appending at ${toAdd[0]!.index}`);
    if (offset < this.ents.length) this.ents.length = offset; // truncate the conflicting suffix
    for (const e of toAdd) this.ents.push(e);
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 'Normal', data: new Uint8Array() };
}
