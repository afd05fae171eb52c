/**
 * End to end (ports 29500-29699): `strake up` with three masters and two real
 * node agents running pods through the built-in runtime, driven by the real
 * kubectl. A Deployment of an HTTP server with a readiness probe becomes
 * Ready; `kubectl logs` and `kubectl exec` reach its containers through the
 * API server; a deleted pod is replaced; and after a node process is
 * SIGKILLed, its pods come back on the surviving node once the node monitor
 * grace period (shortened here) has passed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, findOnPath } from '../support/process-cluster.js';
import { nodePodCidr } from '../../cli/up-nodes.js';
import { removeLeftoverPods } from '../support/node-runtime.js';
import { startUp, UP_READY_MS, type UpCluster } from '../support/strake-up.js';

const BASE_PORT = 29_500;
const KUBECTL_MS = 30_000;
/** A node silent this long is NotReady and its pods are evicted (the default is 40 s). */
const NODE_MONITOR_GRACE_MS = 8_000;
const ROLLOUT_MS = 120_000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const kubectlBin = findOnPath('kubectl');
const missing = [
  ['kubectl', kubectlBin],
  ['runc', findOnPath('runc')],
  ['busybox', findOnPath('busybox')],
].filter(([, path]) => path === undefined).map(([name]) => name);

let up: UpCluster | undefined;
let survivorName: string | undefined;

/** The runc containers (pause and app) a node's built-in runtime has, by its state dir. */
function runcIds(nodeRoot: string): string[] {
  const out = execFileSync('runc', ['--root', join(nodeRoot, 'runtime', 'runc'), 'list', '-q'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '');
}
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strake-e2e-'));
  if (missing.length > 0) return;
  up = await startUp({ basePort: BASE_PORT, nodes: 2, args: ['--node-monitor-grace-ms', String(NODE_MONITOR_GRACE_MS)] });
}, UP_READY_MS + 60_000);

afterAll(async () => {
  const nodes = up?.file.nodes.map((n, j) => ({ rootDir: join(up!.dataDir, n.name), nodeName: n.name, podCidr: nodePodCidr(j) })) ?? [];
  await up?.stop({ keepData: true });
  // The SIGKILLed node's pods outlive it (as with a kubelet); remove them by the runtime's state on disk.
  for (const n of nodes) await removeLeftoverPods(n);
  if (up !== undefined) rmSync(up.dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}, 60_000);

function kubectl(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const all = ['--kubeconfig', up!.kubeconfig, '--cache-dir', join(work, 'cache'), ...args];
    execFile(kubectlBin!, all, { timeout: KUBECTL_MS, env: { ...process.env, HOME: work } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await kubectl(args);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
}

interface PodView {
  name: string;
  ip: string;
  node: string;
  ready: boolean;
  deleting: boolean;
}

async function webPods(): Promise<PodView[]> {
  const list = JSON.parse(await ok(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
    items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }>;
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    ip: p.status?.podIP ?? '',
    node: p.spec.nodeName ?? '',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    deleting: p.metadata.deletionTimestamp !== undefined,
  }));
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 2
      # Evicted 2 s after their node is marked unreachable (the default toleration is 300 s).
      tolerations:
      - { key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
      - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
      containers:
      - name: httpd
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && echo serving && exec httpd -f -v -p 8080 -h /www"]
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: { path: /index.html, port: 8080 }
          periodSeconds: 1
        resources:
          limits: { memory: 64Mi, cpu: 500m }
`;

if (missing.length > 0) {
  // CI installs all of them; a missing one fails the run instead of hiding behind a skip.
  it(`needs ${missing.join(', ')} (CI installs them)`, () => {
    throw new Error(`not installed: ${missing.join(', ')}`);
  });
} else {
  describe('strake up with two nodes', () => {
    it('both nodes are Ready', async () => {
      const out = await ok(['get', 'nodes']);
      expect(out).toMatch(/n0\s+Ready/);
      expect(out).toMatch(/n1\s+Ready/);
    });

    it('a Deployment with a readiness probe becomes Ready', async () => {
      const file = join(work, 'web.yaml');
      writeFileSync(file, DEPLOYMENT);
      await ok(['apply', '-f', file]);
      await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_MS / 1000}s`]);
      const pods = await webPods();
      expect(pods.filter((p) => p.ready)).toHaveLength(2);
      // Each pod has its own address from its node's pod CIDR (10.88.<j>.0/24, inside the node's namespaces only).
      for (const p of pods) expect(p.ip).toMatch(new RegExp(`^10\\.88\\.${p.node.slice(1)}\\.\\d+$`));
      expect(new Set(pods.map((p) => p.ip)).size).toBe(2);
    }, ROLLOUT_MS + 10_000);

    it('kubectl logs and exec reach the container', async () => {
      const [pod] = await webPods();
      expect(await ok(['logs', pod!.name])).toContain('serving');
      expect(await ok(['exec', pod!.name, '--', 'cat', '/www/index.html'])).toContain('hello from');
      const failed = await kubectl(['exec', pod!.name, '--', 'sh', '-c', 'exit 3']);
      expect(failed.code).toBe(3);
    }, 60_000);

    it('a deleted pod is replaced', async () => {
      const before = await webPods();
      const victim = before[0]!.name;
      await ok(['delete', 'pod', victim, '--wait=true', '--timeout=60s']);
      const after = await eventually('a replacement pod Ready', async () => {
        const pods = await webPods();
        const ready = pods.filter((p) => p.ready && !p.deleting && p.name !== victim);
        return ready.length === 2 ? pods : undefined;
      }, ROLLOUT_MS);
      expect(after.map((p) => p.name)).not.toContain(victim);
    }, ROLLOUT_MS + 70_000);

    it('pods of a SIGKILLed node come back on the other node', async () => {
      const node = up!.file.nodes.find((n) => n.name === 'n1')!;
      // Both replicas on n1 would leave nothing to prove; make sure n1 runs at least one.
      const pods = await webPods();
      const victimNode = pods.some((p) => p.node === 'n1') ? node : up!.file.nodes.find((n) => n.name === 'n0')!;
      const survivor = victimNode.name === 'n1' ? 'n0' : 'n1';
      process.kill(victimNode.pid, 'SIGKILL');
      await eventually('both replicas Ready on the surviving node', async () => {
        const now = await webPods();
        const ready = now.filter((p) => p.ready && !p.deleting && p.node === survivor);
        return ready.length === 2 ? now : undefined;
      }, NODE_MONITOR_GRACE_MS + ROLLOUT_MS);
      expect(await ok(['get', 'node', victimNode.name])).toMatch(/NotReady/);
      survivorName = survivor;
    }, NODE_MONITOR_GRACE_MS + ROLLOUT_MS + 10_000);

    it("stopping strake up stops and removes the surviving node's pods and its pod network", async () => {
      expect(survivorName, 'the node-kill test ran first').toBeDefined();
      const root = join(up!.dataDir, survivorName!);
      expect(runcIds(root).length, 'pods run on the survivor before the stop').toBeGreaterThan(0);
      await up!.stop({ keepData: true });
      expect(runcIds(root)).toEqual([]);
      expect(netnsNames()).not.toContain(`strake-${survivorName}`);
    }, 60_000);
  });
}
