/**
 * The real kubectl against a three-master `strake up` (ports 28200-28299):
 * the preinstalled kubectl, and kubectl 1.20 (Debian's kubernetes-client,
 * found through KUBECTL_1_20; CI unpacks it). Each version runs the same
 * commands users run every day: version, api-resources, get (table, wide,
 * yaml, json, watch), create, apply (create, then change), describe, label,
 * annotate, scale, edit, explain, auth can-i, delete. Each kubectl gets its
 * own cache directory, so discovery is really fetched from the server.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../support/process-cluster.js';
import { startUp, UP_READY_MS, type UpCluster } from '../support/strake-up.js';

const BASE_PORT = 28_200;
/** One kubectl command: discovery plus a request or two, on a loaded machine. */
const KUBECTL_MS = 30_000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const kubectls: Array<{ label: string; bin: string | undefined; missing: string }> = [
  { label: 'kubectl (preinstalled)', bin: findOnPath('kubectl'), missing: 'kubectl is not on PATH' },
  {
    label: 'kubectl 1.20',
    bin: process.env.KUBECTL_1_20 !== undefined && existsSync(process.env.KUBECTL_1_20) ? process.env.KUBECTL_1_20 : undefined,
    missing: 'KUBECTL_1_20 does not name a kubectl 1.20 binary (.ci/run unpacks one from the Debian package kubernetes-client)',
  },
];

let up: UpCluster | undefined;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strake-kubectl-'));
  if (kubectls.every((k) => k.bin === undefined)) return;
  up = await startUp({ basePort: BASE_PORT });
}, UP_READY_MS + 10_000);

