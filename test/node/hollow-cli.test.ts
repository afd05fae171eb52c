/**
 * `strake node` as a user runs it: the built command (run `npm run build`
 * first; `npm test` does) in a child process. Flag handling needs no
 * cluster; one run goes against a real `strake master` on loopback, with the
 * CA and kubeconfig `strake up` makes, to show hollow nodes registering over
 * HTTPS, reporting a pod and stopping cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources } from '../../control-plane/client/api-client.js';
import { HttpApiClient } from '../../control-plane/client/http-client.js';
import { writeKubeconfig } from '../../cli/credentials.js';
import { parseKubeconfig, parseServers } from '../../cli/node.js';
import { ensurePki } from '../../cli/pki.js';
import type { Lease } from '../../proto/k8s/coordination-v1.js';
import type { Node, Pod } from '../../proto/k8s/core-v1.js';
import { eventually } from '../support/process-cluster.js';
import { REPO_ROOT, STRAKE_BIN, runStrake } from '../support/run-strake.js';

const BUILT_NODE = fileURLToPath(new URL('../../dist/cli/node.js', import.meta.url));
/** Ports of the one master this suite starts: peer, etcd client, HTTP API (clear of the other suites' ranges). */
const BASE_PORT = 28_700;
const TOKEN = 'hollow-cli-test-token';
/** A master's first election and API start, on a loaded two-core machine. */
const MASTER_READY_MS = 60_000;
/** Registration, a pod report, a deletion: each about a second on loopback; generous for a loaded machine. */
const STEP_MS = 30_000;

beforeAll(() => {
  if (!existsSync(BUILT_NODE)) throw new Error(`${BUILT_NODE} is missing: run \`npm run build\` first (\`npm test\` does)`);
});

