/**
 * Kubernetes protobuf request bodies (what kubectl 1.32 sends for `create`,
 * `run`, `expose`, `auth can-i`): the decoder turns each into exactly the JSON
 * object a JSON client sends, and the API accepts them on create and update.
 *
 * Fixtures are encoded here with the same .proto schema, from JSON, by an
 * encoder that follows Kubernetes' rules the other way round; in "Go style" it
 * also writes every unset non-pointer scalar as its zero value, as Go's
 * marshalling does, so the decoder must drop those again. One fixture is a
 * body kubectl 1.32 really sent.
 */
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeKubernetesProtobuf, ProtobufBodyError } from '../../../control-plane/codec/protobuf/decode.js';
import { schemaRoot } from '../../../control-plane/codec/protobuf/schema.js';
import { embeddedBackendFactory } from '../../support/kv-backends.js';
import { ApiHarness, useApiHarness } from './harness.js';

type Obj = Record<string, any>;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from('k8s\0', 'latin1');
const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

// --- an encoder: Kubernetes JSON -> protobuf message -------------------------------------------

function jsonName(f: protobuf.Field): string {
  return typeof f.options?.json_name === 'string' ? f.options.json_name : f.name;
}

function timeMessage(s: string): Obj {
  const ms = Date.parse(s);
  const micros = /\.(\d{6})/.exec(s)?.[1];
  return { seconds: Math.floor(ms / 1000), nanos: micros === undefined ? 0 : Number(micros) * 1000 };
}

function valueMessage(f: protobuf.Field, v: any, goStyle: boolean): any {
  const t = f.resolvedType;
  if (!(t instanceof protobuf.Type)) return f.type === 'bytes' ? Buffer.from(v as string, 'base64') : v;
  switch (t.fullName.slice(1)) {
    case `${META}.Time`:
    case `${META}.MicroTime`:
      return timeMessage(v);
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return typeof v === 'number' ? { type: 0, intVal: v } : { type: 1, strVal: v };
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return { string: v };
    default:
      return message(t, v, goStyle);
  }
}

function message(type: protobuf.Type, json: Obj, goStyle: boolean): Obj {
  const out: Obj = {};
  for (const f of type.fieldsArray) {
    if (f.options?.['(strake.inline)'] === true) {
      out[f.name] = message(f.resolvedType as protobuf.Type, json, goStyle);
      continue;
    }
    const v = json[jsonName(f)];
    if (v === undefined) {
      // Go writes every non-pointer scalar, set or not.
      const zero = { string: '', bool: false, int32: 0, int64: 0 }[f.type];
      if (goStyle && !f.repeated && !f.map && zero !== undefined && f.options?.['(strake.nullable)'] !== true) out[f.name] = zero;
      continue;
    }
    if (f.map) out[f.name] = Object.fromEntries(Object.entries(v as Obj).map(([k, e]) => [k, valueMessage(f, e, goStyle)]));
    else if (f.repeated) out[f.name] = (v as unknown[]).map((e) => valueMessage(f, e, goStyle));
    else out[f.name] = valueMessage(f, v, goStyle);
  }
  return out;
}

const PACKAGES: Readonly<Record<string, string>> = {
  v1: 'k8s.io.api.core.v1',
  'apps/v1': 'k8s.io.api.apps.v1',
  'rbac.authorization.k8s.io/v1': 'k8s.io.api.rbac.v1',
  'authorization.k8s.io/v1': 'k8s.io.api.authorization.v1',
  'coordination.k8s.io/v1': 'k8s.io.api.coordination.v1',
};

function envelope(apiVersion: string, kind: string, raw: Uint8Array, extra: Obj = {}): Buffer {
  const unknown = schemaRoot().lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
  return Buffer.concat([MAGIC, unknown.encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, ...extra })).finish()]);
}

/** The protobuf body of a Kubernetes JSON object. */
function encode(json: Obj, goStyle = false): Buffer {
  const type = schemaRoot().lookupType(`${PACKAGES[json.apiVersion]!}.${json.kind as string}`);
  const raw = type.encode(type.fromObject(message(type, json, goStyle))).finish();
  return envelope(json.apiVersion, json.kind, raw);
}

// --- fixtures ----------------------------------------------------------------------------------

