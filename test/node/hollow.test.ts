/**
 * Hollow nodes against the in-memory API (FakeApiClient) and a fake clock:
 * what the cluster sees of them — Nodes with a kubelet's status and labels,
 * leases renewed on schedule, bound pods reported Running and Ready, deleted
 * pods removed, foreign pods left alone — and the bounds they keep (one pod
 * watch, writes in flight, retries).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiStatusError, Resources } from '../../control-plane/client/api-client.js';
import { FakeClock } from '../../control-plane/client/clock.js';
import { FakeApiClient } from '../../control-plane/client/fake-client.js';
import { Informer } from '../../control-plane/client/informer.js';
import {
  EXIT_CODE_ANNOTATION,
  HOLLOW_KUBELET_VERSION,
  HollowError,
  HollowNodes,
  NODE_LEASE_NAMESPACE,
  type HollowNodesOptions,
} from '../../node/hollow/index.js';
import type { Lease } from '../../proto/k8s/coordination-v1.js';
import type { Node, Pod } from '../../proto/k8s/core-v1.js';

/** Lets queued promise callbacks (API calls, informer deliveries) run. */
const settle = (ms = 5) => new Promise((r) => setTimeout(r, ms));

/** Bound on waiting for real-time work (promise callbacks, not fake-clock time): generous for a loaded two-core machine. */
const UNTIL_MS = 10_000;

/** Settles repeatedly until `check` passes, or fails with its last error after UNTIL_MS. */
async function until(check: () => void): Promise<void> {
  const deadline = Date.now() + UNTIL_MS;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await settle();
    }
  }
}

const running: HollowNodes[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});

interface Setup {
  readonly api: FakeApiClient;
  readonly clock: FakeClock;
  readonly hollow: HollowNodes;
}

function setup(o: Partial<HollowNodesOptions> = {}, api = new FakeApiClient(), clock = new FakeClock()): Setup {
  const hollow = new HollowNodes({
    name: 'h',
    count: 3,
    api,
    clock,
    random: () => 0.5,
    podStartupDelayMs: { min: 0, max: 0 },
    podInformer: ({ fieldSelector }) => new Informer<Pod>(api, Resources.Pods, { fieldSelector, clock }),
    ...o,
  });
  running.push(hollow);
  return { api, clock, hollow };
}

async function started(o: Partial<HollowNodesOptions> = {}, api?: FakeApiClient): Promise<Setup> {
  const s = setup(o, api);
  s.hollow.start();
  await s.hollow.registered;
  await until(() => expect(s.api.all(Resources.Leases, NODE_LEASE_NAMESPACE)).toHaveLength(s.hollow.nodeNames.length));
  return s;
}

const nodeOf = (api: FakeApiClient, name: string) => api.all(Resources.Nodes).find((n) => n.metadata.name === name) as Node | undefined;
const leaseOf = (api: FakeApiClient, name: string) => api.all(Resources.Leases, NODE_LEASE_NAMESPACE).find((l) => l.metadata.name === name) as Lease | undefined;
const podOf = (api: FakeApiClient, name: string) => api.all(Resources.Pods, 'default').find((p) => p.metadata.name === name) as Pod | undefined;

function pod(name: string, nodeName: string | undefined, extra: { annotations?: Record<string, string>; restartPolicy?: 'Always' | 'Never' | 'OnFailure' } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(extra.annotations === undefined ? {} : { annotations: extra.annotations }) },
    spec: {
      ...(nodeName === undefined ? {} : { nodeName }),
      ...(extra.restartPolicy === undefined ? {} : { restartPolicy: extra.restartPolicy }),
      containers: [
        { name: 'web', image: 'busybox:1.36' },
        { name: 'side', image: 'nginx:1.25' },
      ],
    },
    status: { phase: 'Pending' },
  };
}

