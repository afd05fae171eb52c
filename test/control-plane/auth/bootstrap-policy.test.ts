import { describe, expect, it } from 'vitest';
import {
  BootstrapRoleName,
  NODE_LEASE_NAMESPACE,
  bootstrapPolicy,
} from '../../../control-plane/auth/bootstrap-policy.js';
import {
  authorize,
  rbacSourceFromObjects,
  type AuthorizationAttributes,
  type RbacObjects,
} from '../../../control-plane/auth/rbac.js';
import type { UserInfo } from '../../../control-plane/auth/user.js';

const RBAC = 'rbac.authorization.k8s.io';
const authenticated = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });

/** The bootstrap policy plus `extra` bindings. */
function policyWith(extra: RbacObjects = {}): RbacObjects {
  const p = bootstrapPolicy();
  return {
    clusterRoles: p.clusterRoles,
    clusterRoleBindings: [...p.clusterRoleBindings, ...(extra.clusterRoleBindings ?? [])],
    roles: p.roles,
    roleBindings: [...p.roleBindings, ...(extra.roleBindings ?? [])],
  };
}

function can(user: UserInfo, objects: RbacObjects, attributes: AuthorizationAttributes): boolean {
  return authorize(user, attributes, rbacSourceFromObjects(objects)).allowed;
}

const res = (verb: string, apiGroup: string, resource: string, namespace?: string, more: { subresource?: string; name?: string } = {}): AuthorizationAttributes => ({
  verb, apiGroup, resource, ...(namespace === undefined ? {} : { namespace }), ...more,
});

/** alice bound to a bootstrap ClusterRole in namespace `team` only. */
function aliceInTeamAs(role: string): RbacObjects {
  return policyWith({
    roleBindings: [{
      metadata: { name: `alice-${role}`, namespace: 'team' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'User', apiGroup: RBAC, name: 'alice' }],
    }],
  });
}
const alice = authenticated('alice');

