/**
 * Informer events → cache and queue: which node updates wake waiting pods,
 * and what pod events do to a pod waiting as unschedulable.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { SchedulerCache } from '../../../control-plane/scheduler/cache.js';
import { nodeHandlers, nodeSchedulingPropertiesChanged, podHandlers } from '../../../control-plane/scheduler/event-handlers.js';
import { DEFAULT_SCHEDULER_NAME } from '../../../control-plane/scheduler/pod-info.js';
import { SchedulingQueue } from '../../../control-plane/scheduler/queue.js';
import type { Node } from '../../../proto/k8s/core-v1.js';
import { makeNode, makePod } from './fixtures.js';

function setup() {
  const clock = new FakeClock();
  const cache = new SchedulerCache();
  const queue = new SchedulingQueue({ clock });
  const deps = { cache, queue, schedulerName: DEFAULT_SCHEDULER_NAME, live: () => true };
  return { clock, cache, queue, pods: podHandlers(deps), nodes: nodeHandlers(deps) };
}

/** Puts one pod into the unschedulable set, its back-off long over. */
async function waitingPod(s: ReturnType<typeof setup>): Promise<void> {
  s.pods.onAdd?.(makePod({ name: 'w', cpu: '8' }));
  const qp = await s.queue.pop();
  if (qp === undefined) throw new Error('closed');
  s.queue.addUnschedulable(qp, new Set(['NodeResourcesFit']));
  s.clock.advance(60_000);
}

describe('node events', () => {
  const node = makeNode({ name: 'n' });
  const heartbeat: Node = { ...node, status: { ...node.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-01-01T00:00:10Z' }] } };

  it('a heartbeat is not a scheduling change; taints, labels, allocatable, cordon and readiness are', () => {
    expect(nodeSchedulingPropertiesChanged(node, heartbeat)).toBe(false);
    expect(nodeSchedulingPropertiesChanged(node, makeNode({ name: 'n', taints: [{ key: 'k', effect: 'NoSchedule' }] }))).toBe(true);
    expect(nodeSchedulingPropertiesChanged(node, makeNode({ name: 'n', labels: { zone: 'a' } }))).toBe(true);
    expect(nodeSchedulingPropertiesChanged(node, makeNode({ name: 'n', cpu: '64' }))).toBe(true);
    expect(nodeSchedulingPropertiesChanged(node, makeNode({ name: 'n', unschedulable: true }))).toBe(true);
    expect(nodeSchedulingPropertiesChanged(node, makeNode({ name: 'n', ready: false }))).toBe(true);
  });

  it('a node added wakes waiting pods; a heartbeat does not', async () => {
    const s = setup();
    s.nodes.onAdd?.(node);
    await waitingPod(s);
    s.nodes.onUpdate?.(node, heartbeat);
    expect(s.queue.lengths().unschedulable).toBe(1);
    s.nodes.onAdd?.(makeNode({ name: 'm', cpu: '16' }));
    expect(s.queue.lengths()).toMatchObject({ active: 1, unschedulable: 0 });
  });
});

describe('pod events', () => {
  it('a bound pod deleted frees its resources and wakes waiting pods', async () => {
    const s = setup();
    const bound = makePod({ name: 'b', cpu: '1', nodeName: 'n' });
    s.pods.onAdd?.(bound);
    expect(s.cache.placementOf('default/b')).toEqual({ nodeName: 'n', assumed: false });
    await waitingPod(s);
    s.pods.onDelete?.(bound);
    expect(s.cache.placementOf('default/b')).toBeUndefined();
    expect(s.queue.lengths()).toMatchObject({ active: 1, unschedulable: 0 });
  });

  it('a pod bound by someone else leaves the queue and is counted on its node', () => {
    const s = setup();
    const pod = makePod({ name: 'p', cpu: '1' });
    s.pods.onAdd?.(pod);
    expect(s.queue.lengths().active).toBe(1);
    s.pods.onUpdate?.(pod, { ...pod, spec: { ...pod.spec, nodeName: 'x' } });
    expect(s.queue.lengths().active).toBe(0);
    expect(s.cache.placementOf('default/p')?.nodeName).toBe('x');
  });

  it('a pending pod marked for deletion leaves the queue', () => {
    const s = setup();
    const pod = makePod({ name: 'p' });
    s.pods.onAdd?.(pod);
    s.pods.onUpdate?.(pod, { ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } });
    expect(s.queue.has('default/p')).toBe(false);
  });

  it('a finished pod frees its node', () => {
    const s = setup();
    const pod = makePod({ name: 'p', cpu: '1', nodeName: 'n' });
    s.pods.onAdd?.(pod);
    s.pods.onUpdate?.(pod, { ...pod, status: { phase: 'Failed' } });
    expect(s.cache.placementOf('default/p')).toBeUndefined();
  });
});