describe('registration', () => {
  it('registers N nodes named name-0 … name-(N-1) with a kubelet’s labels, capacity, conditions, node info and addresses', async () => {
    const { api, clock } = await started();
    const nodes = api.all(Resources.Nodes) as Node[];
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(['h-0', 'h-1', 'h-2']);
    const n1 = nodeOf(api, 'h-1')!;
    expect(n1.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'h-1', 'kubernetes.io/os': 'linux', 'node.kubernetes.io/hollow': 'true' });
    expect(n1.status?.capacity).toEqual({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(n1.status?.allocatable).toEqual({ cpu: '4', memory: '8Gi', pods: '110' });
    const now = new Date(Math.floor(clock.nowMs() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const conditions = Object.fromEntries((n1.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions['Ready']).toMatchObject({ status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now });
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) expect(conditions[type]).toMatchObject({ status: 'False', lastHeartbeatTime: now });
    expect(n1.status?.nodeInfo).toMatchObject({ kubeletVersion: HOLLOW_KUBELET_VERSION, containerRuntimeVersion: 'hollow://' });
    expect(n1.status?.addresses).toContainEqual({ type: 'InternalIP', address: '198.18.0.2' });
    expect(n1.spec?.podCIDR).toBe('10.128.1.0/24');
    // Every node gets its own addresses.
    expect(new Set(nodes.map((n) => n.status?.addresses?.[0]?.address)).size).toBe(3);
    expect(new Set(nodes.map((n) => n.spec?.podCIDR)).size).toBe(3);
  });

  it('creates a lease per node in kube-node-lease: held by the node, 40 s, owned by the Node', async () => {
    const { api } = await started();
    for (const name of ['h-0', 'h-1', 'h-2']) {
      const lease = leaseOf(api, name)!;
      expect(lease.spec).toMatchObject({ holderIdentity: name, leaseDurationSeconds: 40 });
      expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(lease.metadata['ownerReferences']).toEqual([{ apiVersion: 'v1', kind: 'Node', name, uid: nodeOf(api, name)!.metadata.uid }]);
    }
  });

  it('adopts a Node left by an earlier run: keeps its uid and labels, adds ours, replaces its status', async () => {
    const api = new FakeApiClient();
    const old = api.seed(Resources.Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'h-0', labels: { zone: 'a' } },
      status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] },
    });
    await started({ count: 1 }, api);
    const n = nodeOf(api, 'h-0')!;
    expect(n.metadata.uid).toBe(old.metadata.uid);
    expect(n.metadata.labels).toMatchObject({ zone: 'a', 'node.kubernetes.io/hollow': 'true' });
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
  });

  it('keeps trying while the API refuses, and registers once it answers', async () => {
    const api = new FakeApiClient();
    let refusals = 4;
    api.failWhen((a) => (a.verb === 'create' && a.plural === 'nodes' && refusals-- > 0 ? new ApiStatusError(503, 'ServiceUnavailable', 'not now') : undefined));
    const { hollow, clock } = setup({ count: 2 }, api);
    hollow.start();
    await settle();
    expect(api.all(Resources.Nodes)).toHaveLength(0);
    for (let i = 0; i < 4 && hollow.stats().registered < 2; i++) {
      clock.advance(1_000);
      await settle();
    }
    await hollow.registered;
    expect(api.all(Resources.Nodes)).toHaveLength(2);
    expect(hollow.stats().syncErrors).toBe(4);
  });

  it('registers a node again when someone deletes it', async () => {
    const { api, clock } = await started({ count: 1 });
    const before = nodeOf(api, 'h-0')!.metadata.uid;
    await api.delete(Resources.Nodes, undefined, 'h-0');
    clock.advance(10_000);
    await until(() => expect(nodeOf(api, 'h-0')?.metadata.uid).toBeDefined());
    expect(nodeOf(api, 'h-0')!.metadata.uid).not.toBe(before);
  });

  it('refuses options it cannot run with, naming the value and the limit', () => {
    expect(() => setup({ count: 0 })).toThrow(HollowError);
    expect(() => setup({ count: 0 })).toThrow(/count must be an integer between 1 and 5000, got 0/);
    expect(() => setup({ name: 'Not_A_Name' })).toThrow(/not a valid DNS subdomain/);
    expect(() => setup({ capacity: { pods: '1000' } })).toThrow(/capacity pods must be an integer between 0 and 253/);
    expect(() => setup({ leaseDurationSeconds: 5 })).toThrow(/longer than the renewal interval/);
  });
});

