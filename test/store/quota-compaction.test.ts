/**
 * Space quota, alarms, defragmentation and automatic compaction on real
 * `strake master` processes, checked the way an etcd operator would: with raw
 * gRPC for exact codes and texts, the real etcdctl 3.4, and `strake kv`.
 *
 *  - A 3-member cluster with a 64 KiB quota fills up: writes are refused with
 *    RESOURCE_EXHAUSTED "etcdserver: mvcc: database space exceeded" through
 *    every member, NOSPACE is raised in the replicated alarm table that every
 *    member lists, reads and deletes still work. etcd's recovery procedure
 *    (compact, defrag, disarm) brings writes back, done once with etcdctl and
 *    once with `strake kv`.
 *  - --auto-compaction-mode revision: the leader compacts to current - N every
 *    interval, so a read at an old revision fails with the compacted error.
 *  - --auto-compaction-mode periodic: history older than the retention goes.
 *
 * Ports: 26500-26699 (test/README.md): quota cluster 26500, revision-mode
 * cluster 26600, periodic-mode member 26670. etcdctl steps are skipped, with the
 * reason printed, when etcdctl is not installed (Debian package etcd-client).
 * Needs a build (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster, ReadyProbe, eventually, sleep, startClusterForTest } from '../support/process-cluster.js';
import { etcdctl, findEtcdctl, rawClients, unary, unaryError, type RawClients } from './etcd-harness.js';

const ETCDCTL = findEtcdctl();
if (ETCDCTL === undefined) process.stderr.write('quota-compaction: etcdctl steps skipped: etcdctl not on PATH (Debian package etcd-client)\n');

const QUOTA_BASE_PORT = 26_500;
const REVISION_MODE_BASE_PORT = 26_600;
const PERIODIC_MODE_BASE_PORT = 26_670;

const QUOTA_BYTES = 64 * 1024;
/** Each fill put overwrites one key with this much: the quota is reached in about 16 puts, by history alone. */
const FILL_VALUE_BYTES = 4 * 1024;
/** Far more puts than the quota admits: a fill that never ends is a failure, not a hang. */
const FILL_PUTS_MAX = 200;
const NO_SPACE_MESSAGE = 'etcdserver: mvcc: database space exceeded';
const COMPACTED_MESSAGE = 'etcdserver: mvcc: required revision has been compacted';
/** Raising the alarm is one more round through the log; loopback takes milliseconds. */
const ALARM_WAIT_MS = 10_000;
/** A cluster start: three Node processes and an election, on a loaded machine. */
const START_HOOK_MS = 60_000;
/** Auto compaction: a 500 ms check interval (periodic: a 2 s retention) plus scheduling slack. */
const AUTO_COMPACTION_WAIT_MS = 15_000;
/** One `strake kv` run: a Node start plus loopback round trips. */
const STRAKE_RUN_TIMEOUT_MS = 20_000;
const STRAKE_BIN = fileURLToPath(new URL('../../bin/strake.js', import.meta.url));

type Json = Record<string, any>;

/**
 * 26500-26699 lies in Linux's ephemeral port range (32768-60999), so another
 * process's outgoing connection can hold one of our ports for a while; the
 * harness then refuses to start. A few spaced attempts ride that out.
 */
const PORT_BUSY_ATTEMPTS = 3;
const PORT_BUSY_WAIT_MS = 2_000;

async function startRetryingBusyPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= PORT_BUSY_ATTEMPTS || !String(err).includes('is not free')) throw err;
      await sleep(PORT_BUSY_WAIT_MS);
    }
  }
}

