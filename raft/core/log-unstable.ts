/**
 * The part of the log not yet known to be in stable storage: an incoming
 * snapshot and/or entries beginning at `offset`.
 *
 * Invariant: if snapshot is set, offset === snapshot.metadata.index + 1.
 * Invariant: entries[i].index === offset + i.
 */
import { assert } from './assert.js';
import type { Entry, Snapshot } from './types.js';

export class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index if a snapshot is pending, else undefined (the answer is in storage). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    return this.entries[i - this.offset]?.term;
  }

  /** The entries up to (index, term) are durable: drop them, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends `ents`, first discarding any unstable entries at or after ents[0].index. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = ents[0]!.index;
    if (fromIndex === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (fromIndex <= this.offset) {
      // Replaces everything unstable; the driver truncates storage when it persists these.
      this.offset = fromIndex;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, fromIndex - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** Entries in [lo, hi); both must lie within the unstable range. */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    assert(
      this.offset <= lo && lo <= hi && hi <= upper,
      () => `unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${upper})`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
