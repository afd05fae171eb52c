/**
 * pods/log and pods/exec end to end: an in-process API server (one embedded
 * strake member, 29410/29411) listening on 127.0.0.1:29402 (HTTPS and HTTP on
 * one port), a node server on 127.0.0.1:29401 over a fake NodeServerPods that
 * serves real CRI log files and runs exec commands as host processes, and a
 * Node object pointing at it. Checked through raw HTTP and with the real
 * kubectl: the preinstalled one (WebSocket exec) and kubectl 1.20 (SPDY
 * only: its exec gets a clear refusal).
 */
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki } from '../../../cli/pki.js';
import { writeKubeconfig } from '../../../cli/credentials.js';
import { listenApi, type ApiListener } from '../../../control-plane/api/listener.js';
import { formatCriLogLine } from '../../../node/agent/logs/cri-log-line.js';
import { startNodeServer, type ExecResult, type NodeContainer, type NodeServerPods, type RunningNodeServer } from '../../../node/agent/server/node-server.js';
import { embeddedBackendFactory, type BackendFactory } from '../../support/kv-backends.js';
import { findOnPath } from '../../support/process-cluster.js';
import { ADMIN_TOKEN, ApiHarness, BOB_TOKEN } from './harness.js';

const HOST = '127.0.0.1';
const NODE_PORT = 29_401;
const API_PORT = 29_402;
const STORE_BASE_PORT = 29_410;
const NODE = 'log-exec-node';
const NS = 'default';
/** One kubectl command: discovery plus a request or two, on a loaded machine. */
const KUBECTL_MS = 30_000;
const RBAC = '/apis/rbac.authorization.k8s.io/v1';

let factory: BackendFactory;
let h: ApiHarness;
let listener: ApiListener | undefined;
let node: RunningNodeServer | undefined;
let work: string;
let kubeconfig: string;
let failed = false;

const containers = new Map<string, NodeContainer>();
/** findContainer calls per pod: a follower asks about its container while it follows. */
const lookups = new Map<string, number>();

const pods: NodeServerPods = {
  async findContainer(namespace, pod, container, previous) {
    lookups.set(pod, (lookups.get(pod) ?? 0) + 1);
    return previous ? undefined : containers.get(`${namespace}/${pod}/${container ?? ''}`);
  },
  // The fake runtime runs the command on the host: enough to carry output and exit codes through the protocol.
  execSync(_id, cmd, timeoutMs): Promise<ExecResult> {
    return new Promise((resolve) => {
      execFile(cmd[0]!, cmd.slice(1), { timeout: timeoutMs, encoding: 'buffer' }, (err, stdout, stderr) => {
        const exitCode = err === null ? 0 : typeof err.code === 'number' ? err.code : 127;
        resolve({ stdout, stderr, exitCode });
      });
    });
  },
};

const line = (n: number, text: string, stream: 'stdout' | 'stderr' = 'stdout'): Buffer =>
  formatCriLogLine({ time: new Date(Date.parse('2024-05-01T10:00:00Z') + n * 1000), stream, content: text });

function logFor(pod: string, container: string, ...lines: Buffer[]): string {
  const path = join(work, `${pod}-${container}.log`);
  writeFileSync(path, Buffer.concat(lines));
  containers.set(`${NS}/${pod}/${container}`, { containerId: `cid-${pod}-${container}`, logPath: path, running: true });
  return path;
}

async function ok(method: string, url: string, body?: unknown, contentType?: string): Promise<any> {
  const r = await h.req(method, url, body, contentType === undefined ? {} : { contentType });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
  return r.body;
}

async function createPod(name: string, containerNames: string[], bind = true): Promise<void> {
  const spec = { containers: containerNames.map((c) => ({ name: c, image: 'busybox:1.36' })) };
  await ok('POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec });
  if (bind) await ok('POST', `/api/v1/namespaces/${NS}/pods/${name}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: NODE } });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strake-pod-log-exec-'));
  factory = embeddedBackendFactory(STORE_BASE_PORT);
  h = await ApiHarness.start(await factory.start());
  const pki = await ensurePki(work);
  listener = await listenApi(h.api.app, { host: HOST, port: API_PORT, tls: { cert: readFileSync(pki.servingCertFile), key: readFileSync(pki.servingKeyFile) } });
  kubeconfig = join(work, 'kubeconfig');
  await writeKubeconfig(kubeconfig, [{ name: 'm0', apiUrl: `http://${HOST}:${API_PORT}` }], ADMIN_TOKEN, pki.caPem);
  node = await startNodeServer({ host: HOST, port: NODE_PORT, pods, followPollIntervalMs: 50 });

  await ok('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, spec: {} });
  await ok('PATCH', `/api/v1/nodes/${NODE}/status`, { status: { addresses: [{ type: 'InternalIP', address: HOST }], daemonEndpoints: { kubeletEndpoint: { Port: NODE_PORT } } } }, 'application/merge-patch+json');
  logFor('web', 'c', line(1, 'hello'), line(2, 'oops', 'stderr'), line(3, 'world'));
  await createPod('web', ['c']);
  logFor('multi', 'a', line(1, 'from a'));
  logFor('multi', 'b', line(1, 'from b'));
  await createPod('multi', ['a', 'b']);
  await createPod('pending', ['c'], false);
  // A viewer: pods and pods/log, nothing else.
  await ok('POST', `${RBAC}/namespaces/${NS}/roles`, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'log-reader' }, rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] }] });
  await ok('POST', `${RBAC}/namespaces/${NS}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'log-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'log-reader' },
    subjects: [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }],
  });
}, 120_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await node?.close();
  await listener?.close();
  await h?.close();
  await h?.backend.close();
  await factory?.stop(failed);
  rmSync(work, { recursive: true, force: true });
}, 30_000);

function apiGet(path: string, token: string = ADMIN_TOKEN): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(`http://${HOST}:${API_PORT}${path}`, { headers: { authorization: `Bearer ${token}` }, timeout: 10_000 }, resolve).on('error', reject);
  });
}

