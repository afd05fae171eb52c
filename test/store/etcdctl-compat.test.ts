/**
 * The real etcdctl 3.4 against two clusters side by side: three `strake master`
 * processes and three real `etcd` processes, on loopback, each fresh. Every
 * step runs the same command on both and compares what etcdctl prints. Both
 * clusters start at revision 1 (readiness is probed with reads, not writes) and
 * take the same writes in the same order, so revisions must match exactly.
 *
 * Ports: strake 32600-32629, etcd 32700-32729 (test/README.md). Skipped, with
 * the reason printed, when etcdctl or etcd is not installed (Debian packages
 * etcd-client and etcd-server; CI installs them). Needs a build (`npm run build`).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKind, eventually, findOnPath, ProcessCluster, ReadyProbe } from '../support/process-cluster.js';
import { etcdctl, findEtcdctl, rawClients, startEtcdctl, unary, type EtcdctlResult } from './etcd-harness.js';

const ETCDCTL = findEtcdctl();
const ETCD = findOnPath('etcd');
const missing = [ETCDCTL === undefined ? 'etcdctl' : '', ETCD === undefined ? 'etcd' : ''].filter((s) => s !== '');
if (missing.length > 0) {
  process.stderr.write(`etcdctl-compat: skipped: ${missing.join(' and ')} not on PATH (Debian packages etcd-client, etcd-server)\n`);
}

/** Bound on one test; a step is a few etcdctl runs of ~50 ms each. */
const STEP_TEST_MS = 20_000;
/** Bound on a watch delivering what it was asked for. */
const WATCH_WAIT_MS = 10_000;
/** Starting both clusters: two elections, and node's start-up three times over, on a loaded machine. */
const START_HOOK_MS = 60_000;
const LEASE_TTL_S = 60;

interface Side {
  readonly kind: ClusterKind;
  readonly cluster: ProcessCluster;
  /** --endpoints for etcdctl: all three members. */
  readonly endpoints: string;
}

let strake: Side;
let etcd: Side;
let anyFailed = false;
/** Per side, each member's first MemberList answer, as its members' names → client URLs. */
const firstMemberLists = new Map<ClusterKind, Array<Map<string, string[]>>>();

/** Bound on a member answering its first call after its process starts. */
const FIRST_ANSWER_MS = 30_000;
/** Poll interval for that first answer: short, to see what a client connecting at once would see. */
const FIRST_ANSWER_POLL_MS = 20;

/**
 * The first MemberList answer of the member at `endpoint`, polled from before it
 * listens. A fresh client per attempt: gRPC's reconnect backoff would otherwise
 * delay the first call by up to seconds.
 */
async function firstMemberList(endpoint: string): Promise<Map<string, string[]>> {
  const res = await eventually(`a MemberList answer from ${endpoint}`, async () => {
    const raw = rawClients(endpoint);
    try {
      return await unary(raw.cluster, 'MemberList', {}, FIRST_ANSWER_POLL_MS * 10);
    } finally {
      raw.close();
    }
  }, FIRST_ANSWER_MS, FIRST_ANSWER_POLL_MS);
  return new Map((res['members'] as Json[]).map((m) => [String(m['name']), (m['clientURLs'] as string[]).slice()]));
}

/** Runs the same etcdctl command against both clusters, concurrently. */
async function both(args: readonly string[], stdin?: string): Promise<{ strake: EtcdctlResult; etcd: EtcdctlResult }> {
  const [s, e] = await Promise.all([run(strake, args, stdin), run(etcd, args, stdin)]);
  return { strake: s, etcd: e };
}

function run(side: Side, args: readonly string[], stdin?: string, endpoints = side.endpoints): Promise<EtcdctlResult> {
  return etcdctl(ETCDCTL!, endpoints, args, stdin);
}

/** The same stdout from both, and a zero exit code; returns it. */
async function sameOutput(args: readonly string[], stdin?: string): Promise<string> {
  const r = await both(args, stdin);
  expect(r.strake.code, `strake: etcdctl ${args.join(' ')}: ${r.strake.stderr}`).toBe(0);
  expect(r.etcd.code, `etcd: etcdctl ${args.join(' ')}: ${r.etcd.stderr}`).toBe(0);
  expect(r.strake.stdout, `etcdctl ${args.join(' ')}`).toBe(r.etcd.stdout);
  return r.strake.stdout;
}

