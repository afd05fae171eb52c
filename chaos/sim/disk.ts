/**
 * One replica's disk: durable contents plus a volatile write buffer (the page
 * cache). The Raft node reads `storage`, which reflects every write; `sync()`
 * makes the buffered writes durable in order; `crash()` throws the buffer away
 * and rebuilds `storage` from the durable contents alone.
 */
import { assert } from '../../raft/core/assert.js';
import { MemoryStorage } from '../../raft/core/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../../raft/core/types.js';

type DiskOp =
  | { readonly kind: 'append'; readonly entries: readonly Entry[] }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | { readonly kind: 'applySnapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'createSnapshot'; readonly index: number; readonly confState: ConfState; readonly data: Uint8Array }
  | { readonly kind: 'compact'; readonly index: number };

/**
 * Unsynced writes kept before the OS writes them back on its own. A correct
 * driver syncs far more often (every Ready with mustSync); this bounds the
 * buffer when only commit-index updates, which need no fsync, pile up.
 */
export const UNSYNCED_OPS_MAX = 256;

export class Disk {
  private durable: MemoryStorage;
  private live: MemoryStorage;
  private unsynced: DiskOp[] = [];

  constructor(durable: MemoryStorage = new MemoryStorage()) {
    this.durable = durable;
    this.live = cloneStorage(durable);
  }

  /** A disk holding `entries` and `hardState`, already durable (a freshly bootstrapped member). */
  static withDurable(entries: readonly Entry[], hardState: HardState): Disk {
    const durable = new MemoryStorage();
    durable.append(entries);
    durable.setHardState(hardState);
    return new Disk(durable);
  }

  /** What the Raft node reads: every write, synced or not. */
  get storage(): MemoryStorage {
    return this.live;
  }

  /** The durable contents (what a crash leaves); read-only use. */
  get durableStorage(): MemoryStorage {
    return this.durable;
  }

  get unsyncedOps(): number {
    return this.unsynced.length;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.live.append(entries);
    this.buffer({ kind: 'append', entries });
  }

  setHardState(hardState: HardState): void {
    this.live.setHardState(hardState);
    this.buffer({ kind: 'hardState', hardState });
  }

  applySnapshot(snapshot: Snapshot): void {
    this.live.applySnapshot(snapshot);
    this.buffer({ kind: 'applySnapshot', snapshot });
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): void {
    this.live.createSnapshot(index, confState, data);
    this.buffer({ kind: 'createSnapshot', index, confState, data });
  }

  compact(index: number): void {
    this.live.compact(index);
    this.buffer({ kind: 'compact', index });
  }

  /** fsync: every buffered write becomes durable, in the order it was made. */
  sync(): void {
    for (const op of this.unsynced) applyOp(this.durable, op);
    this.unsynced = [];
  }

  /** Power loss: unsynced writes are gone; the node will read the durable contents. */
  crash(): void {
    this.unsynced = [];
    this.live = cloneStorage(this.durable);
  }

  private buffer(op: DiskOp): void {
    this.unsynced.push(op);
    if (this.unsynced.length > UNSYNCED_OPS_MAX) this.sync();
  }
}

function applyOp(s: MemoryStorage, op: DiskOp): void {
  switch (op.kind) {
    case 'append':
      s.append(op.entries);
      return;
    case 'hardState':
      s.setHardState(op.hardState);
      return;
    case 'applySnapshot':
      s.applySnapshot(op.snapshot);
      return;
    case 'createSnapshot':
      s.createSnapshot(op.index, op.confState, op.data);
      return;
    case 'compact':
      s.compact(op.index);
      return;
  }
}

/**
 * An independent copy of `src`, including the trailing entries kept behind its
 * snapshot (entries and snapshots are immutable and shared).
 */
export function cloneStorage(src: MemoryStorage): MemoryStorage {
  const snap = src.snapshot();
  const base = src.firstIndex() - 1;
  const last = src.lastIndex();
  const copy = new MemoryStorage(snap.metadata.confState);
  if (base === snap.metadata.index) {
    if (base > 0) copy.applySnapshot(snap);
  } else {
    assert(base < snap.metadata.index, () => `log base ${base} is past the snapshot ${snap.metadata.index}`);
    // Position the log at the compaction point first, then record the real snapshot over it.
    if (base > 0) copy.applySnapshot({ metadata: { ...snap.metadata, index: base, term: src.term(base) }, data: snap.data });
  }
  if (last > base) copy.append(src.entries(base + 1, last + 1, Number.POSITIVE_INFINITY));
  if (snap.metadata.index > base) copy.createSnapshot(snap.metadata.index, snap.metadata.confState, snap.data);
  copy.setHardState(src.initialState().hardState);
  assert(copy.lastIndex() === last, () => `clone holds last index ${copy.lastIndex()}, source ${last}`);
  return copy;
}