async function apiText(path: string, token?: string): Promise<{ status: number; text: string; type: string | undefined }> {
  const res = await apiGet(path, token);
  const parts: Buffer[] = [];
  for await (const d of res) parts.push(d as Buffer);
  return { status: res.statusCode ?? 0, text: Buffer.concat(parts).toString(), type: res.headers['content-type'] };
}

const logUrl = (pod: string, query = ''): string => `/api/v1/namespaces/${NS}/pods/${pod}/log${query === '' ? '' : `?${query}`}`;

describe('GET pods/log through the API', () => {
  it('streams the only container\'s log as plain text, with tail, stream and timestamps', async () => {
    const all = await apiText(logUrl('web'));
    expect(all).toMatchObject({ status: 200, text: 'hello\noops\nworld\n' });
    expect(all.type).toMatch(/^text\/plain/);
    expect((await apiText(logUrl('web', 'tailLines=1'))).text).toBe('world\n');
    expect((await apiText(logUrl('web', 'container=c&timestamps=true&tailLines=2'))).text).toBe('2024-05-01T10:00:02.000Z oops\n2024-05-01T10:00:03.000Z world\n');
    expect((await apiText(logUrl('multi', 'container=b'))).text).toBe('from b\n');
  });

  it('answers as Kubernetes does when the container is missing or unknown, the pod unscheduled or absent, the options bad', async () => {
    const multi = await apiText(logUrl('multi'));
    expect(multi.status).toBe(400);
    expect(JSON.parse(multi.text)).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'a container name must be specified for pod multi, choose one of: [a b]' });
    expect(JSON.parse((await apiText(logUrl('multi', 'container=z'))).text).message).toBe('container z is not valid for pod multi');
    const pending = await apiText(logUrl('pending'));
    expect(pending.status).toBe(400);
    expect(JSON.parse(pending.text).message).toBe('pod pending does not have a host assigned');
    expect((await apiText(logUrl('ghost'))).status).toBe(404);
    const bad = await apiText(logUrl('web', 'tailLines=-1'));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).message).toContain('tailLines: Invalid value: -1');
  });

  it('needs get on pods/log: bob may read logs only once a Role grants it', async () => {
    expect((await apiText(logUrl('web'), 'no-such-token')).status).toBe(401);
    expect((await apiText(logUrl('web'), BOB_TOKEN)).text).toBe('hello\noops\nworld\n');
    const other = await apiText(`/api/v1/namespaces/kube-system/pods/web/log`, BOB_TOKEN);
    expect(other.status).toBe(403);
    expect(JSON.parse(other.text).message).toContain('cannot get resource "pods/log"');
  });

  it('follows: appended lines arrive, and the node stops reading when the client goes away', async () => {
    const path = logFor('tailed', 'c', line(1, 'before'));
    await createPod('tailed', ['c']);
    const res = await apiGet(logUrl('tailed', 'follow=true'));
    expect(res.statusCode).toBe(200);
    let got = '';
    res.on('data', (d: Buffer) => (got += d.toString()));
    await until(() => got === 'before\n');
    appendFileSync(path, line(2, 'after'));
    await until(() => got === 'before\nafter\n');
    res.destroy();
    // While following, the node asks about the container once a second; after the client left it stops.
    await new Promise((r) => setTimeout(r, 500));
    const asked = lookups.get('tailed') ?? 0;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(lookups.get('tailed')).toBe(asked);
  });

  it('lists pods/log and pods/exec in discovery', async () => {
    const core = (await h.req('GET', '/api/v1')).body.resources as Array<Record<string, unknown>>;
    expect(core.find((r) => r.name === 'pods/log')).toMatchObject({ kind: 'Pod', verbs: ['get'] });
    expect(core.find((r) => r.name === 'pods/exec')).toMatchObject({ kind: 'PodExecOptions', verbs: ['create', 'get'] });
  });
});

