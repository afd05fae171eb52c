/**
 * The OpenAPI documents (control-plane/openapi): their structure, through
 * app.inject(), and what the real kubectl does with them: `explain` prints our
 * descriptions, and `apply` with validation on accepts a valid pod and rejects
 * an invalid one on the client, before any request reaches the server.
 *
 * kubectl needs discovery and an object endpoint beside /openapi. Until the
 * real API server serves those, the kubectl half runs against a small
 * test-only stand-in (`startStandInServer`, clearly marked below) that serves
 * the openApiRoutes plugin plus canned discovery built from the registry's
 * resource table and a create/get/patch-only object map.
 *
 * kubectl binaries: `kubectl` on PATH (1.32 on the reference machine; override
 * with KUBECTL), and kubectl 1.20 from the path in KUBECTL_1_20 when set. A
 * missing binary skips its cases and says why.
 *
 * Ports: 28600-28609 (the stand-in takes the first free one).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiDocuments, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from '../../control-plane/openapi/document.js';
import { SUBRESOURCE_SHAPES } from '../../control-plane/openapi/paths.js';
import { openApiRoutes, prefersProtobuf } from '../../control-plane/openapi/plugin.js';
import { decodeOpenApiV2Protobuf } from '../../control-plane/openapi/protobuf.js';
import { DEFINITIONS } from '../../control-plane/openapi/schemas/index.js';
import { mustApplyPatchDirectives, mustDerivePatchDirectives } from '../../control-plane/openapi/schemas/patch-directives.js';
import { BUILTIN_PATCH_SCHEMAS } from '../../control-plane/patch/patch-schemas.js';
import type { OpenApiV3Document, OpenApiV3Index, SwaggerDocument } from '../../control-plane/openapi/types.js';
import { RESOURCES, apiVersionOf } from '../../control-plane/registry/resources.js';

const KUBECTL_PROTOBUF_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const CORE = 'io.k8s.api.core.v1.';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

async function openApiApp(): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(openApiRoutes, { resources: RESOURCES });
  return app;
}

/** Every `$ref` string anywhere in `value`. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

function gvkOf(r: { group: string; version: string; kind: string }): { group: string; version: string; kind: string } {
  return { group: r.group, version: r.version, kind: r.kind };
}

function gvPathOf(r: { group: string; version: string }): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

describe('OpenAPI documents (structure)', () => {
  let app: FastifyInstance;
  let v2: SwaggerDocument;
  beforeAll(async () => {
    app = await openApiApp();
    const res = await app.inject({ method: 'GET', url: '/openapi/v2', headers: { accept: 'application/json' } });
    v2 = res.json<SwaggerDocument>();
  });
  afterAll(async () => app.close());

  it('publishes a schema tagged with x-kubernetes-group-version-kind for every served kind and its list', () => {
    const tagged = new Map<string, string>();
    for (const [name, schema] of Object.entries(v2.definitions)) {
      for (const g of schema['x-kubernetes-group-version-kind'] ?? []) tagged.set(`${g.group}/${g.version}/${g.kind}`, name);
    }
    const wanted = RESOURCES.flatMap((r) =>
      [r.kind, ...(r.verbs.includes('list') ? [`${r.kind}List`] : [])].map((k) => `${r.group}/${r.version}/${k}`));
    wanted.push('/v1/Binding', 'autoscaling/v1/Scale', '/v1/Status', '/v1/DeleteOptions');
    expect(wanted.filter((k) => !tagged.has(k))).toEqual([]);
    expect(tagged.get('/v1/Pod')).toBe(`${CORE}Pod`);
    expect(tagged.get('apps/v1/Deployment')).toBe('io.k8s.api.apps.v1.Deployment');
  });

  it('resolves every $ref of the v2 document to a definition', () => {
    const refs = refsIn(v2);
    expect(refs.length).toBeGreaterThan(100);
    const dangling = refs.filter((r) => !r.startsWith('#/definitions/') || !(r.slice('#/definitions/'.length) in v2.definitions));
    expect([...new Set(dangling)]).toEqual([]);
  });

  it('never puts a type or properties beside a $ref (kubectl rejects the whole document for it)', () => {
    const offending: string[] = [];
    const visit = (value: unknown, at: string): void => {
      if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${at}[${i}]`));
      else if (value !== null && typeof value === 'object') {
        const o = value as Record<string, unknown>;
        if ('$ref' in o && ('type' in o || 'properties' in o)) offending.push(at);
        for (const [k, v] of Object.entries(o)) visit(v, `${at}.${k}`);
      }
    };
    visit(v2.definitions, 'definitions');
    expect(offending).toEqual([]);
  });

  it('describes every top-level field of every served kind', () => {
    const undescribed: string[] = [];
    for (const r of RESOURCES) {
      const schema = Object.values(v2.definitions).find((s) =>
        s['x-kubernetes-group-version-kind']?.some((g) => g.kind === r.kind && g.group === r.group));
      expect(schema?.description, r.kind).toBeTruthy();
      for (const [field, s] of Object.entries(schema?.properties ?? {})) {
        if (!s.description) undescribed.push(`${r.kind}.${field}`);
      }
    }
    expect(undescribed).toEqual([]);
  });

  it('writes no % in descriptions (kubectl 1.20 explain prints them as printf formats)', () => {
    const descriptions = JSON.stringify(v2.definitions).match(/"description":"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(descriptions.length).toBeGreaterThan(300);
    expect(descriptions.filter((d) => d.includes('%'))).toEqual([]);
  });

  it('publishes the strategic-merge keys kubectl apply merges lists by', () => {
    const prop = (def: string, field: string) => v2.definitions[def]?.properties?.[field];
    const expectKey = (def: string, field: string, key: string, strategy = 'merge') => {
      expect(prop(def, field)?.['x-kubernetes-patch-merge-key'], `${def}.${field}`).toBe(key);
      expect(prop(def, field)?.['x-kubernetes-patch-strategy'], `${def}.${field}`).toBe(strategy);
    };
    expectKey(`${CORE}PodSpec`, 'containers', 'name');
    expectKey(`${CORE}PodSpec`, 'initContainers', 'name');
    expectKey(`${CORE}PodSpec`, 'volumes', 'name', 'merge,retainKeys');
    expectKey(`${CORE}Container`, 'ports', 'containerPort');
    expectKey(`${CORE}Container`, 'env', 'name');
    expectKey(`${CORE}Container`, 'volumeMounts', 'mountPath');
    expectKey(`${CORE}PodStatus`, 'conditions', 'type');
    expectKey(`${META}ObjectMeta`, 'ownerReferences', 'uid');
    expectKey(`${CORE}ServiceSpec`, 'ports', 'port');
    expectKey('io.k8s.api.apps.v1.DeploymentStatus', 'conditions', 'type');
    // A list without a key (tolerations) is replaced wholesale: no directive.
    expect(prop(`${CORE}PodSpec`, 'tolerations')?.['x-kubernetes-patch-merge-key']).toBeUndefined();
  });

  it('takes its patch directives from the API server\'s patch rules, for every kind those rules cover', () => {
    const unpublished = BUILTIN_PATCH_SCHEMAS.filter((r) => !Object.values(v2.definitions).some((s) =>
      s['x-kubernetes-group-version-kind']?.some((g) => g.group === r.group && g.kind === r.kind)));
    expect(unpublished.map((r) => r.kind)).toEqual([]);
    const strategy = v2.definitions['io.k8s.api.apps.v1.DeploymentSpec']?.properties?.['strategy'];
    expect(strategy?.['x-kubernetes-patch-strategy']).toBe('retainKeys');
  });

  it('refuses patch directives that do not fit the schemas, and kinds that disagree on a shared definition', () => {
    expect(() => mustApplyPatchDirectives(DEFINITIONS, {
      [`${CORE}PodSpec`]: { nodeName: { mergeKey: 'name', strategy: 'merge' } },
    })).toThrow(/PodSpec\.nodeName: merges a property that is not a list/);
    expect(() => mustApplyPatchDirectives(DEFINITIONS, { [`${CORE}NoSuchSpec`]: {} })).toThrow(/NoSuchSpec/);
    const containersBy = (key: string) => ({ fields: { spec: { fields: { containers: { patchStrategy: 'merge' as const, patchMergeKey: key } } } } });
    expect(() => mustDerivePatchDirectives(DEFINITIONS, [
      { group: '', kind: 'Pod', schema: containersBy('name') },
      { group: 'apps', kind: 'ReplicaSet', schema: { fields: { spec: { fields: { template: containersBy('image') } } } } },
    ])).toThrow(/conflicting patch rules for io\.k8s\.api\.core\.v1\.PodSpec\.containers/);
  });

  it('uses IntOrString for targetPort and maxSurge, Quantity for resource amounts', () => {
    expect(v2.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({ type: 'string', format: 'int-or-string' });
    expect(v2.definitions[`${CORE}ServicePort`]?.properties?.['targetPort']?.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    expect(v2.definitions['io.k8s.api.apps.v1.RollingUpdateDeployment']?.properties?.['maxSurge']?.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
    expect(v2.definitions[`${CORE}ResourceRequirements`]?.properties?.['limits']?.additionalProperties?.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity');
  });

  it('describes every subresource the registry serves', () => {
    const unknown = RESOURCES.flatMap((r) => r.subresources.filter((s) => !(s in SUBRESOURCE_SHAPES)).map((s) => `${r.plural}/${s}`));
    expect(unknown).toEqual([]);
  });

  it('tags the PATCH operations so kubectl builds strategic merge patches, without advertising fieldValidation', () => {
    const patch = v2.paths['/api/v1/namespaces/{namespace}/pods/{name}']?.patch;
    expect(patch?.['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect(patch?.consumes).toContain('application/strategic-merge-patch+json');
    // Advertising fieldValidation would make kubectl >= 1.25 skip client-side validation.
    expect(patch?.parameters.map((p) => p.name)).not.toContain('fieldValidation');
  });

  it('answers /openapi/v2 in gnostic protobuf for kubectl\'s Accept, decoding to the same definitions and extensions', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi/v2?timeout=32s', headers: { accept: KUBECTL_PROTOBUF_ACCEPT } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
    const doc = decodeOpenApiV2Protobuf(res.rawPayload) as {
      swagger: string;
      definitions: { additional_properties: { name: string; value: { vendor_extension?: { name: string; value: { yaml: string } }[] } }[] };
      paths: { path: { name: string }[] };
    };
    expect(doc.swagger).toBe('2.0');
    expect(doc.definitions.additional_properties.map((d) => d.name)).toEqual(Object.keys(v2.definitions));
    expect(doc.paths.path.map((p) => p.name)).toEqual(Object.keys(v2.paths));
    const pod = doc.definitions.additional_properties.find((d) => d.name === `${CORE}Pod`);
    const gvk = pod?.value.vendor_extension?.find((e) => e.name === 'x-kubernetes-group-version-kind');
    expect(JSON.parse(gvk?.value.yaml ?? 'null')).toEqual([{ group: '', version: 'v1', kind: 'Pod' }]);

    const legacy = await app.inject({ method: 'GET', url: '/swagger-2.0.0.pb-v1' });
    expect(legacy.rawPayload.equals(res.rawPayload)).toBe(true);
  });

  it('answers JSON unless protobuf comes first among acceptable types, with an ETag that If-None-Match honours', async () => {
    expect(prefersProtobuf(undefined)).toBe(false);
    expect(prefersProtobuf('application/json, */*')).toBe(false);
    expect(prefersProtobuf(`${KUBECTL_PROTOBUF_ACCEPT}, application/json`)).toBe(true);
    expect(prefersProtobuf(`application/json, ${KUBECTL_PROTOBUF_ACCEPT}`)).toBe(false);
    expect(prefersProtobuf(`${KUBECTL_PROTOBUF_ACCEPT};q=0, application/json`)).toBe(false);

    const res = await app.inject({ method: 'GET', url: '/openapi/v2', headers: { accept: 'application/json, */*' } });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const etag = res.headers['etag'];
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/);
    const again = await app.inject({ method: 'GET', url: '/openapi/v2', headers: { accept: 'application/json', 'if-none-match': String(etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('builds the same bytes every time (hashes and ETags are stable across restarts)', () => {
    const a = new OpenApiDocuments(RESOURCES);
    const b = new OpenApiDocuments([...RESOURCES]);
    expect(a.v2Json().etag).toBe(b.v2Json().etag);
    expect(a.v2Protobuf().etag).toBe(b.v2Protobuf().etag);
    expect(a.v3Index().served.etag).toBe(b.v3Index().served.etag);
  });

  it('indexes one v3 document per served group-version, under a URL carrying its content hash', async () => {
    const index = (await app.inject({ method: 'GET', url: '/openapi/v3' })).json<OpenApiV3Index>();
    const groupVersions = [...new Set(RESOURCES.map(gvPathOf))].sort();
    expect(Object.keys(index.paths).sort()).toEqual(groupVersions);
    for (const [gv, { serverRelativeURL }] of Object.entries(index.paths)) {
      expect(serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${gv}\\?hash=[0-9A-F]{128}$`));
      const res = await app.inject({ method: 'GET', url: serverRelativeURL });
      expect(res.statusCode, gv).toBe(200);
      expect(res.headers['cache-control']).toMatch(/immutable/);
      expect(`"${serverRelativeURL.split('hash=')[1]}"`).toBe(res.headers['etag']);
    }
    const stale = await app.inject({ method: 'GET', url: '/openapi/v3/api/v1?hash=0123' });
    expect(stale.statusCode).toBe(301);
    expect(stale.headers['location']).toBe(index.paths['api/v1']?.serverRelativeURL);
    expect((await app.inject({ method: 'GET', url: '/openapi/v3/apis/nosuch.group/v1' })).statusCode).toBe(404);
  });

  it('gives each v3 document the schemas its paths reach, the kind on each resource path, and resolvable refs', async () => {
    for (const r of RESOURCES) {
      const doc = (await app.inject({ method: 'GET', url: `/openapi/v3/${gvPathOf(r)}` })).json<OpenApiV3Document>();
      const collection = `/${gvPathOf(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
      // kubectl explain (v3) finds the kind of a resource through exactly these paths.
      const collectionOps = Object.values(doc.paths[collection] ?? {});
      expect(collectionOps.length, collection).toBeGreaterThan(0);
      for (const op of collectionOps) expect(op['x-kubernetes-group-version-kind'], collection).toEqual(gvkOf(r));
      const schemas = doc.components.schemas;
      const kindSchema = Object.values(schemas).find((s) =>
        s['x-kubernetes-group-version-kind']?.some((g) => g.kind === r.kind && g.group === r.group && g.version === r.version));
      expect(kindSchema, `${r.kind} in ${gvPathOf(r)}`).toBeDefined();
      const dangling = refsIn(doc).filter((ref) => !(ref.replace('#/components/schemas/', '') in schemas));
      expect([...new Set(dangling)], gvPathOf(r)).toEqual([]);
    }
    const apps = (await app.inject({ method: 'GET', url: '/openapi/v3/apis/apps/v1' })).json<OpenApiV3Document>();
    // References with a description beside them are wrapped in allOf (OpenAPI 3.0 ignores $ref siblings).
    expect(apps.components.schemas['io.k8s.api.apps.v1.DeploymentSpec']?.properties?.['strategy']).toEqual({
      description: expect.any(String),
      allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }],
      'x-kubernetes-patch-strategy': 'retainKeys',
    });
    expect(Object.keys(apps.components.schemas)).toContain('io.k8s.api.autoscaling.v1.Scale');
    expect(Object.keys(apps.components.schemas)).not.toContain(`${CORE}Node`);
  });
});

// ===========================================================================
// The real kubectl against a TEST-ONLY STAND-IN for the API server.
//
// Everything below this line up to the kubectl cases is scaffolding: canned
// discovery built from the registry's resource table and an object map that
// only creates, reads and records patches. It exists because the real API
// server is not wired yet; the openApiRoutes plugin it serves is the real one.
// ===========================================================================

const STAND_IN_PORTS = [28600, 28601, 28602, 28603, 28604, 28605, 28606, 28607, 28608, 28609];
/** kubectl start-up plus discovery and /openapi round trips; generous for a loaded 2-core machine. */
const KUBECTL_RUN_TIMEOUT_MS = 60_000;

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

interface StandIn {
  readonly app: FastifyInstance;
  readonly port: number;
  readonly requests: RecordedRequest[];
}

function resourceList(groupVersion: string): Json {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: RESOURCES.filter((r) => apiVersionOf(r) === groupVersion).map((r) => ({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind,
      verbs: [...r.verbs], shortNames: [...r.shortNames], categories: [...r.categories],
    })),
  };
}

function notFoundStatus(name: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `"${name}" not found`, reason: 'NotFound', details: { name }, code: 404 };
}

async function startStandInServer(): Promise<StandIn> {
  const app = Fastify();
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, Record<string, Json>>();
  app.addContentTypeParser(/^application\/([a-z-]+\+)?json/, { parseAs: 'string' }, (_req, body, done) => {
    try { done(null, body === '' ? {} : JSON.parse(String(body))); } catch (err) { done(err as Error); }
  });
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/openapi')) return;
    requests.push({ method: req.method, url: req.url, contentType: undefined, body: undefined });
  });
  await app.register(openApiRoutes, { resources: RESOURCES });

  const groups = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
  app.get('/version', async () => ({ major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' }));
  app.get('/api', async () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] }));
  app.get('/apis', async () => ({
    kind: 'APIGroupList', apiVersion: 'v1',
    groups: groups.map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
  }));
  app.get('/api/v1', async () => resourceList('v1'));
  app.get<{ Params: { group: string; version: string } }>('/apis/:group/:version', async (req) => resourceList(`${req.params.group}/${req.params.version}`));

  // Objects: namespaced collections of any served resource, keyed by URL path.
  const collection = '/api/v1/namespaces/:ns/:plural';
  const record = (req: { method: string; url: string; headers: Record<string, unknown>; body: unknown }) =>
    requests.push({ method: req.method, url: req.url, contentType: req.headers['content-type'] as string | undefined, body: req.body });
  app.get<{ Params: { ns: string; plural: string; name: string } }>(`${collection}/:name`, async (req, reply) => {
    record(req);
    const obj = objects.get(`${req.params.ns}/${req.params.plural}/${req.params.name}`);
    return obj ?? reply.code(404).send(notFoundStatus(req.params.name));
  });
  app.post<{ Params: { ns: string; plural: string }; Body: Record<string, Json> }>(collection, async (req, reply) => {
    record(req);
    const metadata: Record<string, Json> = { ...(req.body['metadata'] as Record<string, Json>), uid: `uid-${objects.size}`, resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' };
    const obj = { ...req.body, metadata };
    objects.set(`${req.params.ns}/${req.params.plural}/${String(metadata['name'])}`, obj);
    return reply.code(201).send(obj);
  });
  app.patch<{ Params: { ns: string; plural: string; name: string } }>(`${collection}/:name`, async (req, reply) => {
    record(req);
    const obj = objects.get(`${req.params.ns}/${req.params.plural}/${req.params.name}`);
    return obj ?? reply.code(404).send(notFoundStatus(req.params.name));
  });

  for (const port of STAND_IN_PORTS) {
    try {
      await app.listen({ host: '127.0.0.1', port });
      return { app, port, requests };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`no free port in ${STAND_IN_PORTS[0]}-${STAND_IN_PORTS.at(-1)} for the kubectl stand-in server`);
}

interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs kubectl with its own kubeconfig, cache and HOME, so the user's ~/.kube is never read or written. */
function runKubectl(bin: string, scratch: string, args: readonly string[], input = ''): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--kubeconfig', join(scratch, 'kubeconfig'), '--cache-dir', join(scratch, 'cache'), ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function kubeconfig(port: number): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: stand-in',
    `  cluster: {server: "http://127.0.0.1:${port}"}`,
    'users:',
    '- name: anonymous',
    '  user: {}',
    'contexts:',
    '- name: stand-in',
    '  context: {cluster: stand-in, user: anonymous, namespace: default}',
    'current-context: stand-in',
    '',
  ].join('\n');
}

