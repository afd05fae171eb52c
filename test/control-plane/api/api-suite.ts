/**
 * The API server suite, run unchanged against each KvBackend (the embedded
 * store and a real etcd): discovery, access control, every verb on the served
 * resources, patches, selectors and paging, watch, Table output, services'
 * ClusterIPs, subresources, finalizers, graceful deletion and namespace
 * deletion. Requests go through fastify's inject(), as the real clients'
 * requests would (same paths, headers and bodies as kubectl sends).
 */
import { describe, expect, it } from 'vitest';
import type { BackendFactory } from '../../support/kv-backends.js';
import { eventually } from '../../support/process-cluster.js';
import { ApiHarness, BOB_TOKEN, deployment, pod, useApiHarness } from './harness.js';

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
/** Bound on background work the suite waits for (namespace finalization, a watch seeing a write). */
const SETTLE_MS = 15_000;

export function describeApiSuite(factory: BackendFactory | undefined, skipReason: string): void {
  if (factory === undefined) {
    // CI installs every tool the suite needs; a missing one is a broken setup, reported as a failure, never a skip.
    it(`API server suite: ${skipReason}`, () => {
      throw new Error(skipReason);
    });
    return;
  }
  describe(`API server on ${factory.name}`, () => {
    let h: ApiHarness;
    let namespaces = 0;
    /** A fresh namespace per test, so tests never see each other's objects. */
    const ns = async (): Promise<string> => {
      const name = `t${++namespaces}`;
      const res = await h.req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      expect(res.status, res.text).toBe(201);
      return name;
    };

    useApiHarness(factory, (started) => (h = started));

    describe('discovery and access', () => {
      it('serves /api, /apis, /api/v1 and group versions with kinds, short names and subresources', async () => {
        expect((await h.req('GET', '/api')).body.versions).toEqual(['v1']);
        const groups = (await h.req('GET', '/apis')).body.groups.map((g: { name: string }) => g.name);
        expect(groups).toEqual(expect.arrayContaining(['apps', 'coordination.k8s.io', 'rbac.authorization.k8s.io']));
        const core = (await h.req('GET', '/api/v1')).body.resources as Array<Record<string, unknown>>;
        expect(core.find((r) => r.name === 'pods')).toMatchObject({ kind: 'Pod', namespaced: true, shortNames: ['po'] });
        expect(core.map((r) => r.name)).toEqual(expect.arrayContaining(['pods/status', 'pods/binding', 'nodes', 'services', 'namespaces']));
        const apps = (await h.req('GET', '/apis/apps/v1')).body.resources as Array<Record<string, unknown>>;
        expect(apps.find((r) => r.name === 'deployments/scale')).toMatchObject({ kind: 'Scale', group: 'autoscaling', version: 'v1' });
        expect((await h.req('GET', '/version')).body).toMatchObject({ major: '1' });
      });

      it('refuses anonymous requests (401) and requests RBAC does not allow (403), with a Status body', async () => {
        const anon = await h.req('GET', '/api/v1/namespaces/default/pods', undefined, { token: null });
        expect(anon.status).toBe(401);
        expect(anon.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
        const bad = await h.req('GET', '/api/v1/pods', undefined, { token: 'no-such-token' });
        expect(bad.status).toBe(401);
        const bob = await h.req('GET', '/api/v1/namespaces/default/pods', undefined, { token: BOB_TOKEN });
        expect(bob.status).toBe(403);
        expect(bob.body.message).toContain('User "bob" cannot list resource "pods"');
        expect((await h.req('GET', '/api', undefined, { token: BOB_TOKEN })).status).toBe(200);
      });

      it('lets RBAC grant a user access: a Role and RoleBinding allow bob to list pods in one namespace only', async () => {
        const n = await ns();
        const rbac = '/apis/rbac.authorization.k8s.io/v1';
        const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] };
        expect((await h.req('POST', `${rbac}/namespaces/${n}/roles`, role)).status).toBe(201);
        const binding = {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'bob-reads' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
          subjects: [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }],
        };
        expect((await h.req('POST', `${rbac}/namespaces/${n}/rolebindings`, binding)).status).toBe(201);
        await eventually('bob may list', async () => ((await h.req('GET', `/api/v1/namespaces/${n}/pods`, undefined, { token: BOB_TOKEN })).status === 200 ? true : undefined), SETTLE_MS);
        expect((await h.req('GET', '/api/v1/namespaces/default/pods', undefined, { token: BOB_TOKEN })).status).toBe(403);
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('x'), { token: BOB_TOKEN })).status).toBe(403);
      });

      it('issues service-account tokens (TokenRequest) that authenticate as the account until it is deleted', async () => {
        const n = await ns();
        expect((await h.req('POST', `/api/v1/namespaces/${n}/serviceaccounts`, { metadata: { name: 'robot' } })).status).toBe(201);
        const tr = await h.req('POST', `/api/v1/namespaces/${n}/serviceaccounts/robot/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
        expect(tr.status, tr.text).toBe(201);
        expect(tr.body.spec.expirationSeconds).toBe(3600);
        const token = tr.body.status.token as string;
        const denied = await h.req('GET', `/api/v1/namespaces/${n}/configmaps`, undefined, { token });
        expect(denied.status).toBe(403);
        expect(denied.body.message).toContain(`User "system:serviceaccount:${n}:robot"`);
        const binding = {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'robot-view' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: n }],
        };
        expect((await h.req('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${n}/rolebindings`, binding)).status).toBe(201);
        await eventually('robot may list', async () => ((await h.req('GET', `/api/v1/namespaces/${n}/configmaps`, undefined, { token })).status === 200 ? true : undefined), SETTLE_MS);
        expect((await h.req('POST', `/api/v1/namespaces/${n}/serviceaccounts/robot/token`, { spec: { expirationSeconds: 10 } })).status).toBe(422);
        await h.req('DELETE', `/api/v1/namespaces/${n}/serviceaccounts/robot`);
        await eventually('token dies with its account', async () => ((await h.req('GET', `/api/v1/namespaces/${n}/configmaps`, undefined, { token })).status === 401 ? true : undefined), SETTLE_MS);
      });
    });

    describe('objects', () => {
      it('creates a pod with system metadata and defaults, and reads it back', async () => {
        const n = await ns();
        const created = await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('web'));
        expect(created.status, created.text).toBe(201);
        const m = created.body.metadata;
        expect(m).toMatchObject({ name: 'web', namespace: n, generation: 1 });
        expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Number(m.resourceVersion)).toBeGreaterThan(0);
        expect(created.body.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
        expect(created.body.status.phase).toBe('Pending');
        const got = await h.req('GET', `/api/v1/namespaces/${n}/pods/web`);
        expect(got.body).toEqual(created.body);
        const again = await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('web'));
        expect(again.status).toBe(409);
        expect(again.body).toMatchObject({ reason: 'AlreadyExists', details: { name: 'web', kind: 'pods' } });
      });

      it('names objects from generateName', async () => {
        const n = await ns();
        const res = await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { generateName: 'cfg-' }, data: { a: '1' } });
        expect(res.status).toBe(201);
        expect(res.body.metadata.name).toMatch(/^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      });

      it('refuses invalid objects with 422 naming every bad field, and stores nothing', async () => {
        const n = await ns();
        const bad = { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c' }] } };
        const res = await h.req('POST', `/api/v1/namespaces/${n}/pods`, bad);
        expect(res.status).toBe(422);
        expect(res.body.reason).toBe('Invalid');
        const fields = res.body.details.causes.map((c: { field: string }) => c.field);
        expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'spec.containers[0].image']));
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods`)).body.items).toEqual([]);
      });

      it('answers malformed bodies with 400, unknown resources with 404, oversized bodies with 413', async () => {
        const n = await ns();
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods`, undefined, { raw: '{"metadata": ' })).status).toBe(400);
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods`, undefined, { raw: 'a: [b', contentType: 'application/yaml' })).status).toBe(400);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/widgets`)).status).toBe(404);
        expect((await h.req('GET', '/apis/nosuch.group/v1/things')).status).toBe(404);
        const huge = { metadata: { name: 'big' }, data: { a: 'x'.repeat(4 * 1024 * 1024) } };
        const res = await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, huge);
        expect(res.status).toBe(413);
        expect(res.body.kind).toBe('Status');
        expect((await h.req('POST', `/api/v1/namespaces/nosuchns/configmaps`, { metadata: { name: 'a' } })).status).toBe(404);
      });

      it('accepts YAML bodies', async () => {
        const n = await ns();
        const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  key: value\n';
        const res = await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, undefined, { raw: yaml, contentType: 'application/yaml' });
        expect(res.status, res.text).toBe(201);
        expect(res.body.data).toEqual({ key: 'value' });
      });

      it('updates with optimistic concurrency: a stale resourceVersion is 409 Conflict', async () => {
        const n = await ns();
        const v1 = (await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'c' }, data: { a: '1' } })).body;
        const v2 = await h.req('PUT', `/api/v1/namespaces/${n}/configmaps/c`, { ...v1, data: { a: '2' } });
        expect(v2.status, v2.text).toBe(200);
        expect(Number(v2.body.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
        const stale = await h.req('PUT', `/api/v1/namespaces/${n}/configmaps/c`, { ...v1, data: { a: '3' } });
        expect(stale.status).toBe(409);
        expect(stale.body.reason).toBe('Conflict');
        expect((await h.req('GET', `/api/v1/namespaces/${n}/configmaps/c`)).body.data).toEqual({ a: '2' });
      });

      it('bumps generation on spec changes only, and keeps status out of main-resource writes', async () => {
        const n = await ns();
        const d = (await h.req('POST', `/apis/apps/v1/namespaces/${n}/deployments`, deployment('web'))).body;
        expect(d.metadata.generation).toBe(1);
        const labeled = await h.req('PATCH', `/apis/apps/v1/namespaces/${n}/deployments/web`, { metadata: { labels: { x: 'y' } } }, { contentType: 'application/merge-patch+json' });
        expect(labeled.body.metadata.generation).toBe(1);
        const scaled = await h.req('PATCH', `/apis/apps/v1/namespaces/${n}/deployments/web`, { spec: { replicas: 5 }, status: { replicas: 99 } }, { contentType: 'application/merge-patch+json' });
        expect(scaled.body.metadata.generation).toBe(2);
        expect(scaled.body.status?.replicas).toBeUndefined();
        const status = await h.req('PUT', `/apis/apps/v1/namespaces/${n}/deployments/web/status`, { ...scaled.body, spec: { ...scaled.body.spec, replicas: 1 }, status: { replicas: 3, observedGeneration: 2 } });
        expect(status.status, status.text).toBe(200);
        expect(status.body.status).toMatchObject({ replicas: 3, observedGeneration: 2 });
        expect(status.body.spec.replicas).toBe(5);
      });

      it('applies merge, JSON and strategic merge patches (containers merged by name)', async () => {
        const n = await ns();
        const two = pod('p', { spec: { containers: [{ name: 'a', image: 'busybox:1' }, { name: 'b', image: 'busybox:2' }] } });
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods`, two)).status).toBe(201);
        const url = `/api/v1/namespaces/${n}/pods/p`;
        const smp = await h.req('PATCH', url, { spec: { containers: [{ name: 'b', image: 'busybox:3' }] } }, { contentType: 'application/strategic-merge-patch+json' });
        expect(smp.status, smp.text).toBe(200);
        expect(smp.body.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`)).toEqual(['a=busybox:1', 'b=busybox:3']);
        const json = await h.req('PATCH', url, [{ op: 'add', path: '/metadata/labels/tier', value: 'x' }], { contentType: 'application/json-patch+json' });
        expect(json.body.metadata.labels).toEqual({ app: 'web', tier: 'x' });
        const merge = await h.req('PATCH', url, { metadata: { labels: { app: null } } }, { contentType: 'application/merge-patch+json' });
        expect(merge.body.metadata.labels).toEqual({ tier: 'x' });
        const failed = await h.req('PATCH', url, [{ op: 'test', path: '/metadata/labels/tier', value: 'nope' }], { contentType: 'application/json-patch+json' });
        expect(failed.status).toBe(422);
        const forbidden = await h.req('PATCH', url, { spec: { restartPolicy: 'Never' } }, { contentType: 'application/merge-patch+json' });
        expect(forbidden.status).toBe(422);
      });

      it('honours dryRun=All: the answer shows the result, nothing is stored', async () => {
        const n = await ns();
        const res = await h.req('POST', `/api/v1/namespaces/${n}/configmaps?dryRun=All`, { metadata: { name: 'dry' } });
        expect(res.status).toBe(200);
        expect(res.body.metadata.name).toBe('dry');
        expect((await h.req('GET', `/api/v1/namespaces/${n}/configmaps/dry`)).status).toBe(404);
      });
    });

    describe('lists', () => {
      it('pages with limit and continue at one revision, and filters by label and field selectors', async () => {
        const n = await ns();
        for (let i = 0; i < 7; i++) {
          const labels = { app: i % 2 === 0 ? 'even' : 'odd' };
          expect((await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod(`p${i}`, { metadata: { name: `p${i}`, labels } }))).status).toBe(201);
        }
        const first = await h.req('GET', `/api/v1/namespaces/${n}/pods?limit=3`);
        expect(first.body.items.map((p: any) => p.metadata.name)).toEqual(['p0', 'p1', 'p2']);
        expect(first.body.metadata.remainingItemCount).toBe(4);
        await h.req('DELETE', `/api/v1/namespaces/${n}/pods/p4`);
        const second = await h.req('GET', `/api/v1/namespaces/${n}/pods?limit=3&continue=${first.body.metadata.continue}`);
        expect(second.body.items.map((p: any) => p.metadata.name)).toEqual(['p3', 'p4', 'p5']);
        expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
        const even = await h.req('GET', `/api/v1/namespaces/${n}/pods?labelSelector=${encodeURIComponent('app in (even)')}`);
        expect(even.body.items.map((p: any) => p.metadata.name)).toEqual(['p0', 'p2', 'p6']);
        const named = await h.req('GET', `/api/v1/namespaces/${n}/pods?fieldSelector=metadata.name%3Dp1`);
        expect(named.body.items.map((p: any) => p.metadata.name)).toEqual(['p1']);
        const unbound = await h.req('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D&labelSelector=app%3Dodd`);
        expect(unbound.body.items.filter((p: any) => p.metadata.namespace === n)).toHaveLength(3);
        const bad = await h.req('GET', `/api/v1/namespaces/${n}/pods?fieldSelector=spec.image%3Dx`);
        expect(bad.status).toBe(400);
        expect(bad.body.message).toContain('field label not supported: spec.image');
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods?labelSelector=${encodeURIComponent('a in (')}`)).status).toBe(400);
      });

      it('answers kubectl get with a meta.k8s.io/v1 Table', async () => {
        const n = await ns();
        await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('web'));
        const res = await h.req('GET', `/api/v1/namespaces/${n}/pods?limit=500`, undefined, { accept: TABLE_ACCEPT });
        expect(res.body.kind).toBe('Table');
        expect(res.body.columnDefinitions.map((c: any) => c.name)).toEqual(expect.arrayContaining(['Name', 'Ready', 'Status', 'Restarts', 'Age']));
        expect(res.body.rows[0].cells.slice(0, 3)).toEqual(['web', '0/1', 'Pending']);
        expect(res.body.rows[0].object.kind).toBe('PartialObjectMetadata');
        const one = await h.req('GET', `/api/v1/namespaces/${n}/pods/web`, undefined, { accept: TABLE_ACCEPT });
        expect(one.body.rows).toHaveLength(1);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods`, undefined, { accept: 'application/vnd.kubernetes.protobuf' })).status).toBe(406);
      });
    });

    describe('watch', () => {
      it('streams every change after a resourceVersion, in order, with selectors applied', async () => {
        const n = await ns();
        const start = (await h.req('GET', `/api/v1/namespaces/${n}/configmaps`)).body.metadata.resourceVersion;
        const a = (await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'a', labels: { w: 'yes' } } })).body;
        await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'b' } });
        await h.req('PUT', `/api/v1/namespaces/${n}/configmaps/a`, { ...a, data: { k: 'v' } });
        await h.req('PATCH', `/api/v1/namespaces/${n}/configmaps/a`, { metadata: { labels: { w: null } } }, { contentType: 'application/merge-patch+json' });
        await h.req('DELETE', `/api/v1/namespaces/${n}/configmaps/b`);
        const all = await h.watch(`/api/v1/namespaces/${n}/configmaps?watch=true&resourceVersion=${start}&timeoutSeconds=1`);
        expect(all.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b', 'MODIFIED a', 'MODIFIED a', 'DELETED b']);
        const rvs = all.events.map((e) => Number(e.object.metadata.resourceVersion));
        expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
        const selected = await h.watch(`/api/v1/namespaces/${n}/configmaps?watch=true&resourceVersion=${start}&timeoutSeconds=1&labelSelector=w%3Dyes`);
        expect(selected.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
      });

      it('starts a watch without resourceVersion with the current objects as ADDED', async () => {
        const n = await ns();
        await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'x' } });
        const w = await h.watch(`/api/v1/namespaces/${n}/configmaps?watch=1&timeoutSeconds=1`);
        expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED x']);
      });

      it('sends watch events as Table rows when kubectl get -w asks for them', async () => {
        const n = await ns();
        const start = (await h.req('GET', `/api/v1/namespaces/${n}/pods`)).body.metadata.resourceVersion;
        await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('w1'));
        await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('w2'));
        const w = await h.watch(`/api/v1/namespaces/${n}/pods?watch=true&resourceVersion=${start}&timeoutSeconds=1`, { accept: TABLE_ACCEPT });
        expect(w.events.map((e) => e.object.kind)).toEqual(['Table', 'Table']);
        expect(w.events[0]!.object.columnDefinitions.length).toBeGreaterThan(0);
        expect(w.events.map((e) => e.object.rows[0].cells[0])).toEqual(['w1', 'w2']);
      });

      it('answers a watch from a revision older than the cache holds with a 410 Expired ERROR event', async () => {
        const w = await h.watch('/api/v1/configmaps?watch=true&resourceVersion=2&timeoutSeconds=1');
        expect(w.status).toBe(200);
        expect(w.events).toHaveLength(1);
        expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      });

      it('sends bookmarks with the current resourceVersion when asked to', async () => {
        const n = await ns();
        const rv = (await h.req('GET', `/api/v1/namespaces/${n}/configmaps`)).body.metadata.resourceVersion;
        const w = await h.watch(`/api/v1/namespaces/${n}/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=1`);
        const bookmarks = w.events.filter((e) => e.type === 'BOOKMARK');
        expect(bookmarks.length).toBeGreaterThan(0);
        expect(Number(bookmarks[0]!.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
        const plain = await h.watch(`/api/v1/namespaces/${n}/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
        expect(plain.events).toEqual([]);
      });

      it('refuses a future resourceVersion with 504 and a malformed one with 400', async () => {
        expect((await h.req('GET', '/api/v1/configmaps?watch=true&resourceVersion=999999999&timeoutSeconds=1')).status).toBe(504);
        expect((await h.req('GET', '/api/v1/configmaps?watch=true&resourceVersion=abc')).status).toBe(400);
        expect((await h.req('GET', `/api/v1/configmaps?watch=true&labelSelector=${encodeURIComponent('a in (')}`)).status).toBe(400);
      });
    });

    describe('services, subresources and deletion', () => {
      it('allocates a distinct ClusterIP to each of many services created at once, and releases it on delete', async () => {
        const n = await ns();
        const svc = (name: string) => ({ metadata: { name }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } });
        const created = await Promise.all(Array.from({ length: 12 }, (_, i) => h.req('POST', `/api/v1/namespaces/${n}/services`, svc(`s${i}`))));
        for (const c of created) expect(c.status, c.text).toBe(201);
        const ips = created.map((c) => c.body.spec.clusterIP as string);
        expect(new Set(ips).size).toBe(ips.length);
        for (const ip of ips) expect(ip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
        const fixed = { metadata: { name: 'fixed' }, spec: { clusterIP: ips[0], ports: [{ port: 80 }] } };
        const taken = await h.req('POST', `/api/v1/namespaces/${n}/services`, fixed);
        expect(taken.status).toBe(422);
        expect(taken.body.message).toContain('provided IP is already allocated');
        expect((await h.req('DELETE', `/api/v1/namespaces/${n}/services/s0`)).status).toBe(200);
        expect((await h.req('POST', `/api/v1/namespaces/${n}/services`, fixed)).status).toBe(201);
        const headless = await h.req('POST', `/api/v1/namespaces/${n}/services`, { metadata: { name: 'h' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } });
        expect(headless.body.spec.clusterIP).toBe('None');
      });

      it('reads and writes the scale subresource of deployments', async () => {
        const n = await ns();
        await h.req('POST', `/apis/apps/v1/namespaces/${n}/deployments`, deployment('web', 2));
        const url = `/apis/apps/v1/namespaces/${n}/deployments/web/scale`;
        const scale = await h.req('GET', url);
        expect(scale.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { selector: 'app=web' } });
        const patched = await h.req('PATCH', url, { spec: { replicas: 4 } }, { contentType: 'application/merge-patch+json' });
        expect(patched.body.spec.replicas).toBe(4);
        const put = await h.req('PUT', url, { ...patched.body, spec: { replicas: 6 } });
        expect(put.body.spec.replicas).toBe(6);
        expect((await h.req('GET', `/apis/apps/v1/namespaces/${n}/deployments/web`)).body.spec.replicas).toBe(6);
        expect((await h.req('PUT', url, { ...scale.body, spec: { replicas: 1 } })).status).toBe(409);
      });

      it('binds a pod once, then deletes it gracefully: marked first, gone after grace 0', async () => {
        const n = await ns();
        await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('b'));
        const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b' }, target: { kind: 'Node', name: 'n1' } };
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods/b/binding`, binding)).status).toBe(201);
        expect((await h.req('POST', `/api/v1/namespaces/${n}/pods/b/binding`, { ...binding, target: { name: 'n2' } })).status).toBe(409);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods/b`)).body.spec.nodeName).toBe('n1');
        const marked = await h.req('DELETE', `/api/v1/namespaces/${n}/pods/b`, { propagationPolicy: 'Background' });
        expect(marked.status).toBe(200);
        expect(marked.body.metadata.deletionTimestamp).toBeDefined();
        expect(marked.body.metadata.deletionGracePeriodSeconds).toBe(30);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods/b`)).status).toBe(200);
        expect((await h.req('DELETE', `/api/v1/namespaces/${n}/pods/b?gracePeriodSeconds=0`)).status).toBe(200);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods/b`)).status).toBe(404);
      });

      it('keeps an object with finalizers until the last one is removed', async () => {
        const n = await ns();
        await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'f', finalizers: ['example.com/hold'] } });
        const marked = await h.req('DELETE', `/api/v1/namespaces/${n}/configmaps/f`);
        expect(marked.body.metadata.deletionTimestamp).toBeDefined();
        const more = await h.req('PATCH', `/api/v1/namespaces/${n}/configmaps/f`, { metadata: { finalizers: ['example.com/hold', 'other'] } }, { contentType: 'application/merge-patch+json' });
        expect(more.status).toBe(403);
        const released = await h.req('PATCH', `/api/v1/namespaces/${n}/configmaps/f`, { metadata: { finalizers: null } }, { contentType: 'application/merge-patch+json' });
        expect(released.status, released.text).toBe(200);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/configmaps/f`)).status).toBe(404);
      });

      it('deletes a namespace with its content, and refuses new content while it terminates', async () => {
        const n = await ns();
        await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'c1' } });
        await h.req('POST', `/api/v1/namespaces/${n}/pods`, pod('p1'));
        const marked = await h.req('DELETE', `/api/v1/namespaces/${n}`);
        expect(marked.status).toBe(200);
        expect(marked.body.status.phase).toBe('Terminating');
        const refused = await h.req('POST', `/api/v1/namespaces/${n}/configmaps`, { metadata: { name: 'late' } });
        expect(refused.status).toBe(403);
        expect(refused.body.message).toContain('because it is being terminated');
        await eventually('namespace gone', async () => ((await h.req('GET', `/api/v1/namespaces/${n}`)).status === 404 ? true : undefined), SETTLE_MS);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/configmaps`)).body.items).toEqual([]);
        expect((await h.req('GET', `/api/v1/namespaces/${n}/pods`)).body.items).toEqual([]);
      });
    });
  });
}
