/**
 * The endpoints controller against the in-memory API: ready and not-ready
 * addresses, named target ports, following readiness and label changes,
 * leaving selector-less services alone, deleting with the service, undoing
 * hand edits — and writing nothing when nothing changed (checked on the
 * fake API's recorded actions).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints, Pod, Service } from '../../../proto/k8s/core-v1.js';
import { Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { EndpointsController } from '../../../control-plane/controllers/endpoints/endpoints-controller.js';

async function settle(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface PodSpecLite {
  readonly ip?: string;
  readonly ready?: boolean;
  readonly labels?: Record<string, string>;
  readonly node?: string;
  readonly ports?: Array<{ name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }>;
  readonly deleting?: boolean;
}

function pod(name: string, o: PodSpecLite = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting === true ? { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/hold'] } : {}),
    },
    spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'c', image: 'web', ports: o.ports ?? [] }] },
    status: { phase: 'Running', ...(o.ip === undefined ? {} : { podIP: o.ip }), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function service(name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { team: 'a' } }, spec };
}

const address = (name: string, ip: string, node = 'n1'): object => ({ ip, nodeName: node, targetRef: { kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` } });

class Harness {
  readonly clock = new FakeClock();
  readonly client = new FakeApiClient(this.clock);
  private readonly abort = new AbortController();
  controller!: EndpointsController;
  private running: Promise<void> | undefined;

  async start(): Promise<void> {
    this.controller = new EndpointsController({ client: this.client, clock: this.clock });
    this.running = this.controller.run(this.abort.signal);
    await settle();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  endpoints(name: string): Endpoints | undefined {
    return this.client.all(Resources.Endpoints, 'default').find((e) => e.metadata.name === name) as Endpoints | undefined;
  }

  endpointWrites(): number {
    return this.client.actions.filter((a) => a.plural === 'endpoints' && ['create', 'update', 'patch', 'delete'].includes(a.verb)).length;
  }

  async setPod(p: Pod): Promise<void> {
    const current = (await this.client.get<Pod>(Resources.Pods, 'default', p.metadata.name ?? '')) as Pod;
    await this.client.update(Resources.Pods, 'default', { ...current, metadata: { ...current.metadata, labels: p.metadata.labels ?? {} } });
    const after = (await this.client.get<Pod>(Resources.Pods, 'default', p.metadata.name ?? '')) as Pod;
    await this.client.update(Resources.Pods, 'default', { ...after, status: p.status }, 'status');
    await settle();
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('endpoints of a service with a selector', () => {
  it('lists ready pods as addresses and not-ready ones as notReadyAddresses, leaving out unselected, deleting and IP-less pods', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] }));
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1' }));
    h.client.seed(Resources.Pods, pod('b', { ip: '10.0.0.2', ready: false, node: 'n2' }));
    h.client.seed(Resources.Pods, pod('c', { ip: '10.0.0.3', labels: { app: 'db' } }));
    h.client.seed(Resources.Pods, pod('d', { ip: '10.0.0.4', deleting: true }));
    h.client.seed(Resources.Pods, pod('e'));
    await h.start();
    const ep = h.endpoints('web');
    expect(ep?.metadata.labels).toEqual({ team: 'a' });
    expect(ep?.subsets).toEqual([
      { addresses: [address('a', '10.0.0.1')], notReadyAddresses: [address('b', '10.0.0.2', 'n2')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    ]);
  });

  it('resolves named target ports per pod, grouping pods by the ports they serve', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9100, targetPort: 'metrics' }] }));
    h.client.seed(Resources.Pods, pod('old', { ip: '10.0.0.1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }] }));
    h.client.seed(Resources.Pods, pod('new', { ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 9090 }, { name: 'metrics', containerPort: 9100 }] }));
    h.client.seed(Resources.Pods, pod('http-only', { ip: '10.0.0.3', ports: [{ name: 'http', containerPort: 8080 }] }));
    h.client.seed(Resources.Pods, pod('udp-http', { ip: '10.0.0.4', ports: [{ name: 'http', containerPort: 8080, protocol: 'UDP' }] }));
    await h.start();
    expect(h.endpoints('web')?.subsets).toEqual([
      { addresses: [address('old', '10.0.0.1')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }] },
      { addresses: [address('http-only', '10.0.0.3')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [address('new', '10.0.0.2')], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }] },
    ]);
  });

  it('follows readiness, labels and deletions', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1' }));
    h.client.seed(Resources.Pods, pod('b', { ip: '10.0.0.2', ready: false }));
    await h.start();
    const ports = [{ port: 80, protocol: 'TCP' }];
    expect(h.endpoints('web')?.subsets).toEqual([{ addresses: [address('a', '10.0.0.1')], notReadyAddresses: [address('b', '10.0.0.2')], ports }]);
    await h.setPod(pod('b', { ip: '10.0.0.2', ready: true }));
    expect(h.endpoints('web')?.subsets).toEqual([{ addresses: [address('a', '10.0.0.1'), address('b', '10.0.0.2')], ports }]);
    await h.setPod(pod('a', { ip: '10.0.0.1', labels: { app: 'other' } }));
    expect(h.endpoints('web')?.subsets).toEqual([{ addresses: [address('b', '10.0.0.2')], ports }]);
    await h.client.delete(Resources.Pods, 'default', 'b');
    await settle();
    expect(h.endpoints('web')?.subsets).toEqual([]);
  });

  it('writes nothing when nothing it publishes changed', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1' }));
    await h.start();
    const writes = h.endpointWrites();
    expect(writes).toBe(1);
    const current = (await h.client.get<Pod>(Resources.Pods, 'default', 'a')) as Pod;
    await h.client.update(Resources.Pods, 'default', { ...current, metadata: { ...current.metadata, annotations: { note: 'unrelated' } } });
    await settle();
    await h.controller.sync('default/web');
    expect(h.endpointWrites()).toBe(writes);
  });

  it('publishes not-ready pods as ready when the service asks for it, and headless services without ports', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('peers', { selector: { app: 'web' }, clusterIP: 'None', publishNotReadyAddresses: true }));
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1', ready: false }));
    await h.start();
    const ep = h.endpoints('peers');
    expect(ep?.subsets).toEqual([{ addresses: [address('a', '10.0.0.1')] }]);
    expect(ep?.metadata.labels).toEqual({ team: 'a', 'service.kubernetes.io/headless': '' });
  });

  it('undoes a hand edit of Endpoints it owns, and deletes them with the service', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }));
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1' }));
    await h.start();
    const ep = h.endpoints('web') as Endpoints;
    await h.client.update(Resources.Endpoints, 'default', { ...ep, subsets: [{ addresses: [{ ip: '192.0.2.9' }], ports: [{ port: 1 }] }] });
    await settle();
    expect(h.endpoints('web')?.subsets).toEqual([{ addresses: [address('a', '10.0.0.1')], ports: [{ port: 80, protocol: 'TCP' }] }]);
    await h.client.delete(Resources.Services, 'default', 'web');
    await settle();
    expect(h.endpoints('web')).toBeUndefined();
  });
});

describe('services without a selector', () => {
  it('leaves their Endpoints to the user', async () => {
    h = new Harness();
    h.client.seed(Resources.Services, service('external-db', { ports: [{ port: 5432 }] }));
    const manual: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external-db', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }] };
    h.client.seed(Resources.Endpoints, manual);
    h.client.seed(Resources.Pods, pod('a', { ip: '10.0.0.1' }));
    await h.start();
    const ep = h.endpoints('external-db') as Endpoints;
    await h.client.update(Resources.Endpoints, 'default', { ...ep, subsets: [{ addresses: [{ ip: '192.0.2.11' }], ports: [{ port: 5432 }] }] });
    await settle();
    expect(h.endpoints('external-db')?.subsets).toEqual([{ addresses: [{ ip: '192.0.2.11' }], ports: [{ port: 5432 }] }]);
    expect(h.client.actions.filter((a) => a.plural === 'endpoints' && a.verb !== 'list' && a.verb !== 'watch')).toHaveLength(1);
  });
});
