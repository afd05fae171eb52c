/**
 * Defaulting: what Kubernetes fills in (compared with what `kubectl get -o
 * yaml` shows), that the caller's object is left alone, and the properties the
 * API server relies on: defaulting is idempotent, and a defaulted valid pod
 * validates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultDeployment,
  defaultNamespace,
  defaultPod,
  defaultRoleBinding,
  defaultSecret,
  defaultService,
  imageTag,
} from '../../../control-plane/validation/defaults.js';
import { ValidatedKind, applyDefaults, validateObject } from '../../../control-plane/validation/index.js';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import { deployment, pod, service, type Json } from './helpers.js';

describe('pod defaults', () => {
  it('fills what the API server shows for a minimal pod', () => {
    const out = defaultPod({ metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } });
    expect(out).toEqual({
      metadata: { name: 'p', namespace: 'd' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'nginx',
            imagePullPolicy: 'Always',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
        dnsPolicy: 'ClusterFirst',
        enableServiceLinks: true,
        preemptionPolicy: 'PreemptLowerPriority',
        priority: 0,
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: {},
        terminationGracePeriodSeconds: 30,
        tolerations: [
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ],
      },
    });
  });

  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.25', 'IfNotPresent'],
    ['localhost:5000/nginx', 'Always'],
    ['localhost:5000/nginx:1.0', 'IfNotPresent'],
    ['nginx@sha256:0123abcd', 'IfNotPresent'],
    ['nginx:latest@sha256:0123abcd', 'Always'],
  ])('image %s pulls %s', (image, policy) => {
    const out = defaultPod({ metadata: {}, spec: { containers: [{ name: 'c', image }] } }) as Json;
    expect(out['spec'].containers[0].imagePullPolicy).toBe(policy);
    expect(imageTag(image) === 'latest').toBe(policy === 'Always');
  });

  it('copies limits into missing requests, keeping requests given', () => {
    const p = pod();
    const out = defaultPod(p) as Json;
    expect(out['spec'].containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '128Mi' } });
  });

  it('adds no toleration a pod already has, nor one a wildcard toleration covers', () => {
    const own = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 };
    const out = defaultPod({ metadata: {}, spec: { containers: [], tolerations: [own] } }) as Json;
    expect(out['spec'].tolerations.map((t: Json) => t['key'])).toEqual(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    const all = defaultPod({ metadata: {}, spec: { containers: [], tolerations: [{ operator: 'Exists' }] } }) as Json;
    expect(all['spec'].tolerations).toEqual([{ operator: 'Exists' }]);
  });

  it('defaults probes, volume modes and downward API versions', () => {
    const out = defaultPod(pod()) as Json;
    const ctr = out['spec'].containers[0];
    expect(ctr.readinessProbe).toEqual({
      httpGet: { port: 'http', path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(ctr.env[1].valueFrom.fieldRef.apiVersion).toBe('v1');
    expect(out['spec'].volumes[1].configMap.defaultMode).toBe(0o644);
  });

  it("never changes the caller's object", () => {
    const p = pod();
    const before = structuredClone(p);
    defaultPod(p);
    applyDefaults('Pod', p as KubeObject);
    expect(p).toEqual(before);
  });
});

describe('other kinds', () => {
  it('deployment: replicas, strategy, limits; its template gets spec defaults but no pod-only ones', () => {
    const d = deployment();
    delete d['spec'].replicas;
    const out = defaultDeployment(d) as Json;
    expect(out['spec']).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    const template = out['spec'].template.spec;
    expect(template).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' });
    expect(template.tolerations).toHaveLength(1);
    expect(template.enableServiceLinks).toBeUndefined();
    expect(template.containers[0].resources.requests).toEqual({ cpu: '100m' });
  });

  it('Recreate deployments get no rollingUpdate', () => {
    const d = deployment();
    d['spec'].strategy = { type: 'Recreate' };
    expect((defaultDeployment(d) as Json)['spec'].strategy).toEqual({ type: 'Recreate' });
  });

  it('service: type, affinity, protocol, targetPort = port, traffic policies', () => {
    const s = service();
    s['spec'].ports.push({ name: 'metrics', port: 9090 });
    s['spec'].clusterIP = '10.96.0.10';
    const out = defaultService(s) as Json;
    expect(out['spec']).toEqual({
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
      ],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
    });
  });

  it('secret: type Opaque, stringData merged into data and dropped', () => {
    const out = defaultSecret({ metadata: {}, data: { a: 'b2xk', keep: 'eA==' }, stringData: { a: 'new' } }) as Json;
    expect(out).toEqual({ metadata: {}, type: 'Opaque', data: { a: Buffer.from('new').toString('base64'), keep: 'eA==' } });
  });

  it('namespace: finalizer, phase and name label; a removed finalizer stays removed', () => {
    expect(defaultNamespace({ metadata: { name: 'team-a' } })).toEqual({
      metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    const finalized = defaultNamespace({ metadata: { name: 'x' }, spec: { finalizers: [] }, status: { phase: 'Terminating' } }) as Json;
    expect(finalized['spec'].finalizers).toEqual([]);
    expect(finalized['status'].phase).toBe('Terminating');
  });

  it('role bindings: RBAC api group for roleRef, users and groups', () => {
    const out = defaultRoleBinding({
      metadata: {},
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa' }],
    }) as Json;
    expect(out['roleRef'].apiGroup).toBe('rbac.authorization.k8s.io');
    expect(out['subjects'].map((s: Json) => s['apiGroup'])).toEqual(['rbac.authorization.k8s.io', undefined]);
  });
});

// ------------------------------------------------------------ properties

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const label = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), fc.array(alnum, { maxLength: 10 }))
  .map(([first, rest]) => first + rest.join(''));

/** Valid pods of varied shape, written as a user would (not defaulted). */
const validPod = fc
  .record({
    name: label,
    containerNames: fc.uniqueArray(label, { minLength: 1, maxLength: 3 }),
    volumeNames: fc.uniqueArray(label, { maxLength: 3 }),
    image: fc.constantFrom('nginx', 'nginx:1.25', 'busybox:latest', 'registry.local:5000/app@sha256:0123'),
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }),
    cpuMilli: fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 4000 })),
    memoryMi: fc.integer({ min: 1, max: 4096 }),
    restartPolicy: fc.constantFrom(undefined, 'Always', 'OnFailure', 'Never'),
    probe: fc.boolean(),
    hostNetwork: fc.boolean(),
  })
  .map((g) => {
    const [request, limit] = [Math.min(...g.cpuMilli), Math.max(...g.cpuMilli)];
    const containers = g.containerNames.map((name, i) => ({
      name,
      image: g.image,
      // Host ports must differ between containers, so only the first one gets ports.
      ports: i === 0 ? g.ports.map((containerPort, j) => ({ name: `p${j}`, containerPort })) : [],
      resources: { requests: { cpu: `${request}m` }, limits: { cpu: `${limit}m`, memory: `${g.memoryMi}Mi` } },
      volumeMounts: g.volumeNames.map((v) => ({ name: v, mountPath: `/mnt/${v}` })),
      ...(g.probe ? { livenessProbe: { httpGet: { port: 8080 } } } : {}),
    }));
    const volumes = g.volumeNames.map((name, i) => (i % 2 === 0 ? { name, emptyDir: {} } : { name, configMap: { name: 'cfg' } }));
    const spec: Json = { containers, volumes, hostNetwork: g.hostNetwork };
    if (g.restartPolicy !== undefined) spec['restartPolicy'] = g.restartPolicy;
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: g.name, namespace: 'default' }, spec } as KubeObject;
  });

