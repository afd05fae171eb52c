/**
 * The backup format and restore, in-process: the header that makes the data
 * self-delimiting (and files saved before it), verification that names the
 * file and what is wrong, and a restored data directory that a member opens at
 * the saved state with the new membership. The multi-process proof is
 * backup-restore.test.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStorage } from '../../raft/storage/level-storage.js';
import { DataDirNotEmptyError, StorageErrorCode } from '../../raft/storage/errors.js';
import { readBackupFile, type ProgressPhase } from '../../store/backup/backup-file.js';
import { BackupErrorCode, BackupFileError, RestoreErrorCode, RestoreFlagError } from '../../store/backup/errors.js';
import { BACKUP_FORMAT_VERSION, BACKUP_HEADER_BYTES, encodeBackupHeader, locateImage } from '../../store/backup/frame.js';
import { restoreMember } from '../../store/backup/restore.js';
import { snapshotPaddingBytes } from '../../store/etcd-server/maintenance-service.js';
import { parseInitialCluster } from '../../store/replica/initial-cluster.js';
import { readIdentity } from '../../store/replica/join.js';
import { clusterId } from '../../store/replica/member-id.js';
import { ReplicatedState } from '../../store/replica/replicated-state.js';
import { b, ok, views } from './helpers.js';

const T0_MS = 1_700_000_000_000;
const TOKEN = 'backup-unit';
const NEW_CLUSTER = 'r0=http://127.0.0.1:41000,r1=http://127.0.0.1:41010,r2=http://127.0.0.1:41020';

function newState(): ReplicatedState {
  return new ReplicatedState({ onResult: () => undefined, onMembersChanged: () => undefined });
}

/** A state with history: overwrites, deletes and leased keys. */
function busyState(): ReplicatedState {
  const state = newState();
  const sm = state.mvcc;
  ok(sm.leaseGrant({ id: 0x1234, ttlSeconds: 600, nowMs: T0_MS }));
  for (let i = 0; i < 40; i++) ok(sm.put({ key: b(`k/${String(i).padStart(3, '0')}`), value: b(`v${i}`) }));
  for (let i = 0; i < 10; i++) ok(sm.put({ key: b(`k/${String(i).padStart(3, '0')}`), value: b(`v${i}-again`) }));
  ok(sm.deleteRange({ key: b('k/030'), rangeEnd: b('k/035') }));
  ok(sm.put({ key: b('leased'), value: b('x'), lease: 0x1234 }));
  return state;
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** What the edge streams and `snapshot save` writes: data, zero padding, SHA-256 of both. */
function savedBytes(data: Uint8Array): Buffer {
  const padded = Buffer.concat([data, Buffer.alloc(snapshotPaddingBytes(data.byteLength))]);
  return Buffer.concat([padded, sha256(padded)]);
}

function framed(image: Uint8Array): Buffer {
  return Buffer.concat([encodeBackupHeader(image.byteLength), image]);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'strake-backup-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

async function mustFail(file: string): Promise<BackupFileError> {
  const err = await readBackupFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof BackupFileError)) throw new Error(`expected a BackupFileError for ${file}, got ${String(err)}`);
  expect(err.message).toContain(file);
  return err;
}

