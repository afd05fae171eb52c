/**
 * The scheduling queue with a FakeClock: activeQ order, per-pod back-off
 * (1 s doubling to 10 s), unschedulable pods moved back by cluster events or
 * after 5 minutes, and no event lost while a pod is being tried.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../control-plane/client/clock.js';
import {
  ClusterEvent,
  POD_MAX_IN_UNSCHEDULABLE_MS,
  type QueuedPod,
  SchedulingQueue,
  UNSCHEDULABLE_FLUSH_INTERVAL_MS,
  backoffMs,
} from '../../../control-plane/scheduler/queue.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { makePod } from './fixtures.js';

function setup(): { clock: FakeClock; q: SchedulingQueue } {
  const clock = new FakeClock();
  const q = new SchedulingQueue({ clock });
  q.start();
  return { clock, q };
}

async function mustPop(q: SchedulingQueue): Promise<QueuedPod> {
  const qp = await q.pop();
  if (qp === undefined) throw new Error('queue closed');
  return qp;
}

/** Pops whatever is active right now, without waiting. */
async function drainActive(q: SchedulingQueue): Promise<string[]> {
  const keys: string[] = [];
  while (q.lengths().active > 0) keys.push((await mustPop(q)).key);
  return keys;
}

const NO_PLUGINS = new Set<string>();

describe('activeQ order', () => {
  it('pops higher spec.priority first, then the older pod, then the first queued', async () => {
    const { q } = setup();
    q.add(makePod({ name: 'low-old', priority: 0, creationTimestamp: '2024-01-01T00:00:00Z' }));
    q.add(makePod({ name: 'high', priority: 100, creationTimestamp: '2024-01-01T00:00:09Z' }));
    q.add(makePod({ name: 'low-new', priority: 0, creationTimestamp: '2024-01-01T00:00:05Z' }));
    q.add(makePod({ name: 'low-new-2', priority: 0, creationTimestamp: '2024-01-01T00:00:05Z' }));
    q.add(makePod({ name: 'mid', priority: 10, creationTimestamp: '2024-01-01T00:00:01Z' }));
    expect(await drainActive(q)).toEqual(['default/high', 'default/mid', 'default/low-old', 'default/low-new', 'default/low-new-2']);
  });

  it('a waiting pop gets the highest-priority pod of everything added in the same turn', async () => {
    const { q } = setup();
    const popped = q.pop();
    q.add(makePod({ name: 'low', priority: 1 }));
    q.add(makePod({ name: 'high', priority: 9 }));
    expect((await popped)?.key).toBe('default/high');
  });

  it('adding a pod twice keeps one entry; delete drops it', async () => {
    const { q } = setup();
    q.add(makePod({ name: 'p' }));
    q.add(makePod({ name: 'p', priority: 5 }));
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
    q.delete('default/p');
    expect(q.lengths().active).toBe(0);
  });

  it('close answers a waiting pop with undefined', async () => {
    const { q } = setup();
    const popped = q.pop();
    q.close();
    expect(await popped).toBeUndefined();
    expect(await q.pop()).toBeUndefined();
  });
});

describe('back-off', () => {
  it('is 1 s, doubling per attempt, capped at 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 50, 5000].map((n) => backoffMs(n))).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000, 10000]);
  });

  it('a pod that failed with an error returns to activeQ exactly when its back-off is over', async () => {
    const { clock, q } = setup();
    q.add(makePod({ name: 'p' }));
    for (const expectedMs of [1000, 2000, 4000, 8000, 10000, 10000]) {
      const qp = await mustPop(q);
      q.addBackoff(qp);
      expect(q.lengths().backoff).toBe(1);
      clock.advance(expectedMs - 1);
      expect(q.lengths().active).toBe(0);
      clock.advance(1);
      expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
    }
  });
});

describe('unschedulable pods', () => {
  async function failOnce(q: SchedulingQueue, pod: Pod, plugins: ReadonlySet<string> = NO_PLUGINS): Promise<QueuedPod> {
    q.add(pod);
    const qp = await mustPop(q);
    q.addUnschedulable(qp, plugins);
    return qp;
  }

  it('wait for a cluster event; a node added after the back-off sends them straight to activeQ', async () => {
    const { clock, q } = setup();
    await failOnce(q, makePod({ name: 'p' }));
    clock.advance(60_000);
    expect(q.lengths()).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
    q.moveAllToActiveOrBackoff(ClusterEvent.NodeAdd);
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('moved while still backing off, they wait in backoffQ first', async () => {
    const { clock, q } = setup();
    await failOnce(q, makePod({ name: 'p' }));
    clock.advance(400);
    q.moveAllToActiveOrBackoff(ClusterEvent.NodeAdd);
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    clock.advance(600);
    expect(q.lengths().active).toBe(1);
  });

  it('an event that arrives while the pod is being tried is not lost: the pod goes to backoffQ', async () => {
    const { clock, q } = setup();
    q.add(makePod({ name: 'p' }));
    const qp = await mustPop(q);
    q.moveAllToActiveOrBackoff(ClusterEvent.NodeAdd); // during the attempt
    q.addUnschedulable(qp, NO_PLUGINS);
    expect(q.lengths()).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
    clock.advance(1000);
    expect(q.lengths().active).toBe(1);
  });

  it('an event before the pop does not count for the attempt after it', async () => {
    const { q } = setup();
    q.add(makePod({ name: 'p' }));
    q.moveAllToActiveOrBackoff(ClusterEvent.NodeAdd);
    const qp = await mustPop(q);
    q.addUnschedulable(qp, NO_PLUGINS);
    expect(q.lengths().unschedulable).toBe(1);
  });

  it('a selective move only takes the pods it picks', async () => {
    const { q } = setup();
    await failOnce(q, makePod({ name: 'affine' }), new Set(['InterPodAffinity']));
    await failOnce(q, makePod({ name: 'big' }), new Set(['NodeResourcesFit']));
    q.moveAllToActiveOrBackoff(ClusterEvent.AssignedPodAdd, (qp) => qp.unschedulablePlugins.has('InterPodAffinity'));
    expect(q.lengths()).toMatchObject({ backoff: 1, unschedulable: 1 });
  });

  it('go back by themselves after 5 minutes without an event', async () => {
    const { clock, q } = setup();
    await failOnce(q, makePod({ name: 'p' }));
    clock.advance(POD_MAX_IN_UNSCHEDULABLE_MS - UNSCHEDULABLE_FLUSH_INTERVAL_MS);
    expect(q.lengths().unschedulable).toBe(1);
    clock.advance(UNSCHEDULABLE_FLUSH_INTERVAL_MS);
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('a status-only update leaves the pod waiting; a spec or label change moves it', async () => {
    const { clock, q } = setup();
    const pod = makePod({ name: 'p', cpu: '8' });
    await failOnce(q, pod);
    clock.advance(10_000);
    const withCondition: Pod = { ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } };
    q.update(pod, withCondition);
    expect(q.lengths().unschedulable).toBe(1);
    q.update(withCondition, { ...withCondition, metadata: { ...withCondition.metadata, labels: { tier: 'x' } } });
    expect(q.lengths().active).toBe(1);
  });

  it('a pod put back while an update already re-queued it is not duplicated', async () => {
    const { q } = setup();
    q.add(makePod({ name: 'p' }));
    const qp = await mustPop(q);
    q.update(undefined, makePod({ name: 'p', priority: 3 }));
    q.addUnschedulable(qp, NO_PLUGINS);
    expect(q.lengths()).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });
});