describe('defaulting properties', () => {
  it('defaulted valid pods validate', () => {
    fc.assert(
      fc.property(validPod, (p) => {
        expect(validateObject('Pod', applyDefaults('Pod', p))).toEqual([]);
      }),
    );
  });

  it('defaulting a valid pod twice changes nothing the second time', () => {
    fc.assert(
      fc.property(validPod, (p) => {
        const once = applyDefaults('Pod', p);
        expect(applyDefaults('Pod', once)).toEqual(once);
      }),
    );
  });

  /** Arbitrary JSON under the fields defaulting reads, so odd shapes are covered too. */
  const anyObject = fc.record({
    metadata: fc.oneof(fc.record({ name: fc.oneof(label, fc.jsonValue()) }), fc.jsonValue()),
    spec: fc.oneof(
      fc.jsonValue(),
      fc.record({
        containers: fc.oneof(fc.array(fc.dictionary(fc.constantFrom('name', 'image', 'ports', 'resources', 'env'), fc.jsonValue())), fc.jsonValue()),
        ports: fc.array(fc.dictionary(fc.constantFrom('port', 'targetPort', 'protocol'), fc.jsonValue())),
        template: fc.record({ spec: fc.record({ containers: fc.array(fc.dictionary(fc.string(), fc.jsonValue())) }) }),
        strategy: fc.jsonValue(),
        tolerations: fc.jsonValue(),
        volumes: fc.array(fc.dictionary(fc.constantFrom('name', 'secret', 'hostPath'), fc.jsonValue())),
      }, { requiredKeys: [] }),
    ),
    data: fc.jsonValue(),
    stringData: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
    status: fc.jsonValue(),
    roleRef: fc.jsonValue(),
    subjects: fc.jsonValue(),
  }, { requiredKeys: ['metadata'] });

  it.each(Object.values(ValidatedKind))('%s: default(default(x)) equals default(x), and the input is untouched', (kind) => {
    fc.assert(
      fc.property(anyObject, (raw) => {
        const obj = raw as unknown as KubeObject;
        const before = structuredClone(obj);
        const once = applyDefaults(kind, obj);
        expect(obj).toEqual(before);
        expect(applyDefaults(kind, once)).toEqual(once);
      }),
      { numRuns: 50 },
    );
  });
});
