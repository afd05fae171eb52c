/**
 * NodeAgent end to end against FakeApiClient, a FakeClock and the in-memory
 * FakeRuntime: registration and heartbeats, the sync loop (informer + PLEG +
 * per-pod workers), init containers, crash-loop back-off, restart policies,
 * probes, graceful deletion, adoption by a restarted agent and orphan
 * cleanup.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Resources } from '../../../control-plane/client/api-client.js';
import type { Lease } from '../../../proto/k8s/coordination-v1.js';
import type { Container, Node, Pod } from '../../../proto/k8s/core-v1.js';
import { NODE, T0, advance, cleanups, condition, createPod, getPod, harness, ready, runCleanups, statusOf, until } from './agent-harness.js';

afterEach(runCleanups);

describe('NodeAgent: node', () => {
  it('registers the Node (Ready from the runtime, capacity, addresses, daemon port, versions) and keeps a Lease', async () => {
    const h = await harness();
    h.agent.start();
    await until(h, async () => (await h.api.all(Resources.Leases, 'kube-node-lease')).length > 0, 'the lease');
    await h.agent.registered;
    const node = (await h.api.get<Node>(Resources.Nodes, undefined, NODE)) as Node;
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(29310);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toBe('fake://1.0');
    expect(node.status?.capacity).toEqual({ cpu: '2', memory: '4Gi', pods: '110' });
    const lease = (await h.api.get<Lease>(Resources.Leases, 'kube-node-lease', NODE)) as Lease;
    expect(lease.spec?.leaseDurationSeconds).toBe(40);
    const renewed = lease.spec?.renewTime;
    await advance(h, 10_500);
    expect(((await h.api.get<Lease>(Resources.Leases, 'kube-node-lease', NODE)) as Lease).spec?.renewTime).not.toBe(renewed);

    h.runtime.networkReady = false;
    await advance(h, 10_500);
    const notReady = (await h.api.get<Node>(Resources.Nodes, undefined, NODE)) as Node;
    expect(notReady.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'KubeletNotReady' });
    expect(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('NetworkReady=false');
  });
});

describe('NodeAgent: pods', () => {
  it('starts a pod: sandbox, container, status Running and Ready with podIP, hostIP and container ids', async () => {
    const h = await harness();
    h.agent.start();
    await createPod(h, 'web', {});
    await until(h, () => ready(h, 'web'), 'pod Ready');
    const p = (await getPod(h, 'web'))!;
    expect(p.status).toMatchObject({ phase: 'Running', hostIP: '127.0.0.1', podIP: expect.stringMatching(/^10\.244\./) });
    for (const t of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']) expect(condition(p, t)).toBe('True');
    const cs = p.status?.containerStatuses?.[0];
    expect(cs).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0, containerID: expect.stringMatching(/^fake:\/\/c\d+$/) });
    expect(cs?.state?.running?.startedAt).toBeDefined();
    expect(h.runtime.calls.filter((c) => c === 'runPodSandbox')).toHaveLength(1);
    const sb = [...h.runtime.sandboxes.values()][0]!;
    expect(sb.config.labels).toMatchObject({ 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': p.metadata.uid });
    expect(sb.config.log_directory).toBe(join(h.rootDir, 'logs', 'pods', `default_web_${p.metadata.uid}`));
    const c = h.runtime.running('app')[0]!;
    expect(c.config.log_path).toBe(join('app', '0.log'));
    expect(c.config.annotations['io.kubernetes.container.restartCount']).toBe('0');
    // Status is written only when it changes: a quiet minute adds no pod status writes.
    const writes = h.api.actions.filter((a) => a.plural === 'pods' && a.subresource === 'status').length;
    await advance(h, 60_000);
    expect(h.api.actions.filter((a) => a.plural === 'pods' && a.subresource === 'status').length).toBe(writes);
    // The node server's view of it.
    const found = await h.agent.findContainer('default', 'web', undefined, false);
    expect(found).toMatchObject({ containerId: c.id, running: true, logPath: join(sb.config.log_directory, 'app', '0.log') });
    h.runtime.execHandler = (_id, cmd) => ({ exitCode: 0, stdout: cmd.join(' ') });
    expect((await h.agent.execSync(c.id, ['echo', 'hi'], 5_000)).stdout.toString()).toBe('echo hi');
  });

  it('runs init containers first, one at a time, in order', async () => {
    const h = await harness();
    h.runtime.behaviour = (cfg) => (cfg.metadata.name.startsWith('init') ? { exitAfterMs: 2_000, exitCode: 0 } : {});
    h.agent.start();
    await createPod(h, 'init', { initContainers: [{ name: 'init1', image: 'busybox:1.36' }, { name: 'init2', image: 'busybox:1.36' }] });
    await until(h, async () => (await getPod(h, 'init'))?.status?.initContainerStatuses?.[0]?.state?.running !== undefined, 'init1 running');
    const during = (await getPod(h, 'init'))!;
    expect(during.status?.phase).toBe('Pending');
    expect(condition(during, 'Initialized')).toBe('False');
    expect(during.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    await until(h, () => ready(h, 'init'), 'pod Ready');
    const order = [...h.runtime.containers.values()].sort((a, b) => a.createdAtNs - b.createdAtNs).map((c) => [c.config.metadata.name, c.startedAtNs]);
    expect(order.map(([n]) => n)).toEqual(['init1', 'init2', 'app']);
    // Each started only after the one before had exited.
    const byName = new Map([...h.runtime.containers.values()].map((c) => [c.config.metadata.name, c]));
    expect(byName.get('init2')!.startedAtNs).toBeGreaterThanOrEqual(byName.get('init1')!.finishedAtNs);
    expect(byName.get('app')!.startedAtNs).toBeGreaterThanOrEqual(byName.get('init2')!.finishedAtNs);
    const p = (await getPod(h, 'init'))!;
    expect(p.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual(['Completed', 'Completed']);
    expect(condition(p, 'Initialized')).toBe('True');
  });

  it('a crashing container goes to CrashLoopBackOff with a growing back-off and restart count', async () => {
    const h = await harness();
    const startTimes: number[] = [];
    h.runtime.behaviour = () => {
      startTimes.push(h.clock.nowMs());
      return { exitAfterMs: 1_000, exitCode: 3 };
    };
    h.agent.start();
    await createPod(h, 'crash', {});
    await until(h, async () => (await statusOf(h, 'crash'))?.state?.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff');
    const cs = (await statusOf(h, 'crash'))!;
    expect(cs.restartCount).toBe(1);
    expect(cs.state?.waiting?.message).toMatch(/^back-off 10s restarting failed container=app pod=crash_default\(.+\)$/);
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    await until(h, async () => (await statusOf(h, 'crash'))?.restartCount === 4, 'four restarts');
    const starts = h.runtime.calls.length > 0 ? startTimes : [];
    const gaps = starts.slice(1).map((t, i) => (t - starts[i]!) / 1000);
    // Runs 1 s, then restarts at once, then after 10, 20, 40 s of back-off.
    const expected = [1, 11, 21, 41];
    gaps.forEach((g, i) => expect(Math.abs(g - expected[i]!), `gap ${i} was ${g} s, expected about ${expected[i]} s`).toBeLessThanOrEqual(1.5));
    await until(h, async () => (await statusOf(h, 'crash'))?.state?.waiting?.message?.startsWith('back-off 1m20s') === true, 'back-off 1m20s');
    // Dead instances are collected: the newest and the one before stay (status and lastState).
    expect(h.runtime.containersNamed('app').length).toBeLessThanOrEqual(2);
    expect((await getPod(h, 'crash'))?.status?.phase).toBe('Running');
  });

  it('restartPolicy Never: an exited container fails the pod and its sandbox is stopped', async () => {
    const h = await harness();
    h.runtime.behaviour = () => ({ exitAfterMs: 500, exitCode: 1 });
    h.agent.start();
    await createPod(h, 'once', { restartPolicy: 'Never' });
    await until(h, async () => (await getPod(h, 'once'))?.status?.phase === 'Failed', 'phase Failed');
    await until(h, () => [...h.runtime.sandboxes.values()].every((s) => s.state === 'SANDBOX_NOTREADY'), 'sandbox stopped');
    const p = (await getPod(h, 'once'))!;
    expect(p.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(condition(p, 'Ready')).toBe('False');
    await advance(h, 30_000);
    expect(h.runtime.containersNamed('app')).toHaveLength(1);
  });

  it('restartPolicy OnFailure: a container that succeeds makes the pod Succeeded', async () => {
    const h = await harness();
    h.runtime.behaviour = () => ({ exitAfterMs: 500, exitCode: 0 });
    h.agent.start();
    await createPod(h, 'job', { restartPolicy: 'OnFailure' });
    await until(h, async () => (await getPod(h, 'job'))?.status?.phase === 'Succeeded', 'phase Succeeded');
    await advance(h, 20_000);
    expect(h.runtime.containersNamed('app')).toHaveLength(1);
  });

  it('a failing liveness probe restarts the container', async () => {
    const h = await harness();
    let healthy = true;
    h.runtime.execHandler = (_id, cmd) => ({ exitCode: cmd[0] === 'live' && !healthy ? 1 : 0 });
    h.agent.start();
    const app: Container = { name: 'app', image: 'busybox:1.36', livenessProbe: { exec: { command: ['live'] }, periodSeconds: 1, failureThreshold: 2 } };
    await createPod(h, 'live', { containers: [app] });
    await until(h, () => ready(h, 'live'), 'pod Ready');
    const first = h.runtime.running('app')[0]!.id;
    healthy = false;
    await until(h, async () => (await statusOf(h, 'live'))?.restartCount === 1 && h.runtime.running('app').length === 1, 'a restart');
    healthy = true;
    expect(h.runtime.running('app')[0]!.id).not.toBe(first);
    expect(h.runtime.containers.get(first)?.state).toBe('CONTAINER_EXITED');
    expect(h.logs.some((l) => l.includes('failed liveness probe'))).toBe(true);
  });

  it('readiness toggles the container and the pod Ready', async () => {
    const h = await harness();
    let readyNow = false;
    h.runtime.execHandler = () => ({ exitCode: readyNow ? 0 : 1 });
    h.agent.start();
    const app: Container = { name: 'app', image: 'busybox:1.36', readinessProbe: { exec: { command: ['ready'] }, periodSeconds: 1, failureThreshold: 1 } };
    await createPod(h, 'rd', { containers: [app] });
    await until(h, async () => (await getPod(h, 'rd'))?.status?.phase === 'Running', 'Running');
    await advance(h, 3_000);
    expect(condition(await getPod(h, 'rd'), 'Ready')).toBe('False');
    expect((await statusOf(h, 'rd'))?.ready).toBe(false);
    readyNow = true;
    await until(h, () => ready(h, 'rd'), 'Ready');
    expect((await statusOf(h, 'rd'))?.ready).toBe(true);
    readyNow = false;
    await until(h, async () => condition(await getPod(h, 'rd'), 'Ready') === 'False', 'not Ready again');
    expect(condition(await getPod(h, 'rd'), 'ContainersReady')).toBe('False');
    expect(h.runtime.containersNamed('app')).toHaveLength(1);
  });

  it('an image that cannot be pulled: ErrImagePull, then ImagePullBackOff', async () => {
    const h = await harness();
    h.runtime.unpullable.add('nowhere/app:1');
    h.agent.start();
    const seen: string[] = [];
    const w = h.api.watch<Pod>(Resources.Pods, 'default', { resourceVersion: '' }, (e) => {
      const reason = e.object.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      if (reason !== undefined && seen[seen.length - 1] !== reason) seen.push(reason);
    });
    cleanups.push(async () => w.stop());
    await createPod(h, 'img', { containers: [{ name: 'app', image: 'nowhere/app:1' }] });
    await until(h, async () => (await statusOf(h, 'img'))?.state?.waiting?.reason === 'ImagePullBackOff', 'ImagePullBackOff');
    expect(seen).toContain('ErrImagePull');
    expect(seen.indexOf('ErrImagePull')).toBeLessThan(seen.indexOf('ImagePullBackOff'));
    h.runtime.unpullable.delete('nowhere/app:1');
    await until(h, () => ready(h, 'img'), 'Ready once the image pulls');
  });

  it('deletion stops the containers, removes the sandbox and deletes the pod object', async () => {
    const h = await harness();
    h.agent.start();
    const created = await createPod(h, 'gone', { terminationGracePeriodSeconds: 5 });
    await until(h, () => ready(h, 'gone'), 'pod Ready');
    const p = (await getPod(h, 'gone'))!;
    // What the API server does on a graceful delete: marks the pod; the node finishes it.
    h.api.seed(Resources.Pods, { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(T0 + 3_600_000).toISOString(), deletionGracePeriodSeconds: 5 } });
    await until(h, async () => (await getPod(h, 'gone')) === undefined, 'pod deleted');
    expect(h.runtime.sandboxes.size).toBe(0);
    expect(h.runtime.containers.size).toBe(0);
    expect(h.runtime.calls).toContain('stopContainer');
    const del = h.api.actions.filter((a) => a.verb === 'delete' && a.name === 'gone');
    expect(del).toHaveLength(1);
    expect(created.metadata.uid).toBe(p.metadata.uid);
  });

  it('a restarted agent adopts running pods without restarting them', async () => {
    const h = await harness();
    h.agent.start();
    await createPod(h, 'keep', {});
    await until(h, () => ready(h, 'keep'), 'pod Ready');
    const id = h.runtime.running('app')[0]!.id;
    await h.agent.stop();
    await advance(h, 5_000);
    expect(h.runtime.containers.get(id)?.state).toBe('CONTAINER_RUNNING');
    const creates = h.runtime.calls.filter((c) => c === 'createContainer' || c === 'runPodSandbox').length;
    const second = h.newAgent();
    second.start();
    await advance(h, 30_000);
    expect(h.runtime.calls.filter((c) => c === 'createContainer' || c === 'runPodSandbox').length).toBe(creates);
    expect(h.runtime.running('app').map((c) => c.id)).toEqual([id]);
    expect(await ready(h, 'keep')).toBe(true);
    expect((await statusOf(h, 'keep'))?.restartCount).toBe(0);
  });

  it('sandboxes of pods that left the API are removed', async () => {
    const h = await harness();
    h.agent.start();
    await createPod(h, 'orphan', {});
    await until(h, () => ready(h, 'orphan'), 'pod Ready');
    await h.agent.stop();
    // Force-deleted while the agent was away.
    await h.api.delete(Resources.Pods, 'default', 'orphan', { gracePeriodSeconds: 0 });
    const second = h.newAgent();
    second.start();
    await until(h, () => h.runtime.sandboxes.size === 0 && h.runtime.containers.size === 0, 'orphan removed');
    expect(h.logs.some((l) => l.includes('removing pod default/orphan'))).toBe(true);
  });

  it('a pod deleted from the API while running (no grace) is killed and removed', async () => {
    const h = await harness();
    h.agent.start();
    await createPod(h, 'quick', {});
    await until(h, () => ready(h, 'quick'), 'pod Ready');
    await h.api.delete(Resources.Pods, 'default', 'quick', { gracePeriodSeconds: 0 });
    await until(h, () => h.runtime.sandboxes.size === 0 && h.agent.podCount === 0, 'removed and forgotten');
    expect(h.runtime.containers.size).toBe(0);
  });
});
