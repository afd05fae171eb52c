/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding,
 * ClusterRoleBinding. Open like core-v1: unknown fields survive a round trip.
 */
import type { KubeObject } from './meta.js';
import type { LabelSelector, Open } from './core-v1.js';

export const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule extends Open {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  /** Only in ClusterRoles: paths like "/healthz" or "/api/*". */
  nonResourceURLs?: string[];
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface AggregationRule extends Open {
  clusterRoleSelectors?: LabelSelector[];
}

export interface ClusterRole extends KubeObject {
  rules?: PolicyRule[];
  aggregationRule?: AggregationRule;
}

export const SubjectKind = { ServiceAccount: 'ServiceAccount', User: 'User', Group: 'Group' } as const;
export type SubjectKind = (typeof SubjectKind)[keyof typeof SubjectKind];

export interface Subject extends Open {
  kind: SubjectKind;
  /** "" for ServiceAccount, RBAC_API_GROUP for User and Group. */
  apiGroup?: string;
  name: string;
  /** Required for ServiceAccount subjects of a ClusterRoleBinding. */
  namespace?: string;
}

export interface RoleRef extends Open {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface RoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}
