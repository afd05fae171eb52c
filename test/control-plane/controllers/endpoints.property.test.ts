/**
 * Property: for any set of pods (ready or not, any labels, shared or missing
 * IPs, some being deleted or finished, with or without the named ports) and
 * any service, the Endpoints the controller writes say exactly what a
 * straightforward model says — the set of (pod, ip, ready, port) it derives
 * pod by pod — before and after random changes to the pods; the Endpoints
 * are in canonical form; and a sync with nothing new writes nothing.
 *
 * The seed is printed first; rerun one with ENDPOINTS_PROPERTY_SEED=<seed>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoints, Pod, Service, ServicePort } from '../../../proto/k8s/core-v1.js';
import { Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { EndpointsController } from '../../../control-plane/controllers/endpoints/endpoints-controller.js';
import { canonicalSubsets } from '../../../control-plane/controllers/endpoints/endpoints-model.js';

const RUNS = 120;
const SEED = Number(process.env['ENDPOINTS_PROPERTY_SEED'] ?? Date.now() % 2 ** 31);

async function settle(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------- generators

const NAMED_PORTS = { http: [8080, 8081], metrics: [9100], admin: [7000] } as const;
type PortName = keyof typeof NAMED_PORTS;

interface PodCase {
  readonly app: 'web' | 'db';
  readonly tier: 'front' | 'back' | undefined;
  readonly ip: string | undefined;
  readonly ready: boolean;
  readonly deleting: boolean;
  readonly phase: 'Running' | 'Succeeded' | 'Failed';
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  readonly ports: ReadonlyArray<{ name: PortName; containerPort: number; protocol: 'TCP' | 'UDP' }>;
}

const portName = fc.constantFrom<PortName>('http', 'metrics', 'admin');

const podCase: fc.Arbitrary<PodCase> = fc.record({
  app: fc.constantFrom('web' as const, 'db' as const),
  tier: fc.constantFrom('front' as const, 'back' as const, undefined),
  ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', undefined),
  ready: fc.boolean(),
  deleting: fc.boolean(),
  phase: fc.constantFrom('Running' as const, 'Running' as const, 'Succeeded' as const, 'Failed' as const),
  restartPolicy: fc.constantFrom('Always' as const, 'OnFailure' as const, 'Never' as const),
  ports: fc.uniqueArray(
    portName.chain((name) => fc.record({ name: fc.constant(name), containerPort: fc.constantFrom(...NAMED_PORTS[name]), protocol: fc.constantFrom('TCP' as const, 'UDP' as const) })),
    { maxLength: 3, selector: (p) => p.name },
  ),
});

interface ServiceCase {
  readonly selector: Record<string, string>;
  readonly ports: ServicePort[];
  readonly headless: boolean;
  readonly publishNotReady: boolean;
}

const servicePort = (i: number): fc.Arbitrary<ServicePort> =>
  fc.record({
    name: fc.constant(`p${i}`),
    port: fc.constant(80 + i),
    targetPort: fc.oneof(fc.constant(undefined), fc.constantFrom(8080, 9100), portName),
    protocol: fc.constantFrom('TCP' as const, 'UDP' as const),
  }).map((p) => (p.targetPort === undefined ? { name: p.name, port: p.port, protocol: p.protocol } : p));

const serviceCase: fc.Arbitrary<ServiceCase> = fc.record({
  selector: fc.constantFrom<Record<string, string>>({ app: 'web' }, { app: 'web', tier: 'front' }, { tier: 'back' }),
  ports: fc.integer({ min: 0, max: 3 }).chain((n) => (n === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: n }, (_, i) => servicePort(i))))),
  headless: fc.boolean(),
  publishNotReady: fc.boolean(),
});

interface Change {
  readonly pod: number;
  readonly to: PodCase | 'deleted';
}

const changes = (podCount: number): fc.Arbitrary<Change[]> =>
  podCount === 0 ? fc.constant([]) : fc.array(fc.record({ pod: fc.nat({ max: podCount - 1 }), to: fc.oneof(podCase, fc.constant('deleted' as const)) }), { maxLength: 6 });

// ---------------------------------------------------------------- objects

function podObject(i: number, c: PodCase): Pod {
  const labels: Record<string, string> = { app: c.app };
  if (c.tier !== undefined) labels['tier'] = c.tier;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: 'default', uid: `uid-${i}`, labels, ...(c.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/hold'] } : {}) },
    spec: { nodeName: `node-${i % 2}`, restartPolicy: c.restartPolicy, containers: [{ name: 'c', image: 'x', ports: c.ports.map((p) => ({ ...p })) }] },
    status: { phase: c.phase, ...(c.ip === undefined ? {} : { podIP: c.ip }), conditions: [{ type: 'Ready', status: c.ready ? 'True' : 'False' }] },
  };
}

function serviceObject(c: ServiceCase): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: 'default' },
    spec: { selector: c.selector, ports: c.ports, ...(c.headless ? { clusterIP: 'None' } : {}), publishNotReadyAddresses: c.publishNotReady },
  };
}

// ---------------------------------------------------------------- the model

/** What the Endpoints should say, as "pod|ip|ready|port name|port|protocol" lines, derived one pod and one port at a time. */
function model(service: ServiceCase, pods: ReadonlyMap<number, PodCase>): string[] {
  const out: string[] = [];
  for (const [i, p] of pods) {
    const labels: Record<string, string | undefined> = { app: p.app, tier: p.tier };
    if (!Object.entries(service.selector).every(([k, v]) => labels[k] === v)) continue;
    if (p.ip === undefined || p.deleting) continue;
    if (p.restartPolicy === 'Never' && p.phase !== 'Running') continue;
    if (p.restartPolicy === 'OnFailure' && p.phase === 'Succeeded') continue;
    const ready = service.publishNotReady || p.ready;
    if (service.ports.length === 0) {
      if (service.headless) out.push(`pod-${i}|${p.ip}|${ready}|-|-|-`);
      continue;
    }
    for (const sp of service.ports) {
      const target = sp.targetPort;
      const port = target === undefined ? sp.port : typeof target === 'number' ? target : p.ports.find((cp) => cp.name === target && cp.protocol === sp.protocol)?.containerPort;
      if (port !== undefined) out.push(`pod-${i}|${p.ip}|${ready}|${sp.name ?? ''}|${port}|${sp.protocol ?? 'TCP'}`);
    }
  }
  return out.sort();
}

