/**
 * RBAC objects: rules, role references, subjects.
 */
import { describe, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { expectCauses, expectValid, type Json } from './helpers.js';

const { Required, Invalid, NotSupported, Forbidden } = FieldErrorType;

type Case = readonly [string, (o: Json) => void, [string, string][]];

function run(kind: string, make: () => Json, cases: readonly Case[]): void {
  it(`a valid ${kind} passes`, () => expectValid(kind, make()));
  it.each(cases)('%s', (_name, mutate, expected) => {
    const o = make();
    mutate(o);
    expectCauses(kind, o, expected);
  });
}

const role = (): Json => ({
  metadata: { name: 'pod-reader', namespace: 'default' },
  rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'], resourceNames: [] }],
});

const clusterRole = (): Json => ({
  metadata: { name: 'system:metrics-reader' },
  rules: [
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] },
    { nonResourceURLs: ['/healthz', '/metrics'], verbs: ['get'] },
  ],
});

const roleBinding = (): Json => ({
  metadata: { name: 'read-pods', namespace: 'default' },
  subjects: [
    { kind: 'User', name: 'jane' },
    { kind: 'ServiceAccount', name: 'default' },
    { kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' },
  ],
  roleRef: { kind: 'Role', name: 'pod-reader' },
});

const clusterRoleBinding = (): Json => ({
  metadata: { name: 'metrics' },
  subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:metrics-reader' },
});

describe('Role', () => {
  run('Role', role, [
    ['no verbs', (r) => (r['rules'][0].verbs = []), [['rules[0].verbs', Required]]],
    ['no api groups', (r) => delete r['rules'][0].apiGroups, [['rules[0].apiGroups', Required]]],
    ['no resources', (r) => (r['rules'][0].resources = []), [['rules[0].resources', Required]]],
    ['non-resource URLs in a namespaced role', (r) => (r['rules'] = [{ nonResourceURLs: ['/x'], verbs: ['get'] }]), [['rules[0].nonResourceURLs', Invalid]]],
    ['name with a slash', (r) => (r['metadata'].name = 'a/b'), [['metadata.name', Invalid]]],
  ]);
});

describe('ClusterRole', () => {
  run('ClusterRole', clusterRole, [
    [
      'mixing resources and URLs',
      (r) => (r['rules'][1].resources = ['pods']),
      [['rules[1].nonResourceURLs', Invalid]],
    ],
    ['namespace set', (r) => (r['metadata'].namespace = 'x'), [['metadata.namespace', Forbidden]]],
    ['empty aggregation rule', (r) => (r['aggregationRule'] = {}), [['aggregationRule.clusterRoleSelectors', Required]]],
  ]);
});

describe('RoleBinding', () => {
  run('RoleBinding', roleBinding, [
    ['roleRef kind unknown', (b) => (b['roleRef'].kind = 'Policy'), [['roleRef.kind', NotSupported]]],
    ['roleRef api group', (b) => (b['roleRef'].apiGroup = 'example.com'), [['roleRef.apiGroup', NotSupported]]],
    ['roleRef without name', (b) => (b['roleRef'].name = ''), [['roleRef.name', Required]]],
    ['subject kind unknown', (b) => (b['subjects'][0].kind = 'Robot'), [['subjects[0].kind', NotSupported]]],
    ['subject without name', (b) => (b['subjects'][0].name = ''), [['subjects[0].name', Required]]],
    ['service account with an api group', (b) => (b['subjects'][1].apiGroup = 'v1'), [['subjects[1].apiGroup', NotSupported]]],
    ['user with a foreign api group', (b) => (b['subjects'][0].apiGroup = 'example.com'), [['subjects[0].apiGroup', NotSupported]]],
  ]);

  it('roleRef cannot change', () => {
    const next = roleBinding();
    next['roleRef'].name = 'admin';
    expectCauses('RoleBinding', next, [['roleRef', Invalid]], roleBinding());
    const more = roleBinding();
    more['subjects'].push({ kind: 'User', name: 'bob' });
    expectValid('RoleBinding', more, roleBinding());
  });
});

describe('ClusterRoleBinding', () => {
  run('ClusterRoleBinding', clusterRoleBinding, [
    ['pointing at a Role', (b) => (b['roleRef'].kind = 'Role'), [['roleRef.kind', NotSupported]]],
    ['service account without namespace', (b) => delete b['subjects'][0].namespace, [['subjects[0].namespace', Required]]],
  ]);
});
