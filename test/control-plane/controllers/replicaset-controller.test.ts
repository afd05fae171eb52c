/**
 * The ReplicaSet controller's sync(key) against the fake API: creating in
 * slow-start batches, expectations, adoption and release, which pods a
 * scale-down removes, status, the Events it records on the ReplicaSet; then
 * the event handlers, run() end to end, and stopping. Most tests run the controller with 0 workers and call sync(key)
 * themselves, so every API call a test sees comes from the sync it made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Event, Pod } from '../../../proto/k8s/core-v1.js';
import { ApiStatusError, PatchType, Resources } from '../../../control-plane/client/api-client.js';
import { EXPECTATIONS_TTL_MS } from '../../../control-plane/controllers/controller-utils.js';
import { EventRecorder } from '../../../control-plane/client/events/event-recorder.js';
import { ReplicaSetController } from '../../../control-plane/controllers/replicaset/replicaset-controller.js';
import { newPod, newReplicaSet, NS, ownerRefTo, settle, start, START_MS, TestClient } from './replicaset-fixtures.js';

const KEY = `${NS}/web`;
const labels = { app: 'web' };
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** With `events`, the controller records through an EventRecorder over the same fake API. */
async function setup(workers = 0, o: { events?: boolean } = {}) {
  const client = new TestClient();
  const recorder = o.events === true ? new EventRecorder({ client: client.fake, clock: client.clock, component: 'controller-manager' }) : undefined;
  const rsc = new ReplicaSetController({ client, clock: client.clock, workers, ...(recorder === undefined ? {} : { recorder }) });
  const running = await start(rsc);
  stops.push(running.stop);
  return { client, fake: client.fake, clock: client.clock, rsc, running, recorder };
}

/** Events about the ReplicaSet `name` as stored now, once the recorder has written what it queued. */
async function eventsAbout(client: TestClient, recorder: EventRecorder | undefined, name = 'web'): Promise<Event[]> {
  await recorder?.flush();
  return (client.fake.all(Resources.Events, NS) as Event[]).filter((e) => e.involvedObject.kind === 'ReplicaSet' && e.involvedObject.name === name);
}

const pods = (client: TestClient): Pod[] => client.fake.all(Resources.Pods, NS) as Pod[];
const rsNamed = (client: TestClient, name = 'web'): ReplicaSet => client.fake.all(Resources.ReplicaSets, NS).find((r) => r.metadata.name === name) as ReplicaSet;
const creates = (client: TestClient): number => client.fake.actions.filter((a) => a.verb === 'create' && a.plural === 'pods').length;
const deletes = (client: TestClient): number => client.fake.actions.filter((a) => a.verb === 'delete' && a.plural === 'pods').length;

async function drain(rsc: ReplicaSetController): Promise<string[]> {
  const keys: string[] = [];
  while (rsc.queue.length > 0) {
    const k = await rsc.queue.get();
    if (k === undefined) break;
    keys.push(k);
    rsc.queue.done(k);
  }
  return keys;
}