describe('bootstrap policy: shape', () => {
  const policy = bootstrapPolicy();

  it('binds cluster-admin to system:masters', () => {
    const binding = policy.clusterRoleBindings.find((b) => b.metadata.name === BootstrapRoleName.ClusterAdmin);
    expect(binding?.roleRef).toEqual({ apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' });
    expect(binding?.subjects).toEqual([{ kind: 'Group', apiGroup: RBAC, name: 'system:masters' }]);
  });

  it('every binding references a role it creates', () => {
    const clusterRoles = new Set(policy.clusterRoles.map((r) => r.metadata.name));
    for (const b of policy.clusterRoleBindings) expect(clusterRoles).toContain(b.roleRef.name);
    for (const b of policy.roleBindings) {
      expect(policy.roles.some((r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === b.metadata.namespace)).toBe(true);
    }
  });

  it("carries Kubernetes' bootstrapping label and autoupdate annotation", () => {
    for (const o of [...policy.clusterRoles, ...policy.clusterRoleBindings, ...policy.roles, ...policy.roleBindings]) {
      expect(o.metadata.labels).toEqual({ 'kubernetes.io/bootstrapping': 'rbac-defaults' });
      expect(o.metadata.annotations).toEqual({ 'rbac.authorization.kubernetes.io/autoupdate': 'true' });
    }
  });

  it('builds fresh objects on every call', () => {
    const first = bootstrapPolicy();
    (first.clusterRoles[0]?.rules?.[0]?.verbs as string[] | undefined)?.push('changed');
    (first.clusterRoles[0]?.metadata.labels ?? {})['changed'] = 'yes';
    first.clusterRoleBindings.length = 0;
    expect(bootstrapPolicy()).toEqual(policy);
  });
});

describe('bootstrap policy: cluster-admin and discovery', () => {
  it('cluster-admin allows every resource and path to whoever it is bound to', () => {
    const objects = policyWith({
      clusterRoleBindings: [{ metadata: { name: 'alice-admin' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'alice' }] }],
    });
    expect(can(alice, objects, res('delete', 'apps', 'deployments', 'prod', { name: 'web' }))).toBe(true);
    expect(can(alice, objects, res('escalate', RBAC, 'clusterroles'))).toBe(true);
    expect(can(alice, objects, { verb: 'get', nonResourcePath: '/metrics' })).toBe(true);
  });

  it.each(['/api', '/api/v1', '/apis', '/apis/apps/v1', '/version', '/healthz', '/readyz', '/livez', '/openapi', '/openapi/v2'])(
    'any authenticated user may GET %s',
    (path) => {
      expect(can(authenticated('someone'), policyWith(), { verb: 'get', nonResourcePath: path })).toBe(true);
    },
  );

  it.each([
    ['post', '/api'], ['get', '/metrics'], ['get', '/healthz/etcd'], ['get', '/apix'], ['get', '/debug/pprof'],
  ])('no authenticated user may %s %s', (verb, path) => {
    expect(can(authenticated('someone'), policyWith(), { verb, nonResourcePath: path })).toBe(false);
  });

  it('a user outside system:authenticated gets no discovery', () => {
    expect(can({ name: 'x', groups: [] }, policyWith(), { verb: 'get', nonResourcePath: '/api' })).toBe(false);
  });

  it('authenticated users may ask what they may do, and nothing else', () => {
    const someone = authenticated('someone');
    expect(can(someone, policyWith(), res('create', 'authorization.k8s.io', 'selfsubjectaccessreviews'))).toBe(true);
    expect(can(someone, policyWith(), res('create', 'authentication.k8s.io', 'selfsubjectreviews'))).toBe(true);
    expect(can(someone, policyWith(), res('create', 'authorization.k8s.io', 'subjectaccessreviews'))).toBe(false);
    expect(can(someone, policyWith(), res('list', '', 'pods', 'default'))).toBe(false);
  });
});

describe('bootstrap policy: admin, edit, view in a namespace', () => {
  it('view reads workloads, logs and scale, but not secrets, and changes nothing', () => {
    const objects = aliceInTeamAs('view');
    expect(can(alice, objects, res('list', '', 'pods', 'team'))).toBe(true);
    expect(can(alice, objects, res('get', '', 'pods', 'team', { subresource: 'log', name: 'p' }))).toBe(true);
    expect(can(alice, objects, res('watch', 'apps', 'deployments', 'team'))).toBe(true);
    expect(can(alice, objects, res('get', 'apps', 'deployments', 'team', { subresource: 'scale', name: 'd' }))).toBe(true);
    expect(can(alice, objects, res('get', '', 'secrets', 'team', { name: 's' }))).toBe(false);
    expect(can(alice, objects, res('delete', '', 'pods', 'team', { name: 'p' }))).toBe(false);
    expect(can(alice, objects, res('list', '', 'pods', 'other'))).toBe(false);
  });

  it('edit changes workloads and reads secrets, but not roles', () => {
    const objects = aliceInTeamAs('edit');
    expect(can(alice, objects, res('create', 'apps', 'deployments', 'team'))).toBe(true);
    expect(can(alice, objects, res('update', 'apps', 'deployments', 'team', { subresource: 'scale', name: 'd' }))).toBe(true);
    expect(can(alice, objects, res('get', '', 'secrets', 'team', { name: 's' }))).toBe(true);
    expect(can(alice, objects, res('update', '', 'pods', 'team', { subresource: 'status', name: 'p' }))).toBe(false);
    expect(can(alice, objects, res('create', RBAC, 'rolebindings', 'team'))).toBe(false);
  });

  it('admin also manages roles and role bindings of its namespace', () => {
    const objects = aliceInTeamAs('admin');
    expect(can(alice, objects, res('create', RBAC, 'rolebindings', 'team'))).toBe(true);
    expect(can(alice, objects, res('delete', RBAC, 'roles', 'team', { name: 'r' }))).toBe(true);
    expect(can(alice, objects, res('create', RBAC, 'rolebindings', 'other'))).toBe(false);
    expect(can(alice, objects, res('create', RBAC, 'clusterrolebindings'))).toBe(false);
  });
});

describe('bootstrap policy: system components', () => {
  it('the scheduler binds pods, holds its own lease and reads nodes', () => {
    const scheduler = authenticated('system:kube-scheduler');
    const objects = policyWith();
    expect(can(scheduler, objects, res('create', '', 'pods', 'default', { subresource: 'binding', name: 'p' }))).toBe(true);
    expect(can(scheduler, objects, res('watch', '', 'nodes'))).toBe(true);
    expect(can(scheduler, objects, res('list', '', 'pods'))).toBe(true);
    expect(can(scheduler, objects, res('create', 'coordination.k8s.io', 'leases', 'kube-system'))).toBe(true);
    expect(can(scheduler, objects, res('update', 'coordination.k8s.io', 'leases', 'kube-system', { name: 'kube-scheduler' }))).toBe(true);
    expect(can(scheduler, objects, res('update', 'coordination.k8s.io', 'leases', 'kube-system', { name: 'kube-controller-manager' }))).toBe(false);
    expect(can(scheduler, objects, res('create', '', 'pods', 'default'))).toBe(false);
    expect(can(scheduler, objects, res('get', '', 'secrets', 'default', { name: 's' }))).toBe(false);
  });

  it('the controller manager reads everything, creates what its controllers create, and cleans up', () => {
    const manager = authenticated('system:kube-controller-manager');
    const objects = policyWith();
    expect(can(manager, objects, res('list', 'apps', 'deployments'))).toBe(true);
    expect(can(manager, objects, res('create', 'apps', 'replicasets', 'default'))).toBe(true);
    expect(can(manager, objects, res('create', '', 'pods', 'default'))).toBe(true);
    expect(can(manager, objects, res('update', 'apps', 'deployments', 'default', { subresource: 'status', name: 'd' }))).toBe(true);
    expect(can(manager, objects, res('delete', '', 'configmaps', 'default', { name: 'c' }))).toBe(true);
    expect(can(manager, objects, res('create', '', 'secrets', 'default'))).toBe(false);
  });

  describe('a node agent (group system:nodes)', () => {
    const node = authenticated('system:node:n1', 'system:nodes');
    const objects = policyWith();
    it.each([
      res('get', '', 'nodes', undefined, { name: 'n1' }),
      res('create', '', 'nodes'),
      res('patch', '', 'nodes', undefined, { subresource: 'status', name: 'n1' }),
      res('watch', '', 'pods'),
      res('update', '', 'pods', 'default', { subresource: 'status', name: 'p' }),
      res('create', '', 'events', 'default'),
      res('patch', '', 'events', 'default', { name: 'e' }),
      res('get', '', 'configmaps', 'default', { name: 'c' }),
      res('get', '', 'secrets', 'default', { name: 's' }),
      res('create', 'coordination.k8s.io', 'leases', NODE_LEASE_NAMESPACE),
      res('update', 'coordination.k8s.io', 'leases', NODE_LEASE_NAMESPACE, { name: 'n1' }),
    ])('may %j', (attributes) => {
      expect(can(node, objects, attributes)).toBe(true);
    });
    it.each([
      res('list', '', 'secrets', 'default'),
      res('create', '', 'pods', 'default'),
      res('delete', '', 'nodes', undefined, { name: 'n1' }),
      res('update', 'coordination.k8s.io', 'leases', 'kube-system', { name: 'n1' }),
      res('create', 'coordination.k8s.io', 'leases', 'default'),
      res('update', 'apps', 'deployments', 'default', { name: 'd' }),
    ])('may not %j', (attributes) => {
      expect(can(node, objects, attributes)).toBe(false);
    });
  });
});
