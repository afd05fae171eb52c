/**
 * The scheduler end to end against the in-memory API (FakeApiClient) and a
 * FakeClock: what a user of the cluster would see — pods bound to nodes that
 * fit them, PodScheduled=False with Kubernetes' message when none does, the
 * Scheduled and FailedScheduling events `kubectl describe pod` lists, and no
 * pod lost across restarts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiStatusError, Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { EventRecorder } from '../../../control-plane/client/events/event-recorder.js';
import { Scheduler, type SchedulerOptions } from '../../../control-plane/scheduler/index.js';
import type { Event, Pod } from '../../../proto/k8s/core-v1.js';
import { eventually, makeNode, makePod, nodeOf, type NodeSpecLite, type PodSpecLite, seededRng, storedPods, turn } from './fixtures.js';

interface Running {
  readonly scheduler: Scheduler;
  readonly clock: FakeClock;
  readonly logs: string[];
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const running: Running[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

function start(api: FakeApiClient, o: Partial<SchedulerOptions> & { clock?: FakeClock } = {}): Running {
  const clock = o.clock ?? new FakeClock();
  const logs: string[] = [];
  const scheduler = new Scheduler({ client: api, clock, log: (l) => logs.push(l), rng: seededRng(42), ...o });
  const ac = new AbortController();
  const done = scheduler.run(ac.signal);
  const r: Running = {
    scheduler,
    clock,
    logs,
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
  running.push(r);
  return r;
}

function addNodes(api: FakeApiClient, ...nodes: NodeSpecLite[]): void {
  for (const n of nodes) api.seed(Resources.Nodes, makeNode(n));
}

async function addPods(api: FakeApiClient, ...pods: PodSpecLite[]): Promise<void> {
  for (const p of pods) await api.create(Resources.Pods, p.namespace ?? 'default', makePod(p));
}

function cpuMilliPerNode(api: FakeApiClient): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of storedPods(api)) {
    const node = p.spec.nodeName;
    if (node === undefined) continue;
    const cpu = p.spec.containers[0]?.resources?.requests?.['cpu'] ?? '0';
    out.set(node, (out.get(node) ?? 0) + (cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000));
  }
  return out;
}

function podScheduledCondition(api: FakeApiClient, name: string): unknown {
  const pod = storedPods(api).find((p) => p.metadata.name === name);
  return pod?.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

const bound = (api: FakeApiClient): Pod[] => storedPods(api).filter((p) => p.spec.nodeName !== undefined);

/** Advances the fake clock in steps (back-offs), letting the scheduler run between them, until `check` holds. */
async function eventuallyWithClock(clock: FakeClock, check: () => void, stepMs = 1_000, steps = 30): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await eventually(check, 200);
      return;
    } catch (err) {
      if (i >= steps) throw err;
      clock.advance(stepMs);
    }
  }
}