describe('creating pods', () => {
  it('creates the missing pods from the template, owned by the ReplicaSet, named <rs>-…', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 3, labels }));
    await rsc.sync(KEY);
    const created = pods(client);
    expect(created).toHaveLength(3);
    for (const p of created) {
      expect(p.metadata.name).toMatch(/^web-/);
      expect(p.metadata.labels).toEqual(labels);
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.spec.containers[0]?.image).toBe('nginx:1');
    }
  });

  it('sends creates in slow-start batches of 1, 2, 4, then the rest', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 10, labels }));
    const batches: number[] = [];
    let open: () => void = () => {};
    client.writeGate = new Promise((r) => (open = r));
    const syncing = rsc.sync(KEY);
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      if (client.gatedCreates === 0) break;
      batches.push(client.gatedCreates);
      const release = open;
      client.writeGate = new Promise((r) => (open = r));
      release();
      await new Promise((r) => setImmediate(r));
    }
    client.writeGate = undefined;
    open();
    await syncing;
    expect(batches).toEqual([1, 2, 4, 3]);
    expect(pods(client)).toHaveLength(10);
  });

  it('stops after the batch in which a create failed, and reports ReplicaFailure', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 10, labels }));
    let n = 0;
    fake.failWhen((a) => (a.verb === 'create' && a.plural === 'pods' && ++n === 5 ? new ApiStatusError(403, 'Forbidden', 'exceeded quota') : undefined));
    await expect(rsc.sync(KEY)).rejects.toThrow('exceeded quota');
    // Batches [1] [2] [4]: the 5th create fails, its batch-mates finish, the batch of 3 is never sent.
    expect(creates(client)).toBe(7);
    expect(pods(client)).toHaveLength(6);
    expect(rsNamed(client).status?.conditions).toEqual([expect.objectContaining({ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'exceeded quota' })]);
    fake.failWhen(undefined);
    // The skipped creates were taken off the expectations, so the retry may act at once.
    await rsc.sync(KEY);
    expect(pods(client)).toHaveLength(10);
    expect(rsNamed(client).status?.conditions ?? []).toEqual([]);
  });

  it('a first create that fails stops the whole sync after one request', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 50, labels }));
    fake.failWhen((a) => (a.verb === 'create' ? new ApiStatusError(403, 'Forbidden', 'no') : undefined));
    await expect(rsc.sync(KEY)).rejects.toThrow('no');
    expect(creates(client)).toBe(1);
  });
});

describe('expectations', () => {
  it('a sync does not create again before the informer has seen its creates', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 3, labels }));
    client.holdWatchEvents();
    await rsc.sync(KEY);
    await rsc.sync(KEY);
    expect(creates(client)).toBe(3);
    client.releaseWatchEvents();
    await rsc.sync(KEY);
    expect(creates(client)).toBe(3);
    expect(pods(client)).toHaveLength(3);
  });

  it('unmet expectations expire after EXPECTATIONS_TTL_MS, so a lost event cannot stall the ReplicaSet', async () => {
    const { client, fake, clock, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 2, labels }));
    client.holdWatchEvents();
    await rsc.sync(KEY);
    clock.advance(EXPECTATIONS_TTL_MS - 1000);
    await rsc.sync(KEY);
    expect(creates(client)).toBe(2);
    clock.advance(2000);
    await rsc.sync(KEY);
    // The cache still shows no pods: past the TTL the controller trusts it again (and over-creates).
    expect(creates(client)).toBe(4);
    client.releaseWatchEvents();
  });

  it('a sync does not delete again before the informer has seen its deletes', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 1, labels }));
    for (const name of ['a', 'b', 'c']) fake.seed(Resources.Pods, newPod({ name, labels, owner: ownerRefTo(rs) }));
    client.holdWatchEvents();
    await rsc.sync(KEY);
    await rsc.sync(KEY);
    expect(deletes(client)).toBe(2);
    client.releaseWatchEvents();
    await rsc.sync(KEY);
    expect(deletes(client)).toBe(2);
    expect(pods(client)).toHaveLength(1);
  });
});