function podYaml(name: string, containers: string): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    '  labels: {app: demo}',
    'spec:',
    containers,
    '',
  ].join('\n');
}

const VALID_CONTAINERS = [
  '  containers:',
  '  - name: app',
  '    image: busybox:1.36',
  '    command: ["sleep", "3600"]',
  '    ports: [{containerPort: 8080, name: http}]',
  '    env: [{name: MODE, value: test}]',
  '    resources: {limits: {cpu: 1, memory: 64Mi}}',
].join('\n');

interface KubectlUnderTest {
  readonly label: string;
  readonly bin: string | undefined;
  readonly skipReason: string;
}

function kubectlOnPath(): KubectlUnderTest {
  const bin = process.env['KUBECTL'] ?? 'kubectl';
  const dirs = (process.env['PATH'] ?? '').split(':');
  const found = bin.includes('/') ? existsSync(bin) : dirs.some((d) => d !== '' && existsSync(join(d, bin)));
  return { label: 'kubectl on PATH', bin: found ? bin : undefined, skipReason: `kubectl (${bin}) not found on PATH` };
}

function kubectl120(): KubectlUnderTest {
  const bin = process.env['KUBECTL_1_20'];
  if (bin === undefined) return { label: 'kubectl 1.20', bin: undefined, skipReason: 'KUBECTL_1_20 is not set (path of a kubectl v1.20 binary, e.g. unpacked from Debian\'s kubernetes-client package)' };
  return { label: 'kubectl 1.20', bin: existsSync(bin) ? bin : undefined, skipReason: `KUBECTL_1_20=${bin} does not exist` };
}

