/**
 * Every verb on every stored resource the registry serves (RESOURCES), table
 * driven: one minimal valid fixture per kind, so a resource added to the
 * registry without a fixture fails here instead of going untested. Runs on the
 * embedded store, one strake member in this process on ports 28110/28111.
 * The virtual SelfSubjectAccessReview, which stores nothing, is tested at the
 * end on its own terms.
 */
import { describe, expect, it } from 'vitest';
import { RESOURCES, apiVersionOf, type ResourceDescriptor } from '../../../control-plane/registry/resources.js';
import { embeddedBackendFactory } from '../../support/kv-backends.js';
import { eventually } from '../../support/process-cluster.js';
import { ApiHarness, BOB_TOKEN, useApiHarness } from './harness.js';

type Obj = Record<string, any>;

/** Bound on background work a test waits for (namespace finalization after a delete). */
const SETTLE_MS = 15_000;
/** Per-run suffix for cluster-scoped names and labels, so runs never share objects. */
const RUN = Date.now().toString(36);
const UID = /^[0-9a-f-]{36}$/;
const PatchType = {
  Merge: 'application/merge-patch+json',
  Json: 'application/json-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
} as const;
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SSAR_URL = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

interface Fixture {
  /** The body of a minimal valid object of the kind, without apiVersion, kind and metadata; `ns` is its namespace. */
  readonly make: (ns: string) => Obj;
  /** Kinds with a status subresource: a status the server must keep, and a spec edit it must ignore when sent to /status. */
  readonly status?: { readonly set: Obj; readonly editSpec: (spec: Obj) => Obj };
  /** Checks of what defaulting did to the created object, where that is the point of the fixture. */
  readonly created?: (obj: Obj) => void;
}

const CONTAINERS = [{ name: 'c', image: 'busybox:1.36' }];
const RULES = [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }];
/** Bindings grant a user no test uses, so they cannot change what bob may do (the access-review tests rely on it). */
const SUBJECTS = [{ kind: 'User', name: 'nobody', apiGroup: RBAC_GROUP }];
const base64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

const FIXTURES: Readonly<Record<string, Fixture>> = {
  Namespace: {
    make: () => ({}),
    status: {
      set: { conditions: [{ type: 'NamespaceContentRemaining', status: 'False', reason: 'ContentRemoved', message: 'none' }] },
      editSpec: (spec) => ({ ...spec, finalizers: [] }),
    },
  },
  Pod: {
    make: () => ({ spec: { containers: CONTAINERS } }),
    status: { set: { phase: 'Running', podIP: '10.244.0.5' }, editSpec: (spec) => ({ ...spec, containers: [{ ...spec.containers[0], image: 'busybox:9' }] }) },
  },
  Node: {
    make: () => ({ spec: {} }),
    status: { set: { capacity: { cpu: '4', pods: '110' } }, editSpec: (spec) => ({ ...spec, unschedulable: true }) },
  },
  Service: {
    make: () => ({ spec: { selector: { app: 'fx' }, ports: [{ port: 80 }] } }),
    status: { set: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } }, editSpec: (spec) => ({ ...spec, ports: [{ ...spec.ports[0], port: 8080 }] }) },
  },
  Endpoints: { make: () => ({ subsets: [{ addresses: [{ ip: '10.244.0.7' }], ports: [{ port: 80 }] }] }) },
  ConfigMap: { make: () => ({ data: { key: 'value' } }) },
  Secret: {
    make: () => ({ data: { user: base64('admin') }, stringData: { note: 'plain text' } }),
    // stringData is write-only: merged into data as base64, never stored itself.
    created: (o) => {
      expect(o.data).toEqual({ user: base64('admin'), note: base64('plain text') });
      expect(o.stringData).toBeUndefined();
      expect(o.type).toBe('Opaque');
    },
  },
  Event: {
    make: (ns) => ({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'web' },
      reason: 'Tested', message: 'every verb', type: 'Normal', count: 1, source: { component: 'every-resource-test' },
    }),
  },
  ServiceAccount: { make: () => ({}) },
  Deployment: {
    make: () => ({ spec: { replicas: 1, selector: { matchLabels: { app: 'fx' } }, template: { metadata: { labels: { app: 'fx' } }, spec: { containers: CONTAINERS } } } }),
    status: { set: { observedGeneration: 1, replicas: 1, readyReplicas: 1 }, editSpec: (spec) => ({ ...spec, replicas: 7 }) },
  },
  ReplicaSet: {
    make: () => ({ spec: { replicas: 1, selector: { matchLabels: { app: 'fx' } }, template: { metadata: { labels: { app: 'fx' } }, spec: { containers: CONTAINERS } } } }),
    status: { set: { observedGeneration: 1, replicas: 1, readyReplicas: 1 }, editSpec: (spec) => ({ ...spec, replicas: 7 }) },
  },
  Lease: { make: () => ({ spec: { holderIdentity: 'fx', leaseDurationSeconds: 15 } }) },
  Role: { make: () => ({ rules: RULES }) },
  ClusterRole: { make: () => ({ rules: RULES }) },
  RoleBinding: { make: () => ({ roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'reader' }, subjects: SUBJECTS }) },
  ClusterRoleBinding: { make: () => ({ roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'view' }, subjects: SUBJECTS }) },
};