describe('Scheduler: placing pods', () => {
  it('binds 10 pods of 1 cpu onto 3 nodes of 4 cpu, no node over 4', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n1', cpu: '4' }, { name: 'n2', cpu: '4' }, { name: 'n3', cpu: '4' });
    await addPods(api, ...Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, cpu: '1' })));
    const r = start(api);
    await eventually(() => expect(bound(api)).toHaveLength(10));
    for (const cpu of cpuMilliPerNode(api).values()) expect(cpu).toBeLessThanOrEqual(4000);
    // LeastAllocated spreads them: 4 + 3 + 3.
    expect([...cpuMilliPerNode(api).values()].sort()).toEqual([3000, 3000, 4000]);
    expect(r.scheduler.scheduledPods).toBe(10);
    expect(r.scheduler.metrics()).toMatchObject({ scheduleAttempts: 10, unschedulableAttempts: 0, errors: 0 });
  });

  it('pods created while it runs are scheduled too, and the 13th of 12 slots is reported unschedulable', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n1', cpu: '4' }, { name: 'n2', cpu: '4' }, { name: 'n3', cpu: '4' });
    start(api);
    await turn();
    await addPods(api, ...Array.from({ length: 13 }, (_, i) => ({ name: `p${i}`, cpu: '1' })));
    await eventually(() => expect(bound(api)).toHaveLength(12));
    const pending = storedPods(api).find((p) => p.spec.nodeName === undefined);
    await eventually(() =>
      expect(podScheduledCondition(api, pending?.metadata.name ?? '')).toMatchObject({
        status: 'False',
        reason: 'Unschedulable',
        message: '0/3 nodes are available: 3 Insufficient cpu.',
      }),
    );
  });

  it('two pods in quick succession are not both given the last free cpu while the first binding is still out', async () => {
    const api = new GatedBindingClient();
    // Both pods prefer the roomier node a; only one fits there.
    addNodes(api, { name: 'a', cpu: '3' }, { name: 'b', cpu: '2' });
    await addPods(api, { name: 'p1', cpu: '2' }, { name: 'p2', cpu: '2' });
    const r = start(api);
    await eventually(() => expect(api.waiting).toBe(2)); // both scheduled before either binding answered
    api.open();
    await eventually(() => expect(bound(api)).toHaveLength(2));
    expect(new Set(bound(api).map((p) => p.spec.nodeName))).toEqual(new Set(['a', 'b']));
    expect(r.scheduler.scheduledPods).toBe(2);
  });

  it('higher priority goes first when there is room for one', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n', cpu: '1' });
    await addPods(api, { name: 'low', cpu: '1', priority: 0 }, { name: 'high', cpu: '1', priority: 1000 });
    start(api);
    await eventually(() => expect(nodeOf(api, 'default', 'high')).toBe('n'));
    await eventually(() => expect(podScheduledCondition(api, 'low')).toMatchObject({ reason: 'Unschedulable' }));
  });

  it('leaves alone pods for another scheduler, pods already bound, and pods being deleted', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n' });
    await addPods(api, { name: 'other', schedulerName: 'my-scheduler' }, { name: 'preset', nodeName: 'n' }, { name: 'mine' });
    api.seed(Resources.Pods, { ...makePod({ name: 'going' }), metadata: { name: 'going', namespace: 'default', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['x'] } });
    const r = start(api);
    await eventually(() => expect(nodeOf(api, 'default', 'mine')).toBe('n'));
    await turn();
    expect(nodeOf(api, 'default', 'other')).toBeUndefined();
    expect(nodeOf(api, 'default', 'going')).toBeUndefined();
    expect(api.actions.filter((a) => a.subresource === 'binding').map((a) => a.name)).toEqual(['mine']);
    expect(r.scheduler.metrics().scheduleAttempts).toBe(1);
  });
});

describe('Scheduler: placement rules', () => {
  it('honours nodeSelector, required node affinity and taints', async () => {
    const api = new FakeApiClient();
    addNodes(
      api,
      { name: 'ssd', labels: { disk: 'ssd', zone: 'a' } },
      { name: 'gpu', labels: { zone: 'b' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] },
      { name: 'plain', labels: { zone: 'c' } },
    );
    await addPods(
      api,
      { name: 'wants-ssd', nodeSelector: { disk: 'ssd' } },
      { name: 'gpu-job', tolerations: [{ key: 'gpu', operator: 'Exists' }], nodeSelector: { zone: 'b' } },
      {
        name: 'not-a',
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a', 'b'] }] }] } } },
      },
      { name: 'no-toleration', nodeSelector: { zone: 'b' } },
    );
    start(api);
    await eventually(() => {
      expect(nodeOf(api, 'default', 'wants-ssd')).toBe('ssd');
      expect(nodeOf(api, 'default', 'gpu-job')).toBe('gpu');
      expect(nodeOf(api, 'default', 'not-a')).toBe('plain');
    });
    await eventually(() =>
      expect(podScheduledCondition(api, 'no-toleration')).toMatchObject({
        message: "0/3 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 2 node(s) didn't match Pod's node affinity/selector.",
      }),
    );
    expect(nodeOf(api, 'default', 'no-toleration')).toBeUndefined();
  });

  it('anti-affinity on hostname puts 3 replicas on 3 nodes and reports the 4th', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'a' }, { name: 'b' }, { name: 'c' });
    const replica = (i: number): PodSpecLite => ({
      name: `web-${i}`,
      labels: { app: 'web' },
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } },
    });
    await addPods(api, replica(1), replica(2), replica(3), replica(4));
    start(api);
    await eventually(() => expect(bound(api)).toHaveLength(3));
    expect(new Set(bound(api).map((p) => p.spec.nodeName)).size).toBe(3);
    const left = storedPods(api).find((p) => p.spec.nodeName === undefined)?.metadata.name ?? '';
    await eventually(() => expect(podScheduledCondition(api, left)).toMatchObject({ message: "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules." }));
  });

  it('a cordoned or NotReady node gets no pods', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'cordoned', unschedulable: true }, { name: 'down', ready: false }, { name: 'ok' });
    await addPods(api, ...Array.from({ length: 5 }, (_, i) => ({ name: `p${i}` })));
    start(api);
    await eventually(() => expect(bound(api)).toHaveLength(5));
    expect(new Set(bound(api).map((p) => p.spec.nodeName))).toEqual(new Set(['ok']));
  });
});

