/**
 * Fixtures and assertions shared by the validation tests. Fixtures are fresh
 * objects on every call, written the way a user would (not defaulted).
 */
import { expect } from 'vitest';
import type { FieldError, KubeObject } from '../../../proto/k8s/meta.js';
import { applyDefaults, validateObject } from '../../../control-plane/validation/index.js';

export type Json = Record<string, any>;

/** [field, type] pairs: what the tests compare, since messages are checked separately. */
export function causes(errors: readonly FieldError[]): [string, string][] {
  return errors.map((e) => [e.field, e.type]);
}

/** Defaults `obj` as the server would, validates it, and expects exactly the given causes. */
export function expectCauses(kind: string, obj: Json, expected: [string, string][], old?: Json): FieldError[] {
  const defaulted = applyDefaults(kind, obj as KubeObject);
  const oldDefaulted = old === undefined ? undefined : applyDefaults(kind, old as KubeObject);
  const errors = validateObject(kind, defaulted, oldDefaulted);
  expect(causes(errors), JSON.stringify(errors, null, 2)).toEqual(expected);
  return errors;
}

export function expectValid(kind: string, obj: Json, old?: Json): void {
  expectCauses(kind, obj, [], old);
}

export function pod(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'nginx:1.25',
          ports: [{ name: 'http', containerPort: 80 }],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          ],
          resources: { requests: { cpu: '100m' }, limits: { cpu: '500m', memory: '128Mi' } },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          readinessProbe: { httpGet: { port: 'http' } },
          livenessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 5 },
        },
      ],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'config', configMap: { name: 'web-config', items: [{ key: 'a', path: 'a.conf' }] } },
      ],
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    },
  };
}

export function podTemplate(labels: Record<string, string> = { app: 'web' }): Json {
  const { spec } = pod();
  return { metadata: { labels }, spec };
}

export function deployment(): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate() },
  };
}

export function replicaSet(): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d8f', namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate() },
  };
}

export function service(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}
