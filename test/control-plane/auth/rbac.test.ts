import { describe, expect, it } from 'vitest';
import {
  RBAC_ERRORS_REPORTED_MAX,
  authorize,
  forbiddenMessage,
  rbacSourceFromObjects,
  type AuthorizationAttributes,
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type RbacObjects,
  type Role,
  type RoleBinding,
  type RoleRef,
  type Subject,
} from '../../../control-plane/auth/rbac.js';
import type { UserInfo } from '../../../control-plane/auth/user.js';

const RBAC = 'rbac.authorization.k8s.io';
const bob: UserInfo = { name: 'bob', groups: ['system:authenticated'] };
const userSubject = (name: string): Subject => ({ kind: 'User', apiGroup: RBAC, name });
const groupSubject = (name: string): Subject => ({ kind: 'Group', apiGroup: RBAC, name });

const clusterRole = (name: string, rules: PolicyRule[]): ClusterRole => ({ metadata: { name }, rules });
const role = (namespace: string, name: string, rules: PolicyRule[]): Role => ({ metadata: { namespace, name }, rules });
const clusterRoleBinding = (name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding => ({
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: roleName },
  subjects,
});
const roleBinding = (namespace: string, name: string, roleRef: Pick<RoleRef, 'kind' | 'name'>, subjects: Subject[]): RoleBinding => ({
  metadata: { namespace, name },
  roleRef: { apiGroup: RBAC, ...roleRef },
  subjects,
});

const pods = (verb: string, namespace?: string, extra: Partial<AuthorizationAttributes> = {}): AuthorizationAttributes => ({
  verb, apiGroup: '', resource: 'pods', ...(namespace === undefined ? {} : { namespace }), ...extra,
}) as AuthorizationAttributes;

function allowed(user: UserInfo, attributes: AuthorizationAttributes, objects: RbacObjects): boolean {
  return authorize(user, attributes, rbacSourceFromObjects(objects)).allowed;
}

/** bob bound cluster-wide to a ClusterRole with `rules`. */
function bobWith(rules: PolicyRule[]): RbacObjects {
  return {
    clusterRoles: [clusterRole('r', rules)],
    clusterRoleBindings: [clusterRoleBinding('b', 'r', [userSubject('bob')])],
  };
}

