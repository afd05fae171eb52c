/**
 * Which pods a scale-down removes first: Kubernetes' ActivePods ordering, one
 * rule at a time (each pair differs only in the rule under test, and the rule
 * must beat every later one), then as a whole on a mixed set.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { compareActivePods, podsToDelete } from '../../../control-plane/controllers/replicaset/active-pods.js';
import { newPod, START_MS, type PodShape } from './replicaset-fixtures.js';

const labels = { app: 'web' };
const pod = (name: string, o: Partial<PodShape> = {}): Pod => newPod({ name, labels, nodeName: 'n1', phase: 'Running', readySinceMs: START_MS, createdMs: START_MS, ...o });

describe('ActivePods ranking: the first of each pair goes first', () => {
  const cases: readonly (readonly [string, Pod, Pod])[] = [
    // Each "less useful" pod is made better on every later rule, so only the rule under test can decide.
    ['unassigned before assigned', pod('a', { nodeName: undefined, restarts: 0, createdMs: START_MS - 9000 }), pod('b', { restarts: 5 })],
    ['Pending before Unknown', pod('a', { phase: 'Pending', readySinceMs: START_MS - 9000 }), pod('b', { phase: 'Unknown', readySinceMs: undefined, restarts: 5 })],
    ['Unknown before Running', pod('a', { phase: 'Unknown', readySinceMs: START_MS - 9000 }), pod('b', { phase: 'Running', readySinceMs: undefined, restarts: 5 })],
    ['not ready before ready', pod('a', { readySinceMs: undefined, createdMs: START_MS - 9000 }), pod('b', { restarts: 5 })],
    ['ready for less time before ready for longer', pod('a', { readySinceMs: START_MS + 5000, createdMs: START_MS - 9000 }), pod('b', { readySinceMs: START_MS, restarts: 5 })],
    ['more restarts before fewer', pod('a', { restarts: 3, createdMs: START_MS - 9000 }), pod('b', { restarts: 1 })],
    ['newer before older', pod('a', { createdMs: START_MS + 1000 }), pod('b', { createdMs: START_MS })],
  ];

  it.each(cases)('%s', (_rule, first, second) => {
    expect(compareActivePods(first, second)).toBeLessThan(0);
    expect(compareActivePods(second, first)).toBeGreaterThan(0);
  });

  it('a ready pod without a transition time counts as ready for the least time', () => {
    const noTime = pod('a');
    noTime.status?.conditions?.forEach((c) => delete c.lastTransitionTime);
    expect(compareActivePods(noTime, pod('b', { readySinceMs: START_MS + 60_000 }))).toBeLessThan(0);
  });

  it('equal pods compare as 0', () => {
    expect(compareActivePods(pod('a'), pod('b'))).toBe(0);
  });
});

describe('podsToDelete', () => {
  it('picks the least useful pods of a mixed set, in deletion order', () => {
    const pods = [
      pod('running-old', { createdMs: START_MS - 60_000, readySinceMs: START_MS - 50_000 }),
      pod('running-new', { readySinceMs: START_MS - 10_000 }),
      pod('pending', { phase: 'Pending', readySinceMs: undefined }),
      pod('unassigned', { nodeName: undefined, phase: 'Pending', readySinceMs: undefined }),
      pod('not-ready', { readySinceMs: undefined }),
      pod('crashy', { readySinceMs: START_MS - 50_000, createdMs: START_MS - 60_000, restarts: 7 }),
    ];
    expect(podsToDelete(pods, 4).map((p) => p.metadata.name)).toEqual(['unassigned', 'pending', 'not-ready', 'running-new']);
    expect(podsToDelete(pods, 0)).toEqual([]);
    expect(pods[0]?.metadata.name).toBe('running-old');
  });

  it('is a total preorder: sorting any shuffle gives the same ranks', () => {
    const shape = fc.record({
      assigned: fc.boolean(),
      phase: fc.constantFrom('Pending' as const, 'Unknown' as const, 'Running' as const),
      readyAfterS: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
      restarts: fc.integer({ min: 0, max: 3 }),
      createdS: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(shape, { minLength: 1, maxLength: 12 }), (shapes) => {
        const pods = shapes.map((s, i) =>
          newPod({
            name: `p${i}`,
            labels,
            ...(s.assigned ? { nodeName: 'n1' } : {}),
            phase: s.phase,
            ...(s.readyAfterS === undefined ? {} : { readySinceMs: START_MS + s.readyAfterS * 1000 }),
            restarts: s.restarts,
            createdMs: START_MS + s.createdS * 1000,
          }),
        );
        const sorted = [...pods].sort(compareActivePods);
        for (let i = 1; i < sorted.length; i++) expect(compareActivePods(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
        for (const a of pods) for (const b of pods) expect(Math.sign(compareActivePods(a, b)) + Math.sign(compareActivePods(b, a))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
