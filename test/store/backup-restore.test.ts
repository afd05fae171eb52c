/**
 * Backup and restore as an operator does it, with real processes: a 3-member
 * cluster gets ~500 keys of history (overwrites, deletes, leased keys), `strake
 * kv snapshot save` takes a snapshot, `snapshot status` reports it, and
 * `snapshot restore` builds three new data dirs with new names, ports and
 * token, from which a new cluster starts holding exactly the saved state: every
 * key, value, create/mod revision, version and lease, at the saved revision.
 * Damaged files are refused by name and reason, writing nothing.
 *
 * Ports: this file owns 26200-26399: the saved cluster at base 26200, the
 * restored one at 26300, a lone member at 26350. Needs a build (`npm run build`; `npm test` does).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Range, type Etcd3, type IKeyValue } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanBytes } from '../../cli/kv/output.js';
import { masterPorts } from '../../cli/ports.js';
import { BACKUP_HEADER_BYTES } from '../../store/backup/frame.js';
import { findOnPath, ProcessCluster, ReadyProbe, sleep, startClusterForTest } from '../support/process-cluster.js';
import { runStrake, type RunResult } from '../support/run-strake.js';

const OLD_BASE_PORT = 26_200;
const NEW_BASE_PORT = 26_300;
const NEW_TOKEN = `restored-${NEW_BASE_PORT}`;
/** A lone member started only to see it refuse (it exits before listening). */
const SPARE_BASE_PORT = 26_350;
const MEMBERS = 3;
/** Keys written once; some are overwritten, deleted or re-created below. */
const KEY_COUNT = 500;
/** Puts in flight at once: quick on loopback, light on a two-core CI machine. */
const WRITE_CONCURRENCY = 16;
/** Far beyond the test: a restored lease must still be there, not expire while the new cluster starts. */
const LEASE_TTL_SECONDS = 3_600;
/**
 * A lease that has expired by the clock when the restored cluster starts: its
 * clock restarts with the new leader, so it and its key must survive. Short, so
 * the test waits little; long enough to outlive the reads after the start.
 */
const SHORT_LEASE_TTL_SECONDS = 6;
/** One `strake kv` run: a Node start and a file or loopback round trip. */
const RUN_TIMEOUT_MS = 30_000;
/** Start, 500+ writes and a save, on a loaded CI machine; a normal run takes about 10 s. */
const SETUP_MS = 90_000;
const TEST_MS = 90_000;

function strake(...args: string[]): Promise<RunResult> {
  return runStrake(args, { timeoutMs: RUN_TIMEOUT_MS });
}