describe('forbidden messages, as Kubernetes words them', () => {
  it('names user, verb, resource, group and namespace', () => {
    const decision = authorize(bob, pods('list', 'default'), rbacSourceFromObjects({}));
    expect(decision).toEqual({
      allowed: false,
      reason: 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"',
    });
  });

  it.each([
    [{ verb: 'get', apiGroup: 'apps', resource: 'deployments', namespace: 'prod', name: 'web' },
      'deployments.apps "web" is forbidden: User "bob" cannot get resource "deployments" in API group "apps" in the namespace "prod"'],
    [{ verb: 'list', apiGroup: '', resource: 'nodes' },
      'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'],
    [{ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', namespace: 'default', name: 'p' },
      'pods "p" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "default"'],
    [{ verb: 'get', nonResourcePath: '/metrics' }, 'forbidden: User "bob" cannot get path "/metrics"'],
    [{ verb: 'get', nonResourcePath: '/<script>&' }, 'forbidden: User "bob" cannot get path "/&lt;script&gt;&amp;"'],
  ] as [AuthorizationAttributes, string][])('%j', (attributes, message) => {
    expect(forbiddenMessage(bob, attributes)).toBe(message);
    expect(authorize(bob, attributes, rbacSourceFromObjects({})).reason).toBe(message);
  });
});

describe('rules: verbs, groups, resources and wildcards', () => {
  it('allows exactly the listed verb, group and resource', () => {
    const objects = bobWith([{ verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'] }]);
    const deployments = (verb: string, apiGroup = 'apps'): AuthorizationAttributes => ({ verb, apiGroup, resource: 'deployments', namespace: 'x' });
    expect(allowed(bob, deployments('list'), objects)).toBe(true);
    expect(allowed(bob, deployments('get'), objects)).toBe(true);
    expect(allowed(bob, deployments('delete'), objects)).toBe(false);
    expect(allowed(bob, deployments('list', ''), objects)).toBe(false);
    expect(allowed(bob, { verb: 'list', apiGroup: 'apps', resource: 'replicasets', namespace: 'x' }, objects)).toBe(false);
  });

  it('reads `*` as every verb, group or resource', () => {
    expect(allowed(bob, pods('escalate', 'x'), bobWith([{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }]))).toBe(true);
    expect(allowed(bob, { verb: 'get', apiGroup: 'whatever.io', resource: 'pods' }, bobWith([{ verbs: ['get'], apiGroups: ['*'], resources: ['pods'] }]))).toBe(true);
    expect(allowed(bob, pods('get', 'x', { subresource: 'log' }), bobWith([{ verbs: ['get'], apiGroups: [''], resources: ['*'] }]))).toBe(true);
  });

  it('grants nothing with an empty verbs list or without apiGroups', () => {
    expect(allowed(bob, pods('get', 'x'), bobWith([{ verbs: [], apiGroups: ['*'], resources: ['*'] }]))).toBe(false);
    expect(allowed(bob, pods('get', 'x'), bobWith([{ verbs: ['*'], resources: ['*'] }]))).toBe(false);
  });

  it('says which binding, role and subject allowed a request', () => {
    const decision = authorize(bob, pods('get', 'x'), rbacSourceFromObjects(bobWith([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }])));
    expect(decision).toEqual({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "bob"' });
  });
});

describe('rules: subresources', () => {
  it('does not let `pods` grant `pods/log`, nor `pods/log` grant `pods`', () => {
    const podsOnly = bobWith([{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    const logOnly = bobWith([{ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }]);
    const log = pods('get', 'x', { subresource: 'log', name: 'p' });
    expect(allowed(bob, log, podsOnly)).toBe(false);
    expect(allowed(bob, log, logOnly)).toBe(true);
    expect(allowed(bob, pods('get', 'x', { name: 'p' }), logOnly)).toBe(false);
    expect(allowed(bob, pods('get', 'x', { subresource: 'status', name: 'p' }), logOnly)).toBe(false);
  });

  it('reads `*/scale` as the scale subresource of every resource, and only that', () => {
    const objects = bobWith([{ verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] }]);
    const scale = (resource: string, subresource?: string): AuthorizationAttributes =>
      ({ verb: 'update', apiGroup: 'apps', resource, namespace: 'x', name: 'n', ...(subresource ? { subresource } : {}) });
    expect(allowed(bob, scale('deployments', 'scale'), objects)).toBe(true);
    expect(allowed(bob, scale('replicasets', 'scale'), objects)).toBe(true);
    expect(allowed(bob, scale('deployments'), objects)).toBe(false);
    expect(allowed(bob, scale('deployments', 'status'), objects)).toBe(false);
  });
});

describe('rules: resourceNames', () => {
  const objects = bobWith([{ verbs: ['get', 'update', 'list', 'create'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mine'] }]);
  const lease = (verb: string, name?: string): AuthorizationAttributes =>
    ({ verb, apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'x', ...(name ? { name } : {}) });

  it('allows the named objects only', () => {
    expect(allowed(bob, lease('get', 'mine'), objects)).toBe(true);
    expect(allowed(bob, lease('update', 'mine'), objects)).toBe(true);
    expect(allowed(bob, lease('get', 'theirs'), objects)).toBe(false);
  });

  it('cannot grant requests without a name (list, create)', () => {
    expect(allowed(bob, lease('list'), objects)).toBe(false);
    expect(allowed(bob, lease('create'), objects)).toBe(false);
  });
});

describe('rules: nonResourceURLs', () => {
  const objects = bobWith([{ verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] }]);
  const path = (nonResourcePath: string, verb = 'get'): AuthorizationAttributes => ({ verb, nonResourcePath });

  it('matches exact paths, and prefixes of a trailing `*`', () => {
    expect(allowed(bob, path('/healthz'), objects)).toBe(true);
    expect(allowed(bob, path('/healthz/etcd'), objects)).toBe(false);
    expect(allowed(bob, path('/apis/apps/v1'), objects)).toBe(true);
    expect(allowed(bob, path('/apis/'), objects)).toBe(true);
    expect(allowed(bob, path('/apis'), objects)).toBe(false);
    expect(allowed(bob, path('/healthz', 'post'), objects)).toBe(false);
  });

  it('reads `*` as every path', () => {
    expect(allowed(bob, path('/anything/at/all'), bobWith([{ verbs: ['get'], nonResourceURLs: ['*'] }]))).toBe(true);
  });

  it('keeps resource rules and path rules apart', () => {
    expect(allowed(bob, path('/api'), bobWith([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]))).toBe(false);
    expect(allowed(bob, pods('get', 'x'), bobWith([{ verbs: ['*'], nonResourceURLs: ['*'] }]))).toBe(false);
  });

  it('ignores path rules reached through a RoleBinding (paths have no namespace)', () => {
    const objects: RbacObjects = {
      clusterRoles: [clusterRole('paths', [{ verbs: ['get'], nonResourceURLs: ['*'] }])],
      roleBindings: [roleBinding('x', 'rb', { kind: 'ClusterRole', name: 'paths' }, [userSubject('bob')])],
    };
    expect(allowed(bob, path('/healthz'), objects)).toBe(false);
  });
});

describe('bindings and their scope', () => {
  const podReader = [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }];

  it('a ClusterRoleBinding applies in every namespace and at the cluster scope', () => {
    const objects = bobWith(podReader);
    expect(allowed(bob, pods('list', 'a'), objects)).toBe(true);
    expect(allowed(bob, pods('list', 'b'), objects)).toBe(true);
    expect(allowed(bob, pods('list'), objects)).toBe(true);
  });

  it('a RoleBinding to a Role applies in its namespace only', () => {
    const objects: RbacObjects = {
      roles: [role('a', 'reader', podReader)],
      roleBindings: [roleBinding('a', 'rb', { kind: 'Role', name: 'reader' }, [userSubject('bob')])],
    };
    expect(allowed(bob, pods('list', 'a'), objects)).toBe(true);
    expect(allowed(bob, pods('list', 'b'), objects)).toBe(false);
    expect(allowed(bob, pods('list'), objects)).toBe(false);
    expect(authorize(bob, pods('list', 'a'), rbacSourceFromObjects(objects)).reason).toBe(
      'RBAC: allowed by RoleBinding "rb/a" of Role "reader" to User "bob"',
    );
  });

  it('a RoleBinding reads the Role of its own namespace, not a same-named one elsewhere', () => {
    const objects: RbacObjects = {
      roles: [role('b', 'reader', podReader)],
      roleBindings: [roleBinding('a', 'rb', { kind: 'Role', name: 'reader' }, [userSubject('bob')])],
    };
    expect(allowed(bob, pods('list', 'a'), objects)).toBe(false);
  });

  it('a RoleBinding to a ClusterRole grants its rules in the binding namespace only', () => {
    const objects: RbacObjects = {
      clusterRoles: [clusterRole('everything', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }])],
      roleBindings: [roleBinding('a', 'rb', { kind: 'ClusterRole', name: 'everything' }, [userSubject('bob')])],
    };
    expect(allowed(bob, pods('delete', 'a'), objects)).toBe(true);
    expect(allowed(bob, pods('delete', 'b'), objects)).toBe(false);
    // Cluster-scoped objects and all-namespace lists stay out of reach.
    expect(allowed(bob, { verb: 'get', apiGroup: '', resource: 'nodes', name: 'n1' }, objects)).toBe(false);
    expect(allowed(bob, pods('list'), objects)).toBe(false);
  });

  it('a binding to a missing role grants nothing, names the role in the denial, and does not hide other bindings', () => {
    const dangling: RbacObjects = {
      clusterRoleBindings: [clusterRoleBinding('b', 'gone', [userSubject('bob')])],
      roleBindings: [roleBinding('a', 'rb', { kind: 'Role', name: 'missing' }, [userSubject('bob')])],
    };
    expect(authorize(bob, pods('list', 'a'), rbacSourceFromObjects(dangling)).reason).toBe(
      'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "a": ' +
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
    );
    const withAnother: RbacObjects = { ...bobWith(podReader), clusterRoleBindings: [...(dangling.clusterRoleBindings ?? []), ...(bobWith(podReader).clusterRoleBindings ?? [])] };
    expect(allowed(bob, pods('list', 'a'), withAnother)).toBe(true);
  });

  it('reports at most RBAC_ERRORS_REPORTED_MAX dangling bindings', () => {
    const many = Array.from({ length: RBAC_ERRORS_REPORTED_MAX + 3 }, (_, i) => clusterRoleBinding(`b${i}`, `gone${i}`, [userSubject('bob')]));
    const reason = authorize(bob, pods('list', 'a'), rbacSourceFromObjects({ clusterRoleBindings: many })).reason;
    expect(reason.match(/not found/g)).toHaveLength(RBAC_ERRORS_REPORTED_MAX);
    expect(reason).toMatch(/and 3 more\]$/);
  });

  it('ignores bindings of other users when reporting missing roles', () => {
    const objects: RbacObjects = { clusterRoleBindings: [clusterRoleBinding('b', 'gone', [userSubject('alice')])] };
    expect(authorize(bob, pods('list', 'a'), rbacSourceFromObjects(objects)).reason).not.toMatch(/RBAC/);
  });

  it('a RoleBinding that references an unknown kind grants nothing', () => {
    const objects: RbacObjects = {
      clusterRoles: [clusterRole('reader', podReader)],
      roleBindings: [roleBinding('a', 'rb', { kind: 'Robot', name: 'reader' } as unknown as RoleRef, [userSubject('bob')])],
    };
    const decision = authorize(bob, pods('list', 'a'), rbacSourceFromObjects(objects));
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/references unknown kind "Robot"/);
  });

  it('a ClusterRoleBinding that references a Role grants nothing', () => {
    const objects: RbacObjects = {
      roles: [role('', 'reader', podReader)],
      clusterRoleBindings: [{ ...clusterRoleBinding('b', 'reader', [userSubject('bob')]), roleRef: { apiGroup: RBAC, kind: 'Role', name: 'reader' } }],
    };
    const decision = authorize(bob, pods('list', 'a'), rbacSourceFromObjects(objects));
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/only a ClusterRole is allowed/);
  });
});

describe('subjects', () => {
  const podReader = clusterRole('reader', [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }]);
  const saUser = (namespace: string, name: string): UserInfo => ({
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  });
  const boundTo = (subjects: Subject[], namespace?: string): RbacObjects =>
    namespace === undefined
      ? { clusterRoles: [podReader], clusterRoleBindings: [clusterRoleBinding('b', 'reader', subjects)] }
      : { clusterRoles: [podReader], roleBindings: [roleBinding(namespace, 'b', { kind: 'ClusterRole', name: 'reader' }, subjects)] };

  it('User matches the user name only', () => {
    expect(allowed(bob, pods('list', 'a'), boundTo([userSubject('bob')]))).toBe(true);
    expect(allowed({ name: 'bobby', groups: ['bob'] }, pods('list', 'a'), boundTo([userSubject('bob')]))).toBe(false);
  });

  it('Group matches any member', () => {
    const objects = boundTo([groupSubject('dev')]);
    expect(allowed({ name: 'carol', groups: ['dev'] }, pods('list', 'a'), objects)).toBe(true);
    expect(allowed({ name: 'dev', groups: [] }, pods('list', 'a'), objects)).toBe(false);
  });

  it('ServiceAccount with a namespace matches that account', () => {
    const objects = boundTo([{ kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }]);
    expect(allowed(saUser('ci', 'builder'), pods('list', 'a'), objects)).toBe(true);
    expect(allowed(saUser('other', 'builder'), pods('list', 'a'), objects)).toBe(false);
    expect(allowed(saUser('ci', 'deployer'), pods('list', 'a'), objects)).toBe(false);
  });

  it('ServiceAccount without a namespace defaults to the RoleBinding namespace', () => {
    const objects = boundTo([{ kind: 'ServiceAccount', name: 'builder' }], 'ci');
    expect(allowed(saUser('ci', 'builder'), pods('list', 'ci'), objects)).toBe(true);
    expect(allowed(saUser('other', 'builder'), pods('list', 'ci'), objects)).toBe(false);
    expect(authorize(saUser('ci', 'builder'), pods('list', 'ci'), rbacSourceFromObjects(objects)).reason).toBe(
      'RBAC: allowed by RoleBinding "b/ci" of ClusterRole "reader" to ServiceAccount "builder/ci"',
    );
  });

  it('ServiceAccount without a namespace in a ClusterRoleBinding names nobody', () => {
    expect(allowed(saUser('', 'builder'), pods('list', 'a'), boundTo([{ kind: 'ServiceAccount', name: 'builder' }]))).toBe(false);
  });

  it('the service-account groups work as Group subjects', () => {
    expect(allowed(saUser('ci', 'x'), pods('list', 'a'), boundTo([groupSubject('system:serviceaccounts:ci')]))).toBe(true);
    expect(allowed(saUser('prod', 'x'), pods('list', 'a'), boundTo([groupSubject('system:serviceaccounts:ci')]))).toBe(false);
    expect(allowed(saUser('prod', 'x'), pods('list', 'a'), boundTo([groupSubject('system:serviceaccounts')]))).toBe(true);
  });

  it('an unknown kind never matches', () => {
    // Stored objects are outside input: the type's closed set of kinds is not a guarantee.
    const robot = { kind: 'Robot', name: 'bob' } as unknown as Subject;
    expect(allowed(bob, pods('list', 'a'), boundTo([robot]))).toBe(false);
  });
});

describe('the superuser group', () => {
  const root: UserInfo = { name: 'root', groups: ['system:masters'] };

  it('system:masters is allowed everything, with no RBAC objects at all', () => {
    const empty = rbacSourceFromObjects({});
    for (const attributes of [pods('delete', 'kube-system'), { verb: 'get', nonResourcePath: '/debug' }, { verb: 'escalate', apiGroup: RBAC, resource: 'clusterroles' }] as AuthorizationAttributes[]) {
      expect(authorize(root, attributes, empty)).toEqual({ allowed: true, reason: expect.stringContaining('system:masters') });
    }
  });

  it('a user named system:masters is not in the group', () => {
    expect(allowed({ name: 'system:masters', groups: [] }, pods('get', 'a'), {})).toBe(false);
  });
});
