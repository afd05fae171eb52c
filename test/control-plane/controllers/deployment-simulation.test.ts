/**
 * Rollouts simulated end to end: the Deployment and ReplicaSet controllers
 * with workers, the fake API, a fake clock, and a kubelet stand-in that makes
 * pods Ready 2 s after they appear. A checker watches every pod event (and
 * every clock step) and records any moment that breaks the strategy's bound:
 *  - RollingUpdate: pods in all <= replicas + maxSurge, and available pods
 *    >= replicas - maxUnavailable (from the first complete rollout on);
 *  - Recreate: pods of two templates never exist at once.
 * The checker itself is shown to catch a planted breach (a Recreate rollout
 * judged by the rolling bounds).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import { Resources } from '../../../control-plane/client/api-client.js';
import { REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION } from '../../../control-plane/controllers/deployment/replica-sets.js';
import { Cluster, newDeployment, rolloutComplete, type DeploymentShape } from './deployment-fixtures.js';
import { NS, watchFromNow } from './replicaset-fixtures.js';

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

async function cluster(watchLagTurns = 0): Promise<Cluster> {
  const c = await Cluster.start({ readyAfterMs: 2000, watchLagTurns });
  clusters.push(c);
  return c;
}

/** Records every moment (pod event or clock step) at which the pods break a bound. */
class BoundsChecker {
  readonly violations: string[] = [];
  checks = 0;
  armed = false;

  private constructor(
    private readonly c: Cluster,
    private readonly bounds: { maxPods?: number; minAvailable?: number; oneTemplate?: boolean; minReadySeconds?: number },
  ) {}

  static async start(c: Cluster, bounds: BoundsChecker['bounds']): Promise<BoundsChecker> {
    const checker = new BoundsChecker(c, bounds);
    await watchFromNow(c.fake, Resources.Pods, () => checker.check('pod event'));
    return checker;
  }

  check(when: string): void {
    if (!this.armed) return;
    this.checks++;
    const live = this.c.livePods();
    const available = this.c.availablePods(this.bounds.minReadySeconds ?? 0).length;
    const at = `${when} at t+${(this.c.clock.nowMs() - 1_700_000_000_000) / 1000}s`;
    if (this.bounds.maxPods !== undefined && live.length > this.bounds.maxPods) this.violations.push(`${at}: ${live.length} pods > ${this.bounds.maxPods}`);
    if (this.bounds.minAvailable !== undefined && available < this.bounds.minAvailable) this.violations.push(`${at}: ${available} available < ${this.bounds.minAvailable}`);
    const images = new Set(live.map((p) => this.c.imageOf(p)));
    if (this.bounds.oneTemplate === true && images.size > 1) this.violations.push(`${at}: pods of ${[...images].join(' and ')} together`);
  }
}

/** Steps until the rollout to `image` is complete and only its pods remain, checking the bounds at every step. */
async function rollTo(c: Cluster, checker: BoundsChecker, image: string, replicas: number, maxSteps: number): Promise<number> {
  const done = (): boolean => {
    const d = c.deployment();
    const live = c.livePods();
    return rolloutComplete(d) && live.length === replicas && live.every((p) => c.imageOf(p) === image) && c.availablePods().length === replicas;
  };
  let steps = 0;
  while (!done()) {
    if (steps++ >= maxSteps) throw new Error(`rollout to ${image} not complete after ${maxSteps} steps: ${JSON.stringify(c.deployment().status)}`);
    await c.step();
    checker.check('clock step');
  }
  return steps;
}