const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' }, annotations: { note: '' } } };
const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'default' },
  data: { 'app.conf': 'x=1\n', empty: '' },
  binaryData: { blob: Buffer.from([0, 1, 2, 255]).toString('base64') },
};
const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'creds' },
  type: 'Opaque',
  // A pointer in Go: false is set, not absent.
  immutable: false,
  data: { password: Buffer.from('hunter2').toString('base64') },
  stringData: { user: 'admin' },
};
const container = {
  name: 'web',
  image: 'nginx:1.27',
  command: ['nginx', '-g', 'daemon off;'],
  ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
  env: [
    { name: 'MODE', value: 'prod' },
    { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'password', optional: false } } },
  ],
  envFrom: [{ configMapRef: { name: 'settings' } }, { prefix: 'S_', secretRef: { name: 'creds' } }],
  resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
  livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 },
  readinessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 2 },
  startupProbe: { exec: { command: ['true'] } },
  volumeMounts: [{ name: 'conf', mountPath: '/etc/nginx/conf.d', readOnly: true }, { name: 'cache', mountPath: '/cache' }],
  securityContext: { runAsNonRoot: false, runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
};
const podSpec = {
  initContainers: [{ name: 'init', image: 'busybox:1.36', command: ['sh', '-c', 'true'], resources: {} }],
  containers: [container],
  volumes: [
    { name: 'conf', configMap: { name: 'settings', items: [{ key: 'app.conf', path: 'default.conf' }], defaultMode: 420 } },
    { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
    { name: 'creds', secret: { secretName: 'creds' } },
    { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
    { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
    { name: 'proj', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }, { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }] } },
  ],
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 0,
  nodeSelector: { disk: 'ssd' },
  serviceAccountName: 'default',
  automountServiceAccountToken: false,
  securityContext: { fsGroup: 2000, runAsNonRoot: true },
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }] },
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' } }],
    },
  },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
};
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { app: 'web' } }, spec: podSpec };
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    // Pointers in Go: zero is a value, not an absence.
    replicas: 0,
    revisionHistoryLimit: 0,
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container], volumes: podSpec.volumes } },
  },
};
const roleBinding = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name: 'readers', namespace: 'default' },
  subjects: [
    { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
    { kind: 'ServiceAccount', name: 'default', namespace: 'default' },
  ],
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
};
const accessReview = {
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  metadata: {},
  spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
};
const lease = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'kube-scheduler', namespace: 'kube-system', creationTimestamp: '2024-05-01T10:00:00Z' },
  spec: { holderIdentity: 'master-1', leaseDurationSeconds: 15, acquireTime: '2024-05-01T10:00:00.000000Z', renewTime: '2024-05-01T10:00:07.123456Z', leaseTransitions: 0 },
};

const ROUND_TRIPS: ReadonlyArray<readonly [string, Obj]> = [
  ['Namespace', namespace],
  ['ConfigMap with binaryData', configMap],
  ['Secret', secret],
  ['Deployment with probes, resources and an IntOrString maxSurge', deployment],
  ['Pod with the common volume kinds, affinity, tolerations and spread constraints', pod],
  ['RoleBinding', roleBinding],
  ['SelfSubjectAccessReview', accessReview],
  ['Lease with MicroTimes', lease],
];

/** `kubectl create deployment web --image=nginx --replicas=0 --port=80`, as kubectl 1.32 sent it. */
const KUBECTL_DEPLOYMENT = Buffer.from(
  '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a0022002a003200380042' +
    '005a0a0a0361707012037765621286010800120c0a0a0a0361707012037765621a6c0a1c0a0012001a0022002a0032003800' +
    '42005a0a0a036170701203776562124c122e0a056e67696e7812056e67696e782a00320a0a001000185022002a0042006a00' +
    '7200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a0028003800' +
    '1a0c0800100018002000280038001a002200',
  'hex',
);

// --- the decoder -------------------------------------------------------------------------------

