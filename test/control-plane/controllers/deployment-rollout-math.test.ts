/**
 * The pure decisions of a rollout: maxSurge/maxUnavailable (ints and
 * percentages, surge rounded up, unavailable down), how far the new
 * ReplicaSet grows, how far old ones shrink (unavailable pods first, never
 * under the availability floor), proportional resizing, which ReplicaSet a
 * plain resize goes to, and the ReplicaSet bookkeeping (hash, revisions).
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import {
  DeploymentError,
  DeploymentErrorCode,
  newReplicaSetReplicas,
  planOldReplicaSetScaleDown,
  planProportionalScale,
  resolveFenceposts,
  rolloutParams,
  type ReplicaSetView,
  type RolloutParams,
} from '../../../control-plane/controllers/deployment/rollout-math.js';
import {
  equalIgnoreHash,
  findNewReplicaSet,
  newReplicaSetFor,
  podTemplateHash,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  setNewReplicaSetAnnotations,
} from '../../../control-plane/controllers/deployment/replica-sets.js';
import { activeOrLatest, isSaturated } from '../../../control-plane/controllers/deployment/scaling.js';
import { newDeployment } from './deployment-fixtures.js';
import { newReplicaSet } from './replicaset-fixtures.js';

describe('resolveFenceposts', () => {
  const cases: readonly (readonly [string | number, string | number, number, number, number])[] = [
    // maxSurge, maxUnavailable, replicas → surge, unavailable
    ['25%', '25%', 10, 3, 2],
    ['25%', '25%', 4, 1, 1],
    ['25%', '25%', 3, 1, 0],
    ['10%', '10%', 3, 1, 0],
    ['50%', '50%', 5, 3, 2],
    ['100%', '0%', 7, 7, 0],
    [2, 1, 10, 2, 1],
    [0, 0, 10, 0, 1],
    ['0%', '0%', 10, 0, 1],
    ['1%', '1%', 10, 1, 0],
    [0, '1%', 10, 0, 1],
  ];
  it.each(cases)('maxSurge %s, maxUnavailable %s of %i → surge %i, unavailable %i', (surge, unavailable, replicas, wantSurge, wantUnavailable) => {
    expect(resolveFenceposts(surge, unavailable, replicas)).toEqual({ maxSurge: wantSurge, maxUnavailable: wantUnavailable });
  });

  it.each(['25', 'abc%', '-5%', 1.5])('refuses %s with a typed error', (bad) => {
    expect(() => resolveFenceposts(bad, '25%', 10)).toThrow(DeploymentError);
    try {
      resolveFenceposts(bad, '25%', 10);
    } catch (err) {
      expect((err as DeploymentError).code).toBe(DeploymentErrorCode.InvalidIntOrPercent);
      expect((err as Error).message).toContain('maxSurge');
    }
  });
});

describe('rolloutParams', () => {
  it('defaults like apps/v1: RollingUpdate 25%/25%, history 10, deadline 600 s', () => {
    const d = newDeployment({ replicas: 10 });
    delete d.spec.strategy;
    expect(rolloutParams(d.spec)).toEqual({ replicas: 10, strategy: 'RollingUpdate', maxSurge: 3, maxUnavailable: 2, minReadySeconds: 0, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, paused: false });
  });

  it('Recreate neither surges nor tolerates unavailability; maxUnavailable is capped at replicas; MaxInt32 means no deadline', () => {
    expect(rolloutParams(newDeployment({ replicas: 4, strategy: 'Recreate' }).spec)).toMatchObject({ maxSurge: 0, maxUnavailable: 0 });
    expect(rolloutParams(newDeployment({ replicas: 3, maxUnavailable: 5 }).spec).maxUnavailable).toBe(3);
    expect(rolloutParams(newDeployment({ replicas: 0 }).spec).maxUnavailable).toBe(0);
    expect(rolloutParams(newDeployment({ replicas: 1, progressDeadlineSeconds: 2_147_483_647 }).spec).progressDeadlineSeconds).toBeUndefined();
  });
});

const rolling10: RolloutParams = rolloutParams(newDeployment({ replicas: 10 }).spec);

function view(name: string, replicas: number, o: Partial<ReplicaSetView> = {}): ReplicaSetView {
  return { name, replicas, availableReplicas: replicas, podCount: replicas, createdMs: 0, maxReplicasAnnotation: undefined, ...o };
}

describe('newReplicaSetReplicas (surge bound)', () => {
  it('grows the new ReplicaSet up to replicas + maxSurge pods in all', () => {
    const old = view('old', 10);
    const fresh = view('new', 0);
    expect(newReplicaSetReplicas(rolling10, [old, fresh], fresh)).toBe(3);
    expect(newReplicaSetReplicas(rolling10, [view('old', 8), view('new', 3)], view('new', 3))).toBe(5);
  });

  it('counts pods that still exist: old pods shutting down hold the room they take', () => {
    const old = view('old', 8, { podCount: 10 });
    expect(newReplicaSetReplicas(rolling10, [old, view('new', 3)], view('new', 3))).toBe(3);
  });

  it('never past replicas; Recreate goes to replicas at once', () => {
    expect(newReplicaSetReplicas(rolling10, [view('old', 0), view('new', 9)], view('new', 9))).toBe(10);
    const recreate = rolloutParams(newDeployment({ replicas: 10, strategy: 'Recreate' }).spec);
    expect(newReplicaSetReplicas(recreate, [view('old', 10), view('new', 0)], view('new', 0))).toBe(10);
  });
});

describe('planOldReplicaSetScaleDown (availability floor)', () => {
  it('sheds only what the unavailable new pods leave room for', () => {
    const fresh = view('new', 3, { availableReplicas: 0 });
    expect(planOldReplicaSetScaleDown(rolling10, [view('old', 10), fresh], [view('old', 10)], fresh)).toEqual(new Map([['old', 8]]));
    const after = view('old', 8);
    expect(planOldReplicaSetScaleDown(rolling10, [after, fresh], [after], fresh)).toEqual(new Map());
  });

  it('sheds as many as new available pods allow', () => {
    const fresh = view('new', 5);
    expect(planOldReplicaSetScaleDown(rolling10, [view('old', 8), fresh], [view('old', 8)], fresh)).toEqual(new Map([['old', 3]]));
  });

  it('takes unavailable old pods first, oldest ReplicaSet first', () => {
    const oldest = view('oldest', 4, { availableReplicas: 2, createdMs: 1 });
    const older = view('older', 6, { createdMs: 2 });
    const fresh = view('new', 0);
    expect(planOldReplicaSetScaleDown(rolling10, [oldest, older, fresh], [oldest, older], fresh)).toEqual(new Map([['oldest', 2]]));
  });

  it('does not trust availability a ReplicaSet reports above its (just lowered) size', () => {
    const stale = view('old', 8, { availableReplicas: 10, podCount: 10 });
    const fresh = view('new', 5);
    // Trusting 10 would shed 7 and leave 1 + 5 available, under the floor of 8.
    expect(planOldReplicaSetScaleDown(rolling10, [stale, fresh], [stale], fresh)).toEqual(new Map([['old', 3]]));
  });
});

describe('planProportionalScale', () => {
  it('a scale-up mid-rollout keeps the old/new ratio (10 → 20 replicas)', () => {
    const p = rolloutParams(newDeployment({ replicas: 20 }).spec);
    const sizes = planProportionalScale(p, [view('old', 8, { maxReplicasAnnotation: 13 }), view('new', 5, { maxReplicasAnnotation: 13 })], 13);
    expect(sizes).toEqual(new Map([['old', 15], ['new', 10]]));
  });

  it('a scale-down mid-rollout (10 → 5 replicas)', () => {
    const p = rolloutParams(newDeployment({ replicas: 5 }).spec);
    const sizes = planProportionalScale(p, [view('old', 8, { maxReplicasAnnotation: 13 }), view('new', 5, { maxReplicasAnnotation: 13 })], 13);
    expect(sizes).toEqual(new Map([['old', 4], ['new', 3]]));
  });

  it('to zero empties every ReplicaSet', () => {
    const p = rolloutParams(newDeployment({ replicas: 0 }).spec);
    expect(planProportionalScale(p, [view('a', 4), view('b', 2)], 6)).toEqual(new Map([['a', 0], ['b', 0]]));
  });

  it('what rounding leaves goes to the largest (the newest among equals when growing)', () => {
    const p = rolloutParams(newDeployment({ replicas: 4, maxSurge: 0, maxUnavailable: 1 }).spec);
    const sets = [view('a', 1, { createdMs: 1, maxReplicasAnnotation: 3 }), view('b', 1, { createdMs: 2, maxReplicasAnnotation: 3 }), view('c', 1, { createdMs: 3, maxReplicasAnnotation: 3 })];
    expect(planProportionalScale(p, sets, 3)).toEqual(new Map([['c', 2], ['b', 1], ['a', 1]]));
  });

  it('without a max-replicas annotation, falls back to the status replicas', () => {
    const p = rolloutParams(newDeployment({ replicas: 8, maxSurge: 0, maxUnavailable: 1 }).spec);
    expect(planProportionalScale(p, [view('a', 2), view('b', 2)], 4)).toEqual(new Map([['a', 4], ['b', 4]]));
  });
});

function rs(name: string, replicas: number, createdS: number, available = replicas): ReplicaSet {
  const r = newReplicaSet({ name, replicas });
  r.metadata.creationTimestamp = new Date(1_700_000_000_000 + createdS * 1000).toISOString();
  r.status = { replicas, availableReplicas: available };
  r.metadata.annotations = { 'deployment.kubernetes.io/desired-replicas': String(replicas) };
  return r;
}

describe('which ReplicaSet a plain resize goes to', () => {
  it('the only active one; with none active, the new one, else the newest old one; several active: none', () => {
    expect(activeOrLatest(rs('new', 0, 3), [rs('a', 0, 1), rs('b', 4, 2)])?.metadata.name).toBe('b');
    expect(activeOrLatest(rs('new', 0, 3), [rs('a', 0, 1)])?.metadata.name).toBe('new');
    expect(activeOrLatest(undefined, [rs('a', 0, 1), rs('b', 0, 2)])?.metadata.name).toBe('b');
    expect(activeOrLatest(rs('new', 2, 3), [rs('a', 2, 1)])).toBeUndefined();
  });

  it('a saturated new ReplicaSet (sized for, and available at, replicas) lets every old one go', () => {
    const p = rolloutParams(newDeployment({ replicas: 3 }).spec);
    expect(isSaturated(rs('new', 3, 1), p)).toBe(true);
    expect(isSaturated(rs('new', 3, 1, 2), p)).toBe(false);
    expect(isSaturated(undefined, p)).toBe(false);
  });
});

describe('ReplicaSet identity and revisions', () => {
  const d = newDeployment({ replicas: 3, image: 'app:v1' });
  const p = rolloutParams(d.spec);

  it('the hash is stable, name-safe, and changes with the template or the collision count', () => {
    const h = podTemplateHash(d.spec.template, undefined);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash(structuredClone(d.spec.template), undefined)).toBe(h);
    expect(podTemplateHash(newDeployment({ replicas: 3, image: 'app:v2' }).spec.template, undefined)).not.toBe(h);
    expect(podTemplateHash(d.spec.template, 1)).not.toBe(h);
  });

  it('a new ReplicaSet is <deployment>-<hash>, with the hash in its selector and pod labels', () => {
    d.metadata.uid = 'd-uid';
    const made = newReplicaSetFor(d, p);
    const hash = podTemplateHash(d.spec.template, undefined);
    expect(made.metadata.name).toBe(`web-${hash}`);
    expect(made.spec.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(made.spec.template?.metadata?.labels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(made.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true });
    expect(equalIgnoreHash(made.spec.template, d.spec.template)).toBe(true);
    expect(d.spec.template.metadata?.labels).toEqual({ app: 'web' });
  });

  it('the new ReplicaSet is the oldest whose template matches', () => {
    const a = rs('a', 1, 2);
    const b = rs('b', 1, 1);
    const other = rs('other', 1, 0);
    for (const r of [a, b]) r.spec.template = structuredClone(d.spec.template);
    expect(findNewReplicaSet(d, [a, other, b])?.metadata.name).toBe('b');
  });

  it('revisions only go up; a ReplicaSet brought back keeps its old revision in revision-history', () => {
    const back = rs('back', 0, 0);
    back.metadata.annotations = { [REVISION_ANNOTATION]: '1' };
    expect(setNewReplicaSetAnnotations(d, back, 3, true, p)).toBe(true);
    expect(back.metadata.annotations).toMatchObject({ [REVISION_ANNOTATION]: '3', [REVISION_HISTORY_ANNOTATION]: '1' });
    expect(setNewReplicaSetAnnotations(d, back, 2, true, p)).toBe(false);
    expect(back.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
  });
});