function flatten(ep: Endpoints | undefined): string[] {
  const out: string[] = [];
  for (const s of ep?.subsets ?? []) {
    for (const [list, ready] of [[s.addresses ?? [], true], [s.notReadyAddresses ?? [], false]] as const) {
      for (const a of list) {
        if ((s.ports ?? []).length === 0) out.push(`${a.targetRef?.name ?? '?'}|${a.ip}|${ready}|-|-|-`);
        for (const port of s.ports ?? []) out.push(`${a.targetRef?.name ?? '?'}|${a.ip}|${ready}|${port.name ?? ''}|${port.port}|${port.protocol ?? '?'}`);
      }
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------- the property

function inOrder<T>(items: readonly T[], compare: (a: T, b: T) => number): boolean {
  return items.every((item, i) => i === 0 || compare(items[i - 1] as T, item) <= 0);
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Canonical form checked without the code under test: sorted addresses and ports, every pod listed once. */
function expectIndependentlyCanonical(ep: Endpoints | undefined): void {
  const seen: string[] = [];
  for (const s of ep?.subsets ?? []) {
    for (const list of [s.addresses ?? [], s.notReadyAddresses ?? []]) {
      expect(inOrder(list, (a, b) => byText(a.ip, b.ip) || byText(a.targetRef?.uid ?? '', b.targetRef?.uid ?? ''))).toBe(true);
      seen.push(...list.map((a) => a.targetRef?.uid ?? ''));
    }
    expect(inOrder(s.ports ?? [], (a, b) => byText(a.name ?? '', b.name ?? '') || a.port - b.port)).toBe(true);
  }
  expect(new Set(seen).size).toBe(seen.length);
}

async function check(client: FakeApiClient, controller: EndpointsController, service: ServiceCase, pods: ReadonlyMap<number, PodCase>): Promise<void> {
  const ep = client.all(Resources.Endpoints, 'default').find((e) => e.metadata.name === 'svc') as Endpoints | undefined;
  expect(flatten(ep)).toEqual(model(service, pods));
  expect(ep?.subsets).toEqual(canonicalSubsets(ep?.subsets));
  expectIndependentlyCanonical(ep);
  const writes = client.actions.filter((a) => a.plural === 'endpoints' && a.verb !== 'list' && a.verb !== 'watch' && a.verb !== 'get').length;
  await controller.sync('default/svc');
  expect(client.actions.filter((a) => a.plural === 'endpoints' && a.verb !== 'list' && a.verb !== 'watch' && a.verb !== 'get').length).toBe(writes);
}

async function applyChange(client: FakeApiClient, pods: Map<number, PodCase>, change: Change): Promise<void> {
  if (!pods.has(change.pod)) return;
  const name = `pod-${change.pod}`;
  if (change.to === 'deleted') {
    const current = await client.get<Pod>(Resources.Pods, 'default', name);
    await client.update(Resources.Pods, 'default', { ...current, metadata: { ...current.metadata, finalizers: [] } });
    if (client.all(Resources.Pods, 'default').some((p) => p.metadata.name === name)) await client.delete(Resources.Pods, 'default', name);
    pods.delete(change.pod);
    return;
  }
  // Deleting is one-way: a pod being deleted stays so.
  const to = { ...change.to, deleting: change.to.deleting || (pods.get(change.pod)?.deleting ?? false) };
  const wanted = podObject(change.pod, to);
  const current = await client.get<Pod>(Resources.Pods, 'default', name);
  // A finalizer keeps a pod marked for deletion around, as a kubelet still stopping it would.
  const finalizers = to.deleting ? ['example.com/hold'] : (current.metadata.finalizers ?? []);
  const meta = { ...current.metadata, labels: wanted.metadata.labels ?? {}, finalizers };
  const updated = await client.update<Pod>(Resources.Pods, 'default', { ...current, metadata: meta, spec: wanted.spec });
  await client.update(Resources.Pods, 'default', { ...updated, status: wanted.status }, 'status');
  if (to.deleting && !(pods.get(change.pod)?.deleting ?? false)) await client.delete(Resources.Pods, 'default', name);
  pods.set(change.pod, to);
}

describe('endpoints match a straightforward model', () => {
  it('for random pods and services, before and after random changes', async () => {
    console.info(`endpoints property seed: ${SEED} (rerun with ENDPOINTS_PROPERTY_SEED=${SEED})`);
    const scenario = fc.tuple(serviceCase, fc.array(podCase, { maxLength: 8 })).chain(([service, pods]) => fc.tuple(fc.constant(service), fc.constant(pods), changes(pods.length)));
    await fc.assert(
      fc.asyncProperty(scenario, async ([service, podCases, steps]) => {
        const clock = new FakeClock();
        const client = new FakeApiClient(clock);
        const pods = new Map(podCases.map((c, i) => [i, c] as const));
        client.seed(Resources.Services, serviceObject(service));
        for (const [i, c] of pods) client.seed(Resources.Pods, podObject(i, c));
        const controller = new EndpointsController({ client, clock });
        const abort = new AbortController();
        const running = controller.run(abort.signal);
        try {
          await settle();
          await check(client, controller, service, pods);
          for (const step of steps) await applyChange(client, pods, step);
          await settle();
          await check(client, controller, service, pods);
        } finally {
          abort.abort();
          await running;
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