describe('adoption and release', () => {
  it('adopts a matching orphan (after re-reading the ReplicaSet) and counts it', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 2, labels }));
    fake.seed(Resources.Pods, newPod({ name: 'orphan', labels }));
    const before = fake.actions.length;
    await rsc.sync(KEY);
    const orphan = pods(client).find((p) => p.metadata.name === 'orphan');
    expect(orphan?.metadata.ownerReferences).toEqual([ownerRefTo(rs)]);
    expect(pods(client)).toHaveLength(2);
    const verbs = fake.actions.slice(before).map((a) => `${a.verb} ${a.plural}`);
    expect(verbs.indexOf('get replicasets')).toBeLessThan(verbs.indexOf('patch pods'));
  });

  it('leaves alone pods of another controller, orphans being deleted, and non-matching orphans', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 1, labels }));
    const other = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: 'other-uid', controller: true };
    fake.seed(Resources.Pods, newPod({ name: 'theirs', labels, owner: other }));
    fake.seed(Resources.Pods, { ...newPod({ name: 'dying', labels }), metadata: { ...newPod({ name: 'dying', labels }).metadata, finalizers: ['x'] } });
    await fake.delete(Resources.Pods, NS, 'dying');
    fake.seed(Resources.Pods, newPod({ name: 'stranger', labels: { app: 'db' } }));
    await rsc.sync(KEY);
    const byName = new Map(pods(client).map((p) => [p.metadata.name, p]));
    expect(byName.get('theirs')?.metadata.ownerReferences).toEqual([other]);
    expect(byName.get('dying')?.metadata.ownerReferences).toBeUndefined();
    expect(byName.get('stranger')?.metadata.ownerReferences).toBeUndefined();
    expect(creates(client)).toBe(1);
  });

  it('releases an owned pod whose labels stopped matching, and replaces it', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 1, labels }));
    fake.seed(Resources.Pods, newPod({ name: 'moved', labels: { app: 'debug' }, owner: ownerRefTo(rs) }));
    await rsc.sync(KEY);
    const moved = pods(client).find((p) => p.metadata.name === 'moved');
    expect(moved?.metadata.ownerReferences ?? []).toEqual([]);
    expect(creates(client)).toBe(1);
  });

  it('a ReplicaSet being deleted neither adopts nor creates', async () => {
    const { client, fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, { ...newReplicaSet({ name: 'web', replicas: 3, labels }), metadata: { name: 'web', namespace: NS, finalizers: ['foregroundDeletion'] } });
    await fake.delete(Resources.ReplicaSets, NS, 'web');
    fake.seed(Resources.Pods, newPod({ name: 'orphan', labels }));
    await rsc.sync(KEY);
    expect(creates(client)).toBe(0);
    expect(pods(client)[0]?.metadata.ownerReferences).toBeUndefined();
  });
});

describe('scaling down', () => {
  it('deletes the least useful pods: unassigned, pending, not ready, ready for less time', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 2, labels }));
    const owner = ownerRefTo(rs);
    const t = START_MS - 60_000;
    fake.seed(Resources.Pods, newPod({ name: 'veteran', labels, owner, nodeName: 'n1', readySinceMs: t }));
    fake.seed(Resources.Pods, newPod({ name: 'steady', labels, owner, nodeName: 'n1', readySinceMs: t + 1000 }));
    fake.seed(Resources.Pods, newPod({ name: 'fresh', labels, owner, nodeName: 'n1', readySinceMs: t + 30_000 }));
    fake.seed(Resources.Pods, newPod({ name: 'starting', labels, owner, nodeName: 'n1', phase: 'Running' }));
    fake.seed(Resources.Pods, newPod({ name: 'pending', labels, owner, nodeName: 'n1' }));
    fake.seed(Resources.Pods, newPod({ name: 'unscheduled', labels, owner }));
    await rsc.sync(KEY);
    expect(pods(client).map((p) => p.metadata.name).sort()).toEqual(['steady', 'veteran']);
  });

  it('pods being deleted do not count: a replacement is created at once', async () => {
    const { client, fake, rsc } = await setup();
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 2, labels }));
    for (const name of ['a', 'b']) {
      const p = newPod({ name, labels, owner: ownerRefTo(rs) });
      p.metadata.finalizers = ['kubelet'];
      fake.seed(Resources.Pods, p);
    }
    await fake.delete(Resources.Pods, NS, 'a');
    await rsc.sync(KEY);
    expect(creates(client)).toBe(1);
    // Status describes the pods the sync started from; the next sync counts the replacement.
    expect(rsNamed(client).status?.replicas).toBe(1);
    await rsc.sync(KEY);
    expect(rsNamed(client).status?.replicas).toBe(2);
    expect(creates(client)).toBe(1);
    expect(pods(client)).toHaveLength(3);
  });
});