describe.each([kubectlOnPath(), kubectl120()])('$label against the stand-in server', (k) => {
  let standIn: StandIn | undefined;
  let scratch = '';
  const run = (args: readonly string[]) => runKubectl(k.bin ?? 'kubectl', scratch, args);
  const apply = (name: string, yaml: string) => {
    const file = join(scratch, `${name}.yaml`);
    writeFileSync(file, yaml);
    return run(['apply', '-f', file]);
  };
  const objectRequests = () => (standIn?.requests ?? []).filter((r) => !r.url.startsWith('/openapi'));
  const tag = k.bin === undefined ? 'skip' : k.label.replace(/\W+/g, '-').toLowerCase();

  /** A case that needs this kubectl: without it, a failure naming what is missing (CI provides both), never a skip. */
  const itWithKubectl = (name: string, fn: () => Promise<void>): void => {
    it(name, k.bin === undefined ? () => { throw new Error(k.skipReason); } : fn);
  };

  beforeAll(async () => {
    if (k.bin === undefined) return;
    scratch = mkdtempSync(join(tmpdir(), 'strake-openapi-kubectl-'));
    standIn = await startStandInServer();
    writeFileSync(join(scratch, 'kubeconfig'), kubeconfig(standIn.port));
  });
  afterAll(async () => {
    await standIn?.app.close();
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  itWithKubectl('explain pods prints the Pod description and its fields', async () => {
    const r = await run(['explain', 'pods']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/KIND:\s+Pod/);
    expect(r.stdout).toMatch(/VERSION:\s+v1/);
    expect(r.stdout).toContain('A group of containers scheduled together onto one node');
    expect(r.stdout).toMatch(/spec\s+<(Object|PodSpec)>/);
  });

  itWithKubectl('explain pods.spec.containers prints the field and the Container fields', async () => {
    const r = await run(['explain', 'pods.spec.containers']);
    expect(r.status, r.stderr).toBe(0);
    // 1.20 heads a field of a kind with RESOURCE:, later versions with FIELD:.
    expect(r.stdout).toMatch(/(FIELD|RESOURCE):\s+containers/);
    expect(r.stdout).toContain('The app containers.');
    expect(r.stdout).toMatch(/image\s+<string>/);
    expect(r.stdout).toMatch(/name\s+<string> -required-/);
  });

  itWithKubectl('explain deployment.spec.strategy prints the apps/v1 strategy', async () => {
    const r = await run(['explain', 'deployment.spec.strategy']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/KIND:\s+Deployment/);
    expect(r.stdout).toContain('How old pods are replaced by new ones.');
    expect(r.stdout).toMatch(/rollingUpdate\s+<(Object|RollingUpdateDeployment)>/);
  });

  itWithKubectl('apply with validation creates a valid pod, fetching /openapi/v2 as protobuf', async () => {
    standIn?.requests.splice(0);
    const r = await apply(`valid-${tag}`, podYaml(`demo-${tag}`, VALID_CONTAINERS));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`pod/demo-${tag} created`);
    expect(objectRequests().map((q) => q.method)).toEqual(['GET', 'POST']);
    expect(standIn?.requests.some((q) => q.url.startsWith('/openapi/v2'))).toBe(true);
  });

  itWithKubectl('apply of a changed pod sends a strategic merge patch keyed by container name', async () => {
    standIn?.requests.splice(0);
    const changed = VALID_CONTAINERS.replace('value: test', 'value: changed');
    const r = await apply(`changed-${tag}`, podYaml(`demo-${tag}`, changed));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const patch = objectRequests().find((q) => q.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect(JSON.stringify(patch?.body)).toContain('"$setElementOrder/containers":[{"name":"app"}]');
    expect(JSON.stringify(patch?.body)).toContain('"$setElementOrder/env":[{"name":"MODE"}]');
  });

  itWithKubectl('apply with validation rejects an unknown field on the client', async () => {
    standIn?.requests.splice(0);
    const typo = VALID_CONTAINERS.replace('    image:', '    imagee:');
    const r = await apply(`typo-${tag}`, podYaml(`typo-${tag}`, typo));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown field "imagee"/);
    expect(objectRequests().filter((q) => q.method !== 'GET')).toEqual([]);
  });

  itWithKubectl('apply with validation rejects a field of the wrong type on the client', async () => {
    standIn?.requests.splice(0);
    const r = await apply(`wrong-type-${tag}`, podYaml(`wrong-type-${tag}`, '  containers: "x"'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/error validating/);
    expect(r.stderr).toMatch(/containers/);
    expect(objectRequests().filter((q) => q.method !== 'GET')).toEqual([]);
  });
});