function expectFinalStatus(c: Cluster, replicas: number): void {
  const d = c.deployment();
  expect(d.status).toMatchObject({ observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, unavailableReplicas: 0 });
  const conditions = new Map((d.status?.conditions ?? []).map((x) => [x.type, x]));
  expect(conditions.get('Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
  expect(conditions.get('Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
}

const rsByImage = (c: Cluster, image: string): ReplicaSet | undefined => c.replicaSets().find((rs) => rs.spec.template?.spec.containers[0]?.image === image);

interface RollingCase {
  readonly title: string;
  readonly shape: DeploymentShape;
  readonly maxPods: number;
  readonly minAvailable: number;
  readonly watchLagTurns: number;
}

const bounds: readonly Omit<RollingCase, 'title' | 'watchLagTurns'>[] = [
  { shape: { replicas: 10, maxSurge: '25%', maxUnavailable: '25%' }, maxPods: 13, minAvailable: 8 },
  { shape: { replicas: 10, maxSurge: '25%', maxUnavailable: '25%', minReadySeconds: 3 }, maxPods: 13, minAvailable: 8 },
  { shape: { replicas: 10, maxSurge: 0, maxUnavailable: 1 }, maxPods: 10, minAvailable: 9 },
  { shape: { replicas: 10, maxSurge: 2, maxUnavailable: 0 }, maxPods: 12, minAvailable: 10 },
];

/** Each bound with caches in step with the API, and with caches lagging it (so syncs act on stale views). */
const rollingCases: readonly RollingCase[] = [0, 2].flatMap((watchLagTurns) =>
  bounds.map((b) => ({
    ...b,
    watchLagTurns,
    title: `maxSurge ${b.shape.maxSurge}, maxUnavailable ${b.shape.maxUnavailable}${b.shape.minReadySeconds === undefined ? '' : `, minReadySeconds ${b.shape.minReadySeconds}`}${watchLagTurns > 0 ? ', lagging caches' : ''}`,
  })),
);

describe('RollingUpdate of 10 replicas to a new image and back (rollback)', () => {
  it.each(rollingCases)('$title: stays within bounds at every step, completes, and rolls back onto the old ReplicaSet', async ({ shape, maxPods, minAvailable, watchLagTurns }) => {
    const c = await cluster(watchLagTurns);
    const minReadySeconds = shape.minReadySeconds ?? 0;
    const checker = await BoundsChecker.start(c, { maxPods, minAvailable, minReadySeconds });
    await c.fake.create(Resources.Deployments, NS, newDeployment({ ...shape, image: 'app:v1' }));
    await rollTo(c, checker, 'app:v1', 10, 60);
    const v1 = rsByImage(c, 'app:v1');
    expect(v1?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');

    checker.armed = true;
    await c.setImage('app:v2');
    await rollTo(c, checker, 'app:v2', 10, 120);
    expectFinalStatus(c, 10);
    expect(rsByImage(c, 'app:v2')?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(rsByImage(c, 'app:v1')?.spec.replicas).toBe(0);

    // kubectl rollout undo: the template goes back; the v1 ReplicaSet takes over with the next revision.
    await c.setImage('app:v1');
    await rollTo(c, checker, 'app:v1', 10, 120);
    expectFinalStatus(c, 10);
    expect(c.replicaSets()).toHaveLength(2);
    const back = rsByImage(c, 'app:v1');
    expect(back?.metadata.uid).toBe(v1?.metadata.uid);
    expect(back?.metadata.annotations).toMatchObject({ [REVISION_ANNOTATION]: '3', [REVISION_HISTORY_ANNOTATION]: '1' });
    expect(c.deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(c.pods().every((p) => c.ownerName(p) === back?.metadata.name)).toBe(true);

    expect(checker.violations).toEqual([]);
    expect(checker.checks).toBeGreaterThan(40);
  });
});

describe('Recreate', () => {
  it('never runs old and new pods together, and completes', async () => {
    const c = await cluster();
    const checker = await BoundsChecker.start(c, { oneTemplate: true, maxPods: 5 });
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 5, strategy: 'Recreate', image: 'app:v1' }));
    await rollTo(c, checker, 'app:v1', 5, 30);
    checker.armed = true;
    await c.setImage('app:v2');
    await rollTo(c, checker, 'app:v2', 5, 60);
    expectFinalStatus(c, 5);
    expect(checker.violations).toEqual([]);
    expect(checker.checks).toBeGreaterThan(10);
  });

  it('the checker catches a planted breach: a Recreate rollout judged by rolling bounds', async () => {
    const c = await cluster();
    const checker = await BoundsChecker.start(c, { minAvailable: 4 });
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 5, strategy: 'Recreate', image: 'app:v1' }));
    await rollTo(c, checker, 'app:v1', 5, 30);
    checker.armed = true;
    await c.setImage('app:v2');
    await rollTo(c, checker, 'app:v2', 5, 60);
    expect(checker.violations.length).toBeGreaterThan(0);
    expect(checker.violations[0]).toMatch(/available < 4/);
  });
});
