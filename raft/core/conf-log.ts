/**
 * The membership history a node needs to follow "a change takes effect when
 * appended": the configuration as of the last committed change, plus every
 * change appended after it. Truncating the log rolls the membership back.
 *
 * Invariant: changes are in increasing index order, all above `committedIndex`
 * except possibly the ones compactTo has not folded in yet.
 */
import { applyConfChange, decodeConfChange } from './conf-change.js';
import type { ConfState, Entry } from './types.js';
import { EntryType } from './types.js';

interface ConfAt {
  readonly index: number;
  readonly conf: ConfState;
}

export class ConfLog {
  private base: ConfState;
  private changes: ConfAt[] = [];

  constructor(base: ConfState) {
    this.base = base;
  }

  current(): ConfState {
    return this.changes[this.changes.length - 1]?.conf ?? this.base;
  }

  /** Index of the latest appended membership change, or 0 when none is in the log above the base. */
  lastChangeIndex(): number {
    return this.changes[this.changes.length - 1]?.index ?? 0;
  }

  /** Records the changes among freshly appended entries. Returns true when membership changed. */
  appendFrom(entries: readonly Entry[]): boolean {
    let changed = false;
    for (const e of entries) {
      if (e.type !== EntryType.ConfChange) continue;
      this.changes.push({ index: e.index, conf: applyConfChange(this.current(), decodeConfChange(e.data)) });
      changed = true;
    }
    return changed;
  }

  /** Forgets changes at or above `index` (their entries were replaced). Returns true when membership changed. */
  truncateFrom(index: number): boolean {
    const before = this.changes.length;
    while (this.changes.length > 0 && this.changes[this.changes.length - 1]!.index >= index) this.changes.pop();
    return this.changes.length !== before;
  }

  /** The membership as of the last committed change. */
  committedConf(): ConfState {
    return this.base;
  }

  /**
   * Folds changes at or below `committed` into the base: they can never be
   * truncated. Returns true when the committed membership changed.
   */
  compactTo(committed: number): boolean {
    let n = 0;
    while (n < this.changes.length && this.changes[n]!.index <= committed) n++;
    if (n === 0) return false;
    this.base = this.changes[n - 1]!.conf;
    this.changes = this.changes.slice(n);
    return true;
  }

  /** Restarts the history from a snapshot's membership. */
  reset(base: ConfState): void {
    this.base = base;
    this.changes = [];
  }
}
