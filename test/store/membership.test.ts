/**
 * Proof that membership changes work end to end on real processes: three
 * `strake master` members from the harness, plus members this file starts
 * itself the way a user would, with the command `strake kv member add` prints
 * (`--initial-cluster-state existing`). Changes go through the built `strake kv`
 * and, in one test, through the real etcdctl 3.4.
 *
 * Ports 27000-27299 belong to this file: each test runs its own cluster on a
 * base port 50 apart (members at base, base+10, base+20; added members at
 * base+30 and base+40). Needs a build (`npm run build`; `npm test` does).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3, IMember } from 'etcd3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { chaosClient } from '../../chaos/cluster/etcd-client.js';
import { MemberProcess } from '../../chaos/cluster/member-process.js';
import { eventually, retryOnError, startClusterForTest, type ProcessCluster } from '../support/process-cluster.js';
import { etcdctl, findEtcdctl } from './etcd-harness.js';
import { STRAKE_BIN, runStrake } from '../support/run-strake.js';

/** A member catching up from a snapshot and a few hundred entries on loopback takes a second or two. */
const CATCH_UP_MS = 30_000;
/** A new leader is elected within two election timeouts (2 s here); generous for a loaded machine. */
const FAILOVER_MS = 20_000;
/** A removed member stops 10 ticks (1 s) after it learns of its removal. */
const REMOVED_EXIT_MS = 20_000;
/** Bound on one call of the clients made here. */
const CALL_MS = 5_000;
/** Whole-test bound: a cluster start, a catch-up, several changes and a failover. */
const TEST_MS = 120_000;
/** Keys written before a member joins: with --snapshot-count 20 and 5 catch-up entries, far past the log a leader keeps. */
const KEYS_BEFORE_JOIN = 200;


/** `strake kv --endpoints <endpoints> ...args`; fails the test unless it exits 0. */
async function kvOk(endpoints: readonly string[], args: readonly string[]): Promise<string> {
  const r = await runStrake(['kv', '--endpoints', endpoints.join(','), ...args]);
  if (r.status !== 0) throw new Error(`strake kv ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `strake kv ...` that must fail; resolves with its stderr. */
async function kvError(endpoints: readonly string[], args: readonly string[]): Promise<string> {
  const r = await runStrake(['kv', '--endpoints', endpoints.join(','), ...args]);
  expect(r.status, `strake kv ${args.join(' ')} should fail; stdout: ${r.stdout}`).toBe(1);
  return r.stderr.trim();
}

/** The id in "Member <id> added|removed|promoted ..." (etcdctl and strake kv print the same). */
function idFromLine(stdout: string): string {
  const m = /^Member\s+([0-9a-f]+) (added|removed|promoted|updated)/m.exec(stdout);
  if (m === null) throw new Error(`no "Member <id> ..." line in: ${stdout}`);
  return m[1]!;
}

const hex = (decimal: string | number): string => BigInt(decimal).toString(16);

/** A client of the given endpoints that makes one attempt per call, with a deadline. */
async function withEndpoints<T>(endpoints: readonly string[], fn: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = chaosClient(endpoints, { callTimeoutMs: CALL_MS });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

async function membersOf(endpoint: string): Promise<IMember[]> {
  return withEndpoints([endpoint], async (c) => (await c.cluster.memberList({})).members ?? []);
}

/** Status of one endpoint: its member id and whom it names leader, both in hex. */
async function statusOf(endpoint: string): Promise<{ id: string; leader: string; isLearner: boolean }> {
  const s = await withEndpoints([endpoint], (c) => c.maintenance.status());
  return { id: hex(s.header.member_id), leader: hex(s.leader), isLearner: s.isLearner };
}

/** The endpoint among `endpoints` whose member leads (bounded wait through an election). */
async function leaderAmong(endpoints: readonly string[], notId?: string): Promise<{ endpoint: string; id: string }> {
  return eventually(
    'a leader',
    async () => {
      for (const endpoint of endpoints) {
        const s = await statusOf(endpoint).catch(() => undefined);
        if (s !== undefined && s.leader === s.id && s.id !== notId) return { endpoint, id: s.id };
      }
      return undefined;
    },
    FAILOVER_MS,
  );
}

/** A member this test starts itself; stopped by PID when the test ends. */
interface StartedMember {
  readonly process: MemberProcess;
  readonly logFile: string;
  readonly endpoint: string;
}

/** Runs the `strake master` command line that `member add` printed (the shell splits it), plus `extra` flags. */
function startPrinted(printed: string, logFile: string, extra: readonly string[] = []): StartedMember {
  const line = printed.trim().split('\n').at(-1)!;
  expect(line.startsWith('strake master ')).toBe(true);
  const argv = execFileSync('sh', ['-c', `for a in ${line}; do printf '%s\\0' "$a"; done`]).toString().split('\0').slice(0, -1);
  return startMaster(argv.slice(1), logFile, extra);
}

function startMaster(args: readonly string[], logFile: string, extra: readonly string[] = []): StartedMember {
  const at = args.indexOf('--listen-client');
  const endpoint = args[at + 1]!;
  const process_ = MemberProcess.spawn(`member at ${endpoint}`, { command: process.execPath, args: [STRAKE_BIN, ...args, ...extra] }, logFile);
  onTestFinished(async (ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n----- ${logFile} -----\n${readLog(logFile).split('\n').slice(-40).join('\n')}\n`);
    await process_.stop('SIGTERM');
  });
  return { process: process_, logFile, endpoint };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