describe('decoding Kubernetes protobuf bodies', () => {
  for (const [name, json] of ROUND_TRIPS) {
    it(`${name}: JSON -> protobuf -> JSON is the identity, also with Go's zero-valued fields written`, () => {
      expect(decodeKubernetesProtobuf(encode(json))).toEqual(json);
      expect(decodeKubernetesProtobuf(encode(json, true))).toEqual(json);
    });
  }

  it('decodes the body kubectl 1.32 sends for create deployment into the JSON kubectl would send', () => {
    expect(decodeKubernetesProtobuf(KUBECTL_DEPLOYMENT)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
  });

  const failure = (body: Buffer): ProtobufBodyError => {
    try {
      decodeKubernetesProtobuf(body);
    } catch (err) {
      if (err instanceof ProtobufBodyError) return err;
      throw err;
    }
    throw new Error('the body decoded');
  };

  it('refuses a body without the magic bytes as malformed', () => {
    const e = failure(Buffer.from(JSON.stringify(namespace)));
    expect(e.code).toBe('Malformed');
    expect(e.message).toContain('magic');
  });

  it('refuses a truncated body as malformed, naming what could not be decoded', () => {
    const whole = encode(deployment);
    const e = failure(whole.subarray(0, whole.length - 7));
    expect(e.code).toBe('Malformed');
    expect(e.message).toMatch(/cannot decode/);
  });

  it('refuses an envelope without apiVersion or kind', () => {
    expect(failure(envelope('', 'Namespace', new Uint8Array(0))).code).toBe('Malformed');
  });

  it('refuses kinds outside the schema as unsupported, naming the kind', () => {
    for (const [apiVersion, kind] of [['batch/v1', 'Job'], ['v1', 'PodSpec'], ['v1', 'NoSuchKind'], ['not a version', 'Pod']] as const) {
      const e = failure(envelope(apiVersion, kind, new Uint8Array(0)));
      expect(e.code).toBe('Unsupported');
      expect(e.message).toContain(`${kind} (${apiVersion})`);
    }
  });

  it('refuses an encoded (e.g. gzip) payload as unsupported', () => {
    const e = failure(envelope('v1', 'Namespace', new Uint8Array(0), { contentEncoding: 'gzip' }));
    expect(e.code).toBe('Unsupported');
    expect(e.message).toContain('gzip');
  });

  it('refuses an IntOrString of an unknown type as malformed', () => {
    const type = schemaRoot().lookupType('k8s.io.api.core.v1.Service');
    const raw = type.encode(type.fromObject({ spec: { ports: [{ port: 80, targetPort: { type: 7 } }] } })).finish();
    const e = failure(envelope('v1', 'Service', raw));
    expect(e.code).toBe('Malformed');
    expect(e.message).toContain('IntOrString has type 7');
  });
});

// --- through the API ---------------------------------------------------------------------------

describe('the API with protobuf bodies', () => {
  const factory = embeddedBackendFactory(28_120);
  let h: ApiHarness;
  const post = (url: string, body: Buffer) => h.req('POST', url, undefined, { raw: body, contentType: PROTOBUF, accept: `${PROTOBUF},application/json` });

  useApiHarness(factory, (started) => (h = started));

  it('creates objects from protobuf bodies, answers JSON, and reads them back as JSON', async () => {
    const ns = await post('/api/v1/namespaces', encode({ ...namespace, metadata: { name: 'pb-test' } }, true));
    expect(ns.status, ns.text).toBe(201);
    expect(ns.headers['content-type']).toMatch(/^application\/json/);
    expect(ns.body).toMatchObject({ kind: 'Namespace', metadata: { name: 'pb-test' } });

    const cm = await post('/api/v1/namespaces/pb-test/configmaps', encode({ ...configMap, metadata: { name: 'settings' } }, true));
    expect(cm.status, cm.text).toBe(201);
    const got = await h.req('GET', '/api/v1/namespaces/pb-test/configmaps/settings');
    expect(got.body).toMatchObject({ data: configMap.data, binaryData: configMap.binaryData });

    const d = await post('/apis/apps/v1/namespaces/pb-test/deployments', encode(deployment, true));
    expect(d.status, d.text).toBe(201);
    const dep = (await h.req('GET', '/apis/apps/v1/namespaces/pb-test/deployments/web')).body;
    expect(dep.spec.replicas).toBe(0);
    expect(dep.spec.strategy.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: 0 });
    // Defaulting ran as for JSON: Go's zero-valued probe fields did not block it.
    expect(dep.spec.template.spec.containers[0].readinessProbe).toMatchObject({ timeoutSeconds: 2, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(dep.spec.template.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log');

    const kubectlDeployment = await post('/apis/apps/v1/namespaces/default/deployments', KUBECTL_DEPLOYMENT);
    expect(kubectlDeployment.status, kubectlDeployment.text).toBe(201);
    expect(kubectlDeployment.body.spec.template.spec.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx', imagePullPolicy: 'Always' });
  });

  it('updates an object from a protobuf body', async () => {
    const created = await post('/api/v1/namespaces/default/configmaps', encode({ ...configMap, metadata: { name: 'to-update' } }));
    expect(created.status, created.text).toBe(201);
    const next = { ...configMap, metadata: { name: 'to-update', namespace: 'default', resourceVersion: created.body.metadata.resourceVersion }, data: { changed: 'yes' } };
    const put = await h.req('PUT', '/api/v1/namespaces/default/configmaps/to-update', undefined, { raw: encode(next, true), contentType: PROTOBUF });
    expect(put.status, put.text).toBe(200);
    expect(put.body.data).toEqual({ changed: 'yes' });
  });

  it('answers a SelfSubjectAccessReview sent as protobuf', async () => {
    const r = await post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', encode(accessReview, true));
    expect(r.status, r.text).toBe(201);
    expect(r.body.status.allowed).toBe(true);
  });

  it('refuses protobuf patches (415), bad bodies (400) and kinds outside the schema (415 naming the kind)', async () => {
    const patch = await h.req('PATCH', '/api/v1/namespaces/default/configmaps/to-update', undefined, { raw: encode(configMap), contentType: PROTOBUF });
    expect(patch.status).toBe(415);
    const bad = await post('/api/v1/namespaces', Buffer.from('{"kind":"Namespace"}'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(bad.body.message).toContain('magic');
    const job = await post('/api/v1/namespaces', envelope('batch/v1', 'Job', new Uint8Array(0)));
    expect(job.status).toBe(415);
    expect(job.body.message).toContain('Job (batch/v1)');
  });
});
