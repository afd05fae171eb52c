/** rbac.authorization.k8s.io/v1: roles, cluster roles and their bindings. */
import {
  LABEL_SELECTOR, RBAC,
  arrayOf, gvk, kind, object, ref, str, stringList,
  type Definitions,
} from './builders.js';

const rbac = (kindName: string) => gvk('rbac.authorization.k8s.io', 'v1', kindName);

const rules = arrayOf(ref(`${RBAC}PolicyRule`), 'What the role allows; permissions add up, nothing is denied.');
const subjects = arrayOf(ref(`${RBAC}Subject`), 'Users, groups and service accounts granted the role.');
const roleRef = ref(`${RBAC}RoleRef`, 'The role granted. Cannot be changed; delete and recreate the binding instead.');

export const RBAC_DEFINITIONS: Definitions = {
  [`${RBAC}Role`]: kind(rbac('Role'), 'Permissions within one namespace.', { rules }),
  [`${RBAC}ClusterRole`]: kind(rbac('ClusterRole'), 'Permissions cluster-wide, or within any namespace it is bound in.', {
    rules,
    aggregationRule: ref(`${RBAC}AggregationRule`, 'If set, rules are the union of the matching cluster roles\' rules, kept by a controller.'),
  }),
  [`${RBAC}RoleBinding`]: kind(rbac('RoleBinding'), 'Grants a Role or ClusterRole to subjects within one namespace.', { subjects, roleRef }, ['roleRef']),
  [`${RBAC}ClusterRoleBinding`]: kind(rbac('ClusterRoleBinding'), 'Grants a ClusterRole to subjects cluster-wide.', { subjects, roleRef }, ['roleRef']),

  [`${RBAC}PolicyRule`]: object('Verbs allowed on resources (or on non-resource URLs).', {
    verbs: stringList('Allowed verbs: get, list, watch, create, update, patch, delete, deletecollection, or "*".'),
    apiGroups: stringList('API groups of the resources; "" is the core group, "*" all.'),
    resources: stringList('Resources, e.g. pods or pods/log; "*" for all.'),
    resourceNames: stringList('Object names the rule is limited to; empty for all.'),
    nonResourceURLs: stringList('URL paths like /healthz, for cluster roles only.'),
  }, ['verbs']),
  [`${RBAC}Subject`]: {
    ...object('Who a binding grants a role to.', {
      kind: str('User, Group or ServiceAccount.'),
      apiGroup: str('"rbac.authorization.k8s.io" for User and Group, "" for ServiceAccount.'),
      name: str('Name of the subject.'),
      namespace: str('Namespace of a ServiceAccount.'),
    }, ['kind', 'name']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${RBAC}RoleRef`]: {
    ...object('The role a binding grants.', {
      apiGroup: str('rbac.authorization.k8s.io'),
      kind: str('Role or ClusterRole.'),
      name: str('Name of the role.'),
    }, ['apiGroup', 'kind', 'name']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${RBAC}AggregationRule`]: object('Builds a cluster role out of others.', {
    clusterRoleSelectors: arrayOf(ref(LABEL_SELECTOR), 'Cluster roles whose labels match any selector contribute their rules.'),
  }),
};