describe('status', () => {
  it('counts replicas, fully labeled, ready and available (minReadySeconds), and the generation it acted on', async () => {
    const { client, fake, rsc, clock } = await setup();
    const spec = newReplicaSet({ name: 'web', replicas: 3, labels, minReadySeconds: 10 });
    spec.spec.template = { metadata: { labels: { ...labels, tier: 'front' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } };
    const rs = fake.seed(Resources.ReplicaSets, spec);
    const owner = ownerRefTo(rs);
    fake.seed(Resources.Pods, newPod({ name: 'old-hand', labels: { ...labels, tier: 'front' }, owner, readySinceMs: START_MS - 60_000 }));
    fake.seed(Resources.Pods, newPod({ name: 'newcomer', labels: { ...labels, tier: 'front' }, owner, readySinceMs: START_MS }));
    fake.seed(Resources.Pods, newPod({ name: 'starting', labels, owner }));
    await rsc.sync(KEY);
    expect(rsNamed(client).status).toEqual({ replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 });

    const writes = fake.actions.filter((a) => a.verb === 'update').length;
    await rsc.sync(KEY);
    expect(fake.actions.filter((a) => a.verb === 'update').length).toBe(writes);

    // No event marks "ready for more than 10 s": the sync asked to be queued again just after.
    await drain(rsc);
    clock.advance(10_000);
    expect(await drain(rsc)).toEqual([]);
    clock.advance(1);
    expect(await drain(rsc)).toEqual([KEY]);
    await rsc.sync(KEY);
    expect(rsNamed(client).status?.availableReplicas).toBe(2);
  });

  it('writes status through the status subresource only', async () => {
    const { fake, rsc } = await setup();
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 1, labels }));
    await rsc.sync(KEY);
    const rsWrites = fake.actions.filter((a) => a.plural === 'replicasets' && (a.verb === 'update' || a.verb === 'patch'));
    expect(rsWrites.length).toBeGreaterThan(0);
    expect(rsWrites.every((a) => a.subresource === 'status')).toBe(true);
  });

  it('a deleted ReplicaSet is a no-op', async () => {
    const { fake, rsc } = await setup();
    const before = fake.actions.length;
    await rsc.sync(`${NS}/gone`);
    expect(fake.actions.length).toBe(before);
  });
});

describe('events', () => {
  it('records SuccessfulCreate for each pod created, on the ReplicaSet', async () => {
    const { client, fake, rsc, recorder } = await setup(0, { events: true });
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 3, labels }));
    await rsc.sync(KEY);
    const events = await eventsAbout(client, recorder);
    expect(events.map((e) => e.message).sort()).toEqual(pods(client).map((p) => `Created pod: ${p.metadata.name ?? ''}`).sort());
    for (const e of events) {
      expect(e).toMatchObject({ type: 'Normal', reason: 'SuccessfulCreate', involvedObject: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: NS, name: 'web', uid: rs.metadata.uid } });
    }
  });

  it('records SuccessfulDelete for each pod a scale-down removed', async () => {
    const { client, fake, rsc, recorder } = await setup(0, { events: true });
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 1, labels }));
    for (const name of ['keep', 'extra-1', 'extra-2']) fake.seed(Resources.Pods, newPod({ name, labels, owner: ownerRefTo(rs), nodeName: 'n1', readySinceMs: name === 'keep' ? START_MS - 60_000 : START_MS }));
    await rsc.sync(KEY);
    expect(pods(client).map((p) => p.metadata.name)).toEqual(['keep']);
    const events = await eventsAbout(client, recorder);
    expect(events.map((e) => [e.type, e.reason, e.message]).sort()).toEqual([
      ['Normal', 'SuccessfulDelete', 'Deleted pod: extra-1'],
      ['Normal', 'SuccessfulDelete', 'Deleted pod: extra-2'],
    ]);
  });

  it('records FailedCreate as a Warning with the error, and nothing for creates never sent', async () => {
    const { client, fake, rsc, recorder } = await setup(0, { events: true });
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 5, labels }));
    fake.failWhen((a) => (a.verb === 'create' && a.plural === 'pods' && a.name?.endsWith('2') === true ? new ApiStatusError(403, 'Forbidden', 'exceeded quota') : undefined));
    await expect(rsc.sync(KEY)).rejects.toThrow('exceeded quota');
    // Batches [1] [2]: the 2nd create fails, its batch-mate succeeds, the remaining 2 are never sent.
    const events = await eventsAbout(client, recorder);
    expect(events.filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(2);
    expect(events.filter((e) => e.reason === 'FailedCreate')).toEqual([expect.objectContaining({ type: 'Warning', message: 'Error creating: exceeded quota', involvedObject: expect.objectContaining({ kind: 'ReplicaSet', name: 'web' }) })]);
  });

  it('records FailedDelete as a Warning, but not a pod that was already gone', async () => {
    const { client, fake, rsc, recorder } = await setup(0, { events: true });
    const rs = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 0, labels }));
    for (const name of ['stuck', 'gone']) fake.seed(Resources.Pods, newPod({ name, labels, owner: ownerRefTo(rs) }));
    fake.failWhen((a) => {
      if (a.verb !== 'delete' || a.plural !== 'pods') return undefined;
      return a.name === 'stuck' ? new ApiStatusError(500, 'InternalError', 'etcd timeout') : new ApiStatusError(404, 'NotFound', 'pods "gone" not found');
    });
    await expect(rsc.sync(KEY)).rejects.toThrow('etcd timeout');
    const events = await eventsAbout(client, recorder);
    expect(events.map((e) => [e.type, e.reason, e.message])).toEqual([['Warning', 'FailedDelete', 'Error deleting: etcd timeout']]);
  });
});