/** `strake kv --endpoints <endpoints> ...args`, with its exit code and output. */
function strakeKv(endpoints: readonly string[], args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [STRAKE_BIN, 'kv', '--endpoints', endpoints.join(','), ...args],
      { timeout: STRAKE_RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

/** Overwrites one key until the quota refuses a put; returns the refusal. A raised alarm refuses the first. */
async function fillUntilNoSpace(raw: RawClients): Promise<grpc.ServiceError> {
  const value = Buffer.alloc(FILL_VALUE_BYTES, 0x61);
  for (let i = 0; i < FILL_PUTS_MAX; i++) {
    try {
      await unary(raw.kv, 'Put', { key: Buffer.from('fill'), value });
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (e.code !== grpc.status.RESOURCE_EXHAUSTED) throw err;
      return e;
    }
  }
  throw new Error(`${FILL_PUTS_MAX} puts of ${FILL_VALUE_BYTES} bytes were all accepted under a ${QUOTA_BYTES}-byte quota`);
}

function alarmsOf(res: Json): string[] {
  return (res['alarms'] as Json[]).map((a) => `${String(a['memberID'])}:${String(a['alarm'])}`).sort();
}

describe('space quota and NOSPACE (3 members, 64 KiB quota)', () => {
  let cluster: ProcessCluster;
  let raws: RawClients[];
  let failed = false;

  beforeAll(async () => {
    cluster = await startRetryingBusyPorts(() => ProcessCluster.start({ basePort: QUOTA_BASE_PORT, extraArgs: ['--quota-backend-bytes', String(QUOTA_BYTES)] }));
    raws = cluster.endpoints().map((ep) => rawClients(ep));
    await cluster.waitReady({ probe: ReadyProbe.Read });
  }, START_HOOK_MS);

  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    failed = true;
    process.stderr.write(`\n${ctx.task.name}: member logs (kept in ${cluster.rootDir})\n${cluster.logTails()}\n`);
  });

  afterAll(async () => {
    for (const r of raws ?? []) r.close();
    if (cluster === undefined) return;
    await cluster.stopAll();
    if (!failed) cluster.removeData();
  }, START_HOOK_MS);

  /** Every member lists the same non-empty NOSPACE alarms through its own endpoint. */
  async function noSpaceOnEveryMember(): Promise<string[]> {
    return eventually('NOSPACE listed by every member', async () => {
      const lists = await Promise.all(raws.map(async (r) => alarmsOf(await unary(r.maintenance, 'Alarm', { action: 'GET' }))));
      const first = lists[0]!;
      const agreed = first.length > 0 && first.every((a) => a.endsWith(':NOSPACE')) && lists.every((l) => l.join() === first.join());
      return agreed ? first : undefined;
    }, ALARM_WAIT_MS);
  }

  it('refuses writes with etcd\'s error once full, raises NOSPACE on every member, and keeps serving reads and deletes', async () => {
    const refusal = await fillUntilNoSpace(raws[0]!);
    expect([refusal.code, refusal.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, NO_SPACE_MESSAGE]);
    const alarms = await noSpaceOnEveryMember();
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    for (const [i, r] of raws.entries()) {
      const put = await unaryError(r.kv, 'Put', { key: Buffer.from(`new-${i}`), value: Buffer.from('v') });
      expect([put.code, put.details], `put through member ${i}`).toEqual([grpc.status.RESOURCE_EXHAUSTED, NO_SPACE_MESSAGE]);
      const grant = await unaryError(r.lease, 'LeaseGrant', { TTL: 60 });
      expect(grant.details).toBe(NO_SPACE_MESSAGE);
      const txn = await unaryError(r.kv, 'Txn', { success: [{ request_put: { key: Buffer.from('t'), value: Buffer.from('v') } }] });
      expect(txn.details).toBe(NO_SPACE_MESSAGE);
      const read = await unary(r.kv, 'Range', { key: Buffer.from('fill') });
      expect((read['kvs'] as Json[])[0]!['value']).toHaveLength(FILL_VALUE_BYTES);
      const readTxn = await unary(r.kv, 'Txn', { success: [{ request_range: { key: Buffer.from('fill') } }] });
      expect(readTxn['succeeded']).toBe(true);
      await unary(r.kv, 'DeleteRange', { key: Buffer.from(`absent-${i}`) });
      const status = await unary(r.maintenance, 'Status', {});
      expect(status['errors']).toEqual(expect.arrayContaining([expect.stringMatching(/^memberID:\d+ alarm:NOSPACE $/)]));
      expect(Number(status['dbSizeInUse'])).toBeLessThan(QUOTA_BYTES);
      expect(Number(status['dbSize'])).toBeGreaterThan(0);
    }
  });

  it('after a disarm without freeing space, the next write is refused again and raises NOSPACE again (as etcd)', async () => {
    await fillUntilNoSpace(raws[0]!);
    await noSpaceOnEveryMember();
    for (const a of (await unary(raws[1]!.maintenance, 'Alarm', { action: 'GET' }))['alarms'] as Json[]) {
      await unary(raws[1]!.maintenance, 'Alarm', { action: 'DEACTIVATE', memberID: a['memberID'], alarm: a['alarm'] });
    }
    expect((await unary(raws[2]!.maintenance, 'Alarm', { action: 'GET' }))['alarms']).toEqual([]);
    const again = await fillUntilNoSpace(raws[2]!);
    expect(again.details).toBe(NO_SPACE_MESSAGE);
    await noSpaceOnEveryMember();
  });

  it.skipIf(ETCDCTL === undefined)('real etcdctl: alarm list, compaction, defrag and alarm disarm bring writes back', async () => {
    const endpoints = cluster.endpoints().join(',');
    const ctl = (...args: string[]) => etcdctl(ETCDCTL!, endpoints, args);
    await fillUntilNoSpace(raws[0]!);
    await noSpaceOnEveryMember();
    const listed = await ctl('alarm', 'list');
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const l of lines) expect(l).toMatch(/^memberID:\d+ alarm:NOSPACE $/);
    const status = JSON.parse((await ctl('endpoint', 'status', '-w', 'json')).stdout) as Json[];
    const revision = Number(status[0]!['Status']['header']['revision']);
    expect((await ctl('compaction', String(revision))).stdout).toBe(`compacted revision ${revision}\n`);
    const defrag = await ctl('defrag');
    expect(defrag.code, defrag.stderr).toBe(0);
    expect(defrag.stdout.split('\n').filter((l) => l.startsWith('Finished defragmenting etcd member['))).toHaveLength(3);
    const disarmed = await ctl('alarm', 'disarm');
    expect(disarmed.stdout.split('\n').filter((l) => l !== '').sort()).toEqual([...lines].sort());
    expect((await ctl('alarm', 'list')).stdout).toBe('');
    expect((await ctl('put', 'after-recovery', 'ok')).stdout).toBe('OK\n');
    const inUse = JSON.parse((await ctl('endpoint', 'status', '-w', 'json')).stdout) as Json[];
    for (const s of inUse) expect(Number(s['Status']['dbSizeInUse'])).toBeLessThan(QUOTA_BYTES / 4);
  });

  it('strake kv: alarm list, compact, defrag (sizes before and after) and alarm disarm bring writes back', async () => {
    const endpoints = cluster.endpoints();
    await fillUntilNoSpace(raws[1]!);
    await noSpaceOnEveryMember();
    const listed = await strakeKv(endpoints, ['alarm', 'list', '-w', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    const alarms = (JSON.parse(listed.stdout) as Json)['alarms'] as Json[];
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    for (const a of alarms) expect(a['alarm']).toBe(1); // NOSPACE, as etcdctl prints the enum
    const refused = await strakeKv(endpoints, ['put', 'k', 'v']);
    expect([refused.code, refused.stderr]).toEqual([1, `Error: ${NO_SPACE_MESSAGE}\n`]);
    const revision = Number((await unary(raws[0]!.kv, 'Range', { key: Buffer.from('fill') }))['header']['revision']);
    expect((await strakeKv(endpoints, ['compact', String(revision)])).stdout).toBe(`compacted revision ${revision}\n`);
    const defrag = await strakeKv(endpoints, ['defrag', '-w', 'json']);
    expect(defrag.code, defrag.stderr).toBe(0);
    const sizes = JSON.parse(defrag.stdout) as Json[];
    expect(sizes.map((s) => s['endpoint'])).toEqual(endpoints);
    for (const s of sizes) {
      expect(s['dbSizeBefore']).toBeGreaterThan(0);
      expect(s['dbSizeAfter']).toBeGreaterThan(0);
      expect(s['dbSizeInUse']).toBeLessThan(QUOTA_BYTES / 4);
    }
    const simple = await strakeKv([endpoints[0]!], ['defrag']);
    expect(simple.stdout).toMatch(new RegExp(`^Finished defragmenting etcd member\\[${endpoints[0]}\\] \\(db size .+ -> .+, .+ in use\\)\\n$`));
    const disarmed = await strakeKv(endpoints, ['alarm', 'disarm']);
    expect(disarmed.code, disarmed.stderr).toBe(0);
    expect(disarmed.stdout.split('\n').filter((l) => l !== '')).toHaveLength(alarms.length);
    expect((await strakeKv(endpoints, ['alarm', 'list'])).stdout).toBe('');
    for (const r of raws) await unary(r.kv, 'Put', { key: Buffer.from('after-disarm'), value: Buffer.from('ok') });
  });

  it('keeps alarms across restarts: a raised alarm is still raised, a disarmed one stays disarmed', async () => {
    await fillUntilNoSpace(raws[0]!);
    const raised = await noSpaceOnEveryMember();
    await cluster.kill(2, 'SIGTERM');
    await cluster.restart(2);
    await cluster.waitReady({ indices: [2], probe: ReadyProbe.Read });
    expect(await noSpaceOnEveryMember()).toEqual(raised);
    // Recover, then restart every member: replaying the refused writes must not raise the alarm again.
    const revision = Number((await unary(raws[0]!.kv, 'Range', { key: Buffer.from('fill') }))['header']['revision']);
    await unary(raws[0]!.kv, 'Compact', { revision });
    for (const a of raised) {
      const [memberID, alarm] = a.split(':');
      await unary(raws[0]!.maintenance, 'Alarm', { action: 'DEACTIVATE', memberID, alarm });
    }
    for (const i of [0, 1, 2]) await cluster.kill(i, 'SIGTERM');
    for (const i of [0, 1, 2]) await cluster.restart(i);
    await cluster.waitReady({ probe: ReadyProbe.Read });
    await unary(raws[1]!.kv, 'Put', { key: Buffer.from('after-restart'), value: Buffer.from('ok') });
    for (const r of raws) expect((await unary(r.maintenance, 'Alarm', { action: 'GET' }))['alarms']).toEqual([]);
  });
});

/** A linearizable read of `key` at `revision` through `raw`: its value, or the error's text. */
async function readAt(raw: RawClients, key: string, revision: number): Promise<string> {
  try {
    const res = await unary(raw.kv, 'Range', { key: Buffer.from(key), revision });
    return Buffer.from(((res['kvs'] as Json[])[0]?.['value'] as Buffer | undefined) ?? []).toString();
  } catch (err) {
    return (err as grpc.ServiceError).details;
  }
}

/** Puts key=v1..vN through `raw`; returns the revision of each put. */
async function putVersions(raw: RawClients, key: string, count: number): Promise<number[]> {
  const revisions: number[] = [];
  for (let i = 1; i <= count; i++) {
    const res = await unary(raw.kv, 'Put', { key: Buffer.from(key), value: Buffer.from(`v${i}`) });
    revisions.push(Number(res['header']['revision']));
  }
  return revisions;
}

describe('automatic compaction', () => {
  it('revision mode: the leader compacts to current - retention every interval; older reads fail as compacted', async () => {
    const RETENTION_REVISIONS = 5;
    const cluster = await startRetryingBusyPorts(() =>
      startClusterForTest({
        basePort: REVISION_MODE_BASE_PORT,
        extraArgs: ['--auto-compaction-mode', 'revision', '--auto-compaction-retention', String(RETENTION_REVISIONS), '--auto-compaction-interval', '500ms'],
      }),
    );
    await cluster.waitReady({ probe: ReadyProbe.Read });
    const raw = rawClients(cluster.endpoint(0));
    try {
      const revisions = await putVersions(raw, 'a', 20);
      const last = revisions[revisions.length - 1]!;
      const oldest = revisions[0]!;
      // Once writes stop, the next check compacts to exactly last - retention: the revision
      // before it fails as compacted, it and the later ones stay readable.
      const beforeKept = last - RETENTION_REVISIONS - 1;
      await eventually(`revision ${beforeKept} compacted away`, async () => ((await readAt(raw, 'a', beforeKept)) === COMPACTED_MESSAGE ? true : undefined), AUTO_COMPACTION_WAIT_MS);
      expect(await readAt(raw, 'a', last - RETENTION_REVISIONS)).toBe(`v${20 - RETENTION_REVISIONS}`);
      expect(await readAt(raw, 'a', last)).toBe('v20');
      for (const i of [1, 2]) {
        const other = rawClients(cluster.endpoint(i));
        try {
          expect(await readAt(other, 'a', oldest), `member ${i}`).toBe(COMPACTED_MESSAGE);
        } finally {
          other.close();
        }
      }
    } finally {
      raw.close();
    }
  });

  it('periodic mode: history older than the retention is compacted, newer history kept', async () => {
    const cluster = await startRetryingBusyPorts(() =>
      startClusterForTest({ basePort: PERIODIC_MODE_BASE_PORT, size: 1, extraArgs: ['--auto-compaction-retention', '2s'] }),
    );
    await cluster.waitReady({ probe: ReadyProbe.Read });
    const raw = rawClients(cluster.endpoint(0));
    try {
      const [first] = await putVersions(raw, 'p', 3);
      await eventually('the first revision compacted away', async () => ((await readAt(raw, 'p', first!)) === COMPACTED_MESSAGE ? true : undefined), AUTO_COMPACTION_WAIT_MS);
      const [recent] = await putVersions(raw, 'p', 1);
      expect(await readAt(raw, 'p', recent!)).toBe('v1'); // written just now: inside the retention
    } finally {
      raw.close();
    }
  });
});
