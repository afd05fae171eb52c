/** The simulated disk loses exactly the writes that were not synced, and keeps everything else. */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/core/types.js';
import { cloneStorage, Disk } from '../../chaos/sim/disk.js';

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'Normal', data: new Uint8Array([i & 0xff]) });
  return out;
}

describe('Disk', () => {
  it('a crash loses unsynced writes and keeps synced ones', () => {
    const disk = new Disk();
    disk.append(entries(1, 3, 1));
    disk.setHardState({ term: 1, vote: 2, commit: 2 });
    disk.sync();
    disk.append(entries(4, 5, 2));
    disk.setHardState({ term: 2, vote: 3, commit: 4 });
    expect(disk.storage.lastIndex()).toBe(5);
    disk.crash();
    expect(disk.storage.lastIndex()).toBe(3);
    expect(disk.storage.initialState().hardState).toEqual({ term: 1, vote: 2, commit: 2 });
  });

  it('replays buffered writes in order, including truncation, snapshot and compaction', () => {
    const disk = new Disk();
    disk.append(entries(1, 6, 1));
    disk.append(entries(4, 5, 2)); // truncates 4..6 of term 1
    disk.createSnapshot(4, { voters: [1], learners: [] }, new Uint8Array([9]));
    disk.compact(2);
    disk.sync();
    disk.crash();
    const s = disk.storage;
    expect(s.lastIndex()).toBe(5);
    expect(s.term(5)).toBe(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.snapshot().metadata.index).toBe(4);
  });

  it('clones trailing entries kept behind a snapshot', () => {
    const disk = new Disk();
    disk.append(entries(1, 10, 1));
    disk.createSnapshot(8, { voters: [1], learners: [] }, new Uint8Array());
    disk.compact(5);
    disk.sync();
    const copy = cloneStorage(disk.durableStorage);
    expect(copy.firstIndex()).toBe(6);
    expect(copy.lastIndex()).toBe(10);
    expect(copy.snapshot().metadata.index).toBe(8);
    expect(copy.entries(6, 11, Number.POSITIVE_INFINITY).map((e) => e.index)).toEqual([6, 7, 8, 9, 10]);
  });
});