describe('heartbeats', () => {
  it('renews every lease every 10 s and reports node status every 10 s', async () => {
    const { api, clock } = await started();
    const renewals = (name: string) => [leaseOf(api, name)!.spec!.renewTime!, nodeOf(api, name)!.status!.conditions!.find((c) => c.type === 'Ready')!.lastHeartbeatTime!];
    const created = renewals('h-2');
    // The first renewal comes within one period (nodes are spread over it), then one each period.
    clock.advance(10_000);
    const bothChanged = (was: string[]) => () => {
      const now = renewals('h-2');
      expect(now[0]).not.toBe(was[0]);
      expect(now[1]).not.toBe(was[1]);
    };
    await until(bothChanged(created));
    let before = renewals('h-2');
    const first = Date.parse(before[0]!);
    expect(first - Date.parse(created[0]!)).toBeGreaterThan(0);
    expect(first - Date.parse(created[0]!)).toBeLessThanOrEqual(10_000);
    for (let round = 1; round <= 3; round++) {
      clock.advance(10_000);
      await until(bothChanged(before));
      const now = renewals('h-2');
      expect(Date.parse(now[0]!) - first).toBe(round * 10_000);
      expect(Date.parse(now[1]!)).toBeGreaterThan(Date.parse(before[1]!));
      before = now;
    }
    // The Ready condition's transition time stays at the first report.
    const ready = nodeOf(api, 'h-2')!.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.lastTransitionTime).toBe(created[1]);
  });

  it('uses the configured periods', async () => {
    const { api, clock } = await started({ count: 1, leaseRenewMs: 1_000, leaseDurationSeconds: 4, nodeStatusUpdateMs: 60_000 });
    const updates = () => api.actions.filter((a) => a.plural === 'leases' && a.verb === 'update').length;
    const patches = () => api.actions.filter((a) => a.plural === 'nodes' && a.verb === 'patch').length;
    const p0 = patches();
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      await settle();
    }
    expect(updates()).toBe(5);
    expect(patches()).toBe(p0);
    expect(leaseOf(api, 'h-0')!.spec?.leaseDurationSeconds).toBe(4);
  });

  it('re-reads its lease after a conflict and goes on renewing it', async () => {
    const { api, clock } = await started({ count: 1 });
    const lease = leaseOf(api, 'h-0')!;
    await api.update(Resources.Leases, NODE_LEASE_NAMESPACE, { ...lease, metadata: { ...lease.metadata, labels: { touched: 'yes' } } });
    clock.advance(10_000); // conflict: the renewal's resourceVersion is stale
    await settle();
    clock.advance(1_000); // the retry reads it again and renews
    await until(() => expect(Date.parse(leaseOf(api, 'h-0')!.spec!.renewTime!)).toBeGreaterThan(Date.parse(lease.spec!.renewTime!)));
    expect(leaseOf(api, 'h-0')!.metadata.labels).toEqual({ touched: 'yes' });
  });
});