/** Waits until the harness member `i` exits on its own, and returns its log. */
async function exitsOnItsOwn(cluster: ProcessCluster, i: number): Promise<string> {
  await eventually(`${cluster.members[i]!.name} to exit`, async () => (cluster.isRunning(i) ? undefined : true), REMOVED_EXIT_MS);
  expect(cluster.exitOf(i)).toBe('code 0');
  return readLog(cluster.members[i]!.logFile);
}

async function putKeys(endpoints: readonly string[], prefix: string, n: number): Promise<void> {
  await withEndpoints(endpoints, async (c) => {
    for (let i = 0; i < n; i++) await c.put(`${prefix}${String(i).padStart(4, '0')}`).value(`v${i}`).exec();
  });
}

/** Keys under `prefix` that `endpoint` serves from its own state (a serializable read). */
async function localCount(endpoint: string, prefix: string): Promise<number> {
  return withEndpoints([endpoint], async (c) => Object.keys(await c.getAll().prefix(prefix).serializable(true).strings()).length);
}

async function startCluster(basePort: number, extra: { snapshotCount?: number; extraArgs?: readonly string[] } = {}): Promise<{ cluster: ProcessCluster; token: string }> {
  const token = `membership-${basePort}`;
  const cluster = await startClusterForTest({ basePort, token, ...extra });
  await cluster.waitReady();
  return { cluster, token };
}

const peerUrl = (port: number): string => `http://127.0.0.1:${port}`;