describe('Scheduler: unschedulable pods', () => {
  it('get PodScheduled=False with the message, and are scheduled once a fitting node appears', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'small-1', cpu: '1' }, { name: 'small-2', cpu: '1' });
    await addPods(api, { name: 'big', cpu: '4' });
    const r = start(api);
    await eventually(() =>
      expect(podScheduledCondition(api, 'big')).toMatchObject({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' }),
    );
    expect(r.scheduler.metrics().queue.unschedulable).toBe(1);
    // Only the condition was written: no retry loop while nothing changes.
    const patches = api.actions.filter((a) => a.verb === 'patch').length;
    r.clock.advance(20_000);
    await turn();
    expect(api.actions.filter((a) => a.verb === 'patch').length).toBe(patches);

    addNodes(api, { name: 'big-node', cpu: '8' });
    await eventually(() => expect(nodeOf(api, 'default', 'big')).toBe('big-node'));
    expect(r.scheduler.metrics()).toMatchObject({ unschedulableAttempts: 1, scheduledPods: 1 });
  });

  it('a node that grows (allocatable update) lets a waiting pod in, after its back-off', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n', cpu: '1' });
    await addPods(api, { name: 'p', cpu: '2' });
    const r = start(api);
    await eventually(() => expect(podScheduledCondition(api, 'p')).toMatchObject({ reason: 'Unschedulable' }));
    const node = makeNode({ name: 'n', cpu: '4' });
    const current = api.all(Resources.Nodes)[0];
    await api.update(Resources.Nodes, undefined, { ...current, metadata: current?.metadata ?? node.metadata, status: node.status }, 'status');
    await eventuallyWithClock(r.clock, () => expect(nodeOf(api, 'default', 'p')).toBe('n'));
  });

  it('a pending pod deleted while it waits is dropped', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n', cpu: '1' });
    await addPods(api, { name: 'doomed', cpu: '2' });
    const r = start(api);
    await eventually(() => expect(podScheduledCondition(api, 'doomed')).toMatchObject({ reason: 'Unschedulable' }));
    await api.delete(Resources.Pods, 'default', 'doomed');
    expect(r.scheduler.metrics().queue).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
    addNodes(api, { name: 'big', cpu: '8' });
    r.clock.advance(60_000);
    await turn();
    expect(api.actions.filter((a) => a.subresource === 'binding')).toEqual([]);
    expect(r.scheduler.metrics().scheduleAttempts).toBe(1);
  });
});

