/**
 * The node agent against real CRI runtimes over gRPC: the same scenarios run on
 * Strake's built-in runtime (runc isolation, served by serveCri) and on a private
 * containerd 1.6. The API is the in-memory FakeApiClient, the clock is real, the
 * timings are short. Every pod uses the host network (this containerd has no CNI)
 * and is bound to the node by spec.nodeName.
 *
 * Needs root, runc, a static busybox, containerd and ctr (CI installs them); without
 * them the tests fail saying what is missing, they never skip.
 */
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resources } from '../../../control-plane/client/api-client.js';
import { removeAllPodSandboxes } from '../../../node/cri/remove-all-sandboxes.js';
import type { Node, Pod, PodSpec } from '../../../proto/k8s/core-v1.js';
import {
  busybox,
  getPod,
  podSpec,
  runtimePartsOf,
  startAgent,
  startBuiltin,
  startContainerdTarget,
  until,
  type AgentHarness,
  type RuntimeTarget,
  type StartTarget,
} from './agent-runtimes-support.js';

/** Per scenario: container starts take well under a second on an idle machine, this one is shared and loaded. */
const SCENARIO_MS = 60_000;
const WAIT_MS = 45_000;
const SETUP_MS = 120_000;

function condition(p: Pod | undefined, type: string): string | undefined {
  return p?.status?.conditions?.find((c) => c.type === type)?.status;
}

