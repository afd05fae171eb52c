/**
 * The Deployment controller's sync(key) against the fake API (0 workers, no
 * ReplicaSet controller: the tests write ReplicaSet status themselves), the
 * ScalingReplicaSet events it records on the Deployment, then
 * a few behaviours that need pods to come and go, on the simulated cluster:
 * pause, progress deadline, revision history cleanup.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet, ReplicaSetStatus } from '../../../proto/k8s/apps-v1.js';
import type { Event } from '../../../proto/k8s/core-v1.js';
import { PatchType, Resources } from '../../../control-plane/client/api-client.js';
import { DeploymentController } from '../../../control-plane/controllers/deployment/deployment-controller.js';
import { EventRecorder } from '../../../control-plane/client/events/event-recorder.js';
import { podTemplateHash, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION } from '../../../control-plane/controllers/deployment/replica-sets.js';
import { DeploymentErrorCode } from '../../../control-plane/controllers/deployment/rollout-math.js';
import { Cluster, newDeployment, rolloutComplete } from './deployment-fixtures.js';
import { newPod, NS, settle, start, TestClient } from './replicaset-fixtures.js';

const KEY = `${NS}/web`;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** With `events`, the controller records through an EventRecorder over the same fake API. */
async function setup(o: { events?: boolean } = {}) {
  const client = new TestClient();
  const recorder = o.events === true ? new EventRecorder({ client: client.fake, clock: client.clock, component: 'controller-manager' }) : undefined;
  const dc = new DeploymentController({ client, clock: client.clock, workers: 0, ...(recorder === undefined ? {} : { recorder }) });
  stops.push((await start(dc)).stop);
  const fake = client.fake;
  /** [type, reason, message] of the events about the Deployment, oldest first, once the recorder has written them. */
  const events = async (): Promise<[string | undefined, string | undefined, string | undefined][]> => {
    await recorder?.flush();
    const about = (fake.all(Resources.Events, NS) as Event[]).filter((e) => e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'web');
    return about.map((e) => [e.type, e.reason, e.message]);
  };
  const deployment = (): Deployment => fake.all(Resources.Deployments, NS)[0] as Deployment;
  const replicaSets = (): ReplicaSet[] => fake.all(Resources.ReplicaSets, NS) as ReplicaSet[];
  const byImage = (image: string): ReplicaSet | undefined => replicaSets().find((rs) => rs.spec.template?.spec.containers[0]?.image === image);
  const setImage = (image: string) => fake.patch(Resources.Deployments, NS, 'web', PatchType.Strategic, { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
  const patchSpec = (spec: object) => fake.patch(Resources.Deployments, NS, 'web', PatchType.Merge, { spec });
  /** What the ReplicaSet controller would report once every pod is up. */
  const reportUp = async (rs: ReplicaSet | undefined, status: Partial<ReplicaSetStatus> = {}): Promise<void> => {
    const current = fake.all(Resources.ReplicaSets, NS).find((r) => r.metadata.uid === rs?.metadata.uid) as ReplicaSet;
    const n = current.spec.replicas ?? 0;
    await fake.update(Resources.ReplicaSets, NS, { ...current, status: { replicas: n, readyReplicas: n, availableReplicas: n, observedGeneration: current.metadata.generation ?? 0, ...status } }, 'status');
  };
  const writes = (): number => fake.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch').length;
  return { client, fake, dc, deployment, replicaSets, byImage, setImage, patchSpec, reportUp, writes, events };
}

const condition = (d: Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);

describe('the first ReplicaSet', () => {
  it('is <name>-<hash>, owned, labelled with the hash, revision 1, sized by the surge bound', async () => {
    const { fake, dc, deployment, replicaSets, writes } = await setup();
    const d = fake.seed(Resources.Deployments, newDeployment({ replicas: 3 }));
    await dc.sync(KEY);
    const hash = podTemplateHash(newDeployment({ replicas: 3 }).spec.template, undefined);
    const [rs, ...more] = replicaSets();
    expect(more).toEqual([]);
    expect(rs?.metadata.name).toBe(`web-${hash}`);
    expect(rs?.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(rs?.spec.selector.matchLabels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs?.spec.template?.metadata?.labels).toEqual({ app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs?.spec.replicas).toBe(3);
    expect(rs?.metadata.annotations).toEqual({ [REVISION_ANNOTATION]: '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(deployment().status).toMatchObject({ observedGeneration: 1, replicas: 0, updatedReplicas: 0, availableReplicas: 0, unavailableReplicas: 3 });
    expect(condition(deployment(), 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "web-${hash}"` });
    expect(condition(deployment(), 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });

    const before = writes();
    await dc.sync(KEY);
    expect(writes()).toBe(before);
  });

  it('reports the rollout complete once the ReplicaSet reports its pods available', async () => {
    const { fake, dc, deployment, replicaSets, reportUp } = await setup();
    fake.seed(Resources.Deployments, newDeployment({ replicas: 3 }));
    await dc.sync(KEY);
    await reportUp(replicaSets()[0]);
    await dc.sync(KEY);
    expect(deployment().status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0 });
    expect(condition(deployment(), 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(condition(deployment(), 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(rolloutComplete(deployment())).toBe(true);
  });
});

describe('templates and revisions', () => {
  it('a new template gets a new ReplicaSet (revision 2); going back reuses the old one (revision 3)', async () => {
    const { fake, dc, deployment, replicaSets, byImage, setImage, reportUp } = await setup();
    fake.seed(Resources.Deployments, newDeployment({ replicas: 4, image: 'app:v1' }));
    await dc.sync(KEY);
    const v1 = byImage('app:v1');
    await reportUp(v1);
    await setImage('app:v2');
    await dc.sync(KEY);
    // maxSurge 1: one new pod; maxUnavailable 1: one old pod may go while it starts.
    expect(byImage('app:v2')?.spec.replicas).toBe(1);
    expect(byImage('app:v1')?.spec.replicas).toBe(3);
    expect(byImage('app:v2')?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');
    expect(deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe('2');

    await setImage('app:v1');
    await dc.sync(KEY);
    expect(replicaSets()).toHaveLength(2);
    const back = byImage('app:v1');
    expect(back?.metadata.uid).toBe(v1?.metadata.uid);
    expect(back?.metadata.annotations).toMatchObject({ [REVISION_ANNOTATION]: '3', [REVISION_HISTORY_ANNOTATION]: '1' });
    await dc.sync(KEY);
    expect(deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
    expect(byImage('app:v1')?.spec.replicas).toBe(4);
  });

  it('a name taken by another template bumps collisionCount, and the next sync uses another name', async () => {
    const { fake, dc, deployment, replicaSets } = await setup();
    const d = newDeployment({ replicas: 1 });
    const taken = `web-${podTemplateHash(d.spec.template, undefined)}`;
    const squatter = newPod({ name: 'x', labels: {} });
    fake.seed(Resources.ReplicaSets, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: taken, namespace: NS, labels: { app: 'other' } }, spec: { replicas: 0, selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } }, spec: squatter.spec } } });
    fake.seed(Resources.Deployments, d);
    await expect(dc.sync(KEY)).rejects.toMatchObject({ code: DeploymentErrorCode.HashCollision });
    expect(deployment().status?.collisionCount).toBe(1);
    await dc.sync(KEY);
    const ours = replicaSets().find((rs) => rs.metadata.name !== taken);
    expect(ours?.metadata.name).toBe(`web-${podTemplateHash(d.spec.template, 1)}`);
  });
});

describe('claiming ReplicaSets', () => {
  it('adopts an orphan with the same template instead of creating one, and releases an owned one that stopped matching', async () => {
    const { fake, dc, replicaSets } = await setup();
    const spec = newDeployment({ replicas: 2 });
    const d = fake.seed(Resources.Deployments, spec);
    const hash = podTemplateHash(spec.spec.template, undefined);
    const labels = { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash };
    const orphan: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `web-${hash}`, namespace: NS, labels },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { ...structuredClone(spec.spec.template), metadata: { labels } } },
    };
    fake.seed(Resources.ReplicaSets, orphan);
    const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
    fake.seed(Resources.ReplicaSets, { ...orphan, metadata: { name: 'stray', namespace: NS, labels: { app: 'debug' }, ownerReferences: [owner] } });
    await dc.sync(KEY);
    const byName = new Map(replicaSets().map((rs) => [rs.metadata.name, rs]));
    expect(byName.size).toBe(2);
    expect(byName.get(`web-${hash}`)?.metadata.ownerReferences).toEqual([owner]);
    expect(byName.get('stray')?.metadata.ownerReferences ?? []).toEqual([]);
  });

  it('an empty selector (selects everything) claims nothing and creates nothing, but records the generation seen', async () => {
    const { fake, dc, deployment, replicaSets } = await setup();
    const d = newDeployment({ replicas: 2 });
    d.spec.selector = {};
    fake.seed(Resources.Deployments, d);
    await dc.sync(KEY);
    expect(replicaSets()).toEqual([]);
    expect(deployment().status?.observedGeneration).toBe(1);
  });
});

describe('scaling', () => {
  it('a replicas change resizes the one active ReplicaSet and its annotations', async () => {
    const { fake, dc, replicaSets, reportUp, patchSpec } = await setup();
    fake.seed(Resources.Deployments, newDeployment({ replicas: 3 }));
    await dc.sync(KEY);
    await reportUp(replicaSets()[0]);
    await patchSpec({ replicas: 5 });
    await dc.sync(KEY);
    expect(replicaSets()[0]?.spec.replicas).toBe(5);
    expect(replicaSets()[0]?.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/desired-replicas': '5', 'deployment.kubernetes.io/max-replicas': '7' });
  });

  it('paused: a new template creates nothing; a resize mid-rollout is shared in proportion; resuming continues', async () => {
    const { fake, dc, deployment, replicaSets, byImage, setImage, reportUp, patchSpec } = await setup();
    fake.seed(Resources.Deployments, newDeployment({ replicas: 4, image: 'app:v1' }));
    await dc.sync(KEY);
    await reportUp(byImage('app:v1'));
    await setImage('app:v2');
    await dc.sync(KEY);
    expect([byImage('app:v1')?.spec.replicas, byImage('app:v2')?.spec.replicas]).toEqual([3, 1]);

    await patchSpec({ paused: true });
    await dc.sync(KEY);
    expect(condition(deployment(), 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
    await setImage('app:v3');
    await dc.sync(KEY);
    expect(replicaSets()).toHaveLength(2);

    // 4 → 8 replicas (max 5 → 10): v1 3·10/5 = 6, v2 1·10/5 = 2, and the 2 left over go to the largest.
    await patchSpec({ replicas: 8 });
    await setImage('app:v2');
    await dc.sync(KEY);
    expect([byImage('app:v1')?.spec.replicas, byImage('app:v2')?.spec.replicas]).toEqual([8, 2]);
    expect(replicaSets()).toHaveLength(2);

    await patchSpec({ paused: false });
    await dc.sync(KEY);
    expect(condition(deployment(), 'Progressing')).toMatchObject({ reason: 'DeploymentResumed' });
  });

  it('a Deployment being deleted only gets its status updated', async () => {
    const { fake, dc, replicaSets, deployment } = await setup();
    const d = newDeployment({ replicas: 2 });
    d.metadata.finalizers = ['foregroundDeletion'];
    fake.seed(Resources.Deployments, d);
    await fake.delete(Resources.Deployments, NS, 'web');
    await dc.sync(KEY);
    expect(replicaSets()).toEqual([]);
    expect(deployment().status?.observedGeneration).toBe(1);
  });
});

describe('events', () => {
  const scaled = (direction: 'up' | 'down', rs: ReplicaSet | undefined, n: number) => ['Normal', 'ScalingReplicaSet', `Scaled ${direction} replica set ${rs?.metadata.name ?? '?'} to ${n}`];

  it('records ScalingReplicaSet on the Deployment for each resize of a rollout, and nothing when no size changes', async () => {
    const { fake, dc, byImage, setImage, reportUp, events } = await setup({ events: true });
    const d = fake.seed(Resources.Deployments, newDeployment({ replicas: 4, image: 'app:v1' }));
    await dc.sync(KEY);
    expect(await events()).toEqual([scaled('up', byImage('app:v1'), 4)]);
    const [first] = fake.all(Resources.Events, NS) as Event[];
    expect(first?.involvedObject).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web', uid: d.metadata.uid });
    // Waiting for pods: the sync resizes nothing, so says nothing.
    await dc.sync(KEY);
    expect(await events()).toHaveLength(1);

    await reportUp(byImage('app:v1'));
    await setImage('app:v2');
    await dc.sync(KEY);
    expect((await events()).slice(1)).toEqual([scaled('up', byImage('app:v2'), 1), scaled('down', byImage('app:v1'), 3)]);
    // v1 at 3 left room under the surge bound (4 + 1) for another new pod.
    await dc.sync(KEY);
    expect((await events()).slice(3)).toEqual([scaled('up', byImage('app:v2'), 2)]);
  });

  it('records a resize by a replicas change, up and down', async () => {
    const { fake, dc, replicaSets, reportUp, patchSpec, events } = await setup({ events: true });
    fake.seed(Resources.Deployments, newDeployment({ replicas: 3 }));
    await dc.sync(KEY);
    await reportUp(replicaSets()[0]);
    await patchSpec({ replicas: 5 });
    await dc.sync(KEY);
    await patchSpec({ replicas: 2 });
    await dc.sync(KEY);
    const rs = replicaSets()[0];
    expect(await events()).toEqual([scaled('up', rs, 3), scaled('up', rs, 5), scaled('down', rs, 2)]);
  });
});

describe('event handlers', () => {
  it('queues the Deployment when its ReplicaSet changes, when a pod of it is deleted, and when an orphan it selects appears', async () => {
    const { fake, dc, replicaSets } = await setup();
    fake.seed(Resources.Deployments, newDeployment({ replicas: 1 }));
    await dc.sync(KEY);
    const rs = replicaSets()[0] as ReplicaSet;
    const pod = newPod({ name: 'p', labels: rs.spec.template?.metadata?.labels ?? {}, owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name ?? '', uid: rs.metadata.uid ?? '', controller: true } });
    fake.seed(Resources.Pods, pod);
    const drain = async (): Promise<string[]> => {
      const keys: string[] = [];
      while (dc.queue.length > 0) {
        const k = await dc.queue.get();
        if (k === undefined) break;
        keys.push(k);
        dc.queue.done(k);
      }
      return keys;
    };
    await drain();
    await fake.patch(Resources.ReplicaSets, NS, rs.metadata.name ?? '', PatchType.Merge, { metadata: { annotations: { touched: 'yes' } } });
    expect(await drain()).toEqual([KEY]);
    await fake.delete(Resources.Pods, NS, 'p');
    expect(await drain()).toEqual([KEY]);
    fake.seed(Resources.ReplicaSets, { ...rs, metadata: { name: 'orphan', namespace: NS, labels: { app: 'web' } } });
    expect(await drain()).toEqual([KEY]);
  });
});

describe('on the simulated cluster', () => {
  const clusters: Cluster[] = [];
  afterEach(async () => {
    for (const c of clusters.splice(0)) await c.stop();
  });
  async function cluster(readyAfterMs: number): Promise<Cluster> {
    const c = await Cluster.start({ readyAfterMs });
    clusters.push(c);
    return c;
  }

  it('reports ProgressDeadlineExceeded when pods never become ready, and recovers when they do', async () => {
    const c = await cluster(Number.POSITIVE_INFINITY);
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 2, progressDeadlineSeconds: 10 }));
    const timedOut = () => condition(c.deployment(), 'Progressing')?.reason === 'ProgressDeadlineExceeded';
    const steps = await c.runUntil(timedOut, 30, 'ProgressDeadlineExceeded');
    expect(steps).toBeGreaterThan(10);
    expect(condition(c.deployment(), 'Progressing')).toMatchObject({ status: 'False', message: expect.stringContaining('has timed out progressing') });
    expect(rolloutComplete(c.deployment())).toBe(false);

    c.kubelet.readyAfterMs = 0;
    await c.runUntil(() => condition(c.deployment(), 'Progressing')?.reason === 'NewReplicaSetAvailable', 10, 'recovery');
    expect(condition(c.deployment(), 'Progressing')?.status).toBe('True');
    expect(rolloutComplete(c.deployment())).toBe(true);
  });

  it('no rollout progress while paused; scaling still applies; resuming finishes the rollout', async () => {
    const c = await cluster(1000);
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 4, image: 'app:v1' }));
    await c.runUntil(() => rolloutComplete(c.deployment()), 20, 'v1');
    await c.patchSpec({ paused: true });
    await c.setImage('app:v2');
    for (let i = 0; i < 10; i++) await c.step();
    expect(c.replicaSets()).toHaveLength(1);
    expect(c.livePods().every((p) => c.imageOf(p) === 'app:v1')).toBe(true);
    await c.patchSpec({ replicas: 6 });
    await c.runUntil(() => c.availablePods().length === 6, 10, 'scaled while paused');
    expect(c.livePods().every((p) => c.imageOf(p) === 'app:v1')).toBe(true);
    await c.patchSpec({ paused: false });
    await c.runUntil(() => rolloutComplete(c.deployment()) && c.livePods().length === 6 && c.livePods().every((p) => c.imageOf(p) === 'app:v2'), 40, 'resumed');
  });

  it('keeps revisionHistoryLimit old ReplicaSets, dropping the lowest revisions', async () => {
    const c = await cluster(1000);
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 2, image: 'app:v1', revisionHistoryLimit: 1 }));
    for (const image of ['app:v1', 'app:v2', 'app:v3', 'app:v4']) {
      if (image !== 'app:v1') await c.setImage(image);
      await c.runUntil(() => rolloutComplete(c.deployment()) && c.livePods().every((p) => c.imageOf(p) === image) && c.replicaSets().length <= 2, 40, image);
    }
    const revisions = c.replicaSets().map((rs) => [rs.spec.template?.spec.containers[0]?.image, rs.metadata.annotations?.[REVISION_ANNOTATION]]);
    expect(revisions.sort()).toEqual([
      ['app:v3', '3'],
      ['app:v4', '4'],
    ]);
  });

  it('stops promptly: after stop, a new Deployment gets no ReplicaSet', async () => {
    const c = await cluster(1000);
    await c.stop();
    await c.fake.create(Resources.Deployments, NS, newDeployment({ replicas: 2 }));
    await settle(c.fake);
    expect(c.replicaSets()).toEqual([]);
  });
});
