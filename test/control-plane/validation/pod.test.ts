/**
 * Pod validation on create: a valid pod passes, and each single mistake is
 * reported exactly once, at its path, with Kubernetes' cause type.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { expectCauses, expectValid, pod, type Json } from './helpers.js';

const { Required, Invalid, Duplicate, NotSupported, Forbidden } = FieldErrorType;

type Case = readonly [string, (p: Json) => void, [string, string][]];

const ctr = (p: Json): Json => p['spec'].containers[0];

function check(cases: readonly Case[]): void {
  it.each(cases)('%s', (_name, mutate, expected) => {
    const p = pod();
    mutate(p);
    expectCauses('Pod', p, expected);
  });
}

describe('valid pods', () => {
  it('the fixture pod is valid', () => expectValid('Pod', pod()));

  it('a minimal pod is valid', () => {
    expectValid('Pod', { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  });

  it('a pod with every probe kind, init and sidecar containers, affinity and host paths is valid', () => {
    const p = pod();
    p['spec'].initContainers = [
      { name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] },
      { name: 'proxy', image: 'envoy:v1', restartPolicy: 'Always', readinessProbe: { grpc: { port: 9901 } } },
    ];
    ctr(p).startupProbe = { exec: { command: ['cat', '/ready'] }, failureThreshold: 30 };
    p['spec'].volumes.push({ name: 'logs', hostPath: { path: '/var/log', type: 'Directory' } });
    p['spec'].volumes.push({ name: 'creds', secret: { secretName: 'db', defaultMode: 0o400 } });
    p['spec'].affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] } }],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } } },
        ],
      },
    };
    expectValid('Pod', p);
  });
});

describe('containers', () => {
  check([
    ['no containers', (p) => (p['spec'].containers = []), [['spec.containers', Required]]],
    ['container name missing', (p) => delete ctr(p).name, [['spec.containers[0].name', Required]]],
    ['container name not a DNS label', (p) => (ctr(p).name = 'App'), [['spec.containers[0].name', Invalid]]],
    [
      'container names not unique (init and regular share them)',
      (p) => (p['spec'].initContainers = [{ name: 'app', image: 'busybox' }]),
      [['spec.initContainers[0].name', Duplicate]],
    ],
    ['image missing', (p) => delete ctr(p).image, [['spec.containers[0].image', Required]]],
    ['image with spaces around', (p) => (ctr(p).image = ' nginx '), [['spec.containers[0].image', Invalid]]],
    ['imagePullPolicy unknown', (p) => (ctr(p).imagePullPolicy = 'Sometimes'), [['spec.containers[0].imagePullPolicy', NotSupported]]],
    ['terminationMessagePolicy unknown', (p) => (ctr(p).terminationMessagePolicy = 'Log'), [['spec.containers[0].terminationMessagePolicy', Invalid]]],
    ['restartPolicy on a regular container', (p) => (ctr(p).restartPolicy = 'Always'), [['spec.containers[0].restartPolicy', Forbidden]]],
    [
      'probe on a plain init container',
      (p) => (p['spec'].initContainers = [{ name: 'init', image: 'busybox', livenessProbe: { exec: { command: ['x'] } } }]),
      [['spec.initContainers[0].livenessProbe', Forbidden]],
    ],
  ]);
});

describe('ports', () => {
  check([
    ['containerPort missing', (p) => delete ctr(p).ports[0].containerPort, [['spec.containers[0].ports[0].containerPort', Required]]],
    ['containerPort out of range', (p) => (ctr(p).ports[0].containerPort = 70000), [['spec.containers[0].ports[0].containerPort', Invalid]]],
    ['hostPort out of range', (p) => (ctr(p).ports[0].hostPort = -1), [['spec.containers[0].ports[0].hostPort', Invalid]]],
    ['protocol unknown', (p) => (ctr(p).ports[0].protocol = 'HTTP'), [['spec.containers[0].ports[0].protocol', NotSupported]]],
    [
      'port name invalid (two rules broken, two causes)',
      (p) => (ctr(p).ports[0].name = 'HTTP'),
      [
        ['spec.containers[0].ports[0].name', Invalid],
        ['spec.containers[0].ports[0].name', Invalid],
      ],
    ],
    [
      'port names not unique',
      (p) => ctr(p).ports.push({ name: 'http', containerPort: 8080 }),
      [['spec.containers[0].ports[1].name', Duplicate]],
    ],
    [
      'two containers on the same host port',
      (p) => {
        ctr(p).ports[0].hostPort = 8080;
        p['spec'].containers.push({ name: 'b', image: 'b:1', ports: [{ containerPort: 81, hostPort: 8080 }] });
      },
      [['spec.containers[1].ports[0].hostPort', Duplicate]],
    ],
  ]);

  it('hostNetwork makes hostPort default to containerPort, and refuses a different one', () => {
    const p = pod();
    p['spec'].hostNetwork = true;
    expectValid('Pod', p);
    ctr(p).ports[0].hostPort = 8080;
    expectCauses('Pod', p, [['spec.containers[0].ports[0].hostPort', Invalid]]);
  });
});

describe('env', () => {
  check([
    ['env name missing', (p) => (ctr(p).env[0].name = ''), [['spec.containers[0].env[0].name', Required]]],
    ['env name invalid', (p) => (ctr(p).env[0].name = '1X'), [['spec.containers[0].env[0].name', Invalid]]],
    ['value and valueFrom', (p) => (ctr(p).env[1].value = 'x'), [['spec.containers[0].env[1].valueFrom', Invalid]]],
    ['empty valueFrom', (p) => (ctr(p).env[1].valueFrom = {}), [['spec.containers[0].env[1].valueFrom', Invalid]]],
    [
      'two sources',
      (p) => (ctr(p).env[1].valueFrom.configMapKeyRef = { name: 'c', key: 'k' }),
      [['spec.containers[0].env[1].valueFrom', Invalid]],
    ],
    ['secret key missing', (p) => (ctr(p).env[2].valueFrom.secretKeyRef.key = ''), [['spec.containers[0].env[2].valueFrom.secretKeyRef.key', Required]]],
    ['secret name invalid', (p) => (ctr(p).env[2].valueFrom.secretKeyRef.name = 'Db'), [['spec.containers[0].env[2].valueFrom.secretKeyRef.name', Invalid]]],
    [
      'unsupported field path',
      (p) => (ctr(p).env[1].valueFrom.fieldRef.fieldPath = 'spec.containers'),
      [['spec.containers[0].env[1].valueFrom.fieldRef.fieldPath', NotSupported]],
    ],
  ]);

  it('a label subscript is a supported field path', () => {
    const p = pod();
    ctr(p).env[1].valueFrom.fieldRef.fieldPath = "metadata.labels['app']";
    expectValid('Pod', p);
  });
});

describe('resources', () => {
  // Defaulting copies limits into missing requests, so a bad limit is also a bad request.
  check([
    [
      'request above limit',
      (p) => (ctr(p).resources.requests.cpu = '1'),
      [['spec.containers[0].resources.requests[cpu]', Invalid]],
    ],
    [
      'malformed quantity',
      (p) => (ctr(p).resources.limits.memory = '12 Mi'),
      [
        ['spec.containers[0].resources.limits[memory]', Invalid],
        ['spec.containers[0].resources.requests[memory]', Invalid],
      ],
    ],
    ['malformed request', (p) => (ctr(p).resources.requests.cpu = '1 cpu'), [['spec.containers[0].resources.requests[cpu]', Invalid]]],
    ['negative quantity', (p) => (ctr(p).resources.requests.cpu = '-1m'), [['spec.containers[0].resources.requests[cpu]', Invalid]]],
    ['unknown native resource', (p) => (ctr(p).resources.requests.gpu = '1'), [['spec.containers[0].resources.requests[gpu]', Invalid]]],
    [
      'fractional extended resource',
      (p) => (ctr(p).resources.limits['example.com/gpu'] = '0.5'),
      [
        ['spec.containers[0].resources.limits[example.com/gpu]', Invalid],
        ['spec.containers[0].resources.requests[example.com/gpu]', Invalid],
      ],
    ],
    [
      'extended resource requested below its limit',
      (p) => {
        ctr(p).resources.limits['example.com/gpu'] = '2';
        ctr(p).resources.requests['example.com/gpu'] = '1';
      },
      [['spec.containers[0].resources.requests[example.com/gpu]', Invalid]],
    ],
  ]);

  it('says which limit a request exceeds, in canonical form', () => {
    const p = pod();
    ctr(p).resources.requests.cpu = '1000m';
    const [error] = expectCauses('Pod', p, [['spec.containers[0].resources.requests[cpu]', Invalid]]);
    expect(error?.message).toBe('Invalid value: "1": must be less than or equal to cpu limit of 500m');
  });

  it('compares exactly: 0.5 equals 500m', () => {
    const p = pod();
    ctr(p).resources.requests.cpu = '0.5';
    expectValid('Pod', p);
  });
});

describe('probes', () => {
  check([
    ['no handler', (p) => (ctr(p).readinessProbe = { periodSeconds: 5 }), [['spec.containers[0].readinessProbe', Required]]],
    [
      'two handlers',
      (p) => (ctr(p).readinessProbe.exec = { command: ['true'] }),
      [['spec.containers[0].readinessProbe.httpGet', Forbidden]],
    ],
    ['exec without command', (p) => (ctr(p).readinessProbe = { exec: {} }), [['spec.containers[0].readinessProbe.exec.command', Required]]],
    ['httpGet port name invalid', (p) => (ctr(p).readinessProbe.httpGet.port = 'Http'), [['spec.containers[0].readinessProbe.httpGet.port', Invalid]]],
    ['httpGet scheme', (p) => (ctr(p).readinessProbe.httpGet.scheme = 'FTP'), [['spec.containers[0].readinessProbe.httpGet.scheme', NotSupported]]],
    ['tcpSocket port 0', (p) => (ctr(p).livenessProbe.tcpSocket.port = 0), [['spec.containers[0].livenessProbe.tcpSocket.port', Invalid]]],
    ['negative delay', (p) => (ctr(p).livenessProbe.initialDelaySeconds = -1), [['spec.containers[0].livenessProbe.initialDelaySeconds', Invalid]]],
    ['liveness successThreshold 2', (p) => (ctr(p).livenessProbe.successThreshold = 2), [['spec.containers[0].livenessProbe.successThreshold', Invalid]]],
  ]);
});

describe('volumes and mounts', () => {
  check([
    ['volume name invalid', (p) => (p['spec'].volumes[1].name = 'Config'), [['spec.volumes[1].name', Invalid]]],
    ['volume names not unique', (p) => (p['spec'].volumes[1].name = 'data'), [['spec.volumes[1].name', Duplicate]]],
    [
      'two sources',
      (p) => (p['spec'].volumes[0].secret = { secretName: 's' }),
      [['spec.volumes[0].secret', Forbidden]],
    ],
    ['configMap without name', (p) => delete p['spec'].volumes[1].configMap.name, [['spec.volumes[1].configMap.name', Required]]],
    ['item path climbing out', (p) => (p['spec'].volumes[1].configMap.items[0].path = '../x'), [['spec.volumes[1].configMap.items[0].path', Invalid], ['spec.volumes[1].configMap.items[0].path', Invalid]]],
    ['defaultMode too large', (p) => (p['spec'].volumes[1].configMap.defaultMode = 0o1000), [['spec.volumes[1].configMap.defaultMode', Invalid]]],
    ['hostPath without path', (p) => p['spec'].volumes.push({ name: 'h', hostPath: { path: '' } }), [['spec.volumes[2].hostPath.path', Required]]],
    ['hostPath type', (p) => p['spec'].volumes.push({ name: 'h', hostPath: { path: '/x', type: 'Pipe' } }), [['spec.volumes[2].hostPath.type', NotSupported]]],
    ['mount of a missing volume', (p) => (ctr(p).volumeMounts[0].name = 'nope'), [['spec.containers[0].volumeMounts[0].name', Invalid]]],
    ['mount without path', (p) => (ctr(p).volumeMounts[0].mountPath = ''), [['spec.containers[0].volumeMounts[0].mountPath', Required]]],
    [
      'two mounts at one path',
      (p) => ctr(p).volumeMounts.push({ name: 'config', mountPath: '/data' }),
      [['spec.containers[0].volumeMounts[1].mountPath', Invalid]],
    ],
    ['absolute subPath', (p) => (ctr(p).volumeMounts[0].subPath = '/etc'), [['spec.containers[0].volumeMounts[0].subPath', Invalid]]],
  ]);

  it('a volume without any source defaults to emptyDir, as in Kubernetes', () => {
    const p = pod();
    p['spec'].volumes[0] = { name: 'data' };
    expectValid('Pod', p);
  });
});

describe('pod-level fields', () => {
  check([
    ['restartPolicy unknown', (p) => (p['spec'].restartPolicy = 'Sometimes'), [['spec.restartPolicy', NotSupported]]],
    ['dnsPolicy unknown', (p) => (p['spec'].dnsPolicy = 'Google'), [['spec.dnsPolicy', NotSupported]]],
    ['dnsPolicy None without dnsConfig', (p) => (p['spec'].dnsPolicy = 'None'), [['spec.dnsConfig', Required]]],
    ['activeDeadlineSeconds 0', (p) => (p['spec'].activeDeadlineSeconds = 0), [['spec.activeDeadlineSeconds', Invalid]]],
    ['nodeSelector key invalid', (p) => (p['spec'].nodeSelector = { 'a b': 'c' }), [['spec.nodeSelector', Invalid]]],
    ['serviceAccountName invalid', (p) => (p['spec'].serviceAccountName = 'Default'), [['spec.serviceAccountName', Invalid]]],
    ['nodeName invalid', (p) => (p['spec'].nodeName = 'Node_1'), [['spec.nodeName', Invalid]]],
    ['hostname invalid', (p) => (p['spec'].hostname = 'a.b'), [['spec.hostname', Invalid]]],
  ]);
});

describe('tolerations and affinity', () => {
  check([
    ['toleration operator unknown', (p) => (p['spec'].tolerations[0].operator = 'Maybe'), [['spec.tolerations[0].operator', NotSupported]]],
    ['toleration effect unknown', (p) => (p['spec'].tolerations[0].effect = 'Evict'), [['spec.tolerations[0].effect', NotSupported]]],
    ['Exists with a value', (p) => (p['spec'].tolerations[0].operator = 'Exists'), [['spec.tolerations[0].operator', Invalid]]],
    ['empty key without Exists', (p) => (p['spec'].tolerations[0].key = ''), [['spec.tolerations[0].operator', Invalid]]],
    ['tolerationSeconds without NoExecute', (p) => (p['spec'].tolerations[0].tolerationSeconds = 10), [['spec.tolerations[0].effect', Invalid]]],
    [
      'no node selector terms',
      (p) => (p['spec'].affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } }),
      [['spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms', Required]],
    ],
    [
      'In without values',
      (p) =>
        (p['spec'].affinity = {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' }] }] } },
        }),
      [['spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values', Required]],
    ],
    [
      'weight out of range',
      (p) =>
        (p['spec'].affinity = {
          podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, podAffinityTerm: { topologyKey: 'zone' } }] },
        }),
      [['spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight', Invalid]],
    ],
    [
      'empty topologyKey',
      (p) => (p['spec'].affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: '' }] } }),
      [['spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey', Required]],
    ],
  ]);
});

describe('every error at once', () => {
  it('reports all problems, not only the first', () => {
    const p = pod();
    delete ctr(p).image;
    ctr(p).ports[0].containerPort = 0;
    p['spec'].restartPolicy = 'Sometimes';
    p['metadata'].name = 'Web';
    expectCauses('Pod', p, [
      ['metadata.name', Invalid],
      ['spec.containers[0].image', Required],
      ['spec.containers[0].ports[0].containerPort', Required],
      ['spec.restartPolicy', NotSupported],
    ]);
  });
});