function agentScenarios(title: string, start: StartTarget): void {
  describe(title, () => {
    let target: RuntimeTarget | undefined;
    let h: AgentHarness | undefined;
    const watches: Array<{ stop(): void }> = [];

    beforeAll(async () => {
      target = await start();
      h = await startAgent(target.client, `node-${target.runtimeName}`);
    }, SETUP_MS);

    afterAll(async () => {
      for (const w of watches) w.stop();
      await h?.close();
      if (target !== undefined) {
        await removeAllPodSandboxes(target.client).catch(() => undefined);
        await target.close();
      }
      if (h !== undefined) await rm(h.rootDir, { recursive: true, force: true });
    }, SETUP_MS);

    const env = (): { t: RuntimeTarget; h: AgentHarness } => {
      if (target === undefined || h === undefined) throw new Error('the runtime or the agent did not start (see beforeAll)');
      return { t: target, h };
    };

    async function createPod(name: string, spec: Partial<PodSpec> & Pick<PodSpec, 'containers'>): Promise<Pod> {
      const { h } = env();
      return h.api.create<Pod>(Resources.Pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: podSpec(h.nodeName, spec) });
    }

    /** Every status the pod went through, in order (the agent may write several between two polls). */
    function recordStatuses(name: string): Pod[] {
      const { h } = env();
      const seen: Pod[] = [];
      watches.push(h.api.watch<Pod>(Resources.Pods, 'default', { resourceVersion: '' }, (e) => e.object.metadata.name === name && seen.push(e.object)));
      return seen;
    }

    const podOf = (name: string): Promise<Pod | undefined> => getPod(env().h.api, name);
    const waitFor = (pred: () => Promise<boolean>, what: string, pod: string, ms = WAIT_MS): Promise<void> => until(env().h, pred, what, ms, pod);

    /** Deletes the pod at once (grace 0) and waits until the agent has removed all of it from the runtime. */
    async function forceDelete(pod: Pod): Promise<void> {
      const { h, t } = env();
      await h.api.delete(Resources.Pods, 'default', pod.metadata.name ?? '', { gracePeriodSeconds: 0 });
      await waitFor(async () => {
        const parts = await runtimePartsOf(t.client, pod.metadata.uid ?? '');
        return parts.sandboxes === 0 && parts.containers === 0;
      }, `pod ${pod.metadata.name} removed from the runtime`, pod.metadata.name ?? '');
    }

    it('registers the Node with the runtime it talks to, Ready as the runtime says', { timeout: SCENARIO_MS }, async () => {
      const { h, t } = env();
      await h.agent.registered;
      const node = await h.api.get<Node>(Resources.Nodes, undefined, h.nodeName);
      expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(new RegExp(`^${t.runtimeName}://\\S+$`));
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      if (t.networkReady) {
        expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      } else {
        // containerd without a CNI config reports NetworkReady=false: the Node is NotReady and says why. The agent
        // still runs pods bound to it (the kubelet does too; host-network pods need no CNI), which the scenarios below use.
        expect(ready).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
        expect(ready?.message).toContain('NetworkReady=false');
      }
    });

    it('runs a long-running pod: Running, then Ready once its exec readiness probe passes; logs in the CRI log file', { timeout: SCENARIO_MS }, async () => {
      const { h, t } = env();
      const seen = recordStatuses('long');
      const probe = { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 };
      const created = await createPod('long', { containers: [busybox('app', 'echo started; sleep 1; touch /tmp/ready; exec sleep 600', { readinessProbe: probe })] });
      await waitFor(async () => condition(await podOf('long'), 'Ready') === 'True', 'pod Ready', 'long');
      const p = (await podOf('long'))!;
      expect(p.status).toMatchObject({ phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1' });
      for (const type of ['Initialized', 'ContainersReady', 'Ready']) expect(condition(p, type)).toBe('True');
      const cs = p.status?.containerStatuses?.[0];
      expect(cs).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0 });
      expect(cs?.containerID).toMatch(new RegExp(`^${t.runtimeName}://[0-9a-f]{12,}$`));
      expect(cs?.state?.running?.startedAt).toBeDefined();
      // The probe gated readiness: the pod was Running but not Ready before /tmp/ready existed.
      expect(seen.some((s) => s.status?.phase === 'Running' && condition(s, 'Ready') === 'False' && s.status.containerStatuses?.[0]?.ready === false)).toBe(true);

      const found = await h.agent.findContainer('default', 'long', 'app', false);
      expect(found).toMatchObject({ containerId: cs!.containerID!.replace(`${t.runtimeName}://`, ''), running: true });
      expect(found!.logPath).toBe(join(h.rootDir, 'logs', 'pods', `default_long_${created.metadata.uid}`, 'app', '0.log'));
      const status = await t.client.containerStatus({ container_id: found!.containerId, verbose: false });
      expect(status.status.log_path).toBe(found!.logPath);
      expect(await readFile(found!.logPath, 'utf8')).toMatch(/^\S+ stdout F started$/m);
      const exec = await h.agent.execSync(found!.containerId, ['cat', '/tmp/ready'], 10_000);
      expect(exec.exitCode).toBe(0);
      await forceDelete(p);
    });

    it('restarts a crashing container with back-off: CrashLoopBackOff, restartCount, lastState exit code', { timeout: SCENARIO_MS }, async () => {
      const { h } = env();
      const seen = recordStatuses('crash');
      await createPod('crash', { containers: [busybox('app', 'echo boom; exit 3')] });
      const crashLooping = (): boolean => seen.some((s) => s.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
      await waitFor(async () => ((await podOf('crash'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && crashLooping(), 'two restarts and CrashLoopBackOff', 'crash');
      const p = (await podOf('crash'))!;
      const cs = p.status!.containerStatuses![0]!;
      expect(cs.restartCount).toBeGreaterThanOrEqual(2);
      expect(cs.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
      expect(p.status?.phase).toBe('Running');
      const loop = seen.map((s) => s.status?.containerStatuses?.[0]?.state?.waiting).find((w) => w?.reason === 'CrashLoopBackOff');
      expect(loop?.message).toMatch(/^back-off \S+ restarting failed container=app pod=crash_default\(.+\)$/);
      // Each instance logs to its own file; the one before the newest is `--previous`.
      const previous = await h.agent.findContainer('default', 'crash', 'app', true);
      expect(previous).toBeDefined();
      expect(await readFile(previous!.logPath, 'utf8')).toMatch(/^\S+ stdout F boom$/m);
      await forceDelete(p);
    });

    it('restartPolicy Never: exit 0 makes the pod Succeeded, exit 4 Failed', { timeout: SCENARIO_MS }, async () => {
      await createPod('never-ok', { restartPolicy: 'Never', containers: [busybox('app', 'echo done; exit 0')] });
      await createPod('never-fail', { restartPolicy: 'Never', containers: [busybox('app', 'echo failing; exit 4')] });
      await waitFor(async () => (await podOf('never-ok'))?.status?.phase === 'Succeeded', 'phase Succeeded', 'never-ok');
      await waitFor(async () => (await podOf('never-fail'))?.status?.phase === 'Failed', 'phase Failed', 'never-fail');
      const ok = (await podOf('never-ok'))!;
      const failed = (await podOf('never-fail'))!;
      expect(ok.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
      expect(failed.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, ready: false, state: { terminated: { exitCode: 4, reason: 'Error' } } });
      expect(condition(failed, 'Ready')).toBe('False');
      // Nothing is restarted: one instance each.
      const { t } = env();
      for (const p of [ok, failed]) expect((await runtimePartsOf(t.client, p.metadata.uid ?? '')).containers).toBe(1);
      await forceDelete(ok);
      await forceDelete(failed);
    });

    it('a container over its 32Mi memory limit is OOM-killed: reason OOMKilled, exit code 137', { timeout: SCENARIO_MS }, async () => {
      // dd allocates its 64 MiB block buffer and fills it: the memory cgroup kills it. It cannot swap its way out:
      // the agent asks for no swap limit, and both runtimes then pin memory+swap to the memory limit where the
      // kernel accounts swap (containerd's CRI WithResources, the built-in runtime's ociResources).
      await createPod('oom', {
        restartPolicy: 'Never',
        containers: [{ ...busybox('app', 'dd if=/dev/zero of=/dev/null bs=64M count=4'), resources: { limits: { memory: '32Mi' } } }],
      });
      await waitFor(async () => (await podOf('oom'))?.status?.phase === 'Failed', 'phase Failed', 'oom');
      const p = (await podOf('oom'))!;
      expect(p.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
      await forceDelete(p);
    });

    it('runs init containers in order before the app container; they share an emptyDir', { timeout: SCENARIO_MS }, async () => {
      const { h } = env();
      const mount = [{ name: 'work', mountPath: '/work' }];
      await createPod('init', {
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [busybox('init1', 'sleep 0.5; echo init1 >> /work/order', { volumeMounts: mount }), busybox('init2', 'echo init2 >> /work/order', { volumeMounts: mount })],
        containers: [busybox('app', 'cat /work/order; exec sleep 600', { volumeMounts: mount })],
      });
      await waitFor(async () => condition(await podOf('init'), 'Ready') === 'True', 'pod Ready', 'init');
      const p = (await podOf('init'))!;
      expect(p.status?.phase).toBe('Running');
      expect(condition(p, 'Initialized')).toBe('True');
      expect(p.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.exitCode, s.state?.terminated?.reason])).toEqual([
        ['init1', 0, 'Completed'],
        ['init2', 0, 'Completed'],
      ]);
      const found = await h.agent.findContainer('default', 'init', 'app', false);
      expect(found?.running).toBe(true);
      const order = await h.agent.execSync(found!.containerId, ['cat', '/work/order'], 10_000);
      expect(order.stdout.toString()).toBe('init1\ninit2\n');
      await until(h, async () => (await readFile(found!.logPath, 'utf8')).includes('init2'), 'the app log', WAIT_MS, 'init');
      const lines = (await readFile(found!.logPath, 'utf8')).split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ stdout F /, ''));
      expect(lines).toEqual(['init1', 'init2']);
      await forceDelete(p);
    });

    it('a pod marked for deletion is stopped, removed from the runtime and deleted from the API', { timeout: SCENARIO_MS }, async () => {
      const { h, t } = env();
      // `sleep` as PID 1 of its PID namespace ignores SIGTERM: the runtime kills it when the grace period ends.
      await createPod('gone', { containers: [busybox('app', 'exec sleep 600')] });
      await waitFor(async () => condition(await podOf('gone'), 'Ready') === 'True', 'pod Ready', 'gone');
      const p = (await podOf('gone'))!;
      const uid = p.metadata.uid ?? '';
      expect(await runtimePartsOf(t.client, uid)).toEqual({ sandboxes: 1, containers: 1 });
      const containerId = p.status!.containerStatuses![0]!.containerID!.replace(`${t.runtimeName}://`, '');
      // What the API server does on a graceful delete: it marks the pod; the node finishes it (FakeApiClient deletes at once).
      h.api.seed(Resources.Pods, { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(Date.now() + 1_000).toISOString(), deletionGracePeriodSeconds: 1 } });
      await waitFor(async () => (await podOf('gone')) === undefined, 'pod deleted from the API', 'gone');
      expect(h.api.actions.filter((a) => a.verb === 'delete' && a.name === 'gone')).toHaveLength(1);
      expect(await runtimePartsOf(t.client, uid)).toEqual({ sandboxes: 0, containers: 0 });
      const err = await t.client.containerStatus({ container_id: containerId, verbose: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'NotFound' });
      expect(existsSync(join(h.rootDir, 'pods', uid))).toBe(false);
    });
  });
}

agentScenarios('NodeAgent on the built-in runtime (runc) over gRPC', startBuiltin);
agentScenarios('NodeAgent on containerd 1.6 over gRPC', startContainerdTarget);
