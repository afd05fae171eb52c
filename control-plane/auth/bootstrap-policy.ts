/**
 * The RBAC objects the API server creates at its first start: a subset of
 * Kubernetes' bootstrap policy, with Kubernetes' names, labels and annotation
 * so tools that know them (kubectl, dashboards) recognize them.
 *
 * Differences from Kubernetes, on purpose:
 *  - `admin`, `edit` and `view` list their rules instead of aggregating them
 *    from labelled ClusterRoles (no aggregation controller here), and cover only
 *    the resources Strake serves (the resource lists below);
 *  - `system:node` is bound to the `system:nodes` group (Kubernetes leaves it
 *    unbound and relies on its Node authorizer, which Strake does not have), and
 *    node leases are granted by a Role in `kube-node-lease` only, not cluster-wide;
 *  - `system:kube-controller-manager` runs every controller under one identity
 *    (Kubernetes gives each controller its own service account), so it holds the
 *    union of what they need.
 *
 * Objects are built fresh on every call: callers may store or mutate them.
 */
import type { ObjectMeta } from '../../proto/k8s/meta.js';
import {
  RBAC_API_GROUP,
  RBAC_WILDCARD,
  RoleRefKind,
  SubjectKind,
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type Role,
  type RoleBinding,
  type Subject,
} from './rbac.js';
import { SpecialGroup, SpecialUser } from './user.js';

export const BootstrapRoleName = {
  ClusterAdmin: 'cluster-admin',
  Admin: 'admin',
  Edit: 'edit',
  View: 'view',
  Discovery: 'system:discovery',
  BasicUser: 'system:basic-user',
  KubeScheduler: 'system:kube-scheduler',
  KubeControllerManager: 'system:kube-controller-manager',
  Node: 'system:node',
  /** A Role in NODE_LEASE_NAMESPACE, not a ClusterRole. */
  NodeLease: 'system:node-lease',
} as const;
export type BootstrapRoleName = (typeof BootstrapRoleName)[keyof typeof BootstrapRoleName];

/** The scheduler's leader-election lease in kube-system (Kubernetes' name, not the user's). */
export const SCHEDULER_LEASE_NAME = 'kube-scheduler';

/** Where node agents keep their heartbeat leases (Kubernetes' name). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Kubernetes marks its bootstrap objects with this label… */
export const BOOTSTRAPPING_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const;
/** …and this annotation, which says the server may restore them to their defaults. */
export const AUTOUPDATE_ANNOTATION = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } as const;

/**
 * Paths every authenticated user may GET: discovery, version, health and the
 * OpenAPI document (Kubernetes' system:discovery plus system:public-info-viewer).
 */
export const DISCOVERY_PATHS: readonly string[] = [
  '/api', '/api/*', '/apis', '/apis/*', '/version', '/healthz', '/readyz', '/livez', '/openapi', '/openapi/*',
];

export interface BootstrapPolicy {
  readonly clusterRoles: ClusterRole[];
  readonly clusterRoleBindings: ClusterRoleBinding[];
  readonly roles: Role[];
  readonly roleBindings: RoleBinding[];
}

const CORE = '';
const APPS = 'apps';
const COORDINATION = 'coordination.k8s.io';
const AUTHORIZATION = 'authorization.k8s.io';
const AUTHENTICATION = 'authentication.k8s.io';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];

// What `view` reads in a namespace. Secrets are left out, as in Kubernetes: reading
// a service-account token secret would let a viewer act as that account.
const VIEW_CORE_RESOURCES = [
  'pods', 'pods/log', 'pods/status', 'services', 'services/status', 'endpoints', 'configmaps',
  'serviceaccounts', 'events', 'namespaces', 'namespaces/status',
];
const VIEW_APPS_RESOURCES = [
  'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale',
];
// What `edit` may also change. Statuses stay with the controllers and nodes that own them.
const EDIT_CORE_RESOURCES = ['pods', 'pods/exec', 'services', 'endpoints', 'configmaps', 'secrets', 'serviceaccounts'];
const EDIT_APPS_RESOURCES = ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale'];

function rule(verbs: readonly string[], apiGroups: readonly string[], resources: readonly string[], resourceNames?: readonly string[]): PolicyRule {
  return {
    verbs: [...verbs],
    apiGroups: [...apiGroups],
    resources: [...resources],
    ...(resourceNames === undefined ? {} : { resourceNames: [...resourceNames] }),
  };
}

function nonResourceRule(verbs: readonly string[], urls: readonly string[]): PolicyRule {
  return { verbs: [...verbs], nonResourceURLs: [...urls] };
}

function meta(name: string, namespace?: string): ObjectMeta {
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    labels: { ...BOOTSTRAPPING_LABEL },
    annotations: { ...AUTOUPDATE_ANNOTATION },
  };
}

function clusterRole(name: BootstrapRoleName, rules: PolicyRule[]): ClusterRole {
  return { apiVersion: `${RBAC_API_GROUP}/v1`, kind: 'ClusterRole', metadata: meta(name), rules };
}

function clusterRoleBinding(role: BootstrapRoleName, subjects: Subject[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_API_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: meta(role),
    roleRef: { apiGroup: RBAC_API_GROUP, kind: RoleRefKind.ClusterRole, name: role },
    subjects,
  };
}

const group = (name: string): Subject => ({ kind: SubjectKind.Group, apiGroup: RBAC_API_GROUP, name });
const user = (name: string): Subject => ({ kind: SubjectKind.User, apiGroup: RBAC_API_GROUP, name });

function viewRules(): PolicyRule[] {
  return [rule(READ, [CORE], VIEW_CORE_RESOURCES), rule(READ, [APPS], VIEW_APPS_RESOURCES)];
}

