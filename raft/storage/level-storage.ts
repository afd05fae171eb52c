/**
 * Durable Raft storage: the log, hard state and snapshot metadata in LevelDB
 * (<data-dir>/raft), snapshot images in files (<data-dir>/snap).
 *
 * Reads are served from an in-memory copy (a MemoryStorage) loaded and verified
 * at open, so the core's synchronous Storage interface never touches disk.
 * The exception is the snapshot image, which can be as large as the whole key
 * space and is needed only to catch up a follower: it stays in its file, and
 * `snapshot()` reads it back when asked (see there).
 * Writes go to LevelDB first, one batch per Ready with `sync: true` when the
 * Ready says so (group commit: one fsync covers every entry of the batch), and
 * only then to memory.
 *
 * Keys: "h" hard state; "s" snapshot metadata; "e" + u64be(index) entries. Every
 * value is a checksummed msgpack record.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Level } from 'level';
import { unpack } from 'msgpackr';
import { pack } from '../../proto/msgpack.js';
import { assert } from '../core/assert.js';
import type { InitialState, Storage } from '../core/storage.js';
import { MemoryStorage } from '../core/storage.js';
import { SnapshotTemporarilyUnavailableError } from '../core/errors.js';
import type { ConfState, Entry, EntryType, HardState, Ready, Snapshot, SnapshotMetadata } from '../core/types.js';
import { CorruptStorageError, DataDirNotEmptyError } from './errors.js';
import { seal, unseal } from './checksum.js';
import { directoryBytes } from './disk-usage.js';
import {
  RETAINED_SNAPSHOT_FILES,
  pruneSnapshotFiles,
  readSnapshotFile,
  snapshotFileName,
  syncDir,
  writeSnapshotFile,
  type WriteProgress,
} from './snapshot-file.js';

const KEY_HARD_STATE = Buffer.from('h');
const KEY_SNAPSHOT = Buffer.from('s');
const ENTRY_PREFIX = 0x65; // 'e'
/** [start, end) covering every key above: they all begin with one byte below 0xff. */
const KEY_SPACE_START = Buffer.alloc(0);
const KEY_SPACE_END = Buffer.from([0xff]);
/** The image of the snapshot as kept in memory: none (it is in its file). */
const IMAGE_ON_DISK = new Uint8Array(0);

/** In Node, `level` is classic-level, which has compactRange; the `level` typings leave it out. */
interface CompactableLevel {
  compactRange(start: Buffer, end: Buffer): Promise<void>;
}

interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
  readonly file: string;
}

export function entryKey(index: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = ENTRY_PREFIX;
  k.writeBigUInt64BE(BigInt(index), 1);
  return k;
}

function encodeEntry(e: Entry): Buffer {
  return seal(pack([e.term, e.type, e.data]));
}

function decodeEntry(index: number, value: Uint8Array, where: string): Entry {
  const payload = unseal(value);
  if (payload === undefined) throw new CorruptStorageError(where, `entry ${index} fails its checksum`);
  const [term, type, data] = unpack(payload) as [number, EntryType, Uint8Array];
  return { index, term, type, data: new Uint8Array(data) };
}

function decodeRecord<T>(value: Uint8Array, where: string, what: string): T {
  const payload = unseal(value);
  if (payload === undefined) throw new CorruptStorageError(where, `${what} fails its checksum`);
  return unpack(payload) as T;
}

export interface RestoreOptions {
  /** Progress of writing the snapshot file, which is nearly all a restore writes. */
  readonly onWriteProgress?: WriteProgress;
}

/** Fails (DataDirNotEmptyError) unless `dir` is missing or an empty directory: where a restore may write. */
export async function mustBeEmptyOrMissing(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (names.length > 0) throw new DataDirNotEmptyError(dir, names.sort());
}

/** What open() reads: the log and hard state, and the snapshot with its image. */
interface Loaded {
  readonly mem: MemoryStorage;
  readonly snapshot?: { readonly file: string; readonly image: Snapshot };
}