afterAll(async () => {
  await up?.stop();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

for (const k of kubectls) {
  if (k.bin === undefined) {
    // CI provides both kubectl versions; a missing one fails the run instead of hiding behind a skip.
    it(`${k.label}: ${k.missing}`, () => {
      throw new Error(k.missing);
    });
    continue;
  }
  describe(k.label, () => {
    const bin = k.bin!;
    const tag = k.label.includes('1.20') ? 'k120' : 'k';
    const cacheDir = (): string => join(work, `cache-${tag}`);
    const kubectl = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
      new Promise((resolve) => {
        const all = ['--kubeconfig', up!.kubeconfig, '--cache-dir', cacheDir(), ...args];
        execFile(bin, all, { timeout: KUBECTL_MS, env: { ...process.env, HOME: work, ...env } }, (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
        });
      });
    const ok = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
      const r = await kubectl(args, env);
      expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
      return r.stdout;
    };
    const file = (name: string, text: string): string => {
      const path = join(work, `${tag}-${name}`);
      writeFileSync(path, text);
      return path;
    };
    const ns = `${tag}-ns`;

    it('version, api-resources, and get namespaces as a table', async () => {
      expect(await ok(['version', '-o', 'json'])).toContain('"serverVersion"');
      const resources = await ok(['api-resources']);
      expect(resources).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
      expect(resources).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      const namespaces = await ok(['get', 'namespaces']);
      expect(namespaces).toMatch(/^NAME\s+STATUS\s+AGE$/m);
      expect(namespaces).toMatch(/^default\s+Active\s+\S+$/m);
      await ok(['create', 'namespace', ns]);
    });

    it('apply creates, apply again changes, and get shows it in every output format', async () => {
      const pod = (labels: string) =>
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: demo\n  namespace: ${ns}\n  labels: {${labels}}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    ports:\n    - containerPort: 80\n`;
      expect(await ok(['apply', '-f', file('pod.yaml', pod('app: demo'))])).toContain('pod/demo created');
      expect(await ok(['apply', '-f', file('pod.yaml', pod('app: demo'))])).toContain('pod/demo unchanged');
      expect(await ok(['apply', '-f', file('pod.yaml', pod('app: demo, tier: x'))])).toContain('pod/demo configured');
      const table = await ok(['get', 'pods', '-n', ns]);
      expect(table).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
      expect(table).toMatch(/^demo\s+0\/1\s+Pending\s+0\s+\S+$/m);
      expect(await ok(['get', 'pods', '-n', ns, '-o', 'wide'])).toMatch(/NODE\s+NOMINATED NODE/);
      const json = JSON.parse(await ok(['get', 'pod', 'demo', '-n', ns, '-o', 'json']));
      expect(json.metadata.labels).toEqual({ app: 'demo', tier: 'x' });
      expect(await ok(['get', 'pod', 'demo', '-n', ns, '-o', 'yaml'])).toContain('image: busybox:1.36');
      expect(await ok(['get', 'pods', '-n', ns, '-l', 'tier=x', '-o', 'name'])).toBe('pod/demo\n');
    });

    it('refuses an invalid object with the server\'s field errors', async () => {
      const bad = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\n  namespace: ${ns}\nspec:\n  containers:\n  - name: c\n    image: busybox\n`;
      const r = await kubectl(['apply', '--validate=false', '-f', file('bad.yaml', bad)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('is invalid');
      expect(r.stderr).toContain('metadata.name');
    });

    it('create, label, annotate, scale, edit and describe a deployment', async () => {
      await ok(['create', 'deployment', 'web', '--image=busybox:1.36', '-n', ns]);
      await ok(['label', 'deployment', 'web', 'team=blue', '-n', ns]);
      await ok(['annotate', 'deployment', 'web', 'note=hello', '-n', ns]);
      expect(await ok(['scale', 'deployment', 'web', '--replicas=3', '-n', ns])).toContain('scaled');
      const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/replicas: 3/replicas: 4/" "$1"\n');
      await ok(['edit', 'deployment', 'web', '-n', ns], { KUBE_EDITOR: `sh ${editor}`, EDITOR: `sh ${editor}` });
      const d = JSON.parse(await ok(['get', 'deployment', 'web', '-n', ns, '-o', 'json']));
      expect(d.spec.replicas).toBe(4);
      expect(d.metadata.labels.team).toBe('blue');
      expect(d.metadata.annotations.note).toBe('hello');
      const described = await ok(['describe', 'deployment', 'web', '-n', ns]);
      expect(described).toMatch(/^Name:\s+web$/m);
      expect(described).toMatch(/^Replicas:\s+4 desired/m);
      expect(await ok(['get', 'deployments', '-n', ns])).toMatch(/^web\s+0\/4\s+/m);
    });

    it('explain, auth can-i', async () => {
      expect(await ok(['explain', 'pods'])).toMatch(/KIND:\s+Pod/);
      expect(await ok(['explain', 'pods.spec.containers'])).toMatch(/FIELD:\s+containers|RESOURCE:\s+containers/);
      expect((await ok(['auth', 'can-i', 'create', 'pods', '-n', ns])).trim()).toBe('yes');
      const asBob = await kubectl(['auth', 'can-i', 'create', 'pods', '-n', ns, '--token', 'nobody']);
      expect(asBob.code).not.toBe(0);
    });

    it('get -w prints the changes as they happen', async () => {
      const watch = kubectl(['get', 'configmaps', '-n', ns, '-w', '--request-timeout=6s']);
      await new Promise((r) => setTimeout(r, 2_000));
      await ok(['create', 'configmap', 'watched', '-n', ns, '--from-literal=a=b']);
      const r = await watch;
      expect(r.stdout).toMatch(/^watched\s+1\s+\S+$/m);
    });

    it('delete waits until the object is gone', async () => {
      expect(await ok(['delete', 'pod', 'demo', '-n', ns])).toContain('pod "demo" deleted');
      const after = await kubectl(['get', 'pod', 'demo', '-n', ns]);
      expect(after.code).not.toBe(0);
      expect(after.stderr).toContain('NotFound');
      expect(await ok(['delete', 'namespace', ns, '--wait=true'])).toContain(`namespace "${ns}" deleted`);
    });
  });
}