describe('backup header', () => {
  it('is magic, format version and image length, big-endian', () => {
    const header = Buffer.from(encodeBackupHeader(0x1_0000_0002));
    expect(header.byteLength).toBe(BACKUP_HEADER_BYTES);
    expect(header.subarray(0, 8).toString('latin1')).toBe('STRKBKUP');
    expect(header.readUInt32BE(8)).toBe(BACKUP_FORMAT_VERSION);
    expect(header.readBigUInt64BE(12)).toBe(0x1_0000_0002n);
  });

  it('delimits the image, so the zero padding after it is not read as data', () => {
    const image = busyState().snapshot();
    const contents = Buffer.concat([framed(image), Buffer.alloc(300)]);
    const located = locateImage(contents, 'f');
    expect(located.framed).toBe(true);
    expect(Buffer.from(located.image).equals(Buffer.from(image))).toBe(true);
    expect(located.dataBytes).toBe(BACKUP_HEADER_BYTES + image.byteLength);
  });

  it.each([
    ['an unknown format version', (c: Buffer) => c.writeUInt32BE(BACKUP_FORMAT_VERSION + 1, 8), BackupErrorCode.UnsupportedVersion, 'format version 2'],
    ['a length beyond the data', (c: Buffer) => c.writeBigUInt64BE(10_000n, 12), BackupErrorCode.Malformed, 'announces an image of 10000 bytes'],
    ['non-zero padding', (c: Buffer) => c.writeUInt8(7, c.byteLength - 1), BackupErrorCode.Malformed, 'non-zero byte'],
  ])('refuses %s', (_what, damage, code, text) => {
    const contents = Buffer.concat([framed(busyState().snapshot()), Buffer.alloc(16)]);
    damage(contents);
    const err = (() => {
      try {
        locateImage(contents, 'the-file');
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BackupFileError);
    expect((err as BackupFileError).code).toBe(code);
    expect((err as BackupFileError).message).toContain('the-file');
    expect((err as BackupFileError).message).toContain(text);
  });

  it('finds the image of a file saved before the header existed by decoding exactly one value', () => {
    const image = busyState().snapshot();
    const located = locateImage(Buffer.concat([image, Buffer.alloc(200)]), 'old');
    expect(located.framed).toBe(false);
    expect(Buffer.from(located.image).equals(Buffer.from(image))).toBe(true);
  });

  it('calls contents that are neither framed nor an image "not a Strake snapshot"', () => {
    const notAMap = new Packr().pack([1, 2, 3]);
    expect(() => locateImage(Buffer.concat([notAMap, Buffer.alloc(4)]), 'x')).toThrow(/is not a Strake snapshot: it starts with 0x93/);
  });
});

describe('readBackupFile', () => {
  it('verifies an intact file and reports hash, revision, total keys and size', async () => {
    const state = busyState();
    const data = framed(state.snapshot());
    const bytes = savedBytes(data);
    const file = writeTemp('ok.snapshot', bytes);
    const seen: Array<[ProgressPhase, number, number]> = [];
    const backup = await readBackupFile(file, (phase, done, total) => seen.push([phase, done, total]));
    expect(backup.revision).toBe(state.mvcc.currentRevision);
    expect(backup.totalKeys).toBe(40 - 5 + 1);
    expect(backup.leaseCount).toBe(1);
    expect(backup.sizeBytes).toBe(bytes.byteLength);
    expect(backup.hash).toBe(crc32(data));
    expect(backup.framed).toBe(true);
    expect(seen.at(-1)).toEqual(['read', bytes.byteLength, bytes.byteLength]);
  });

  it('reads a file saved before the header existed', async () => {
    const state = busyState();
    const backup = await readBackupFile(writeTemp('old.snapshot', savedBytes(state.snapshot())));
    expect(backup.framed).toBe(false);
    expect(backup.revision).toBe(state.mvcc.currentRevision);
  });

  it('refuses a truncated file, a flipped byte, a random file, an empty file and a missing one, naming each', async () => {
    const bytes = savedBytes(framed(busyState().snapshot()));
    const truncated = await mustFail(writeTemp('cut', bytes.subarray(0, bytes.byteLength - 100)));
    expect(truncated.code).toBe(BackupErrorCode.Truncated);
    expect(truncated.message).toMatch(/is truncated or not a snapshot: \d+ bytes is not a whole number of 512-byte blocks/);

    const flipped = Buffer.from(bytes);
    flipped[200] = flipped[200]! ^ 0x01;
    const corrupt = await mustFail(writeTemp('flipped', flipped));
    expect(corrupt.code).toBe(BackupErrorCode.ChecksumMismatch);
    expect(corrupt.message).toContain('is corrupt: its last 32 bytes should be the SHA-256');

    const random = createHash('sha512').update('seed').digest();
    const randomFile = Buffer.concat(Array.from({ length: 65 }, () => random)).subarray(0, 4096 + 32);
    expect((await mustFail(writeTemp('random', randomFile))).code).toBe(BackupErrorCode.ChecksumMismatch);
    expect((await mustFail(writeTemp('empty', new Uint8Array()))).code).toBe(BackupErrorCode.Truncated);
    expect((await mustFail(join(dir, 'missing'))).code).toBe(BackupErrorCode.Unreadable);
  });

  it('refuses an intact file that does not hold a Strake snapshot', async () => {
    const notOurs = savedBytes(Buffer.concat([Buffer.alloc(16), Buffer.from('bbolt-ish page')]));
    const err = await mustFail(writeTemp('etcd.db', notOurs));
    expect(err.code).toBe(BackupErrorCode.NotASnapshot);
    expect(err.message).toContain('bbolt');
  });

  it('refuses an intact frame whose MVCC state is damaged', async () => {
    const state = busyState();
    const image = new Packr({ useRecords: false }).pack({ version: 1, mvcc: new Uint8Array(64), members: [] });
    const err = await mustFail(writeTemp('bad-mvcc', savedBytes(framed(image))));
    expect(err.code).toBe(BackupErrorCode.Malformed);
    expect(err.message).toContain('mvcc snapshot is corrupt');
    expect(state.mvcc.currentRevision).toBeGreaterThan(1);
  });
});

describe('restoreMember', () => {
  const options = (file: string, dataDir: string, name = 'r1') => ({ file, dataDir, name, initialCluster: NEW_CLUSTER, clusterToken: TOKEN });

  it('writes a data directory that opens at the saved state, with the new members as voters', async () => {
    const state = busyState();
    const file = writeTemp('s.snapshot', savedBytes(framed(state.snapshot())));
    const members = parseInitialCluster(NEW_CLUSTER, TOKEN);
    const writes: number[] = [];
    const dataDir = join(dir, 'r1');
    const restored = await restoreMember({ ...options(file, dataDir), onProgress: (phase, done) => phase === 'write' && writes.push(done) });
    expect(restored.memberId).toBe(members[1]!.id);
    expect(restored.snapshotIndex).toBe(3);
    expect(await readIdentity(dataDir)).toEqual({ memberId: members[1]!.id, clusterId: clusterId(TOKEN), name: 'r1' });
    expect(writes.length).toBeGreaterThan(0);

    const storage = await LevelStorage.open(dataDir);
    try {
      const snap = storage.snapshot();
      expect(snap.metadata).toEqual({ index: 3, term: 1, confState: { voters: members.map((m) => m.id), learners: [] } });
      expect(storage.initialState().hardState).toEqual({ term: 1, vote: 0, commit: 3 });
      expect(storage.lastIndex()).toBe(3);
      const copy = newState();
      copy.restore(snap);
      expect(copy.mvcc.currentRevision).toBe(state.mvcc.currentRevision);
      const all = { key: b('\0'), rangeEnd: b('\0') };
      expect(views(ok(copy.mvcc.range(all)).kvs)).toEqual(views(ok(state.mvcc.range(all)).kvs));
      expect(copy.mvcc.lessor.get(0x1234)?.ttlSeconds).toBe(600);
      expect(copy.members.list().map((m) => [m.name, m.peerUrls, m.isLearner])).toEqual(
        [...members].sort((x, y) => x.id - y.id).map((m) => [m.name, [m.peerUrl], false]),
      );
    } finally {
      await storage.close();
    }
    expect(readdirSync(dir).filter((n) => n.includes('.restoring-'))).toEqual([]);
  });

  it('gives every member the same snapshot, so they agree without talking', async () => {
    const file = writeTemp('s.snapshot', savedBytes(framed(busyState().snapshot())));
    const images: Buffer[] = [];
    for (const name of ['r0', 'r2']) {
      await restoreMember(options(file, join(dir, name), name));
      const storage = await LevelStorage.open(join(dir, name));
      images.push(Buffer.from(storage.snapshot().data));
      await storage.close();
    }
    expect(images[0]!.equals(images[1]!)).toBe(true);
  });

  it('refuses a non-empty data directory and leaves it as it was', async () => {
    const file = writeTemp('s.snapshot', savedBytes(framed(busyState().snapshot())));
    const dataDir = join(dir, 'used');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'keep-me'), 'x');
    const err = await restoreMember(options(file, dataDir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirNotEmptyError);
    expect((err as DataDirNotEmptyError).code).toBe(StorageErrorCode.NotEmpty);
    expect((err as Error).message).toContain(`data directory ${dataDir} is not empty (holds keep-me)`);
    expect(readdirSync(dataDir)).toEqual(['keep-me']);
  });

  it('restores into an existing empty directory', async () => {
    const file = writeTemp('s.snapshot', savedBytes(framed(busyState().snapshot())));
    const dataDir = join(dir, 'empty');
    mkdirSync(dataDir);
    await restoreMember(options(file, dataDir));
    expect(readdirSync(dataDir).sort()).toEqual(['member.json', 'raft', 'snap']);
  });

  it('writes nothing for a damaged file', async () => {
    const bytes = savedBytes(framed(busyState().snapshot()));
    bytes[100] = bytes[100]! ^ 0xff;
    const dataDir = join(dir, 'never');
    await expect(restoreMember(options(writeTemp('bad', bytes), dataDir))).rejects.toThrow(BackupFileError);
    expect(existsSync(dataDir)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['bad']);
  });

  it('refuses a --name outside --initial-cluster and a peer URL that disagrees with it', async () => {
    const file = writeTemp('s.snapshot', savedBytes(framed(busyState().snapshot())));
    const dataDir = join(dir, 'x');
    const stranger = await restoreMember(options(file, dataDir, 'r9')).catch((e: unknown) => e);
    expect(stranger).toBeInstanceOf(RestoreFlagError);
    expect((stranger as RestoreFlagError).code).toBe(RestoreErrorCode.MemberNotInCluster);
    expect((stranger as Error).message).toBe('--name "r9" is not one of the --initial-cluster members (r0, r1, r2)');
    const mismatch = await restoreMember({ ...options(file, dataDir), initialAdvertisePeerUrls: 'http://127.0.0.1:1' }).catch((e: unknown) => e);
    expect((mismatch as RestoreFlagError).code).toBe(RestoreErrorCode.PeerUrlMismatch);
    await restoreMember({ ...options(file, dataDir), initialAdvertisePeerUrls: 'http://127.0.0.1:41010/' });
    expect(existsSync(dataDir)).toBe(true);
  });
});
