/**
 * The garbage collector against the in-memory API: background cascades
 * (deployment → replica set → pods), foreground deletion waiting for
 * dependents that block it, orphaning, owners matched by uid (a recreated
 * owner of the same name does not adopt the old dependents), owners only
 * judged gone after a live GET (a lagging cache must not cost a pod), and
 * dependents with one owner left surviving the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../../../proto/k8s/meta.js';
import { Resources, type ApiClient, type ListOptions, type ObjectList, type ResourceRef } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { GarbageCollector } from '../../../control-plane/controllers/garbage-collector/garbage-collector.js';

async function settle(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function ownerRef(kind: string, name: string, uid: string, blockOwnerDeletion?: boolean): OwnerReference {
  const apiVersion = kind === 'Deployment' || kind === 'ReplicaSet' || kind === 'StatefulSet' ? 'apps/v1' : 'v1';
  return { apiVersion, kind, name, uid, controller: true, ...(blockOwnerDeletion === undefined ? {} : { blockOwnerDeletion }) };
}

function obj(kind: string, name: string, uid: string, owners: OwnerReference[] = [], extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  const apiVersion = kind === 'Deployment' || kind === 'ReplicaSet' ? 'apps/v1' : 'v1';
  return { apiVersion, kind, metadata: { name, namespace: 'default', uid, ...(owners.length > 0 ? { ownerReferences: owners } : {}), ...extra } };
}

/** An ApiClient whose lists leave out some resources: an informer cache that has not caught up yet. */
class LaggingClient implements ApiClient {
  constructor(
    readonly inner: FakeApiClient,
    private readonly hidden: ReadonlySet<string>,
  ) {}
  get: ApiClient['get'] = (r, ns, name) => this.inner.get(r, ns, name);
  async list<T extends KubeObject>(r: ResourceRef, ns: string | undefined, o?: ListOptions): Promise<ObjectList<T>> {
    const page = await this.inner.list<T>(r, ns, o);
    return this.hidden.has(r.plural) ? { metadata: page.metadata, items: [] } : page;
  }
  create: ApiClient['create'] = (r, ns, o) => this.inner.create(r, ns, o);
  update: ApiClient['update'] = (r, ns, o, sub) => this.inner.update(r, ns, o, sub);
  patch: ApiClient['patch'] = (r, ns, name, type, body, sub) => this.inner.patch(r, ns, name, type, body, sub);
  delete: ApiClient['delete'] = (r, ns, name, o) => this.inner.delete(r, ns, name, o);
  createSubresource: ApiClient['createSubresource'] = (r, ns, name, sub, body) => this.inner.createSubresource(r, ns, name, sub, body);
  watch: ApiClient['watch'] = (r, ns, o, onEvent) => this.inner.watch(r, ns, o, onEvent);
  close: ApiClient['close'] = () => this.inner.close();
}

class Harness {
  readonly clock = new FakeClock();
  readonly client = new FakeApiClient(this.clock);
  readonly logs: string[] = [];
  readonly deletedInOrder: string[] = [];
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor() {
    for (const r of [Resources.Pods, Resources.ReplicaSets, Resources.Deployments]) {
      this.client.watch(r, undefined, { resourceVersion: '0' }, (e) => {
        if (e.type === 'DELETED') this.deletedInOrder.push(`${e.object.kind}/${e.object.metadata.name}`);
      });
    }
  }

