import { describe, expect, it } from 'vitest';
import { defaultPrinter } from '../../../control-plane/table/default-printer.js';
import { eventPrinter } from '../../../control-plane/table/events.js';
import {
  configMapPrinter,
  leasePrinter,
  namespacePrinter,
  secretPrinter,
  serviceAccountPrinter,
} from '../../../control-plane/table/misc.js';
import { clusterRoleBindingPrinter, roleBindingPrinter } from '../../../control-plane/table/rbac.js';
import { NOW_MS, ago, d, m, obj, s } from './fixtures.js';

describe('namespaces, configmaps, secrets, serviceaccounts, leases', () => {
  it('namespaces: NAME STATUS AGE', () => {
    expect(namespacePrinter.cells(obj('Namespace', 'default', { status: { phase: 'Active' } }, d(45)), NOW_MS)).toEqual([
      'default',
      'Active',
      '45d',
    ]);
    const terminating = obj('Namespace', 'old', { status: { phase: 'Terminating' } });
    expect(namespacePrinter.cells(terminating, NOW_MS)[1]).toBe('Terminating');
    // stored before the phase was set: what Kubernetes' namespace strategy would have written
    expect(namespacePrinter.cells(obj('Namespace', 'n'), NOW_MS)[1]).toBe('Active');
  });

  it('configmaps: DATA counts data and binaryData keys', () => {
    const cm = obj('ConfigMap', 'kube-root-ca.crt', { data: { 'ca.crt': '...' }, binaryData: { 'logo.png': 'iVBO' } });
    expect(configMapPrinter.cells(cm, NOW_MS)).toEqual(['kube-root-ca.crt', 2, '34m']);
    expect(configMapPrinter.cells(obj('ConfigMap', 'empty'), NOW_MS)).toEqual(['empty', 0, '34m']);
  });

  it('secrets: TYPE and DATA (Opaque when the type is unset; stringData keys count)', () => {
    const tls = obj('Secret', 'tls', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y3J0', 'tls.key': 'a2V5' } });
    expect(secretPrinter.cells(tls, NOW_MS)).toEqual(['tls', 'kubernetes.io/tls', 2, '34m']);
    const opaque = obj('Secret', 'creds', { data: { user: 'YQ==' }, stringData: { user: 'a', pass: 'b' } });
    expect(secretPrinter.cells(opaque, NOW_MS)).toEqual(['creds', 'Opaque', 2, '34m']);
  });

  it('serviceaccounts: SECRETS counts the listed secrets', () => {
    expect(serviceAccountPrinter.cells(obj('ServiceAccount', 'default'), NOW_MS)).toEqual(['default', 0, '34m']);
    const sa = obj('ServiceAccount', 'builder', { secrets: [{ name: 'builder-token' }] });
    expect(serviceAccountPrinter.cells(sa, NOW_MS)).toEqual(['builder', 1, '34m']);
  });

  it('leases: HOLDER is the holder identity, empty when released', () => {
    const lease = obj('Lease', 'kube-scheduler', { spec: { holderIdentity: 'master-1_5f2c', leaseDurationSeconds: 15 } }, d(2));
    expect(leasePrinter.cells(lease, NOW_MS)).toEqual(['kube-scheduler', 'master-1_5f2c', '2d']);
    expect(leasePrinter.cells(obj('Lease', 'free', { spec: {} }), NOW_MS)).toEqual(['free', '', '34m']);
  });
});

describe('events table', () => {
  const event = (fields: Record<string, unknown>) =>
    obj('Event', 'web-7d4b9c8f5-x2x9z.1826d2c0a1b2c3d4', {
      involvedObject: { kind: 'Pod', name: 'web-7d4b9c8f5-x2x9z', namespace: 'default', fieldPath: 'spec.containers{web}' },
      reason: 'Pulled',
      message: 'Successfully pulled image "nginx:1.27" in 1.2s\n',
      type: 'Normal',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: ago(m(5)),
      lastTimestamp: ago(s(40)),
      count: 3,
      ...fields,
    });

  it('LAST SEEN TYPE REASON OBJECT [SUBOBJECT SOURCE] MESSAGE [FIRST SEEN COUNT NAME]', () => {
    expect(eventPrinter.cells(event({}), NOW_MS)).toEqual([
      '40s',
      'Normal',
      'Pulled',
      'pod/web-7d4b9c8f5-x2x9z',
      'spec.containers{web}',
      'kubelet, node-1',
      'Successfully pulled image "nginx:1.27" in 1.2s',
      '5m',
      3,
      'web-7d4b9c8f5-x2x9z.1826d2c0a1b2c3d4',
    ]);
    expect(eventPrinter.columns.map((c) => `${c.name}:${c.priority}`)).toEqual([
      'Last Seen:0',
      'Type:0',
      'Reason:0',
      'Object:0',
      'Subobject:1',
      'Source:1',
      'Message:0',
      'First Seen:1',
      'Count:1',
      'Name:1',
    ]);
  });

  it('a new-style event: eventTime for both times, count 1, reporting controller as source', () => {
    const e = event({
      firstTimestamp: null,
      lastTimestamp: null,
      count: undefined,
      source: {},
      // a MicroTime, 12.876544 s ago: truncated to 12s
      eventTime: ago(s(13)).replace('Z', '.123456Z'),
      reportingComponent: 'default-scheduler',
      reportingInstance: 'default-scheduler-master-1',
      involvedObject: { kind: 'Node' },
    });
    const cells = eventPrinter.cells(e, NOW_MS);
    expect([cells[0], cells[3], cells[5], cells[7], cells[8]]).toEqual([
      '12s',
      'node',
      'default-scheduler, default-scheduler-master-1',
      '12s',
      1,
    ]);
  });

  it('a series event: LAST SEEN and COUNT come from the series', () => {
    const e = event({ series: { count: 17, lastObservedTime: ago(s(3)) } });
    const cells = eventPrinter.cells(e, NOW_MS);
    expect([cells[0], cells[8]]).toEqual(['3s', 17]);
  });

  it('reads events.k8s.io/v1 field names', () => {
    const e = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'e1', creationTimestamp: ago(m(1)) },
      eventTime: ago(m(2)),
      reportingController: 'kubelet',
      reportingInstance: 'node-2',
      action: 'Pulling',
      reason: 'BackOff',
      regarding: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{web}' },
      note: 'Back-off restarting failed container',
      type: 'Warning',
      deprecatedCount: 4,
      deprecatedFirstTimestamp: ago(m(9)),
      deprecatedLastTimestamp: ago(s(30)),
    };
    expect(eventPrinter.cells(e, NOW_MS)).toEqual([
      '30s',
      'Warning',
      'BackOff',
      'pod/web',
      'spec.containers{web}',
      'kubelet, node-2',
      'Back-off restarting failed container',
      '9m',
      4,
      'e1',
    ]);
  });
});