describe('Scheduler: events', () => {
  function withRecorder(api: FakeApiClient): { clock: FakeClock; recorder: EventRecorder } {
    const clock = new FakeClock();
    return { clock, recorder: new EventRecorder({ client: api, clock, component: 'default-scheduler', host: 'master-1' }) };
  }

  const eventsAbout = (api: FakeApiClient, namespace: string, pod: string, reason: string): Event[] =>
    (api.all(Resources.Events, namespace) as Event[]).filter((e) => e.involvedObject.name === pod && e.reason === reason);

  const podNamed = (api: FakeApiClient, name: string): Pod | undefined => storedPods(api).find((p) => p.metadata.name === name);

  it('records Scheduled on the pod it bound, in the pod namespace, as default-scheduler', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n1' });
    await addPods(api, { name: 'web', namespace: 'shop' });
    const { clock, recorder } = withRecorder(api);
    start(api, { clock, recorder });
    await eventually(() => expect(eventsAbout(api, 'shop', 'web', 'Scheduled')).toHaveLength(1));
    expect(nodeOf(api, 'shop', 'web')).toBe('n1');
    expect(eventsAbout(api, 'shop', 'web', 'Scheduled')[0]).toMatchObject({
      type: 'Normal',
      message: 'Successfully assigned shop/web to n1',
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'shop', name: 'web', uid: podNamed(api, 'web')?.metadata.uid },
      source: { component: 'default-scheduler', host: 'master-1' },
    });
  });

  it('records FailedScheduling with the condition message, again only when that message changes', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'small-1', cpu: '1' }, { name: 'small-2', cpu: '1' });
    await addPods(api, { name: 'big', cpu: '4' });
    const { clock, recorder } = withRecorder(api);
    const r = start(api, { clock, recorder });
    await eventually(() => expect(eventsAbout(api, 'default', 'big', 'FailedScheduling')).toHaveLength(1));
    expect(eventsAbout(api, 'default', 'big', 'FailedScheduling')[0]).toMatchObject({
      type: 'Warning',
      message: '0/2 nodes are available: 2 Insufficient cpu.',
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'big', uid: podNamed(api, 'big')?.metadata.uid },
      count: 1,
    });

    // Retried (the unschedulable pods' periodic flush) for the same reasons: no event written, not even a repeat.
    await eventuallyWithClock(clock, () => expect(r.scheduler.metrics().unschedulableAttempts).toBeGreaterThanOrEqual(2), 60_000, 10);
    await recorder.flush();
    expect(api.actions.filter((a) => a.plural === 'events')).toHaveLength(1);

    // A cordoned node changes the reasons: a new event, with the condition's new message.
    addNodes(api, { name: 'cordoned', cpu: '8', unschedulable: true });
    await eventuallyWithClock(clock, () => expect(eventsAbout(api, 'default', 'big', 'FailedScheduling')).toHaveLength(2));
    const second = eventsAbout(api, 'default', 'big', 'FailedScheduling').find((e) => e.message !== '0/2 nodes are available: 2 Insufficient cpu.');
    expect(second?.message).toMatch(/^0\/3 nodes are available: /);
    await eventually(() => expect(second?.message).toBe((podScheduledCondition(api, 'big') as { message?: string } | undefined)?.message));

    addNodes(api, { name: 'big-node', cpu: '8' });
    await eventuallyWithClock(clock, () => expect(eventsAbout(api, 'default', 'big', 'Scheduled')).toHaveLength(1));
    expect(eventsAbout(api, 'default', 'big', 'Scheduled')[0]?.message).toBe('Successfully assigned default/big to big-node');
  });

  it('records nothing for a binding that failed', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n' });
    api.failWhen((a) => (a.subresource === 'binding' ? new ApiStatusError(500, 'InternalError', 'etcd timeout') : undefined));
    await addPods(api, { name: 'p' });
    const { clock, recorder } = withRecorder(api);
    const r = start(api, { clock, recorder });
    await eventually(() => expect(r.scheduler.metrics().errors).toBeGreaterThanOrEqual(1));
    await recorder.flush();
    expect(api.all(Resources.Events)).toEqual([]);
  });
});