describe('strake node: flags', () => {
  it('without --hollow, an unreadable kubeconfig exits 2 and names the file', async () => {
    const r = await runStrake(['node', '--name', 'n', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot read kubeconfig /nonexistent/kubeconfig');
    expect(r.stdout).toBe('');
  });

  it('refuses an --isolation other than runc or process', async () => {
    const r = await runStrake(['node', '--name', 'n', '--kubeconfig', '/nonexistent/kubeconfig', '--isolation', 'vm']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('expected runc or process');
  });

  it('with --hollow and an unreadable kubeconfig exits 2 and names the file', async () => {
    const r = await runStrake(['node', '--name', 'n', '--kubeconfig', '/nonexistent/kubeconfig', '--hollow', '--count', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot read kubeconfig /nonexistent/kubeconfig');
  });

  it('refuses a --count outside 1..5000 and a name that is not a DNS subdomain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strake-node-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, toYaml({ clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }], users: [{ name: 'u', user: { token: 't' } }] }));
      const zero = await runStrake(['node', '--name', 'n', '--kubeconfig', kubeconfig, '--hollow', '--count', '0']);
      expect(zero.status).not.toBe(0);
      expect(zero.stderr).toContain('--count must be between 1 and 5000, got 0');
      const badName = await runStrake(['node', '--name', 'Bad_Name', '--kubeconfig', kubeconfig, '--hollow']);
      expect(badName.status).toBe(2);
      expect(badName.stderr).toContain('node name "Bad_Name-0" is not a valid DNS subdomain');
      const badServer = await runStrake(['node', '--name', 'n', '--kubeconfig', kubeconfig, '--hollow', '--server', 'ftp://x']);
      expect(badServer.status).toBe(2);
      expect(badServer.stderr).toContain('--server: "ftp://x" is neither http:// nor https://');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kubeconfig', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const caData = Buffer.from(ca).toString('base64');
  /** The shape `strake up` writes: one cluster per master, all trusting the cluster CA. */
  const strakeUp = toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: ['m0', 'm1', 'm2'].map((m, i) => ({ name: `strake-${m}`, cluster: { server: `https://127.0.0.1:2400${i}`, 'certificate-authority-data': caData } })).concat([
      { name: 'elsewhere', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from('other').toString('base64') } },
    ]),
    contexts: [
      { name: 'strake', context: { cluster: 'strake-m1', user: 'strake-admin' } },
      { name: 'strake-m0', context: { cluster: 'strake-m0', user: 'strake-admin' } },
    ],
    'current-context': 'strake',
    users: [{ name: 'strake-admin', user: { token: 'secret' } }],
  });
  const noFiles = { path: 'kc', readFile: (p: string): string => { throw new Error(`unexpected read of ${p}`); } };

  it('takes the token and CA of the current context, its server first, then the other masters trusting the same CA', () => {
    expect(parseKubeconfig(strakeUp, noFiles)).toEqual({
      servers: ['https://127.0.0.1:24001', 'https://127.0.0.1:24000', 'https://127.0.0.1:24002'],
      token: 'secret',
      caPem: ca,
    });
  });

  it('reads certificate-authority and tokenFile references', () => {
    const text = toYaml({
      clusters: [{ name: 'c', cluster: { server: 'https://a:1', 'certificate-authority': 'ca.pem' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
      users: [{ name: 'u', user: { tokenFile: 'token' } }],
    });
    const files: Record<string, string> = { 'ca.pem': ca, token: 'from-file\n' };
    expect(parseKubeconfig(text, { path: 'kc', readFile: (p) => files[p] ?? '' })).toEqual({ servers: ['https://a:1'], token: 'from-file', caPem: ca });
  });

  it('names a current-context that is missing, and YAML that does not parse', () => {
    expect(() => parseKubeconfig(toYaml({ 'current-context': 'gone', contexts: [] }), noFiles)).toThrow('kubeconfig kc: current-context "gone" is not among its contexts');
    expect(() => parseKubeconfig('a: [', noFiles)).toThrow(/kubeconfig kc is not YAML/);
  });

  it('splits --server lists and checks each URL', () => {
    expect(parseServers('http://a:1, https://b:2,')).toEqual(['http://a:1', 'https://b:2']);
    expect(() => parseServers('nope')).toThrow('--server: "nope" is not a URL');
    expect(() => parseServers(',')).toThrow('--server names no URL');
  });
});

interface Child {
  readonly proc: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function startStrake(args: readonly string[]): Child {
  const proc = spawn(process.execPath, [STRAKE_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => output, exited };
}

async function stopChild(c: Child | undefined, timeoutMs: number): Promise<number | null | 'timeout'> {
  if (c === undefined || c.proc.exitCode !== null) return c?.proc.exitCode ?? null;
  c.proc.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
  const result = await Promise.race([c.exited, timer]);
  if (result === 'timeout') c.proc.kill('SIGKILL');
  return result;
}

describe('strake node --hollow against a real master', () => {
  let dir: string;
  let master: Child | undefined;
  let node: Child | undefined;
  let client: HttpApiClient;
  const apiUrl = `http://127.0.0.1:${BASE_PORT + 2}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strake-hollow-'));
    writeFileSync(join(dir, 'tokens.csv'), `${TOKEN},admin,admin,"system:masters"\n`);
    // As `strake up` does: a cluster CA and serving certificate, and a kubeconfig with an https:// server trusting the CA.
    const pki = await ensurePki(dir);
    await writeKubeconfig(join(dir, 'kubeconfig'), [{ name: 'm0', apiUrl }], TOKEN, pki.caPem);
    master = startStrake([
      'master', '--name', 'm0', '--data-dir', join(dir, 'm0'),
      '--listen-peer', `http://127.0.0.1:${BASE_PORT}`, '--listen-client', `127.0.0.1:${BASE_PORT + 1}`, '--listen-api', apiUrl,
      '--token-auth-file', join(dir, 'tokens.csv'), '--tls-cert-file', pki.servingCertFile, '--tls-private-key-file', pki.servingKeyFile,
    ]);
    client = new HttpApiClient({ servers: [apiUrl], token: TOKEN, requestTimeoutMs: 2_000 });
    await eventually('the master’s API to serve namespaces', async () => ((await client.get(Resources.Namespaces, undefined, 'kube-node-lease')) ? true : undefined), MASTER_READY_MS).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nmaster output:\n${master?.output()}`);
    });
  }, MASTER_READY_MS + 10_000);

  afterAll(async () => {
    await stopChild(node, 10_000);
    await stopChild(master, 10_000);
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers Ready nodes with leases, runs a bound pod, deletes it on a graceful delete, and stops on SIGTERM leaving the nodes', async () => {
    // No --server: the kubeconfig's https:// server, its CA and its token.
    node = startStrake(['node', '--name', 'hc', '--kubeconfig', join(dir, 'kubeconfig'), '--hollow', '--count', '3']);
    const failWith = (err: unknown): never => {
      throw new Error(`${(err as Error).message}\nnode output:\n${node?.output()}`);
    };

    const nodes = await eventually('3 Ready hollow nodes', async () => {
      const list = await client.list<Node>(Resources.Nodes, undefined, { labelSelector: 'node.kubernetes.io/hollow=true' });
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 3 ? ready : undefined;
    }, STEP_MS).catch(failWith);
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['hc-0', 'hc-1', 'hc-2']);
    const lease = await eventually('the lease of hc-1', () => client.get<Lease>(Resources.Leases, 'kube-node-lease', 'hc-1'), STEP_MS).catch(failWith);
    expect(lease.spec).toMatchObject({ holderIdentity: 'hc-1', leaseDurationSeconds: 40 });
    await eventually('the registration log line', async () => (/registered 3 hollow node\(s\) \(hc-0 … hc-2\)/.test(node!.output()) ? true : undefined), STEP_MS).catch(failWith);

    const created = await client.create<Pod>(Resources.Pods, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hollow-web' },
      spec: { nodeName: 'hc-1', containers: [{ name: 'web', image: 'busybox:1.36' }] },
    });
    const runningPod = await eventually('the pod Running and Ready', async () => {
      const p = await client.get<Pod>(Resources.Pods, 'default', 'hollow-web');
      return p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, STEP_MS).catch(failWith);
    expect(runningPod.status?.hostIP).toBe('198.18.0.2');
    expect(runningPod.status?.containerStatuses?.[0]).toMatchObject({ ready: true, containerID: `hollow://${created.metadata.uid}-web` });

    // A graceful delete only marks a pod that runs on a node; its node agent deletes it for good.
    await client.delete(Resources.Pods, 'default', 'hollow-web');
    await eventually('the pod gone', async () => {
      try {
        await client.get(Resources.Pods, 'default', 'hollow-web');
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    }, STEP_MS).catch(failWith);

    expect(await stopChild(node, 20_000)).toBe(0);
    expect(node.output()).toMatch(/received SIGTERM; stopping/);
    const after = await client.list<Node>(Resources.Nodes, undefined, { labelSelector: 'node.kubernetes.io/hollow=true' });
    expect(after.items).toHaveLength(3);
  }, MASTER_READY_MS + 6 * STEP_MS);
});