function editRules(): PolicyRule[] {
  return [
    ...viewRules(),
    rule(READ, [CORE], ['secrets']),
    rule(WRITE, [CORE], EDIT_CORE_RESOURCES),
    rule(WRITE, [APPS], EDIT_APPS_RESOURCES),
  ];
}

function adminRules(): PolicyRule[] {
  // Kubernetes' admin also manages Roles and RoleBindings: meant to be bound in a
  // namespace, where it lets a namespace owner hand out access to that namespace.
  return [...editRules(), rule([...READ, ...WRITE], [RBAC_API_GROUP], ['roles', 'rolebindings'])];
}

function schedulerRules(): PolicyRule[] {
  return [
    rule(['create', 'patch', 'update'], [CORE], ['events']),
    // Create cannot be limited by name (the request has none), so it is a rule of its own.
    rule(['create'], [COORDINATION], ['leases']),
    rule(['get', 'update'], [COORDINATION], ['leases'], [SCHEDULER_LEASE_NAME]),
    rule(READ, [CORE], ['nodes']),
    // delete: preemption evicts lower-priority pods.
    rule([...READ, 'delete'], [CORE], ['pods']),
    rule(['create'], [CORE], ['bindings', 'pods/binding']),
    rule(['patch', 'update'], [CORE], ['pods/status']),
    rule(['list', 'watch'], [CORE], ['services', 'namespaces']),
    rule(['list', 'watch'], [APPS], ['replicasets']),
  ];
}

function controllerManagerRules(): PolicyRule[] {
  return [
    rule(READ, [RBAC_WILDCARD], [RBAC_WILDCARD]),
    // The garbage collector deletes and un-owns objects of any kind, and the
    // namespace controller empties a namespace being deleted: both need every resource.
    rule(['update', 'patch', 'delete', 'deletecollection'], [RBAC_WILDCARD], [RBAC_WILDCARD]),
    rule(['create'], [CORE], ['pods', 'endpoints', 'events', 'serviceaccounts']),
    rule(['create'], [APPS], ['replicasets']),
    rule(['create'], [COORDINATION], ['leases']),
  ];
}

function nodeRules(): PolicyRule[] {
  return [
    rule(['create', 'update', 'patch', ...READ], [CORE], ['nodes']),
    rule(['patch', 'update'], [CORE], ['nodes/status']),
    // delete: the node agent removes a pod once its containers have stopped, finishing a graceful deletion.
    rule([...READ, 'delete'], [CORE], ['pods']),
    rule(['patch', 'update'], [CORE], ['pods/status']),
    rule(['create', 'patch'], [CORE], ['events']),
    rule(['get'], [CORE], ['configmaps', 'secrets']),
    // Containers get environment variables for the services in their namespace.
    rule(['list', 'watch'], [CORE], ['services']),
  ];
}

function nodeLeaseObjects(): { role: Role; binding: RoleBinding } {
  const name = BootstrapRoleName.NodeLease;
  return {
    role: {
      apiVersion: `${RBAC_API_GROUP}/v1`,
      kind: 'Role',
      metadata: meta(name, NODE_LEASE_NAMESPACE),
      rules: [rule(['get', 'create', 'update', 'patch', 'delete'], [COORDINATION], ['leases'])],
    },
    binding: {
      apiVersion: `${RBAC_API_GROUP}/v1`,
      kind: 'RoleBinding',
      metadata: meta(name, NODE_LEASE_NAMESPACE),
      roleRef: { apiGroup: RBAC_API_GROUP, kind: RoleRefKind.Role, name },
      subjects: [group(SpecialGroup.Nodes)],
    },
  };
}

export function bootstrapPolicy(): BootstrapPolicy {
  const nodeLease = nodeLeaseObjects();
  return {
    clusterRoles: [
      clusterRole(BootstrapRoleName.ClusterAdmin, [
        rule([RBAC_WILDCARD], [RBAC_WILDCARD], [RBAC_WILDCARD]),
        nonResourceRule([RBAC_WILDCARD], [RBAC_WILDCARD]),
      ]),
      clusterRole(BootstrapRoleName.Admin, adminRules()),
      clusterRole(BootstrapRoleName.Edit, editRules()),
      clusterRole(BootstrapRoleName.View, viewRules()),
      clusterRole(BootstrapRoleName.Discovery, [nonResourceRule(['get'], DISCOVERY_PATHS)]),
      clusterRole(BootstrapRoleName.BasicUser, [
        rule(['create'], [AUTHORIZATION], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
        rule(['create'], [AUTHENTICATION], ['selfsubjectreviews']),
      ]),
      clusterRole(BootstrapRoleName.KubeScheduler, schedulerRules()),
      clusterRole(BootstrapRoleName.KubeControllerManager, controllerManagerRules()),
      clusterRole(BootstrapRoleName.Node, nodeRules()),
    ],
    clusterRoleBindings: [
      clusterRoleBinding(BootstrapRoleName.ClusterAdmin, [group(SpecialGroup.Masters)]),
      clusterRoleBinding(BootstrapRoleName.Discovery, [group(SpecialGroup.Authenticated)]),
      clusterRoleBinding(BootstrapRoleName.BasicUser, [group(SpecialGroup.Authenticated)]),
      clusterRoleBinding(BootstrapRoleName.KubeScheduler, [user(SpecialUser.KubeScheduler)]),
      clusterRoleBinding(BootstrapRoleName.KubeControllerManager, [user(SpecialUser.KubeControllerManager)]),
      clusterRoleBinding(BootstrapRoleName.Node, [group(SpecialGroup.Nodes)]),
    ],
    roles: [nodeLease.role],
    roleBindings: [nodeLease.binding],
  };
}