describe('pods', () => {
  it('reports a pod bound to a hollow node Running and Ready, with conditions, IPs and container statuses', async () => {
    const { api } = await started();
    const created = await api.create(Resources.Pods, 'default', pod('web-0', 'h-1'));
    await until(() => expect(podOf(api, 'web-0')?.status?.phase).toBe('Running'));
    const s = podOf(api, 'web-0')!.status!;
    expect(s.hostIP).toBe('198.18.0.2');
    expect(s.podIP).toMatch(/^10\.128\.1\.\d+$/);
    expect(s.podIPs).toEqual([{ ip: s.podIP }]);
    expect(s.startTime).toMatch(/Z$/);
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['PodScheduled', 'True'],
      ['Initialized', 'True'],
      ['ContainersReady', 'True'],
      ['Ready', 'True'],
    ]);
    for (const c of s.conditions ?? []) expect(c.lastTransitionTime).toMatch(/Z$/);
    expect(s.containerStatuses).toEqual([
      expect.objectContaining({ name: 'web', ready: true, started: true, restartCount: 0, image: 'busybox:1.36', imageID: expect.any(String), containerID: `hollow://${created.metadata.uid}-web`, state: { running: { startedAt: s.startTime } } }),
      expect.objectContaining({ name: 'side', ready: true, started: true, restartCount: 0, image: 'nginx:1.25', containerID: `hollow://${created.metadata.uid}-side` }),
    ]);
  });

  it('gives each pod of a node its own IP from the node’s pod CIDR', async () => {
    const { api } = await started();
    for (let i = 0; i < 5; i++) await api.create(Resources.Pods, 'default', pod(`p-${i}`, 'h-0'));
    await until(() => expect(api.all(Resources.Pods, 'default').every((p) => (p as Pod).status?.phase === 'Running')).toBe(true));
    const ips = api.all(Resources.Pods, 'default').map((p) => (p as Pod).status?.podIP);
    expect(new Set(ips).size).toBe(5);
    for (const ip of ips) expect(ip).toMatch(/^10\.128\.0\.\d+$/);
  });

  it('waits the simulated start-up delay before reporting Running', async () => {
    const { api, clock } = await started({ podStartupDelayMs: { min: 150, max: 150 } });
    await api.create(Resources.Pods, 'default', pod('slow', 'h-0'));
    await settle(20);
    expect(podOf(api, 'slow')?.status?.phase).toBe('Pending');
    clock.advance(149);
    await settle(20);
    expect(podOf(api, 'slow')?.status?.phase).toBe('Pending');
    clock.advance(1);
    await until(() => expect(podOf(api, 'slow')?.status?.phase).toBe('Running'));
  });

  it('leaves pods of other nodes and unscheduled pods untouched', async () => {
    const { api } = await started();
    await api.create(Resources.Pods, 'default', pod('elsewhere', 'real-node'));
    await api.create(Resources.Pods, 'default', pod('unbound', undefined));
    await api.create(Resources.Pods, 'default', pod('ours', 'h-2'));
    await until(() => expect(podOf(api, 'ours')?.status?.phase).toBe('Running'));
    await settle(20);
    expect(podOf(api, 'elsewhere')?.status).toEqual({ phase: 'Pending' });
    expect(podOf(api, 'unbound')?.status).toEqual({ phase: 'Pending' });
    const touched = api.actions.filter((a) => a.plural === 'pods' && a.verb !== 'list' && a.verb !== 'watch' && a.verb !== 'create').map((a) => a.name);
    expect(new Set(touched)).toEqual(new Set(['ours']));
  });

  it('deletes a pod marked for deletion, for good (grace 0, uid precondition), as a kubelet does once its containers stopped', async () => {
    const { api } = await started();
    const deletes = vi.spyOn(api, 'delete');
    // A finalizer makes the fake API mark the pod on DELETE, as the real one marks pods on nodes (graceful deletion).
    const held = { ...pod('doomed', 'h-0'), metadata: { name: 'doomed', namespace: 'default', finalizers: ['example.com/hold'] } };
    await api.create(Resources.Pods, 'default', held);
    await until(() => expect(podOf(api, 'doomed')?.status?.phase).toBe('Running'));
    const uid = podOf(api, 'doomed')!.metadata.uid;
    await api.delete(Resources.Pods, 'default', 'doomed');
    await until(() => expect(deletes).toHaveBeenCalledTimes(2));
    expect(deletes).toHaveBeenLastCalledWith(Resources.Pods, 'default', 'doomed', { gracePeriodSeconds: 0, preconditions: { uid } });
    // Its delete re-marks the held pod (a MODIFIED event): no second delete for the same pod.
    await settle(30);
    expect(deletes).toHaveBeenCalledTimes(2);
    const marked = podOf(api, 'doomed')!;
    await api.update(Resources.Pods, 'default', { ...marked, metadata: { ...marked.metadata, finalizers: [] } });
    await until(() => expect(podOf(api, 'doomed')).toBeUndefined());
  });

  it('deletes a pod that was already terminating when it was first seen', async () => {
    const api = new FakeApiClient();
    api.seed(Resources.Pods, { ...pod('old', 'h-1'), metadata: { name: 'old', namespace: 'default', deletionTimestamp: '2030-01-01T00:00:00Z' } });
    await started({}, api);
    await until(() => expect(podOf(api, 'old')).toBeUndefined());
  });

  it('ends a Never/OnFailure pod with the exit code of the test annotation: 0 → Succeeded, else Failed', async () => {
    const { api } = await started();
    await api.create(Resources.Pods, 'default', pod('ok', 'h-0', { restartPolicy: 'Never', annotations: { [EXIT_CODE_ANNOTATION]: '0' } }));
    await api.create(Resources.Pods, 'default', pod('bad', 'h-1', { restartPolicy: 'OnFailure', annotations: { [EXIT_CODE_ANNOTATION]: '3' } }));
    await api.create(Resources.Pods, 'default', pod('always', 'h-2', { restartPolicy: 'Always', annotations: { [EXIT_CODE_ANNOTATION]: '0' } }));
    await until(() => {
      expect(podOf(api, 'ok')?.status?.phase).toBe('Succeeded');
      expect(podOf(api, 'bad')?.status?.phase).toBe('Failed');
      expect(podOf(api, 'always')?.status?.phase).toBe('Running');
    });
    const bad = podOf(api, 'bad')!.status!;
    expect(bad.containerStatuses?.[0]).toMatchObject({ ready: false, state: { terminated: { exitCode: 3, reason: 'Error' } } });
    expect(bad.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(podOf(api, 'ok')!.status!.containerStatuses?.[1]).toMatchObject({ state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });

  it('ends a running pod when the exit annotation is added later', async () => {
    const { api } = await started();
    await api.create(Resources.Pods, 'default', pod('job', 'h-0', { restartPolicy: 'Never' }));
    await until(() => expect(podOf(api, 'job')?.status?.phase).toBe('Running'));
    const p = podOf(api, 'job')!;
    const startedAt = p.status?.containerStatuses?.[0]?.state?.running?.startedAt;
    await api.update(Resources.Pods, 'default', { ...p, metadata: { ...p.metadata, annotations: { [EXIT_CODE_ANNOTATION]: '0' } } });
    await until(() => expect(podOf(api, 'job')?.status?.phase).toBe('Succeeded'));
    expect(podOf(api, 'job')!.status!.containerStatuses?.[0]?.state?.terminated).toMatchObject({ startedAt, exitCode: 0 });
    expect(podOf(api, 'job')!.status!.podIP).toBe(p.status?.podIP);
  });

  it('reports pods again after a failed status write (retry with backoff)', async () => {
    const { api, clock } = await started();
    let refusals = 2;
    api.failWhen((a) => (a.plural === 'pods' && a.verb === 'update' && refusals-- > 0 ? new ApiStatusError(500, 'InternalError', 'boom') : undefined));
    await api.create(Resources.Pods, 'default', pod('flaky', 'h-0'));
    await settle(20);
    expect(podOf(api, 'flaky')?.status?.phase).toBe('Pending');
    for (let i = 0; i < 3 && podOf(api, 'flaky')?.status?.phase !== 'Running'; i++) {
      clock.advance(1_000);
      await settle(20);
    }
    expect(podOf(api, 'flaky')?.status?.phase).toBe('Running');
  });
});

describe('bounds', () => {
  it('watches pods once for all its nodes, with the bound-pods field selector', async () => {
    const api = new FakeApiClient();
    const watch = vi.spyOn(api, 'watch');
    await started({ count: 50 }, api);
    expect(watch).toHaveBeenCalledTimes(1);
    expect(watch.mock.calls[0]?.[0]).toBe(Resources.Pods);
    expect(watch.mock.calls[0]?.[2]).toMatchObject({ fieldSelector: 'spec.nodeName!=' });
  });

  it('never has more API calls in flight than writesInFlightMax', async () => {
    const api = new FakeApiClient();
    let inFlight = 0;
    let peak = 0;
    const slow = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await settle(1);
        try {
          return await fn(...args);
        } finally {
          inFlight--;
        }
      };
    for (const verb of ['create', 'get', 'update', 'patch'] as const) {
      const original = api[verb].bind(api) as (...args: unknown[]) => Promise<unknown>;
      (api as unknown as Record<string, unknown>)[verb] = slow(original);
    }
    await started({ count: 60, writesInFlightMax: 4 }, api);
    expect(api.all(Resources.Nodes)).toHaveLength(60);
    expect(peak).toBe(4);
  });

  it('retries a failed write from 200 ms doubling to 10 s, at most 8 times in a row, then leaves it to the next heartbeat', async () => {
    const hour = 3_600_000;
    const { api, clock, hollow } = await started({ count: 1, nodeStatusUpdateMs: hour, leaseRenewMs: hour, leaseDurationSeconds: 7_200, summaryIntervalMs: 2 * hour });
    api.failWhen((a) => (a.plural === 'nodes' && a.verb === 'patch' ? new ApiStatusError(503, 'ServiceUnavailable', 'away') : undefined));
    const patches = () => api.actions.filter((a) => a.plural === 'nodes' && a.verb === 'patch').length;
    const p0 = patches();
    // One node, random() = 0.5: its first heartbeat comes half a period after start.
    clock.advance(hour / 2);
    await until(() => expect(patches()).toBe(p0 + 1));
    for (const delayMs of [200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000]) {
      const before = patches();
      clock.advance(delayMs - 1);
      await settle(20);
      expect(patches()).toBe(before);
      clock.advance(1);
      await until(() => expect(patches()).toBe(before + 1));
    }
    expect(hollow.stats().syncErrors).toBe(9);
    // The ninth failure in a row (32.6 s after the first) schedules no retry: nothing until the next heartbeat, an hour after the first.
    const given = patches();
    clock.advance(hour - 32_600 - 1);
    await settle(20);
    expect(patches()).toBe(given);
    clock.advance(1);
    await until(() => expect(patches()).toBe(given + 1));
    // ... which starts a fresh count: its failure is retried after 200 ms again.
    api.failWhen(undefined);
    clock.advance(200);
    await until(() => expect(patches()).toBe(given + 2));
    expect(hollow.stats().syncErrors).toBe(10);
  });

  it('drops the writes still queued when stopped, instead of sending them', async () => {
    const { api, hollow } = setup({ count: 20, writesInFlightMax: 1 });
    hollow.start();
    await hollow.stop();
    await settle(20);
    expect(api.actions.filter((a) => a.plural === 'nodes').length).toBeLessThanOrEqual(1);
    expect(hollow.stats().registered).toBeLessThanOrEqual(1);
  });

  it('registers 1,000 nodes through one process', async () => {
    const { api, hollow } = await started({ count: 1_000 });
    expect(api.all(Resources.Nodes)).toHaveLength(1_000);
    expect(hollow.stats()).toMatchObject({ nodes: 1_000, registered: 1_000, syncErrors: 0 });
    expect(hollow.nodeNames.at(-1)).toBe('h-999');
  });
});