describe('Scheduler: failures and restarts', () => {
  it('a binding refused with 409 frees the assumed resources and is retried only while the pod is still pending', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n', cpu: '1' });
    let refusals = 1;
    api.failWhen((a) => (a.subresource === 'binding' && a.name === 'p1' && refusals-- > 0 ? new ApiStatusError(409, 'Conflict', 'try again') : undefined));
    await addPods(api, { name: 'p1', cpu: '1' });
    const r = start(api);
    await eventually(() => expect(r.scheduler.metrics().bindingConflicts).toBe(1));
    await eventuallyWithClock(r.clock, () => expect(nodeOf(api, 'default', 'p1')).toBe('n'));
    expect(r.logs.some((l) => l.includes('binding pod default/p1 to n: try again'))).toBe(true);
  });

  it('a binding that fails (500) is retried after back-off, not lost', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n' });
    let failures = 2;
    api.failWhen((a) => (a.subresource === 'binding' && failures-- > 0 ? new ApiStatusError(500, 'InternalError', 'etcd timeout') : undefined));
    await addPods(api, { name: 'p' });
    const r = start(api);
    await eventuallyWithClock(r.clock, () => expect(nodeOf(api, 'default', 'p')).toBe('n'));
    expect(r.scheduler.metrics()).toMatchObject({ errors: 2, scheduledPods: 1 });
  });

  it('a new instance over the same API schedules what the previous one left pending', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n1' }, { name: 'n2' });
    await addPods(api, ...Array.from({ length: 5 }, (_, i) => ({ name: `first-${i}` })));
    const first = start(api);
    await eventually(() => expect(bound(api)).toHaveLength(5));
    // The first instance dies with its bindings failing: these pods stay pending.
    api.failWhen((a) => (a.subresource === 'binding' ? new ApiStatusError(503, 'ServiceUnavailable', 'leader changing') : undefined));
    await addPods(api, ...Array.from({ length: 5 }, (_, i) => ({ name: `second-${i}` })));
    await eventually(() => expect(first.scheduler.metrics().errors).toBeGreaterThanOrEqual(5));
    await first.stop();
    api.failWhen(undefined);
    await addPods(api, ...Array.from({ length: 3 }, (_, i) => ({ name: `while-down-${i}` })));

    const second = start(api);
    await eventually(() => expect(bound(api)).toHaveLength(13));
    expect(second.scheduler.scheduledPods).toBe(8);
    expect(second.scheduler.metrics().bindingConflicts).toBe(0);
  });

  it('run() returns promptly on abort and acts on nothing afterwards', async () => {
    const api = new FakeApiClient();
    addNodes(api, { name: 'n' });
    const r = start(api);
    await turn();
    await r.stop();
    await addPods(api, { name: 'late' });
    addNodes(api, { name: 'm' });
    r.clock.advance(600_000);
    await turn();
    expect(nodeOf(api, 'default', 'late')).toBeUndefined();
    expect(r.scheduler.metrics().scheduleAttempts).toBe(0);
    expect(api.actions.filter((a) => a.verb === 'subresource' || a.verb === 'patch')).toEqual([]);
  });

  it('an abort during the initial sync ends run() too', async () => {
    const api = new NeverListingClient();
    const ac = new AbortController();
    const scheduler = new Scheduler({ client: api, clock: new FakeClock() });
    const done = scheduler.run(ac.signal);
    await turn();
    ac.abort();
    await expect(done).resolves.toBeUndefined();
  });
});

/** Holds every binding until `open()`, so scheduling runs ahead of binding. */
class GatedBindingClient extends FakeApiClient {
  waiting = 0;
  private release: (() => void) | undefined;
  private readonly gate = new Promise<void>((r) => (this.release = r));

  open(): void {
    this.release?.();
  }

  override async createSubresource(...args: Parameters<FakeApiClient['createSubresource']>): Promise<unknown> {
    this.waiting++;
    await this.gate;
    return super.createSubresource(...args);
  }
}

/** A list that never answers: the informers never sync. */
class NeverListingClient extends FakeApiClient {
  override list<T extends import('../../../proto/k8s/meta.js').KubeObject>(): Promise<import('../../../control-plane/client/api-client.js').ObjectList<T>> {
    return new Promise(() => {});
  }
}