describe('rolebindings and clusterrolebindings', () => {
  const subjects = [
    { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
    { kind: 'Group', name: 'devs', apiGroup: 'rbac.authorization.k8s.io' },
    { kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' },
    { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
  ];

  it('ROLE is Kind/name; wide USERS GROUPS SERVICEACCOUNTS', () => {
    const rb = obj('RoleBinding', 'edit-devs', { roleRef: { kind: 'ClusterRole', name: 'edit', apiGroup: 'rbac.authorization.k8s.io' }, subjects });
    expect(roleBindingPrinter.cells(rb, NOW_MS)).toEqual(['edit-devs', 'ClusterRole/edit', '34m', 'alice, bob', 'devs', 'ci/builder']);
    expect(roleBindingPrinter.columns.map((c) => c.description).slice(3)).toEqual([
      'Users in the roleBinding',
      'Groups in the roleBinding',
      'ServiceAccounts in the roleBinding',
    ]);
  });

  it('clusterrolebindings print alike, with their own descriptions', () => {
    const crb = obj('ClusterRoleBinding', 'cluster-admin', { roleRef: { kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'system:masters' }] });
    expect(clusterRoleBindingPrinter.cells(crb, NOW_MS)).toEqual(['cluster-admin', 'ClusterRole/cluster-admin', '34m', '', 'system:masters', '']);
    expect(clusterRoleBindingPrinter.columns[3]?.description).toBe('Users in the clusterRoleBinding');
  });
});

describe('default table (resources without a printer)', () => {
  it('NAME and CREATED AT, the latter an RFC 3339 timestamp in UTC whole seconds', () => {
    expect(defaultPrinter.columns.map((c) => [c.name, c.type, c.format, c.priority])).toEqual([
      ['Name', 'string', 'name', 0],
      ['Created At', 'date', '', 0],
    ]);
    const role = { kind: 'ClusterRole', metadata: { name: 'view', creationTimestamp: '2025-01-02T03:04:05Z' } };
    expect(defaultPrinter.cells(role, NOW_MS)).toEqual(['view', '2025-01-02T03:04:05Z']);
    const offset = { metadata: { name: 'x', creationTimestamp: '2025-01-02T05:04:05.789+02:00' } };
    expect(defaultPrinter.cells(offset, NOW_MS)).toEqual(['x', '2025-01-02T03:04:05Z']);
  });

  it("an unset creationTimestamp prints as Go's zero time", () => {
    expect(defaultPrinter.cells({ metadata: { name: 'x' } }, NOW_MS)).toEqual(['x', '0001-01-01T00:00:00Z']);
  });
});