describe('pods/exec through the API', () => {
  const execPath = (query: string): string => `/api/v1/namespaces/${NS}/pods/web/exec?${query}`;
  const upgradeStatus = (path: string, headers: Record<string, string>, token = ADMIN_TOKEN): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const req = request(`http://${HOST}:${API_PORT}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, timeout: 10_000 }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('upgrade', (res) => reject(new Error(`unexpected upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });

  it('refuses SPDY, plain requests and users without create on pods/exec, with a Status', async () => {
    const spdy = await upgradeStatus(execPath('command=ls&stdout=true'), { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' });
    expect(spdy.status).toBe(400);
    expect(spdy.body.message).toContain('SPDY is not supported');
    expect((await upgradeStatus(execPath('command=ls&stdout=true'), {})).body.message).toBe('Upgrade request required');
    expect((await upgradeStatus(execPath('stdout=true'), {})).body.message).toBe('you must specify at least one command for the container');
    const bob = await upgradeStatus(execPath('command=ls&stdout=true'), { connection: 'Upgrade', upgrade: 'websocket' }, BOB_TOKEN);
    expect(bob.status).toBe(403);
    expect(bob.body.message).toContain('cannot create resource "pods/exec"');
  });
});

const kubectls: Array<{ label: string; bin: string | undefined; missing: string }> = [
  { label: 'kubectl (preinstalled)', bin: findOnPath('kubectl'), missing: 'kubectl is not on PATH' },
  {
    label: 'kubectl 1.20',
    bin: process.env.KUBECTL_1_20 !== undefined && existsSync(process.env.KUBECTL_1_20) ? process.env.KUBECTL_1_20 : undefined,
    missing: 'KUBECTL_1_20 does not name a kubectl 1.20 binary (.ci/run unpacks one from the Debian package kubernetes-client)',
  },
];


interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

for (const k of kubectls) {
  if (k.bin === undefined) {
    it(`${k.label}: ${k.missing}`, () => {
      throw new Error(k.missing);
    });
    continue;
  }
  const bin = k.bin;
  const old = k.label.includes('1.20');
  const args = (rest: string[]): string[] => ['--kubeconfig', kubeconfig, '--cache-dir', join(work, old ? 'cache-120' : 'cache'), ...rest];
  const kubectl = (rest: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(bin, args(rest), { timeout: KUBECTL_MS, env: { ...process.env, HOME: work } }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });

  describe(k.label, () => {
    it('logs, logs --tail, logs -c', async () => {
      const all = await kubectl(['logs', 'web']);
      expect(all, all.stderr).toMatchObject({ code: 0, stdout: 'hello\noops\nworld\n' });
      expect((await kubectl(['logs', 'web', '--tail=1'])).stdout).toBe('world\n');
      expect((await kubectl(['logs', 'multi', '-c', 'a'])).stdout).toBe('from a\n');
    });

    it('logs -f prints appended lines and exits when the container ends', async () => {
      const pod = old ? 'follow-120' : 'follow';
      const path = logFor(pod, 'c', line(1, 'first'));
      await createPod(pod, ['c']);
      const child = spawn(bin, args(['logs', '-f', pod]), { env: { ...process.env, HOME: work } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const killer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_MS);
      try {
        await until(() => out === 'first\n', KUBECTL_MS);
        appendFileSync(path, line(2, 'second'));
        await until(() => out === 'first\nsecond\n', 10_000);
        containers.set(`${NS}/${pod}/c`, { ...containers.get(`${NS}/${pod}/c`)!, running: false });
        expect(await exited, err).toBe(0);
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
    });

    if (!old) {
      it('exec runs a command over WebSocket and exits with its exit code', async () => {
        const hi = await kubectl(['exec', 'web', '--', 'echo', 'hi']);
        expect(hi, hi.stderr).toMatchObject({ code: 0, stdout: 'hi\n' });
        const three = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
        expect(three.code, three.stderr).toBe(3);
        expect(three.stdout).toBe('out\n');
        expect(three.stderr).toContain('err\n');
        const multi = await kubectl(['exec', 'multi', '-c', 'b', '--', 'echo', 'in b']);
        expect(multi.stdout).toBe('in b\n');
      });

      it('exec -i is refused with a message that says why', async () => {
        const r = await kubectl(['exec', '-i', 'web', '--', 'cat']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('non-interactively');
      });

      it('exec reports the node\'s refusal (no such container on the node) instead of a protocol error', async () => {
        await createPod('ghost', ['c']);
        const r = await kubectl(['exec', 'ghost', '--', 'echo', 'hi']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('container "c" in pod "ghost" in namespace "default" not found');
      });
    } else {
      it('exec (SPDY only) gets a clear refusal naming the protocols served', async () => {
        const r = await kubectl(['exec', 'web', '--', 'echo', 'hi']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('SPDY is not supported');
        expect(r.stderr).toContain('v5.channel.k8s.io');
      });
    }
  });
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