type Json = Record<string, any>;

/** etcdctl's JSON, with integers of 16+ digits (member and cluster ids) kept exact as strings. */
function json(text: string): Json {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"')) as Json;
}

async function bothJson(args: readonly string[], stdin?: string): Promise<{ strake: Json; etcd: Json }> {
  const r = await both([...args, '-w', 'json'], stdin);
  for (const [name, res] of [['strake', r.strake], ['etcd', r.etcd]] as const) {
    expect(res.code, `${name}: etcdctl ${args.join(' ')}: ${res.stderr}`).toBe(0);
  }
  return { strake: json(r.strake.stdout), etcd: json(r.etcd.stdout) };
}

/** header.revision of an etcdctl JSON response. */
const revisionOf = (res: Json): number => Number(res['header']['revision']);

beforeAll(async () => {
  if (missing.length > 0) return;
  // Settled one by one, so that afterAll stops whichever cluster did start.
  const [s, e] = await Promise.allSettled([
    ProcessCluster.start({ kind: ClusterKind.Strake, basePort: 32_600 }),
    ProcessCluster.start({ kind: ClusterKind.Etcd, basePort: 32_700 }),
  ]);
  if (s.status === 'fulfilled') strake = { kind: ClusterKind.Strake, cluster: s.value, endpoints: s.value.endpoints().join(',') };
  if (e.status === 'fulfilled') etcd = { kind: ClusterKind.Etcd, cluster: e.value, endpoints: e.value.endpoints().join(',') };
  if (s.status === 'rejected') throw s.reason;
  if (e.status === 'rejected') throw e.reason;
  try {
    const [sFirst, eFirst] = await Promise.all([
      Promise.all(strake.cluster.endpoints().map(firstMemberList)),
      Promise.all(etcd.cluster.endpoints().map(firstMemberList)),
    ]);
    firstMemberLists.set(ClusterKind.Strake, sFirst).set(ClusterKind.Etcd, eFirst);
    await Promise.all([strake.cluster.waitReady({ probe: ReadyProbe.Read }), etcd.cluster.waitReady({ probe: ReadyProbe.Read })]);
  } catch (err) {
    anyFailed = true;
    process.stderr.write(`\netcdctl-compat: the clusters did not start; member logs\n${strake.cluster.logTails()}\n${etcd.cluster.logTails()}\n`);
    throw err;
  }
}, START_HOOK_MS);

afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail' || missing.length > 0) return;
  anyFailed = true;
  process.stderr.write(`\n${ctx.task.name}: member logs\n${strake.cluster.logTails()}\n${etcd.cluster.logTails()}\n`);
});

afterAll(async () => {
  const sides = [strake, etcd].filter((s): s is Side => s !== undefined);
  await Promise.all(sides.map((s) => s.cluster.stopAll()));
  for (const s of sides) {
    if (anyFailed) process.stderr.write(`etcdctl-compat: ${s.kind} data kept in ${s.cluster.rootDir}\n`);
    else s.cluster.removeData();
  }
}, START_HOOK_MS);