describe('stop', () => {
  it('stops every write and keeps the Nodes (their leases then expire)', async () => {
    const { api, clock, hollow } = await started();
    await hollow.stop();
    const calls = api.actions.length;
    clock.advance(60_000);
    await settle(20);
    expect(api.actions.length).toBe(calls);
    expect(api.all(Resources.Nodes)).toHaveLength(3);
    expect(clock.pending).toBe(0);
  });

  it('deletes its Nodes and leases when asked to', async () => {
    const { api, hollow } = await started();
    await hollow.stop({ deleteNodes: true });
    expect(api.all(Resources.Nodes)).toHaveLength(0);
    expect(api.all(Resources.Leases, NODE_LEASE_NAMESPACE)).toHaveLength(0);
  });

  it('logs when registered and a one-line summary each interval', async () => {
    const lines: string[] = [];
    const { api, clock } = await started({ log: (l) => lines.push(l), summaryIntervalMs: 60_000 });
    expect(lines).toContainEqual(expect.stringMatching(/^registered 3 hollow node\(s\) \(h-0 … h-2\) in \d+\.\d s$/));
    await api.create(Resources.Pods, 'default', pod('counted', 'h-0'));
    await until(() => expect(podOf(api, 'counted')?.status?.phase).toBe('Running'));
    clock.advance(60_000);
    await settle();
    expect(lines.at(-1)).toMatch(/^hollow nodes: 3\/3 registered; pods running 1, pending 0, .*API calls \d+, failed syncs 0$/);
  });
});
