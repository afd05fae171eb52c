/**
 * Durable Raft storage: what is persisted comes back after a reopen, a replaced
 * suffix stays replaced, snapshots compact the log, the snapshot image stays on
 * disk until asked for, and a corrupt record or snapshot file makes open()
 * refuse with a message naming where.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Level } from 'level';
import { SnapshotTemporarilyUnavailableError } from '../../raft/core/errors.js';
import type { Entry, Ready } from '../../raft/core/types.js';
import { CorruptStorageError } from '../../raft/storage/errors.js';
import { LevelStorage, entryKey } from '../../raft/storage/level-storage.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'strake-level-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'Normal', data: new TextEncoder().encode(`e${i}t${term}`) });
  return out;
}

function ready(p: Partial<Ready>): Ready {
  return { readStates: [], entries: [], committedEntries: [], messages: [], mustSync: true, ...p };
}

describe('LevelStorage', () => {
  it('returns the persisted log and hard state after a reopen', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 2, commit: 7 } }));
    await s.close();
    const r = await LevelStorage.open(dir);
    expect(r.lastIndex()).toBe(10);
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 2, commit: 7 });
    expect(new TextDecoder().decode(r.entries(4, 5, Infinity)[0]!.data)).toBe('e4t1');
    await r.close();
  });

  it('drops a replaced suffix for good', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 10, 1) }));
    await s.persist(ready({ entries: entries(6, 7, 2) }));
    expect(s.lastIndex()).toBe(7);
    await s.close();
    const r = await LevelStorage.open(dir);
    expect(r.lastIndex()).toBe(7);
    expect(r.term(7)).toBe(2);
    expect(r.term(5)).toBe(1);
    await r.close();
  });

  it('keeps a snapshot and the entries after its compaction point across a reopen', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 20, 3), hardState: { term: 3, vote: 1, commit: 20 } }));
    await s.createSnapshot(15, { voters: [1, 2, 3], learners: [] }, new TextEncoder().encode('image@15'), 12);
    await s.close();
    const r = await LevelStorage.open(dir);
    const snap = r.snapshot();
    expect(snap.metadata).toMatchObject({ index: 15, term: 3 });
    expect(new TextDecoder().decode(snap.data)).toBe('image@15');
    expect(r.firstIndex()).toBe(16);
    expect(r.lastIndex()).toBe(20);
    await r.close();
  });

  it('keeps no snapshot image in memory: each later request reads it back from its file', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 20, 3), hardState: { term: 3, vote: 1, commit: 20 } }));
    const image = new Uint8Array(300_000).map((_, i) => i % 251);
    await s.createSnapshot(15, { voters: [1, 2, 3], learners: [] }, image, 12);
    // Not held after the write: the first request starts a read and is told to come back.
    expect(() => s.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    const read = await vi.waitFor(() => s.snapshot());
    expect(read.metadata).toEqual({ index: 15, term: 3, confState: { voters: [1, 2, 3], learners: [] } });
    expect(Buffer.from(read.data).equals(Buffer.from(image))).toBe(true);
    // Handed out once, then dropped: the next request reads again.
    expect(() => s.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    expect((await vi.waitFor(() => s.snapshot())).metadata.index).toBe(15);
    // Log bounds never need the image.
    expect(s.firstIndex()).toBe(13);
    expect(s.term(15)).toBe(3);
    await s.close();
  });

  it('drops an image read for an older snapshot when a newer one is taken meanwhile', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 20, 3), hardState: { term: 3, vote: 1, commit: 20 } }));
    await s.createSnapshot(10, { voters: [1], learners: [] }, new TextEncoder().encode('image@10'), 10);
    expect(() => s.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    await s.createSnapshot(18, { voters: [1], learners: [] }, new TextEncoder().encode('image@18'), 18);
    const read = await vi.waitFor(() => s.snapshot());
    expect(read.metadata.index).toBe(18);
    expect(new TextDecoder().decode(read.data)).toBe('image@18');
    await s.close();
  });

  it('reports a snapshot file lost after open as corrupt storage, naming the file', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } }));
    await s.createSnapshot(5, { voters: [1], learners: [] }, new Uint8Array(64).fill(7), 5);
    const snapDir = join(dir, 'snap');
    for (const n of await readdir(snapDir)) await rm(join(snapDir, n));
    expect(() => s.snapshot()).toThrow(SnapshotTemporarilyUnavailableError);
    const err = await vi.waitFor(() => {
      try {
        s.snapshot();
      } catch (e) {
        if (e instanceof SnapshotTemporarilyUnavailableError) throw e;
        return e;
      }
      throw new Error('snapshot() returned an image from a deleted file');
    });
    expect(err).toBeInstanceOf(CorruptStorageError);
    expect((err as Error).message).toMatch(/\.snap/);
    await s.close();
  });

  it('refuses to open when a log entry fails its checksum, naming the entry', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 5, 1) }));
    await s.close();
    const db = new Level<Buffer, Buffer>(join(dir, 'raft'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const value = (await db.get(entryKey(3)))!;
    value[value.length - 1]! ^= 0xff;
    await db.put(entryKey(3), value);
    await db.close();
    const err = await LevelStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStorageError);
    expect((err as Error).message).toMatch(/entry 3 fails its checksum/);
  });

  it('refuses to open when the snapshot file is corrupt, naming the file', async () => {
    const dir = await freshDir();
    const s = await LevelStorage.open(dir);
    await s.persist(ready({ entries: entries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } }));
    await s.createSnapshot(5, { voters: [1], learners: [] }, new Uint8Array(64).fill(7), 5);
    await s.close();
    const snapDir = join(dir, 'snap');
    const [file] = (await readdir(snapDir)).filter((n) => n.endsWith('.snap'));
    const bytes = await readFile(join(snapDir, file!));
    bytes[bytes.length - 3]! ^= 0x01;
    await writeFile(join(snapDir, file!), bytes);
    const err = await LevelStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStorageError);
    expect((err as Error).message).toContain(file!);
    expect((err as Error).message).toMatch(/checksum mismatch/);
  });
});