describe('membership changes', () => {
  it('a learner joins a running cluster by snapshot, is promoted, and the cluster has four voters; etcd refusals on the way', async () => {
    const base = 27_000;
    const { cluster, token } = await startCluster(base, { snapshotCount: 20, extraArgs: ['--snapshot-catchup-entries', '5'] });
    const eps = cluster.endpoints();
    await putKeys(eps, 'join/', KEYS_BEFORE_JOIN);

    // A learner that never starts cannot be promoted; while it exists no second learner may be added.
    const idle = idFromLine(await kvOk(eps, ['member', 'add', 'idle', '--peer-urls', peerUrl(base + 40), '--learner', '--cluster-token', token]));
    expect(await kvError(eps, ['member', 'promote', idle])).toBe('Error: etcdserver: can only promote a learner member which is in sync with leader');
    expect(await kvError(eps, ['member', 'add', 'x', '--peer-urls', peerUrl(base + 45), '--learner'])).toBe('Error: etcdserver: too many learner members in cluster');
    expect(await kvOk(eps, ['member', 'remove', idle])).toMatch(new RegExp(`^Member +${idle} removed from cluster +[0-9a-f]+\\n$`));
    expect(await kvError(eps, ['member', 'add', 'dup', '--peer-urls', cluster.members[1]!.peerUrl])).toBe('Error: etcdserver: Peer URLs already exists');
    const voter = (await statusOf(eps[1]!)).id;
    expect(await kvError(eps, ['member', 'promote', voter])).toBe('Error: etcdserver: can only promote a learner member');

    const added = await kvOk(eps, ['member', 'add', 'm3', '--peer-urls', peerUrl(base + 30), '--learner', '--cluster-token', token, '--data-dir', join(cluster.rootDir, 'm3')]);
    const id = idFromLine(added);
    expect(added).toMatch(new RegExp(`^Member +${id} added to cluster +[0-9a-f]+\\n`));
    expect(added).toContain('ETCD_NAME="m3"\n');
    expect(added).toContain(`ETCD_INITIAL_CLUSTER_STATE="existing"\n`);
    expect((await membersOf(eps[0]!)).find((m) => hex(m.ID) === id)?.isLearner).toBe(true);
    expect(added).toMatch(/^strake master --name m3 .*--initial-cluster \S*m3=http:\/\/127\.0\.0\.1:27030\S* --initial-cluster-state existing --cluster-token membership-27000$/m);
    const m3 = startPrinted(added, join(cluster.rootDir, 'm3.log'));
    expect(m3.endpoint).toBe(`127.0.0.1:${base + 31}`);

    // Caught up: the learner serves every key from its own state, and it got them as a snapshot.
    await eventually('the learner to hold every key', async () => ((await localCount(m3.endpoint, 'join/')) === KEYS_BEFORE_JOIN ? true : undefined), CATCH_UP_MS);
    const log = readLog(m3.logFile);
    expect(log).toContain(`joining the cluster as member ${id}`);
    expect(log).toMatch(/applied a snapshot at index \d+/);
    expect(log).not.toContain('bootstrapped');
    expect(await statusOf(m3.endpoint)).toMatchObject({ id, isLearner: true });

    expect(await kvOk(eps, ['member', 'promote', id])).toMatch(new RegExp(`^Member +${id} promoted in cluster `));
    const members = await membersOf(eps[0]!);
    expect(members.map((m) => ({ name: m.name, isLearner: m.isLearner === true })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      ['m0', 'm1', 'm2', 'm3'].map((name) => ({ name, isLearner: false })),
    );
    expect(members.find((m) => hex(m.ID) === id)?.clientURLs).toEqual([`http://${m3.endpoint}`]);
    expect(await statusOf(m3.endpoint)).toMatchObject({ isLearner: false });

    // The new voter takes writes and replicates them.
    await withEndpoints([m3.endpoint], (c) => c.put('join/after').value('promoted').exec());
    await eventually('the write through m3 on m0', async () => ((await localCount(eps[0]!, 'join/after')) === 1 ? true : undefined), CATCH_UP_MS);

    // Restarted with the same command, it is the same member (its id is in its data dir) and catches up.
    await m3.process.stop('SIGKILL');
    await withEndpoints(eps, (c) => c.put('join/while-down').value('1').exec());
    const restarted = startPrinted(added, join(cluster.rootDir, 'm3-restarted.log'));
    await eventually('the restarted member to catch up', async () => ((await localCount(restarted.endpoint, 'join/while-down')) === 1 ? true : undefined), CATCH_UP_MS);
    expect(await statusOf(restarted.endpoint)).toMatchObject({ id, isLearner: false });
    expect(readLog(restarted.logFile)).not.toContain('joining the cluster');
  }, TEST_MS);

  it('a removed follower stops on its own; its peer URL can be added again, as a new member', async () => {
    const base = 27_050;
    const { cluster, token } = await startCluster(base);
    const eps = cluster.endpoints();
    const leader = await leaderAmong(eps);
    const f = [0, 1, 2].find((i) => eps[i] !== leader.endpoint)!;
    const oldId = (await statusOf(eps[f]!)).id;

    expect(await kvOk(eps, ['member', 'remove', oldId])).toMatch(new RegExp(`^Member +${oldId} removed from cluster`));
    expect(await exitsOnItsOwn(cluster, f)).toContain('the member has been permanently removed from the cluster');
    const rest = eps.filter((_, i) => i !== f);
    expect((await membersOf(rest[0]!)).map((m) => hex(m.ID))).not.toContain(oldId);
    await putKeys(rest, 'after-remove/', 10);

    // Started before it is added, a member joining an existing cluster refuses to run.
    const spec = cluster.members[f]!;
    const restCluster = cluster.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const early = startMaster(
      ['master', '--name', spec.name, '--data-dir', join(cluster.rootDir, `${spec.name}-early`), '--listen-peer', spec.peerUrl, '--listen-client', spec.endpoint,
        '--initial-cluster', restCluster, '--initial-cluster-state', 'existing', '--cluster-token', token],
      join(cluster.rootDir, `${spec.name}-early.log`),
    );
    await eventually('the member that was not added to exit', async () => (early.process.isRunning() ? undefined : true), REMOVED_EXIT_MS);
    expect(early.process.exit).toBe('code 1');
    expect(readLog(early.logFile)).toContain(`error: no member lists peer URL ${spec.peerUrl}; add this member first: strake kv member add ${spec.name} --peer-urls ${spec.peerUrl}`);

    // Replacing a member on the same address: a fresh data dir, a new id.
    const added = await kvOk(rest, ['member', 'add', spec.name, '--peer-urls', spec.peerUrl, '--learner', '--cluster-token', token, '--data-dir', join(cluster.rootDir, `${spec.name}-again`)]);
    const newId = idFromLine(added);
    expect(newId).not.toBe(oldId);
    const again = startPrinted(added, join(cluster.rootDir, `${spec.name}-again.log`));
    await eventually('the new member to catch up', async () => ((await localCount(again.endpoint, 'after-remove/')) === 10 ? true : undefined), CATCH_UP_MS);
    await retryOnError('promote', () => kvOk(rest, ['member', 'promote', newId]), CATCH_UP_MS);
    expect((await membersOf(rest[0]!)).filter((m) => m.isLearner !== true)).toHaveLength(3);
  }, TEST_MS);

  it('removing the leader elects another, writes continue, the old leader stops; the last voter cannot be removed', async () => {
    const base = 27_100;
    const { cluster } = await startCluster(base);
    const eps = cluster.endpoints();
    const old = await leaderAmong(eps);
    const oldIndex = eps.indexOf(old.endpoint);

    expect(await kvOk(eps, ['member', 'remove', old.id])).toMatch(new RegExp(`^Member +${old.id} removed from cluster`));
    const rest = eps.filter((e) => e !== old.endpoint);
    const next = await leaderAmong(rest, old.id);
    expect(next.id).not.toBe(old.id);
    await retryOnError('a write after the leader left', () => putKeys(rest, 'after-leader/', 5), FAILOVER_MS);
    const log = await exitsOnItsOwn(cluster, oldIndex);
    expect(log).toContain('the member has been permanently removed from the cluster');
    expect(log).toContain('stopping: removed from the cluster');

    // Down to one voter; that one stays.
    const follower = rest.find((e) => e !== next.endpoint)!;
    await kvOk(rest, ['member', 'remove', (await statusOf(follower)).id]);
    await exitsOnItsOwn(cluster, eps.indexOf(follower));
    expect(await kvError([next.endpoint], ['member', 'remove', next.id])).toBe('Error: etcdserver: re-configuration failed due to not enough started members');
    await putKeys([next.endpoint], 'alone/', 3);
    expect(await localCount(next.endpoint, 'alone/')).toBe(3);
  }, TEST_MS);

  it('move-leader hands leadership to the chosen member; member update moves a member to a new peer URL', async () => {
    const base = 27_150;
    const { cluster, token } = await startCluster(base);
    const eps = cluster.endpoints();
    const leader = await leaderAmong(eps);
    const target = eps.findIndex((e) => e !== leader.endpoint);
    const targetId = (await statusOf(eps[target]!)).id;

    expect(await kvOk(eps, ['move-leader', targetId])).toBe(`Leadership transferred from ${leader.id} to ${targetId}\n`);
    expect((await leaderAmong(eps)).id).toBe(targetId);
    // etcd's answers: only the leader moves leadership, and only to a voter.
    const onFollower = await withEndpoints([leader.endpoint], (c) => c.maintenance.moveLeader({ targetID: String(BigInt(`0x${targetId}`)) })).catch((e: Error) => e.message);
    expect(onFollower).toContain('etcdserver: not leader');
    expect(await kvError(eps, ['move-leader', 'abcdef'])).toBe('Error: etcdserver: bad leader transferee');

    // Member update: a follower moves to another peer port and restarts there.
    const f = [0, 1, 2].find((i) => i !== target)!;
    const spec = cluster.members[f]!;
    const id = (await statusOf(spec.endpoint)).id;
    expect(await kvError(eps, ['member', 'update', id, '--peer-urls', cluster.members[target]!.peerUrl])).toBe('Error: etcdserver: Peer URLs already exists');
    const moved = peerUrl(base + 35);
    expect(await kvOk(eps, ['member', 'update', id, '--peer-urls', moved])).toMatch(new RegExp(`^Member +${id} updated in cluster `));
    await cluster.kill(f, 'SIGTERM');
    const initialCluster = cluster.members.map((m) => `${m.name}=${m.index === f ? moved : m.peerUrl}`).join(',');
    startMaster(
      ['master', '--name', spec.name, '--data-dir', spec.dataDir, '--listen-peer', moved, '--listen-client', spec.endpoint, '--initial-cluster', initialCluster, '--cluster-token', token],
      join(cluster.rootDir, `${spec.name}-moved.log`),
    );
    await putKeys(eps.filter((_, i) => i !== f), 'moved/', 5);
    await eventually('the moved member to get new writes', async () => ((await localCount(spec.endpoint, 'moved/')) === 5 ? true : undefined), CATCH_UP_MS);
    expect((await membersOf(eps[target]!)).find((m) => hex(m.ID) === id)?.peerURLs).toEqual([moved]);
  }, TEST_MS);

  it('the real etcdctl adds a learner, promotes it, moves leadership to it and removes it', async () => {
    const bin = findEtcdctl();
    if (bin === undefined) {
      process.stderr.write('membership.test.ts: skipping the etcdctl test: etcdctl is not on PATH (Debian package etcd-client)\n');
      return;
    }
    const base = 27_200;
    const { cluster, token } = await startCluster(base);
    const eps = cluster.endpoints();
    const ctl = async (args: readonly string[], endpoints: readonly string[] = eps): Promise<string> => {
      const r = await etcdctl(bin, endpoints.join(','), args);
      if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    const added = await ctl(['member', 'add', 'm3', `--peer-urls=${peerUrl(base + 30)}`, '--learner']);
    const id = idFromLine(added);
    expect(added).toMatch(new RegExp(`^Member +${id} added to cluster `));
    expect((await membersOf(eps[0]!)).find((m) => hex(m.ID) === id)?.isLearner).toBe(true);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added)![1]!;
    expect(initialCluster).toContain(`m3=${peerUrl(base + 30)}`);
    const dataDir = join(cluster.rootDir, 'm3');
    mkdirSync(dataDir, { recursive: true });
    const m3 = startMaster(
      ['master', '--name', 'm3', '--data-dir', dataDir, '--listen-peer', peerUrl(base + 30), '--listen-client', `127.0.0.1:${base + 31}`,
        '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing', '--cluster-token', token],
      join(cluster.rootDir, 'm3.log'),
    );
    await putKeys(eps, 'ctl/', 20);
    await eventually('the learner to catch up', async () => ((await localCount(m3.endpoint, 'ctl/')) === 20 ? true : undefined), CATCH_UP_MS);

    expect(await retryOnError('member promote', () => ctl(['member', 'promote', id]), CATCH_UP_MS)).toMatch(new RegExp(`^Member +${id} promoted in cluster `));
    const all = [...eps, m3.endpoint];
    expect(await ctl(['move-leader', id], all)).toMatch(new RegExp(`^Leadership transferred from [0-9a-f]+ to ${id}\\n$`));
    expect((await leaderAmong(all)).id).toBe(id);

    // Removing the member that leads: another leads, and the removed process stops with code 0.
    expect(await ctl(['member', 'remove', id])).toMatch(new RegExp(`^Member +${id} removed from cluster `));
    await leaderAmong(eps, id);
    await eventually('the removed leader to exit', async () => (m3.process.isRunning() ? undefined : true), REMOVED_EXIT_MS);
    expect(m3.process.exit).toBe('code 0');
    expect(readLog(m3.logFile)).toContain('the member has been permanently removed from the cluster');
    await retryOnError('a write after removing the leader', () => ctl(['put', 'ctl/after', 'yes']), FAILOVER_MS);
    expect((await membersOf(eps[0]!)).map((m) => hex(m.ID))).not.toContain(id);
  }, TEST_MS);
});