describe.skipIf(missing.length > 0)('etcdctl 3.4 against strake and etcd, side by side', () => {
  it('both clusters start at revision 1', async () => {
    const r = await bothJson(['get', 'nothing']);
    expect([revisionOf(r.strake), revisionOf(r.etcd)]).toEqual([1, 1]);
  }, STEP_TEST_MS);

  it('put, put --prev-kv and get -w json print the same, down to revisions and versions', async () => {
    expect(await sameOutput(['put', 'k', 'v'])).toBe('OK\n');
    expect(await sameOutput(['put', 'k', 'v2', '--prev-kv'])).toBe('OK\nk\nv\n');
    const r = await bothJson(['get', 'k']);
    expect(r.strake['kvs']).toEqual(r.etcd['kvs']);
    expect(r.strake['kvs']).toEqual([{ key: 'aw==', create_revision: 2, mod_revision: 3, version: 2, value: 'djI=' }]);
    expect(r.strake['count']).toBe(r.etcd['count']);
    expect(revisionOf(r.strake)).toBe(revisionOf(r.etcd));
  }, STEP_TEST_MS);

  it('get --prefix with --limit and --sort-by, a backwards range and a negative limit', async () => {
    for (const x of ['a', 'b', 'c', 'd', 'e']) await sameOutput(['put', `p/${x}`, x]);
    const args = ['get', 'p/', '--prefix', '--limit', '3', '--sort-by', 'MODIFY', '--order', 'DESCEND'];
    expect(await sameOutput(args)).toBe('p/e\ne\np/d\nd\np/c\nc\n');
    const r = await bothJson(args);
    for (const field of ['kvs', 'more', 'count']) expect(r.strake[field], field).toEqual(r.etcd[field]);
    expect([r.strake['more'], r.strake['count']]).toEqual([true, 5]);
    expect(revisionOf(r.strake)).toBe(revisionOf(r.etcd));
    expect(await sameOutput(['get', 'p/', '--prefix', '--sort-by', 'VALUE', '--order', 'ASCEND', '--keys-only', '--limit', '2'])).toBe('p/a\n\np/b\n\n');
    // A range end below the key is an empty range, and a negative limit no limit: etcd errs on neither.
    expect(await sameOutput(['get', 'p/e', 'p/a'])).toBe('');
    expect(await sameOutput(['get', 'p/', '--prefix', '--keys-only', '--limit=-1'])).toBe('p/a\n\np/b\n\np/c\n\np/d\n\np/e\n\n');
  }, STEP_TEST_MS);

  it('get --rev reads an older version, and a future revision fails the same way', async () => {
    expect(await sameOutput(['get', 'k', '--rev', '2'])).toBe('k\nv\n');
    const future = await both(['get', 'k', '--rev', '1000']);
    for (const res of [future.strake, future.etcd]) {
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('Error: etcdserver: mvcc: required revision is a future revision');
    }
  }, STEP_TEST_MS);

  it('del --prev-kv prints the count and the deleted pair', async () => {
    expect(await sameOutput(['del', 'k', '--prev-kv'])).toBe('1\nk\nv2\n');
    expect(await sameOutput(['get', 'k'])).toBe('');
  }, STEP_TEST_MS);

  it('txn takes the failure branch, then the success branch', async () => {
    const txn = (want: string, put: string): string => `value("t") = "${want}"\n\nput t ${put}\n\nput t failed-${put}\n\n`;
    expect(await sameOutput(['txn'], txn('1', 'first'))).toBe('FAILURE\n\nOK\n');
    expect(await sameOutput(['get', 't'])).toBe('t\nfailed-first\n');
    const r = await bothJson(['txn'], txn('failed-first', 'second'));
    expect([r.strake['succeeded'], r.etcd['succeeded']]).toEqual([true, true]);
    expect(revisionOf(r.strake)).toBe(revisionOf(r.etcd));
    // Only the revision is compared inside: etcd leaves the other header fields of nested responses empty.
    const inner = (res: Json): unknown => (res['responses'] as Json[]).map((op) => Object.keys(op['Response']).map((k) => [k, op['Response'][k]['header']['revision']]));
    expect(inner(r.strake)).toEqual(inner(r.etcd));
    expect(await sameOutput(['get', 't'])).toBe('t\nsecond\n');
  }, STEP_TEST_MS);

  it('watch --rev replays history and then follows new events', async () => {
    const first = await bothJson(['put', 'w/1', 'a']);
    expect(revisionOf(first.strake)).toBe(revisionOf(first.etcd));
    await sameOutput(['put', 'w/2', 'b']);
    await sameOutput(['del', 'w/1']);
    const args = ['watch', 'w/', '--prefix', '--rev', String(revisionOf(first.strake))];
    const watches = [strake, etcd].map((side) => startEtcdctl(ETCDCTL!, side.endpoints, args));
    try {
      await sameOutput(['put', 'w/3', 'c']);
      const expected = 'PUT\nw/1\na\nPUT\nw/2\nb\nDELETE\nw/1\n\nPUT\nw/3\nc\n';
      const outputs = await eventually('both watches to print four events', async () => {
        const out = watches.map((w) => w.output());
        return out.every((o) => o.includes('w/3\nc\n')) ? out : undefined;
      }, WATCH_WAIT_MS);
      expect(outputs[0]).toBe(outputs[1]);
      expect(outputs[0]).toBe(expected);
    } finally {
      for (const w of watches) w.stop();
    }
  }, STEP_TEST_MS);

  it('lease grant, timetolive --keys, keep-alive --once and revoke', async () => {
    const granted = await both(['lease', 'grant', String(LEASE_TTL_S)]);
    const idOf = (res: EtcdctlResult): string => {
      const m = /^lease ([0-9a-f]{16}) granted with TTL\((\d+)s\)\n$/.exec(res.stdout);
      expect(m, res.stdout + res.stderr).not.toBeNull();
      expect(m![2]).toBe(String(LEASE_TTL_S));
      return m![1]!;
    };
    const ids = { strake: idOf(granted.strake), etcd: idOf(granted.etcd) };
    const onBoth = async (argsOf: (id: string) => string[]): Promise<{ strake: EtcdctlResult; etcd: EtcdctlResult }> => {
      const [s, e] = await Promise.all([run(strake, argsOf(ids.strake)), run(etcd, argsOf(ids.etcd))]);
      return { strake: s, etcd: e };
    };
    /** Output with the lease id and the seconds remaining (which tick independently) masked. */
    const masked = (res: EtcdctlResult, id: string): string => res.stdout.replaceAll(id, '<id>').replace(/remaining\((\d+)s\)/, (_m, s: string) => `remaining(${Number(s) >= LEASE_TTL_S - 5 ? 'ok' : s}s)`);
    const same = (r: { strake: EtcdctlResult; etcd: EtcdctlResult }): string => {
      expect(r.strake.code, r.strake.stderr).toBe(0);
      expect(r.etcd.code, r.etcd.stderr).toBe(0);
      expect(masked(r.strake, ids.strake)).toBe(masked(r.etcd, ids.etcd));
      return masked(r.strake, ids.strake);
    };
    expect(same(await onBoth((id) => ['put', 'lk', 'lv', `--lease=${id}`]))).toBe('OK\n');
    expect(same(await onBoth((id) => ['lease', 'timetolive', id, '--keys']))).toBe('lease <id> granted with TTL(60s), remaining(oks), attached keys([lk])\n');
    expect(same(await onBoth((id) => ['lease', 'keep-alive', '--once', id]))).toBe('lease <id> keepalived with TTL(60)\n');
    expect(same(await onBoth((id) => ['lease', 'revoke', id]))).toBe('lease <id> revoked\n');
    expect(same(await onBoth((id) => ['lease', 'timetolive', id]))).toBe('lease <id> already expired\n');
    // Revoking deleted the attached key, at the same revision on both.
    expect(await sameOutput(['get', 'lk'])).toBe('');
    const r = await bothJson(['get', 'lk']);
    expect(revisionOf(r.strake)).toBe(revisionOf(r.etcd));
  }, STEP_TEST_MS);

  it("a member's first answer already lists its own client URL (etcd serves clients only after publishing it)", () => {
    // etcd first, so that a failure on strake is known not to come from the check itself.
    for (const side of [etcd, strake]) {
      const first = firstMemberLists.get(side.kind)!;
      for (const m of side.cluster.members) {
        const seen = first[m.index]!;
        expect.soft(seen.get(m.name), `${side.kind}: ${m.name}'s first MemberList: ${JSON.stringify([...seen])}`).toEqual([`http://${m.endpoint}`]);
      }
    }
  });

  it('member list -w json names three members with their peer and client URLs', async () => {
    const r = await bothJson(['member', 'list']);
    for (const side of [strake, etcd]) {
      const res = side === strake ? r.strake : r.etcd;
      const members = (res['members'] as Json[]).map((m) => ({ name: m['name'], peerURLs: m['peerURLs'], clientURLs: m['clientURLs'] }));
      const want = side.cluster.members.map((m) => ({ name: m.name, peerURLs: [m.peerUrl], clientURLs: [`http://${m.endpoint}`] }));
      const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
      expect(members.sort(byName), side.kind).toEqual(want.sort(byName));
      const ids = (res['members'] as Json[]).map((m) => String(m['ID']));
      expect(new Set(ids).size, side.kind).toBe(3);
      expect(ids, side.kind).toContain(String(res['header']['member_id']));
    }
    const keys = (res: Json): string[] => Object.keys((res['members'] as Json[])[0]!).sort();
    expect(keys(r.strake)).toEqual(keys(r.etcd));
  }, STEP_TEST_MS);

  it('endpoint status -w json: one leader that all agree on, raft term and index, the same revision', async () => {
    const r = await bothJson(['endpoint', 'status']);
    const revisions: number[] = [];
    for (const side of [strake, etcd]) {
      const res = (side === strake ? r.strake : r.etcd) as unknown as Json[];
      expect(res.map((e) => e['Endpoint']).sort(), side.kind).toEqual(side.cluster.endpoints().sort());
      const memberIds = res.map((e) => String(e['Status']['header']['member_id']));
      const leaders = new Set(res.map((e) => String(e['Status']['leader'])));
      expect(leaders.size, `${side.kind}: leaders ${[...leaders].join(', ')}`).toBe(1);
      expect(memberIds, side.kind).toContain([...leaders][0]);
      for (const e of res) {
        expect(Number(e['Status']['raftTerm']), side.kind).toBeGreaterThanOrEqual(2);
        expect(Number(e['Status']['raftIndex']), side.kind).toBeGreaterThan(0);
        revisions.push(Number(e['Status']['header']['revision']));
      }
    }
    expect(new Set(revisions).size, `revisions ${revisions.join(', ')}`).toBe(1);
    const fields = (res: Json): string[] => Object.keys((res as unknown as Json[])[0]!['Status']).sort();
    expect(fields(r.strake)).toEqual(expect.arrayContaining(fields(r.etcd)));
  }, STEP_TEST_MS);

  it('endpoint health reports every member healthy', async () => {
    const r = await both(['endpoint', 'health']);
    for (const side of [strake, etcd]) {
      const res = side === strake ? r.strake : r.etcd;
      expect(res.code, `${side.kind}: ${res.stdout}${res.stderr}`).toBe(0);
      // etcdctl prints health to stderr in 3.4.
      const lines = (res.stdout + res.stderr).split('\n').filter((l) => /is (un)?healthy/.test(l));
      const healthy = lines.map((l) => /^(\S+) is healthy: successfully committed proposal: took = /.exec(l)?.[1]);
      expect(healthy.sort(), `${side.kind}: ${lines.join(' | ')}`).toEqual(side.cluster.endpoints().sort());
    }
  }, STEP_TEST_MS);

  it('snapshot save writes a file and reports success', async () => {
    for (const side of [strake, etcd]) {
      const file = join(side.cluster.rootDir, 'saved.db');
      const res = await run(side, ['snapshot', 'save', file], undefined, side.cluster.endpoint(0));
      expect(res.code, `${side.kind}: ${res.stderr}`).toBe(0);
      expect(res.stdout, side.kind).toBe(`Snapshot saved at ${file}\n`);
      expect(existsSync(file) && statSync(file).size > 0, side.kind).toBe(true);
    }
  }, STEP_TEST_MS);

  it('compaction, then get --rev and watch --rev below it fail with "required revision has been compacted"', async () => {
    const at = revisionOf((await bothJson(['get', 'p/a'])).strake) - 2;
    expect(await sameOutput(['compaction', String(at)])).toBe(`compacted revision ${at}\n`);
    const get = await both(['get', 'p/a', '--rev', String(at - 1)]);
    const watch = await both(['watch', 'p/', '--prefix', '--rev', String(at - 1)]);
    for (const [what, res] of [['get strake', get.strake], ['get etcd', get.etcd], ['watch strake', watch.strake], ['watch etcd', watch.etcd]] as const) {
      expect(res.code, what).not.toBe(0);
      expect(res.stdout + res.stderr, what).toContain('required revision has been compacted');
    }
    expect(watch.strake.stdout).toBe(watch.etcd.stdout);
    // At the compacted revision itself, the read still works.
    expect(await sameOutput(['get', 'p/a', '--rev', String(at)])).toBe('p/a\na\n');
  }, STEP_TEST_MS);

  it('both clusters end at the same revision', async () => {
    const r = await bothJson(['get', 'nothing']);
    expect(revisionOf(r.strake)).toBe(revisionOf(r.etcd));
  }, STEP_TEST_MS);
});
