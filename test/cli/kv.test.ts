/**
 * `strake kv` as a user runs it: a real 3-master cluster started with
 * `strake up --nodes 0`, and the built command in child processes. Output
 * formats follow etcdctl 3.4 (simple lines, -w json shapes, tables).
 * Needs a build first (`npm run build`; `npm test` does it).
 *
 * Ports: this file owns base port 31400 (31400..31422).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterPorts } from '../../cli/ports.js';
import { REPO_ROOT, STRAKE_BIN as BIN, STRAKE_RUN_TIMEOUT_MS as RUN_TIMEOUT_MS, runStrake, type RunResult } from '../support/run-strake.js';

const BUILT_KV = fileURLToPath(new URL('../../dist/cli/kv/index.js', import.meta.url));

const BASE_PORT = 31_400;
const MASTERS = 3;
/** `up` gives itself 60 s; a loopback cluster is ready in a few seconds. */
const READY_TIMEOUT_MS = 60_000;
/** `up` stops its masters within its own 10 s grace; past this the test kills them by PID. */
const STOP_TIMEOUT_MS = 15_000;

const ENDPOINTS = Array.from({ length: MASTERS }, (_, i) => masterPorts(BASE_PORT, i).kvEndpoint);


/** `strake kv --endpoints <the cluster> ...args` */
function kv(...args: string[]): Promise<RunResult> {
  return runStrake(['kv', '--endpoints', ENDPOINTS.join(','), ...args]);
}

function kvWithInput(input: string, ...args: string[]): Promise<RunResult> {
  return runStrake(['kv', '--endpoints', ENDPOINTS.join(','), ...args], { input });
}

