/**
 * `kubectl get rolebindings` and `clusterrolebindings`: NAME ROLE AGE, wide USERS
 * GROUPS SERVICEACCOUNTS, as Kubernetes 1.32 renders them. Roles and ClusterRoles
 * have no printer in Kubernetes: they get the default NAME / CREATED AT table.
 */
import { ageColumn, ageOf, column, fields, list, nameColumn, str, type Fields, type Printer } from './printer.js';

const rbacDoc = {
  roleBindingRoleRef:
    'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.',
  clusterRoleBindingRoleRef:
    'RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.',
} as const;

function bindingPrinter(roleRefDoc: string, bindingWord: 'roleBinding' | 'clusterRoleBinding'): Printer {
  return {
    columns: [
      nameColumn,
      column('Role', 'string', roleRefDoc),
      ageColumn,
      column('Users', 'string', `Users in the ${bindingWord}`, { priority: 1 }),
      column('Groups', 'string', `Groups in the ${bindingWord}`, { priority: 1 }),
      column('ServiceAccounts', 'string', `ServiceAccounts in the ${bindingWord}`, { priority: 1 }),
    ],
    cells(binding, nowMs) {
      const roleRef = fields(binding['roleRef']);
      const subjects = subjectNames(list(binding['subjects']));
      return [
        str(binding.metadata.name),
        `${str(roleRef['kind'])}/${str(roleRef['name'])}`,
        ageOf(binding, nowMs),
        subjects.users.join(', '),
        subjects.groups.join(', '),
        subjects.serviceAccounts.join(', '),
      ];
    },
  };
}

export const roleBindingPrinter = bindingPrinter(rbacDoc.roleBindingRoleRef, 'roleBinding');
export const clusterRoleBindingPrinter = bindingPrinter(rbacDoc.clusterRoleBindingRoleRef, 'clusterRoleBinding');

/** Subjects by kind, in order; service accounts as `namespace/name`. Other kinds are not shown. */
function subjectNames(subjects: Fields[]): { users: string[]; groups: string[]; serviceAccounts: string[] } {
  const out = { users: [] as string[], groups: [] as string[], serviceAccounts: [] as string[] };
  for (const subject of subjects) {
    const name = str(subject['name']);
    switch (subject['kind']) {
      case 'User':
        out.users.push(name);
        break;
      case 'Group':
        out.groups.push(name);
        break;
      case 'ServiceAccount':
        out.serviceAccounts.push(`${str(subject['namespace'])}/${name}`);
        break;
    }
  }
  return out;
}