describe('event handlers', () => {
  it('a change to an owned pod queues its ReplicaSet; an orphan queues every ReplicaSet that selects it', async () => {
    const { fake, rsc } = await setup();
    const web = fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 0, labels }));
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web-canary', replicas: 0, labels }));
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'db', replicas: 0, labels: { app: 'db' } }));
    fake.seed(Resources.Pods, newPod({ name: 'mine', labels, owner: ownerRefTo(web) }));
    await drain(rsc);
    await fake.patch(Resources.Pods, NS, 'mine', PatchType.Merge, { metadata: { annotations: { touched: 'yes' } } });
    expect(await drain(rsc)).toEqual([KEY]);
    fake.seed(Resources.Pods, newPod({ name: 'orphan', labels }));
    expect((await drain(rsc)).sort()).toEqual([`${NS}/web`, `${NS}/web-canary`]);
  });
});

describe('run', () => {
  it('keeps replicas through pod deletions, and stops promptly without acting after', async () => {
    const { client, fake, running } = await setup(2);
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 4, labels }));
    await settle(fake);
    expect(pods(client)).toHaveLength(4);
    await fake.delete(Resources.Pods, NS, pods(client)[0]?.metadata.name ?? '');
    await settle(fake);
    expect(pods(client)).toHaveLength(4);
    await running.stop();
    const after = fake.actions.length;
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'late', replicas: 3, labels: { app: 'late' } }));
    await settle(fake);
    expect(fake.actions.slice(after).filter((a) => a.verb !== 'create' || a.plural !== 'replicasets')).toEqual([]);
    expect(pods(client).filter((p) => p.metadata.labels?.['app'] === 'late')).toEqual([]);
  });

  it('a sync caught by the abort mid-way sends nothing more once its in-flight request returns', async () => {
    const { client, fake, running, recorder } = await setup(1, { events: true });
    let open: () => void = () => {};
    client.writeGate = new Promise((r) => (open = r));
    fake.seed(Resources.ReplicaSets, newReplicaSet({ name: 'web', replicas: 5, labels }));
    await new Promise((r) => setImmediate(r));
    expect(client.gatedCreates).toBe(1);
    const stopping = running.stop();
    open();
    await stopping;
    await settle(fake);
    expect(creates(client)).toBe(1);
    expect(fake.actions.filter((a) => a.plural === 'replicasets' && a.verb === 'update')).toEqual([]);
    // Nor an event: the create that landed after the abort is the next leader's to see.
    expect(await eventsAbout(client, recorder)).toEqual([]);
  });
});