const STORED = RESOURCES.filter((r) => !r.virtual);

function fixtureOf(r: ResourceDescriptor): Fixture {
  const f = FIXTURES[r.kind];
  if (f === undefined) throw new Error(`no fixture for ${r.kind} (${r.plural}): add one to FIXTURES`);
  return f;
}

/** A full object of `r`'s kind named `name`; `ns` is ignored for cluster-scoped kinds. */
function objectOf(r: ResourceDescriptor, name: string, ns: string, labels: Record<string, string>): Obj {
  return { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name, labels }, ...fixtureOf(r).make(ns) };
}

/** The collection URL: in `ns` for namespaced kinds, across all namespaces when `ns` is undefined. */
function collectionUrl(r: ResourceDescriptor, ns: string | undefined): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced && ns !== undefined ? `${root}/namespaces/${ns}/${r.plural}` : `${root}/${r.plural}`;
}

const rvOf = (o: Obj): number => Number(o.metadata.resourceVersion);
const namesOf = (items: Obj[]): string[] => items.map((o) => o.metadata.name as string).sort();

describe('every verb on every resource, on the embedded store', () => {
  const factory = embeddedBackendFactory(28_110);
  let h: ApiHarness;

  /** A fresh namespace, so no test sees another's objects. */
  const freshNamespace = async (prefix: string): Promise<string> => {
    const name = `${prefix}-${RUN}`;
    const res = await h.req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    expect(res.status, res.text).toBe(201);
    return name;
  };

  /** GET until 404: namespaces go only after the namespace finalizer has emptied them, other kinds at once. */
  const expectGone = async (r: ResourceDescriptor, url: string): Promise<void> => {
    if (r.kind !== 'Namespace') {
      const res = await h.req('GET', url);
      expect(res.status, res.text).toBe(404);
      expect(res.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
      return;
    }
    await eventually(`${url} gone`, async () => ((await h.req('GET', url)).status === 404 ? true : undefined), SETTLE_MS);
  };

  useApiHarness(factory, (started) => (h = started));

  it('has a fixture for every stored resource, and a status edit for every status subresource', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual(STORED.map((r) => r.kind).sort());
    const withStatus = STORED.filter((r) => r.subresources.includes('status'));
    expect(withStatus.filter((r) => FIXTURES[r.kind]?.status === undefined).map((r) => r.kind)).toEqual([]);
    expect(withStatus.length).toBeGreaterThan(0);
  });

  for (const r of STORED) {
    describe(`${r.plural} (${apiVersionOf(r)} ${r.kind}, ${r.namespaced ? 'namespaced' : 'cluster-scoped'})`, () => {
      /** State carried from one step to the next, in the order the steps run. */
      const s = {
        ns: '',
        name: r.namespaced ? 'fx' : `fx-${RUN}`,
        url: '',
        /** The list's resourceVersion just before the create. */
        beforeCreateRv: '',
        created: {} as Obj,
        /** The object as last written. */
        latest: {} as Obj,
      };
      const labels = { fixture: 'yes' };

      it('creates it (201, with apiVersion, kind, uid, resourceVersion), gets it back, and lists it', async () => {
        s.ns = r.namespaced ? await freshNamespace(r.plural) : '';
        s.url = `${collectionUrl(r, s.ns)}/${s.name}`;
        s.beforeCreateRv = (await h.req('GET', collectionUrl(r, s.ns))).body.metadata.resourceVersion;
        const created = await h.req('POST', collectionUrl(r, s.ns), objectOf(r, s.name, s.ns, labels));
        expect(created.status, created.text).toBe(201);
        expect(created.body).toMatchObject({ apiVersion: apiVersionOf(r), kind: r.kind, metadata: { name: s.name, labels } });
        expect(created.body.metadata.namespace).toBe(r.namespaced ? s.ns : undefined);
        expect(created.body.metadata.uid).toMatch(UID);
        expect(rvOf(created.body)).toBeGreaterThan(Number(s.beforeCreateRv));
        fixtureOf(r).created?.(created.body);
        s.created = s.latest = created.body;

        const got = await h.req('GET', s.url);
        expect(got.status, got.text).toBe(200);
        expect(got.body).toEqual(created.body);

        const lists = r.namespaced ? [collectionUrl(r, s.ns), collectionUrl(r, undefined)] : [collectionUrl(r, undefined)];
        for (const url of lists) {
          const list = await h.req('GET', url);
          expect(list.status, list.text).toBe(200);
          expect(list.body).toMatchObject({ apiVersion: apiVersionOf(r), kind: `${r.kind}List` });
          expect(rvOf(list.body)).toBeGreaterThanOrEqual(rvOf(created.body));
          const mine = (list.body.items as Obj[]).filter((o) => o.metadata.name === s.name && o.metadata.namespace === created.body.metadata.namespace);
          expect(mine, url).toEqual([created.body]);
        }
      });

      it('updates it with PUT (a label) and patches it with merge, JSON and strategic merge patches (an annotation each)', async () => {
        const body = { ...s.latest, metadata: { ...s.latest.metadata, labels: { ...labels, updated: 'yes' } } };
        const put = await h.req('PUT', s.url, body);
        expect(put.status, put.text).toBe(200);
        expect(put.body.metadata.labels).toEqual({ ...s.latest.metadata.labels, updated: 'yes' });
        expect(rvOf(put.body)).toBeGreaterThan(rvOf(s.latest));
        s.latest = put.body;

        const patches: Array<[string, string, unknown]> = [
          [PatchType.Merge, 'merge', { metadata: { annotations: { merge: 'yes' } } }],
          [PatchType.Json, 'json', [{ op: 'add', path: '/metadata/annotations/json', value: 'yes' }]],
          [PatchType.Strategic, 'strategic', { metadata: { annotations: { strategic: 'yes' } } }],
        ];
        for (const [contentType, key, patch] of patches) {
          const res = await h.req('PATCH', s.url, patch, { contentType });
          expect(res.status, `${contentType}: ${res.text}`).toBe(200);
          expect(res.body.metadata.annotations?.[key], contentType).toBe('yes');
          expect(rvOf(res.body)).toBeGreaterThan(rvOf(s.latest));
          s.latest = res.body;
        }
        expect(s.latest.metadata.annotations).toMatchObject({ merge: 'yes', json: 'yes', strategic: 'yes' });
        expect(s.latest.metadata.labels.updated).toBe('yes');
        expect(s.latest.metadata.uid).toBe(s.created.metadata.uid);
        expect((await h.req('GET', s.url)).body).toEqual(s.latest);
      });

      it('streams its changes to a watch, in order, from before the create and from the create', async () => {
        const watchUrl = (rv: string): string =>
          `${collectionUrl(r, s.ns)}?watch=true&resourceVersion=${rv}&timeoutSeconds=1&fieldSelector=${encodeURIComponent(`metadata.name=${s.name}`)}`;
        const [fromBefore, fromCreate] = await Promise.all([h.watch(watchUrl(s.beforeCreateRv)), h.watch(watchUrl(s.created.metadata.resourceVersion))]);
        const modified = ['MODIFIED', 'MODIFIED', 'MODIFIED', 'MODIFIED']; // the PUT and the three patches
        expect(fromBefore.status).toBe(200);
        expect(fromBefore.events.map((e) => e.type)).toEqual(['ADDED', ...modified]);
        expect(fromBefore.events[0]!.object).toEqual(s.created);
        expect(fromBefore.events.at(-1)!.object).toEqual(s.latest);
        const rvs = fromBefore.events.map((e) => rvOf(e.object));
        expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
        expect(new Set(rvs).size).toBe(rvs.length);
        // A watch from resourceVersion N sends the changes after N: the create itself is not replayed.
        expect(fromCreate.status).toBe(200);
        expect(fromCreate.events.map((e) => e.type)).toEqual(modified);
        expect(fromCreate.events.map((e) => e.object)).toEqual(fromBefore.events.slice(1).map((e) => e.object));
      });

      if (r.subresources.includes('status')) {
        it('serves the status subresource: GET reads the object, PUT keeps a status change and ignores a spec change', async () => {
          const edit = fixtureOf(r).status;
          if (edit === undefined) throw new Error(`no status edit for ${r.kind}`);
          const got = await h.req('GET', `${s.url}/status`);
          expect(got.status, got.text).toBe(200);
          expect(got.body).toEqual(s.latest);
          const body = { ...s.latest, spec: edit.editSpec(s.latest.spec ?? {}), status: { ...s.latest.status, ...edit.set } };
          const put = await h.req('PUT', `${s.url}/status`, body);
          expect(put.status, put.text).toBe(200);
          expect(put.body.status).toMatchObject(edit.set);
          expect(put.body.spec).toEqual(s.latest.spec);
          expect(put.body.metadata.generation).toBe(s.latest.metadata.generation);
          expect(rvOf(put.body)).toBeGreaterThan(rvOf(s.latest));
          s.latest = put.body;
          expect((await h.req('GET', s.url)).body).toEqual(s.latest);
        });
      } else {
        it('has no status subresource (404)', async () => {
          expect((await h.req('GET', `${s.url}/status`)).status).toBe(404);
        });
      }

      // Pods go at once too: this one is unbound (a bound pod would first be marked with a grace period).
      it('deletes it (200), after which it is not found (404)', async () => {
        const res = await h.req('DELETE', s.url);
        expect(res.status, res.text).toBe(200);
        expect(res.body.metadata?.uid).toBe(s.created.metadata.uid);
        if (r.kind === 'Namespace') expect(res.body.status.phase).toBe('Terminating');
        await expectGone(r, s.url);
      });

      it('deletes a collection by label selector in a fresh namespace: only the matching objects go', async () => {
        if (!r.verbs.includes('deletecollection')) {
          // Kubernetes serves no deletecollection on some resources (namespaces): 405, and nothing goes.
          const refused = await h.req('DELETE', collectionUrl(r, undefined));
          expect(refused.status, refused.text).toBe(405);
          return;
        }
        const ns = r.namespaced ? await freshNamespace(`dc-${r.plural}`) : '';
        const suffix = r.namespaced ? '' : `-${RUN}`;
        const doomed = [`doomed-a${suffix}`, `doomed-b${suffix}`];
        const kept = `kept${suffix}`;
        for (const [name, value] of [...doomed.map((n) => [n, 'yes'] as const), [kept, 'no'] as const]) {
          const res = await h.req('POST', collectionUrl(r, ns), objectOf(r, name, ns, { run: RUN, doomed: value }));
          expect(res.status, res.text).toBe(201);
        }
        const selector = encodeURIComponent(`run=${RUN},doomed=yes`);
        const res = await h.req('DELETE', `${collectionUrl(r, ns)}?labelSelector=${selector}`);
        expect(res.status, res.text).toBe(200);
        expect(res.body.kind).toBe(`${r.kind}List`);
        expect(namesOf(res.body.items)).toEqual(doomed);
        for (const name of doomed) await expectGone(r, `${collectionUrl(r, ns)}/${name}`);
        const left = await h.req('GET', `${collectionUrl(r, ns)}?labelSelector=${encodeURIComponent(`run=${RUN}`)}`);
        expect(namesOf(left.body.items)).toEqual([kept]);
        expect(left.body.items[0].metadata.deletionTimestamp).toBeUndefined();
        if (!r.namespaced) expect((await h.req('DELETE', `${collectionUrl(r, ns)}/${kept}`)).status).toBe(200);
      });
    });
  }

  describe('selfsubjectaccessreviews (virtual: answered, never stored)', () => {
    const review = (spec: Obj): Obj => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec });
    const createPods = { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } };

    it('allows the admin to create pods', async () => {
      const res = await h.req('POST', SSAR_URL, review(createPods));
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: createPods, status: { allowed: true } });
    });

    it('denies bob creating pods, but tells him he may review his own access', async () => {
      const denied = await h.req('POST', SSAR_URL, review(createPods), { token: BOB_TOKEN });
      expect(denied.status, denied.text).toBe(201);
      expect(denied.body.status.allowed).toBe(false);
      const self = { resourceAttributes: { verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' } };
      const allowed = await h.req('POST', SSAR_URL, review(self), { token: BOB_TOKEN });
      expect(allowed.status, allowed.text).toBe(201);
      expect(allowed.body.status.allowed).toBe(true);
    });

    it('refuses a review with neither resourceAttributes nor nonResourceAttributes as Invalid (422)', async () => {
      // Kubernetes validates the spec (ValidateSelfSubjectAccessReview) and answers NewInvalid: 422, reason Invalid.
      const res = await h.req('POST', SSAR_URL, review({}));
      expect(res.status, res.text).toBe(422);
      expect(res.body).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
      expect(res.body.details.causes.map((c: { field: string }) => c.field)).toContain('spec.resourceAttributes');
    });

    it('answers GET with 405 Method Not Allowed', async () => {
      const res = await h.req('GET', SSAR_URL);
      expect(res.status, res.text).toBe(405);
      expect(res.body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
    });
  });
});