/** Runs and insists on exit code 0, showing stderr otherwise. */
async function ok(...args: string[]): Promise<string> {
  const r = await kv(...args);
  expect(r.status, `strake kv ${args.join(' ')}\nstderr:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface JsonHeader {
  cluster_id: number;
  member_id: number;
  revision: number;
  raft_term: number;
}

async function currentRevision(): Promise<number> {
  const out = JSON.parse(await ok('get', 'no-such-key', '-w', 'json')) as { header: JsonHeader };
  return out.header.revision;
}

let up: ChildProcess | undefined;
let dataDir = '';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function waitForReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`cluster not ready within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('cluster is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`strake up exited (${signal ?? code}) before the cluster was ready\n${stderr}`));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

beforeAll(async () => {
  if (!existsSync(BUILT_KV)) throw new Error(`${BUILT_KV} is missing: run \`npm run build\` first (\`npm test\` does)`);
  const ports = Array.from({ length: MASTERS }, (_, i) => [0, 1, 2].map((d) => BASE_PORT + 10 * i + d)).flat();
  const busy = (await Promise.all(ports.map(async (p) => ((await portIsFree(p)) ? undefined : p)))).filter((p) => p !== undefined);
  if (busy.length > 0) throw new Error(`ports ${busy.join(', ')} are in use (a leftover cluster?); this file needs ${BASE_PORT}..${BASE_PORT + 22}`);
  dataDir = mkdtempSync(join(tmpdir(), 'strake-kv-test-'));
  const args = [BIN, 'up', '--nodes', '0', '--base-port', String(BASE_PORT), '--data-dir', dataDir];
  up = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForReady(up, READY_TIMEOUT_MS);
}, READY_TIMEOUT_MS + 5_000);

afterAll(async () => {
  if (up !== undefined) {
    up.kill('SIGTERM');
    if (!(await waitForExit(up, STOP_TIMEOUT_MS))) {
      killMastersByPid();
      up.kill('SIGKILL');
      await waitForExit(up, STOP_TIMEOUT_MS);
    }
  }
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
}, 2 * STOP_TIMEOUT_MS + 5_000);

function killMastersByPid(): void {
  const file = join(dataDir, 'cluster.json');
  if (!existsSync(file)) return;
  const cluster = JSON.parse(readFileSync(file, 'utf8')) as { masters: Array<{ pid: number }> };
  for (const m of cluster.masters) {
    try {
      process.kill(m.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('strake kv put / get / del', () => {
  it('put prints OK and get prints the key and the value on their own lines', async () => {
    expect(await ok('put', 'greeting', 'hello')).toBe('OK\n');
    expect(await ok('get', 'greeting')).toBe('greeting\nhello\n');
    expect(await ok('get', 'greeting', '--print-value-only')).toBe('hello\n');
  });

  it('reads the value from stdin when it is omitted', async () => {
    const r = await kvWithInput('from stdin', 'put', 'piped');
    expect(r.status, r.stderr).toBe(0);
    expect(await ok('get', 'piped', '--print-value-only')).toBe('from stdin\n');
  });

  it('-w json shows the header and each pair with its revisions and version, as etcdctl does', async () => {
    const first = JSON.parse(await ok('put', 'jk', 'v1', '-w', 'json')) as { header: JsonHeader };
    const second = JSON.parse(await ok('put', 'jk', 'v2', '-w', 'json')) as { header: JsonHeader };
    // `strake up` is a live cluster: the masters' leader-election leases may commit in between.
    expect(second.header.revision).toBeGreaterThan(first.header.revision);
    const got = JSON.parse(await ok('get', 'jk', '-w', 'json')) as {
      header: JsonHeader;
      kvs: Array<Record<string, unknown>>;
      count: number;
    };
    expect(got.header.cluster_id).toBeGreaterThan(0);
    expect(got.header.member_id).toBeGreaterThan(0);
    expect(got.header.raft_term).toBeGreaterThan(0);
    expect(got.header.revision).toBeGreaterThanOrEqual(second.header.revision);
    expect(got.count).toBe(1);
    // Zero fields (lease, more) are left out, as Go's omitempty does.
    expect(got.kvs).toEqual([
      { key: b64('jk'), create_revision: first.header.revision, mod_revision: second.header.revision, version: 2, value: b64('v2') },
    ]);
  });

  it('put --prev-kv prints the pair it replaced', async () => {
    await ok('put', 'pk', 'old');
    expect(await ok('put', 'pk', 'new', '--prev-kv')).toBe('OK\npk\nold\n');
  });

  it('get --prefix, --limit, --keys-only and --count-only select and shape the range', async () => {
    for (const k of ['a', 'b', 'c']) await ok('put', `pre/${k}`, `val-${k}`);
    expect(await ok('get', 'pre/', '--prefix')).toBe('pre/a\nval-a\npre/b\nval-b\npre/c\nval-c\n');
    const limited = JSON.parse(await ok('get', 'pre/', '--prefix', '--limit', '2', '-w', 'json')) as {
      kvs: Array<{ key: string }>;
      more: boolean;
      count: number;
    };
    expect(limited.kvs.map((kv) => kv.key)).toEqual([b64('pre/a'), b64('pre/b')]);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(3);
    expect(await ok('get', 'pre/', '--prefix', '--keys-only')).toBe('pre/a\n\npre/b\n\npre/c\n\n');
    expect(await ok('get', 'pre/', '--prefix', '--count-only')).toBe('3\n');
    expect(await ok('get', 'pre/', '--prefix', '--sort-by', 'KEY', '--order', 'DESCEND', '--keys-only')).toBe('pre/c\n\npre/b\n\npre/a\n\n');
  });

  it('get --rev reads the value as of an earlier revision', async () => {
    const before = JSON.parse(await ok('put', 'revk', 'first', '-w', 'json')) as { header: JsonHeader };
    await ok('put', 'revk', 'second');
    expect(await ok('get', 'revk', '--rev', String(before.header.revision))).toBe('revk\nfirst\n');
    expect(await ok('get', 'revk')).toBe('revk\nsecond\n');
  });

  it('del prints the number deleted and, with --prev-kv, the deleted pairs', async () => {
    await ok('put', 'dk', 'gone-soon');
    expect(await ok('del', 'dk', '--prev-kv')).toBe('1\ndk\ngone-soon\n');
    expect(await ok('get', 'dk')).toBe('');
    expect(await ok('del', 'dk')).toBe('0\n');
    for (const k of ['x', 'y']) await ok('put', `delp/${k}`, '1');
    expect(await ok('del', 'delp/', '--prefix')).toBe('2\n');
  });

  it('uses STRAKE_ENDPOINTS when --endpoints is not given', async () => {
    await ok('put', 'envk', 'envv');
    const r = await runStrake(['kv', 'get', 'envk'], { env: { STRAKE_ENDPOINTS: ENDPOINTS[1]! } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('envk\nenvv\n');
  });
});

describe('strake kv txn', () => {
  it('runs the success requests when every compare holds and prints SUCCESS and their results', async () => {
    await ok('put', 'tx/k', 'v1');
    const script = 'value("tx/k") = "v1"\nversion("tx/k") > "0"\n\nput tx/ok yes\nget tx/k\n\nput tx/failed yes\n\n';
    const r = await kvWithInput(script, 'txn');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('SUCCESS\n\nOK\n\ntx/k\nv1\n');
    expect(await ok('get', 'tx/ok', '--print-value-only')).toBe('yes\n');
    expect(await ok('get', 'tx/failed')).toBe('');
  });

  it('runs the failure requests when a compare fails and prints FAILURE and their results', async () => {
    await ok('put', 'tx/k2', 'actual');
    const script = 'value("tx/k2") = "expected"\n\nput tx/k2 overwritten\n\nput tx/k2 fallback --prev-kv\ndel tx/none\n\n';
    const r = await kvWithInput(script, 'txn');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('FAILURE\n\nOK\ntx/k2\nactual\n\n0\n');
    expect(await ok('get', 'tx/k2', '--print-value-only')).toBe('fallback\n');
  });

  it('-w json reports succeeded and each response in etcdctl\'s oneof shape', async () => {
    const r = await kvWithInput('mod("tx/k2") > "0"\n\nget tx/k2\n\n\n', 'txn', '-w', 'json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { succeeded: boolean; responses: Array<{ Response: { ResponseRange: { count: number } } }> };
    expect(out.succeeded).toBe(true);
    expect(out.responses[0]!.Response.ResponseRange.count).toBe(1);
  });

  it('rejects a malformed script with exit code 2, naming the line, and sends nothing', async () => {
    const r = await kvWithInput('value("tx/k") = "v1"\nnonsense\n\nput tx/never x\n\n', 'txn');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Error: txn input line 2: malformed comparison: nonsense');
    expect(await ok('get', 'tx/never')).toBe('');
  });
});

describe('strake kv watch', () => {
  it('prints each event as type, key and value lines and exits 0 after --max-events', async () => {
    // Watching from the next revision makes the test independent of when the watch starts.
    const from = (await currentRevision()) + 1;
    const watching = kv('watch', 'wa/', '--prefix', '--prev-kv', '--rev', String(from), '--max-events', '3');
    await ok('put', 'wa/1', 'one');
    await ok('put', 'wa/1', 'uno');
    await ok('del', 'wa/1');
    const r = await watching;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('PUT\nwa/1\none\nPUT\nwa/1\none\nwa/1\nuno\nDELETE\nwa/1\nuno\nwa/1\n\n');
  });
});

describe('strake kv lease', () => {
  it('grants a lease, shows its keys, and revoking it deletes them', async () => {
    const granted = await ok('lease', 'grant', '60');
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(granted);
    expect(m, granted).not.toBeNull();
    const id = m![1]!;
    await ok('put', 'leased/a', '1', '--lease', id);
    await ok('put', 'leased/b', '2', '--lease', id);
    expect(await ok('lease', 'timetolive', id, '--keys')).toMatch(
      new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[leased/a leased/b\\]\\)\\n$`),
    );
    expect(await ok('lease', 'list')).toContain(`\n${id}\n`);
    expect(await ok('lease', 'keep-alive', id, '--once')).toBe(`lease ${id} keepalived with TTL(60)\n`);
    expect(await ok('lease', 'revoke', id)).toBe(`lease ${id} revoked\n`);
    expect(await ok('get', 'leased/', '--prefix')).toBe('');
    expect(await ok('lease', 'timetolive', id)).toBe(`lease ${id} already expired\n`);
    const again = await kv('lease', 'revoke', id);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe('Error: failed to revoke lease (etcdserver: requested lease not found)\n');
  });
});

describe('strake kv member / endpoint / snapshot', () => {
  it('member list shows the three masters m0..m2 with their client URLs', async () => {
    const lines = (await ok('member', 'list')).trim().split('\n');
    expect(lines).toHaveLength(MASTERS);
    const rows = lines.map((l) => l.split(', '));
    expect(rows.map((r) => r[2]).sort()).toEqual(['m0', 'm1', 'm2']);
    for (const r of rows) {
      expect(r[0]).toMatch(/^[0-9a-f]+$/);
      expect(r[1]).toBe('started');
      expect(r[4]).toBe(`http://${ENDPOINTS[Number(r[2]!.slice(1))]}`);
    }
  });

  it('endpoint status has one row per endpoint and exactly one leader, in one term', async () => {
    const rows = (await ok('endpoint', 'status')).trim().split('\n').map((l) => l.split(', '));
    expect(rows.map((r) => r[0])).toEqual(ENDPOINTS);
    expect(rows.filter((r) => r[4] === 'true')).toHaveLength(1);
    expect(new Set(rows.map((r) => r[6])).size).toBe(1);
    const table = (await ok('endpoint', 'status', '-w', 'table')).trim().split('\n');
    expect(table[1]).toMatch(/^\|\s+ENDPOINT\s+\|\s+ID\s+\|\s+VERSION\s+\|\s+DB SIZE\s+\|\s+IS LEADER\s+\|/);
    expect(table.filter((l) => l.startsWith('| 127.0.0.1:'))).toHaveLength(MASTERS);
  });

  it('endpoint health reports every endpoint healthy (on stderr, like etcdctl)', async () => {
    const r = await kv('endpoint', 'health');
    expect(r.status, r.stderr).toBe(0);
    for (const ep of ENDPOINTS) expect(r.stderr).toMatch(new RegExp(`^${ep} is healthy: successfully committed proposal: took = `, 'm'));
  });

  it('snapshot save writes one member\'s snapshot and refuses several endpoints', async () => {
    const file = join(dataDir, 'kv-test.snapshot');
    const r = await runStrake(['kv', '--endpoints', ENDPOINTS[0]!, 'snapshot', 'save', file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Snapshot saved at ${file}\n`);
    expect(statSync(file).size).toBeGreaterThan(0);
    const several = await kv('snapshot', 'save', file);
    expect(several.status).toBe(2);
    expect(several.stderr).toContain('snapshot must be requested to one selected node');
  });
});

describe('strake kv errors', () => {
  it('a request the server refuses prints etcdctl\'s error on stderr and exits 1', async () => {
    const r = await kv('get', 'k', '--rev', String((await currentRevision()) + 1_000_000));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('Error: etcdserver: mvcc: required revision is a future revision\n');
  });

  it('a bad flag, a bad argument or an unsupported output format exits 2 without a request', async () => {
    for (const args of [
      ['get', 'k', '--bogus'],
      ['get', 'k', '--rev', 'soon'],
      ['get', 'k', '-w', 'table'],
      ['get', 'k', '--prefix', '--from-key'],
      ['put', 'k', 'v', '--lease', 'not-hex'],
      ['lease', 'revoke', 'xyz'],
    ]) {
      const r = await kv(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.length).toBeGreaterThan(0);
      expect(r.stdout).toBe('');
    }
  });

  it('no reachable endpoint fails within the dial timeout with exit code 1', async () => {
    const started = Date.now();
    const r = await runStrake(['kv', '--endpoints', '127.0.0.1:1', '--dial-timeout', '500', 'get', 'k']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: context deadline exceeded/);
    expect(Date.now() - started).toBeLessThan(RUN_TIMEOUT_MS);
  });

  it('compact discards old revisions: reading below it fails with etcdctl\'s compacted error', async () => {
    const old = JSON.parse(await ok('put', 'ck', 'old', '-w', 'json')) as { header: JsonHeader };
    await ok('put', 'ck', 'new');
    const now = await currentRevision();
    expect(await ok('compact', String(now))).toBe(`compacted revision ${now}\n`);
    const r = await kv('get', 'ck', '--rev', String(old.header.revision));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('Error: etcdserver: mvcc: required revision has been compacted\n');
  });
});
