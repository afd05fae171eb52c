/**
 * Property: whatever happens to a Deployment — resizes, new templates
 * (including returns to old ones), pods deleted under it, pauses and
 * resumes, with caches in step or lagging — once it is left alone and
 * unpaused, the cluster converges to its spec: exactly spec.replicas pods, all
 * of the current template, all available, owned by one ReplicaSet; every
 * other ReplicaSet at 0; no more old ReplicaSets than revisionHistoryLimit;
 * and a status that `kubectl rollout status` calls done.
 *
 * One seed drives a run; it is printed on failure (replay with FC_SEED=<seed>).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Resources } from '../../../control-plane/client/api-client.js';
import { controllerRefOf } from '../../../control-plane/controllers/controller-utils.js';
import { equalIgnoreHash } from '../../../control-plane/controllers/deployment/replica-sets.js';
import { Cluster, newDeployment, rolloutComplete, type DeploymentShape } from './deployment-fixtures.js';
import { NS } from './replicaset-fixtures.js';

/** Runs per test: each is a whole simulated cluster (tens of ms); this many fit in a few seconds on two cores. */
const RUNS = 100;
/** Steps (1 s of fake time each) the cluster gets to converge once left alone. */
const CONVERGE_STEPS_MAX = 200;
const HISTORY_LIMIT = 2;
const IMAGES = ['app:v1', 'app:v2', 'app:v3'] as const;

type Command =
  | { readonly kind: 'scale'; readonly replicas: number }
  | { readonly kind: 'image'; readonly image: string }
  | { readonly kind: 'deletePod'; readonly index: number }
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'wait'; readonly steps: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('scale' as const), replicas: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('image' as const), image: fc.constantFrom(...IMAGES) }),
  fc.record({ kind: fc.constant('deletePod' as const), index: fc.nat(20) }),
  fc.record({ kind: fc.constant('pause' as const) }),
  fc.record({ kind: fc.constant('resume' as const) }),
  fc.record({ kind: fc.constant('wait' as const), steps: fc.integer({ min: 1, max: 6 }) }),
);

const strategy: fc.Arbitrary<Partial<DeploymentShape>> = fc.oneof(
  fc.record({
    strategy: fc.constant('RollingUpdate' as const),
    maxSurge: fc.constantFrom<number | string>(0, 1, 2, '25%', '50%'),
    maxUnavailable: fc.constantFrom<number | string>(0, 1, '25%', '50%'),
  }),
  fc.constant({ strategy: 'Recreate' as const }),
);

const scenario = fc.record({
  replicas: fc.integer({ min: 0, max: 5 }),
  strategy,
  minReadySeconds: fc.constantFrom(0, 0, 2),
  readyAfterMs: fc.constantFrom(0, 1000, 2500),
  watchLagTurns: fc.constantFrom(0, 0, 2),
  commands: fc.array(command, { maxLength: 15 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

const clusters: Cluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.stop();
});

async function apply(c: Cluster, cmd: Command): Promise<void> {
  switch (cmd.kind) {
    case 'scale':
      return c.patchSpec({ replicas: cmd.replicas });
    case 'image':
      return c.setImage(cmd.image);
    case 'deletePod': {
      const live = c.livePods().sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
      const victim = live[cmd.index % Math.max(1, live.length)];
      if (victim !== undefined) await c.fake.delete(Resources.Pods, NS, victim.metadata.name ?? '');
      return;
    }
    case 'pause':
      return c.patchSpec({ paused: true });
    case 'resume':
      return c.patchSpec({ paused: false });
    case 'wait':
      for (let i = 1; i < cmd.steps; i++) await c.step();
      return;
  }
}

/** Why the cluster has not converged to the Deployment's spec, or undefined when it has. */
function notConverged(c: Cluster, minReadySeconds: number): string | undefined {
  const d = c.deployment();
  const replicas = d.spec.replicas ?? 1;
  const s = d.status;
  if (!rolloutComplete(d)) return `rollout not complete: ${JSON.stringify(s)}`;
  if (s?.replicas !== replicas || s.updatedReplicas !== replicas || s.availableReplicas !== replicas) return `status counts ${JSON.stringify(s)} != ${replicas}`;
  const rsList = c.replicaSets();
  const current = rsList.filter((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
  if (current.length !== 1) return `${current.length} ReplicaSets with the current template`;
  const [cur] = current;
  const others = rsList.filter((rs) => rs !== cur);
  if (others.some((rs) => (rs.spec.replicas ?? 1) !== 0 || (rs.status?.replicas ?? 0) !== 0)) return 'an old ReplicaSet still has replicas';
  if (others.length > HISTORY_LIMIT) return `${others.length} old ReplicaSets > revisionHistoryLimit ${HISTORY_LIMIT}`;
  const live = c.livePods();
  if (live.length !== replicas) return `${live.length} pods != ${replicas}`;
  if (live.some((p) => controllerRefOf(p)?.uid !== cur?.metadata.uid || p.metadata.deletionTimestamp !== undefined)) return 'a pod not of the current ReplicaSet';
  if (c.availablePods(minReadySeconds).length !== replicas) return 'not every pod available';
  if (condition(d, 'Available') !== 'True') return 'Available is not True';
  return undefined;
}

const condition = (d: ReturnType<Cluster['deployment']>, type: string): string | undefined => d.status?.conditions?.find((x) => x.type === type)?.status;

async function runScenario(sc: Scenario): Promise<void> {
  const c = await Cluster.start({ readyAfterMs: sc.readyAfterMs, watchLagTurns: sc.watchLagTurns });
  clusters.push(c);
  const shape: DeploymentShape = { replicas: sc.replicas, ...sc.strategy, minReadySeconds: sc.minReadySeconds, revisionHistoryLimit: HISTORY_LIMIT, image: IMAGES[0] };
  await c.fake.create(Resources.Deployments, NS, newDeployment(shape));
  for (const cmd of sc.commands) {
    await apply(c, cmd);
    await c.step();
  }
  await c.patchSpec({ paused: false });
  let why: string | undefined;
  for (let i = 0; i < CONVERGE_STEPS_MAX && (why = notConverged(c, sc.minReadySeconds)) !== undefined; i++) await c.step();
  expect(why, 'converged').toBeUndefined();
  await c.stop();
}

describe('the convergence check', () => {
  async function convergedThenStopped(): Promise<Cluster> {
    const c = await Cluster.start({ readyAfterMs: 0 });
    clusters.push(c);
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 2, revisionHistoryLimit: HISTORY_LIMIT }));
    await c.runUntil(() => notConverged(c, 0) === undefined, 20, 'first rollout');
    await c.stop();
    return c;
  }

  it('catches planted failures: a new template never rolled out, a pod lost while the controllers are down', async () => {
    const unrolled = await convergedThenStopped();
    await unrolled.setImage('app:v2');
    expect(notConverged(unrolled, 0)).toMatch(/^rollout not complete/);

    const short = await convergedThenStopped();
    await short.fake.delete(Resources.Pods, NS, short.pods()[0]?.metadata.name ?? '');
    expect(notConverged(short, 0)).toBe('1 pods != 2');
  });
});

describe('a Deployment converges to its spec after any sequence of events', () => {
  const seed = Number(process.env['FC_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

  it('scale, template change, pod deletion, pause and resume', async () => {
    try {
      await fc.assert(fc.asyncProperty(scenario, runScenario), { seed, numRuns: RUNS });
    } catch (err) {
      console.error(`deployment convergence failed: replay with FC_SEED=${seed}`);
      throw err;
    }
  });
});