  async start(client: ApiClient = this.client): Promise<void> {
    const gc = new GarbageCollector({ client, clock: this.clock, log: (l) => this.logs.push(l) });
    this.running = gc.run(this.abort.signal);
    await settle();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  names(r: ResourceRef): string[] {
    return this.client.all(r, 'default').map((o) => o.metadata.name ?? '').sort();
  }

  find(r: ResourceRef, name: string): KubeObject | undefined {
    return this.client.all(r, 'default').find((o) => o.metadata.name === name);
  }

  /** A deployment web → replica set web-1 → pods web-1-a, web-1-b, all blocking their owners (as the controllers set them). */
  seedWeb(podExtra: Partial<KubeObject['metadata']> = {}): void {
    this.client.seed(Resources.Deployments, obj('Deployment', 'web', 'uid-deploy'));
    this.client.seed(Resources.ReplicaSets, obj('ReplicaSet', 'web-1', 'uid-rs', [ownerRef('Deployment', 'web', 'uid-deploy', true)]));
    for (const p of ['a', 'b']) this.client.seed(Resources.Pods, obj('Pod', `web-1-${p}`, `uid-pod-${p}`, [ownerRef('ReplicaSet', 'web-1', 'uid-rs', true)], podExtra));
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('background deletion', () => {
  it('collects the replica set and the pods of a deleted deployment, after checking live that the owner is gone', async () => {
    h = new Harness();
    h.seedWeb();
    await h.start();
    expect(h.names(Resources.Pods)).toEqual(['web-1-a', 'web-1-b']);
    await h.client.delete(Resources.Deployments, 'default', 'web', { propagationPolicy: 'Background' });
    await settle();
    expect(h.names(Resources.ReplicaSets)).toEqual([]);
    expect(h.names(Resources.Pods)).toEqual([]);
    expect(h.client.actions).toContainEqual({ verb: 'get', plural: 'deployments', namespace: 'default', name: 'web' });
  });

  it('deletes what names an owner of the same name but another uid (the owner was recreated), and keeps what names the new one', async () => {
    h = new Harness();
    h.client.seed(Resources.ReplicaSets, obj('ReplicaSet', 'web-1', 'uid-rs-new'));
    h.client.seed(Resources.Pods, obj('Pod', 'old-pod', 'uid-old-pod', [ownerRef('ReplicaSet', 'web-1', 'uid-rs-old')]));
    h.client.seed(Resources.Pods, obj('Pod', 'new-pod', 'uid-new-pod', [ownerRef('ReplicaSet', 'web-1', 'uid-rs-new')]));
    await h.start();
    expect(h.names(Resources.Pods)).toEqual(['new-pod']);
  });

  it('does not trust a cache that has not seen the owner yet: a live GET finds it and the dependent stays', async () => {
    h = new Harness();
    h.seedWeb();
    await h.start(new LaggingClient(h.client, new Set(['replicasets'])));
    expect(h.names(Resources.Pods)).toEqual(['web-1-a', 'web-1-b']);
    expect(h.client.actions).toContainEqual({ verb: 'get', plural: 'replicasets', namespace: 'default', name: 'web-1' });
  });

  it('keeps a dependent with one owner left, dropping its references to the owners that are gone', async () => {
    h = new Harness();
    h.client.seed(Resources.ConfigMaps, obj('ConfigMap', 'settings', 'uid-cm'));
    h.client.seed(Resources.Pods, obj('Pod', 'p', 'uid-p', [ownerRef('ReplicaSet', 'gone', 'uid-gone'), { ...ownerRef('ConfigMap', 'settings', 'uid-cm'), controller: false }]));
    await h.start();
    expect(h.find(Resources.Pods, 'p')?.metadata.ownerReferences?.map((r) => r.uid)).toEqual(['uid-cm']);
  });

  it('keeps dependents of owners it cannot check (kinds it does not watch)', async () => {
    h = new Harness();
    h.client.seed(Resources.Pods, obj('Pod', 'db-0', 'uid-db-0', [ownerRef('StatefulSet', 'db', 'uid-sts')]));
    await h.start();
    await settle();
    expect(h.names(Resources.Pods)).toEqual(['db-0']);
  });
});

describe('foreground deletion', () => {
  it('keeps the owner until the dependents that block it are gone, deleting all its dependents', async () => {
    h = new Harness();
    h.client.seed(Resources.ReplicaSets, obj('ReplicaSet', 'web-1', 'uid-rs'));
    h.client.seed(Resources.Pods, obj('Pod', 'blocking', 'uid-a', [ownerRef('ReplicaSet', 'web-1', 'uid-rs', true)], { finalizers: ['example.com/hold'] }));
    h.client.seed(Resources.Pods, obj('Pod', 'not-blocking', 'uid-b', [ownerRef('ReplicaSet', 'web-1', 'uid-rs', false)]));
    await h.start();
    await h.client.delete(Resources.ReplicaSets, 'default', 'web-1', { propagationPolicy: 'Foreground' });
    await settle();
    expect(h.names(Resources.Pods)).toEqual(['blocking']);
    expect(h.find(Resources.Pods, 'blocking')?.metadata.deletionTimestamp).toBeDefined();
    expect(h.find(Resources.ReplicaSets, 'web-1')?.metadata.finalizers).toEqual(['foregroundDeletion']);
    const held = h.find(Resources.Pods, 'blocking') as KubeObject;
    await h.client.update(Resources.Pods, 'default', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    await settle();
    expect(h.names(Resources.Pods)).toEqual([]);
    expect(h.names(Resources.ReplicaSets)).toEqual([]);
  });

  it('propagates through the levels: pods first, then the replica set, the deployment last', async () => {
    h = new Harness();
    h.seedWeb();
    await h.start();
    await h.client.delete(Resources.Deployments, 'default', 'web', { propagationPolicy: 'Foreground' });
    await settle(12);
    expect(h.names(Resources.Deployments)).toEqual([]);
    expect(h.deletedInOrder.slice(-2)).toEqual(['ReplicaSet/web-1', 'Deployment/web']);
    expect(h.deletedInOrder.slice(0, 2).sort()).toEqual(['Pod/web-1-a', 'Pod/web-1-b']);
  });
});

describe('orphan deletion', () => {
  it('removes the owner reference from every dependent, then lets the owner go', async () => {
    h = new Harness();
    h.seedWeb();
    await h.start();
    await h.client.delete(Resources.ReplicaSets, 'default', 'web-1', { propagationPolicy: 'Orphan' });
    await settle();
    expect(h.names(Resources.ReplicaSets)).toEqual([]);
    expect(h.names(Resources.Pods)).toEqual(['web-1-a', 'web-1-b']);
    for (const name of ['web-1-a', 'web-1-b']) expect(h.find(Resources.Pods, name)?.metadata.ownerReferences).toBeUndefined();
    expect(h.names(Resources.Deployments)).toEqual(['web']);
  });
});

describe('running and stopping', () => {
  it('deletes nothing after run() is aborted', async () => {
    h = new Harness();
    h.seedWeb();
    await h.start();
    await h.stop();
    await h.client.delete(Resources.Deployments, 'default', 'web');
    await settle();
    expect(h.names(Resources.ReplicaSets)).toEqual(['web-1']);
    h = undefined;
  });
});