async function strakeOk(...args: string[]): Promise<string> {
  const r = await strake(...args);
  expect(r.status, `strake ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

interface KvView {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: string;
}

function viewOf(kv: IKeyValue): KvView {
  return {
    value: kv.value.toString('base64'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: String(kv.lease),
  };
}

/** Every key of the store as of now, and the revision the read saw. */
async function readEverything(c: Etcd3): Promise<{ revision: number; kvs: Map<string, KvView> }> {
  const res = await c.getAll().exec();
  return { revision: Number(res.header.revision), kvs: new Map(res.kvs.map((kv) => [kv.key.toString('base64'), viewOf(kv)])) };
}

const keyOf = (n: number): string => `bk/key-${String(n).padStart(3, '0')}`;

async function putAll(c: Etcd3, writes: ReadonlyArray<readonly [string, string]>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < writes.length) {
      const [key, value] = writes[next++]!;
      await c.put(key).value(value).exec();
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

/** History worth restoring: versions above 1, deletes, a re-created key, leased keys, binary bytes. */
async function writeHistory(c: Etcd3): Promise<string[]> {
  await putAll(c, Array.from({ length: KEY_COUNT }, (_, n) => [keyOf(n), `first-${n}`] as const));
  await putAll(c, Array.from({ length: 100 }, (_, n) => [keyOf(n), `second-${n}`] as const));
  await putAll(c, Array.from({ length: 20 }, (_, n) => [keyOf(n), `third-${n}`] as const));
  await c.delete().range(new Range(keyOf(400), keyOf(450))).exec();
  for (const n of [7, 77, 177]) await c.delete().key(keyOf(n)).exec();
  await c.put(keyOf(440)).value('re-created').exec();
  const leases: string[] = [];
  for (const ttl of [LEASE_TTL_SECONDS, LEASE_TTL_SECONDS, SHORT_LEASE_TTL_SECONDS]) {
    leases.push(String((await c.leaseClient.leaseGrant({ TTL: ttl, ID: 0 })).ID));
  }
  for (let i = 0; i < 3; i++) await c.put(`bk/leased-a-${i}`).value(`a${i}`).lease(leases[0]!).exec();
  await c.put('bk/leased-b').value('b').lease(leases[1]!).exec();
  await c.put('bk/leased-short').value('s').lease(leases[2]!).exec();
  await c.put(Buffer.from([0x62, 0x6b, 0x2f, 0x00, 0xff])).value(Buffer.from([0x00, 0x01, 0xfe])).exec();
  return leases;
}

/** What the saved cluster held when the snapshot was taken. */
interface Saved {
  readonly file: string;
  /** When the short lease expires by the clock, had the old cluster kept running. */
  readonly shortLeaseExpiryMs: number;
  readonly revision: number;
  readonly kvs: Map<string, KvView>;
  readonly leases: string[];
}

/** Deterministic filler, so a failure with the "random" file replays byte for byte. */
function pseudoRandomBytes(length: number, seed: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0, total = 0; total < length; i++, total += 64) blocks.push(createHash('sha512').update(`${seed}/${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}

const newMembers = Array.from({ length: MEMBERS }, (_, i) => ({ name: `r${i}`, peerUrl: masterPorts(NEW_BASE_PORT, i).peerUrl }));
const NEW_INITIAL_CLUSTER = newMembers.map((m) => `${m.name}=${m.peerUrl}`).join(',');

describe('strake kv snapshot save / status / restore', () => {
  let rootDir = '';
  let saved: Saved;

  beforeAll(async () => {
    rootDir = mkdtempSync(join(tmpdir(), 'strake-backup-restore-'));
    const old = await ProcessCluster.start({ basePort: OLD_BASE_PORT, dir: join(rootDir, 'old') });
    try {
      await old.waitReady();
      const c = old.client();
      const shortLeaseExpiryMs = Date.now() + SHORT_LEASE_TTL_SECONDS * 1000;
      const leases = await writeHistory(c);
      const before = await readEverything(c);
      const file = join(rootDir, 'backup.snapshot');
      expect(await strakeOk('kv', '--endpoints', old.endpoint(0), 'snapshot', 'save', file)).toBe(`Snapshot saved at ${file}\n`);
      const after = await readEverything(c);
      // Nothing wrote while the snapshot was taken, so it holds exactly `before`.
      expect(after.revision).toBe(before.revision);
      saved = { file, shortLeaseExpiryMs, revision: before.revision, kvs: before.kvs, leases };
    } catch (err) {
      process.stderr.write(`\nsetup failed; member logs (kept in ${rootDir})\n${old.logTails()}\n`);
      throw err;
    } finally {
      await old.stopAll();
    }
  }, SETUP_MS);

  afterAll(() => {
    if (rootDir !== '') rmSync(rootDir, { recursive: true, force: true });
  });

  it('status reports the saved revision, the live keys, the size and a CRC-32 of the data', async () => {
    const bytes = readFileSync(saved.file);
    const imageBytes = Number(bytes.readBigUInt64BE(12));
    const hash = crc32(bytes.subarray(0, BACKUP_HEADER_BYTES + imageBytes));
    const expected = { hash, revision: saved.revision, totalKey: saved.kvs.size, totalSize: statSync(saved.file).size };
    expect(saved.kvs.size).toBe(KEY_COUNT - 50 - 3 + 1 + 3 + 1 + 1 + 1 + MEMBERS); // + the harness's readiness keys
    expect(JSON.parse(await strakeOk('kv', '-w', 'json', 'snapshot', 'status', saved.file))).toEqual(expected);
    const row = `${hash.toString(16)}, ${saved.revision}, ${saved.kvs.size}, ${humanBytes(expected.totalSize)}`;
    expect(await strakeOk('kv', 'snapshot', 'status', saved.file)).toBe(`${row}\n`);
    const table = await strakeOk('kv', '-w', 'table', 'snapshot', 'status', saved.file);
    // Column widths follow the widest cell (a CRC with leading zero digits prints shorter), so compare cells.
    const cells = table.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(cells).toEqual([
      ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'],
      [hash.toString(16), String(saved.revision), String(saved.kvs.size), humanBytes(expected.totalSize)],
    ]);
  }, TEST_MS);

  it.skipIf(findOnPath('etcdctl') === undefined)('the real etcdctl cannot read the file, as README and --help say', async () => {
    const r = await new Promise<number | null>((resolve) => {
      const child = spawn('etcdctl', ['snapshot', 'status', saved.file], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
    expect(r).not.toBe(0);
    expect(await strakeOk('kv', 'snapshot', '--help')).toMatch(/etcdctl snapshot status` and `etcdctl snapshot restore` cannot read it/);
  }, TEST_MS);

  it('restore builds three new members that start with every key, version and lease at the saved revision', async () => {
    const newDir = join(rootDir, 'new');
    for (const [i, m] of newMembers.entries()) {
      const advertise = i === 0 ? ['--initial-advertise-peer-urls', m.peerUrl] : [];
      const out = await strakeOk('kv', 'snapshot', 'restore', saved.file, '--data-dir', join(newDir, m.name), '--name', m.name,
        '--initial-cluster', NEW_INITIAL_CLUSTER, '--initial-cluster-token', NEW_TOKEN, ...advertise);
      expect(out).toContain(`Restored snapshot ${saved.file} (revision ${saved.revision}, ${saved.kvs.size} keys) into ${join(newDir, m.name)} as member ${m.name}`);
    }
    await sleep(Math.max(0, saved.shortLeaseExpiryMs - Date.now()));
    const cluster = await startClusterForTest({ basePort: NEW_BASE_PORT, dir: newDir, namePrefix: 'r', token: NEW_TOKEN });
    // Reads only: a write would move the revision away from the saved one.
    await cluster.waitReady({ probe: ReadyProbe.Read });
    for (const i of cluster.runningIndices()) {
      const got = await cluster.withClient([i], readEverything);
      expect(got.revision, `revision through ${newMembers[i]!.name}`).toBe(saved.revision);
      expect(got.kvs, `keys through ${newMembers[i]!.name}`).toEqual(saved.kvs);
    }
    await cluster.withClient([0, 1, 2], async (c) => {
      const leases = (await c.leaseClient.leaseLeases()).leases.map((l) => String(l.ID)).sort();
      expect(leases).toEqual([...saved.leases].sort());
      const a = await c.leaseClient.leaseTimeToLive({ ID: saved.leases[0]!, keys: true });
      expect(a.keys.map((k) => k.toString()).sort()).toEqual(['bk/leased-a-0', 'bk/leased-a-1', 'bk/leased-a-2']);
      expect(Number(a.TTL)).toBeGreaterThan(0);
      const short = await c.leaseClient.leaseTimeToLive({ ID: saved.leases[2]!, keys: true });
      expect(short.keys.map((k) => k.toString())).toEqual(['bk/leased-short']);
      expect(Number(short.grantedTTL)).toBe(SHORT_LEASE_TTL_SECONDS);
      const members = (await c.cluster.memberList({})).members.map((m) => [m.name, m.peerURLs]).sort();
      expect(members).toEqual(newMembers.map((m) => [m.name, [m.peerUrl]]));
      // The restored cluster takes writes, continuing from the saved revision.
      expect(Number((await c.put('bk/after-restore').value('1').exec()).header.revision)).toBe(saved.revision + 1);
    });
  }, TEST_MS);

  it('refuses a truncated file, a flipped byte and a random file by name and reason, writing nothing', async () => {
    const bytes = readFileSync(saved.file);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.byteLength / 2)] = flipped[Math.floor(bytes.byteLength / 2)]! ^ 0xff;
    const bad: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
      ['truncated', bytes.subarray(0, bytes.byteLength - 1000), /is truncated or not a snapshot: \d+ bytes is not a whole number of 512-byte blocks plus the 32-byte SHA-256/],
      ['flipped', flipped, /is corrupt: its last 32 bytes should be the SHA-256 of the \d+ bytes before them/],
      ['random', pseudoRandomBytes(bytes.byteLength, 'backup-restore'), /is corrupt: its last 32 bytes should be the SHA-256/],
    ];
    const badDir = join(rootDir, 'bad');
    mkdirSync(badDir);
    for (const [name, content, reason] of bad) {
      const file = join(badDir, `${name}.snapshot`);
      writeFileSync(file, content);
      const status = await strake('kv', 'snapshot', 'status', file);
      expect(status.status, name).toBe(1);
      expect(status.stderr, name).toMatch(new RegExp(`^Error: snapshot file ${file} `));
      expect(status.stderr, name).toMatch(reason);
      expect(status.stdout, name).toBe('');

      const emptyDir = join(badDir, `${name}-empty-dir`);
      mkdirSync(emptyDir);
      for (const dataDir of [join(badDir, `${name}-data`), emptyDir]) {
        const restore = await strake('kv', 'snapshot', 'restore', file, '--data-dir', dataDir, '--name', 'r0', '--initial-cluster', NEW_INITIAL_CLUSTER);
        expect(restore.status, `${name}: ${restore.stderr}`).toBe(1);
        expect(restore.stderr, name).toMatch(reason);
        expect(restore.stderr, name).toContain(file);
      }
      expect(existsSync(join(badDir, `${name}-data`)), `${name}: a data dir was created`).toBe(false);
      expect(readdirSync(emptyDir), `${name}: the empty data dir was written to`).toEqual([]);
    }
    expect(readdirSync(badDir).filter((n) => n.includes('.restoring-'))).toEqual([]);
  }, TEST_MS);

  it('refuses a non-empty data dir, a member --initial-cluster does not name, and a start with another token', async () => {
    const used = join(rootDir, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'precious'), 'keep');
    const r = await strake('kv', 'snapshot', 'restore', saved.file, '--data-dir', used, '--name', 'r0', '--initial-cluster', NEW_INITIAL_CLUSTER);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`Error: data directory ${used} is not empty (holds precious); restore only into a new or empty directory\n`);
    expect(readdirSync(used)).toEqual(['precious']);
    expect(readFileSync(join(used, 'precious'), 'utf8')).toBe('keep');

    // A restored member is pinned to the token it was restored for.
    const pinned = join(rootDir, 'pinned');
    await strakeOk('kv', 'snapshot', 'restore', saved.file, '--data-dir', pinned, '--name', 'r0', '--initial-cluster', NEW_INITIAL_CLUSTER, '--initial-cluster-token', NEW_TOKEN);
    const spare = masterPorts(SPARE_BASE_PORT, 0);
    const wrongToken = await strake('master', '--name', 'r0', '--data-dir', pinned, '--listen-peer', spare.peerUrl, '--listen-client', spare.kvEndpoint,
      '--initial-cluster', NEW_INITIAL_CLUSTER, '--cluster-token', 'not-the-restored-token');
    expect(wrongToken.status).toBe(1);
    expect(wrongToken.stderr).toContain(`data dir ${pinned} belongs to cluster`);

    const stranger = await strake('kv', 'snapshot', 'restore', saved.file, '--data-dir', join(rootDir, 'stranger'), '--name', 'r7', '--initial-cluster', NEW_INITIAL_CLUSTER);
    expect(stranger.status).toBe(2);
    expect(stranger.stderr).toBe('Error: --name "r7" is not one of the --initial-cluster members (r0, r1, r2)\n');
    expect(existsSync(join(rootDir, 'stranger'))).toBe(false);
  }, TEST_MS);
});