export class LevelStorage implements Storage {
  private readonly mem: MemoryStorage;
  /** The file of the latest snapshot (none before the first). */
  private snapFile: string | undefined;
  /** The latest snapshot with its image, read from its file and not yet taken by snapshot(). */
  private readImage: Snapshot | undefined;
  private reading = false;
  private readError: unknown;

  private constructor(
    private readonly db: Level<Buffer, Buffer>,
    private readonly snapDir: string,
    loaded: Loaded,
  ) {
    this.mem = loaded.mem;
    this.snapFile = loaded.snapshot?.file;
    // The driver restores the state machine from it at start.
    this.readImage = loaded.snapshot?.image;
  }

  /** Opens (or creates) the storage under `dataDir`, verifying every record. */
  static async open(dataDir: string): Promise<LevelStorage> {
    const dbDir = join(dataDir, 'raft');
    const snapDir = join(dataDir, 'snap');
    await mkdir(dbDir, { recursive: true });
    await mkdir(snapDir, { recursive: true });
    const db = new Level<Buffer, Buffer>(dbDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      return new LevelStorage(db, snapDir, await LevelStorage.load(db, dbDir, snapDir));
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /**
   * Creates the storage of a member that starts from `snapshot` alone: no log
   * entries, and `hardState`, whose commit is the snapshot's index. Refuses a
   * data directory that exists and is not empty. The storage is built in a
   * sibling staging directory, made durable, and renamed into place in one
   * step: a restore that fails or crashes half-way never leaves a data
   * directory with an empty log, from which a member would bootstrap a new,
   * empty cluster instead of the restored one.
   */
  static async restoreFrom(dataDir: string, snapshot: Snapshot, hardState: HardState, o: RestoreOptions = {}): Promise<void> {
    const { index, term } = snapshot.metadata;
    assert(index > 0, () => `a restored snapshot needs an index above 0, got ${index}`);
    assert(hardState.commit === index && hardState.term >= term, () => `hard state ${hardState.term}/${hardState.commit} does not commit snapshot ${term}/${index}`);
    const target = resolve(dataDir);
    await mustBeEmptyOrMissing(target);
    await mkdir(dirname(target), { recursive: true });
    const staging = await mkdtemp(`${target}.restoring-`);
    try {
      const storage = await LevelStorage.open(staging);
      try {
        await storage.installRestoredSnapshot(snapshot, hardState, o.onWriteProgress);
      } finally {
        await storage.close();
      }
      await mustBeEmptyOrMissing(target); // again: something may have appeared meanwhile
      // rename(2) replaces a missing or empty directory atomically.
      await rename(staging, target);
      await syncDir(dirname(target));
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  private async installRestoredSnapshot(snap: Snapshot, hardState: HardState, onProgress: WriteProgress | undefined): Promise<void> {
    assert(this.mem.lastIndex() === 0, 'restoring into storage that already has a log');
    const file = await writeSnapshotFile(this.snapDir, snap, onProgress);
    await this.db.batch().put(KEY_SNAPSHOT, this.snapshotMetaRecord(snap, file)).put(KEY_HARD_STATE, seal(pack(hardState))).write({ sync: true });
  }

  private static async load(db: Level<Buffer, Buffer>, dbDir: string, snapDir: string): Promise<Loaded> {
    const mem = new MemoryStorage();
    let snapshot: Loaded['snapshot'];
    const snapRecord = await db.get(KEY_SNAPSHOT);
    if (snapRecord !== undefined) {
      const meta = decodeRecord<SnapshotMeta>(snapRecord, dbDir, 'snapshot metadata');
      const path = join(snapDir, meta.file);
      const snap = await readSnapshotFile(path).catch((err: unknown) => {
        if (err instanceof CorruptStorageError) throw err;
        throw new CorruptStorageError(path, `snapshot file for index ${meta.index} is unreadable: ${String(err)}`);
      });
      if (snap.metadata.index !== meta.index || snap.metadata.term !== meta.term) {
        throw new CorruptStorageError(path, `holds snapshot ${snap.metadata.term}/${snap.metadata.index}, metadata says ${meta.term}/${meta.index}`);
      }
      if (meta.index > 0) {
        mem.applySnapshot(withoutImage(snap.metadata));
        snapshot = { file: meta.file, image: snap };
      }
    }
    const entries: Entry[] = [];
    let expected = mem.lastIndex() + 1;
    for await (const [key, value] of db.iterator({ gt: entryKey(0), lt: Buffer.from([ENTRY_PREFIX + 1]) })) {
      const index = Number(key.readBigUInt64BE(1));
      if (index < expected) continue; // compacted below the snapshot, deletion still pending
      if (index !== expected) throw new CorruptStorageError(dbDir, `log has a gap: expected entry ${expected}, found ${index}`);
      entries.push(decodeEntry(index, value, dbDir));
      expected++;
    }
    mem.append(entries);
    const hsRecord = await db.get(KEY_HARD_STATE);
    if (hsRecord !== undefined) {
      const hs = decodeRecord<HardState>(hsRecord, dbDir, 'hard state');
      if (hs.commit > mem.lastIndex()) {
        throw new CorruptStorageError(dbDir, `hard state commit ${hs.commit} is beyond the last log index ${mem.lastIndex()}`);
      }
      mem.setHardState(hs);
    }
    return { mem, ...(snapshot === undefined ? {} : { snapshot }) };
  }

  // ---- Storage (reads from memory) ---------------------------------------

  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mem.entries(lo, hi, maxBytes);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  /**
   * The latest snapshot with its image. The image read at open is handed out
   * once (the driver restores the state machine from it). After that, a call
   * starts reading the image from its file and throws
   * SnapshotTemporarilyUnavailableError; once the read is done, the next call
   * gets it (a leader asks again at the follower's next response, within a
   * heartbeat). Nothing keeps the image once it is handed out, so a member
   * holds it only while it sends it.
   */
  snapshot(): Snapshot {
    const current = this.mem.snapshot();
    if (current.metadata.index === 0) return current;
    if (this.readError !== undefined) throw this.readError;
    const image = this.readImage;
    this.readImage = undefined;
    if (image !== undefined && image.metadata.index === current.metadata.index) return image;
    this.startReadingImage(current.metadata);
    throw new SnapshotTemporarilyUnavailableError();
  }

  private startReadingImage(metadata: SnapshotMetadata): void {
    if (this.reading) return;
    assert(this.snapFile !== undefined, () => `snapshot ${metadata.index} has no file`);
    const path = join(this.snapDir, this.snapFile);
    this.reading = true;
    readSnapshotFile(path).then(
      (snap) => {
        // A newer snapshot may have replaced it meanwhile; then the next call reads that one.
        if (snap.metadata.index === this.mem.snapshot().metadata.index) this.readImage = snap;
      },
      (err: unknown) => {
        // Pruned because newer snapshots replaced it: the next call reads the newest.
        if (metadata.index !== this.mem.snapshot().metadata.index) return;
        // The file was verified when written or opened: losing it is a storage fault, not a retry.
        this.readError = err instanceof CorruptStorageError ? err : new CorruptStorageError(path, `snapshot file for index ${metadata.index} is unreadable: ${String(err)}`);
      },
    ).finally(() => (this.reading = false));
  }

  // ---- writes ---------------------------------------------------------------

  /**
   * Makes a Ready's snapshot, entries and hard state durable (fsync when
   * rd.mustSync), then visible to the core.
   */
  async persist(rd: Ready): Promise<void> {
    if (rd.snapshot === undefined && rd.entries.length === 0 && rd.hardState === undefined) return;
    const batch = this.db.batch();
    let lastBefore = this.mem.lastIndex();
    let file: string | undefined;
    if (rd.snapshot !== undefined) {
      file = await writeSnapshotFile(this.snapDir, rd.snapshot);
      batch.put(KEY_SNAPSHOT, this.snapshotMetaRecord(rd.snapshot, file));
      // The snapshot replaces the whole log.
      for (let i = this.mem.firstIndex(); i <= lastBefore; i++) batch.del(entryKey(i));
      lastBefore = rd.snapshot.metadata.index;
    }
    for (const e of rd.entries) batch.put(entryKey(e.index), encodeEntry(e));
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry !== undefined) {
      // Entries beyond the new last index were replaced by a new leader: delete them.
      for (let i = lastEntry.index + 1; i <= lastBefore; i++) batch.del(entryKey(i));
    }
    if (rd.hardState !== undefined) batch.put(KEY_HARD_STATE, seal(pack(rd.hardState)));
    await batch.write({ sync: rd.mustSync });
    if (rd.snapshot !== undefined) {
      this.mem.applySnapshot(withoutImage(rd.snapshot.metadata));
      this.newSnapshotFile(file!);
    }
    this.mem.append(rd.entries);
    if (rd.hardState !== undefined) this.mem.setHardState(rd.hardState);
  }

  /**
   * Records a snapshot of the applied state at `index` and discards log entries
   * up to `compactIndex` (<= index; keep some below `index` so slow followers
   * catch up from the log instead of a snapshot).
   */
  async createSnapshot(index: number, confState: ConfState, data: Uint8Array, compactIndex: number): Promise<Snapshot> {
    assert(compactIndex <= index, () => `compact index ${compactIndex} is above the snapshot index ${index}`);
    const snap: Snapshot = { metadata: { index, term: this.mem.term(index), confState }, data };
    const file = await writeSnapshotFile(this.snapDir, snap);
    const first = this.mem.firstIndex();
    await this.db.put(KEY_SNAPSHOT, this.snapshotMetaRecord(snap, file), { sync: true });
    this.mem.createSnapshot(index, confState, IMAGE_ON_DISK);
    this.newSnapshotFile(file);
    if (compactIndex >= first) {
      this.mem.compact(compactIndex);
      await this.db.clear({ gte: entryKey(first), lte: entryKey(compactIndex) });
    }
    await pruneSnapshotFiles(this.snapDir, RETAINED_SNAPSHOT_FILES + 1);
    return snap;
  }

  /** The latest snapshot is now the one in `file`: an image read for an older one is dropped. */
  private newSnapshotFile(file: string): void {
    this.snapFile = file;
    this.readImage = undefined;
  }

  private snapshotMetaRecord(s: Snapshot, file: string): Buffer {
    assert(file === snapshotFileName(s), 'snapshot file name mismatch');
    const meta: SnapshotMeta = { index: s.metadata.index, term: s.metadata.term, confState: s.metadata.confState, file };
    return seal(pack(meta));
  }

  /** Bytes on disk: the LevelDB directory (log, hard state, snapshot metadata) plus the snapshot files. */
  async diskUsageBytes(): Promise<number> {
    const [levelBytes, snapshotBytes] = await Promise.all([directoryBytes(this.db.location), directoryBytes(this.snapDir)]);
    return levelBytes + snapshotBytes;
  }

  /**
   * Compacts the LevelDB files over the whole key space (a member's defrag):
   * entries deleted below a snapshot stop taking space, and LevelDB's own
   * write-ahead log is folded into sorted tables.
   */
  async compactFiles(): Promise<void> {
    const db = this.db as unknown as Partial<CompactableLevel>;
    assert(typeof db.compactRange === 'function', 'the LevelDB binding has compactRange');
    await db.compactRange(KEY_SPACE_START, KEY_SPACE_END);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function withoutImage(metadata: SnapshotMetadata): Snapshot {
  return { metadata, data: IMAGE_ON_DISK };
}
