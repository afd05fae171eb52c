/**
 * The RBAC authorizer: Kubernetes' rbac.authorization.k8s.io/v1 semantics over
 * Roles, ClusterRoles and their bindings, read through `RbacSource` (the caller
 * backs it with a watch cache). Pure: the same objects and request give the same
 * decision.
 *
 * A request is allowed when some rule reachable from a binding whose subjects
 * include the user allows it:
 *  - ClusterRoleBindings apply everywhere and reference ClusterRoles;
 *  - RoleBindings apply in their own namespace and reference a Role of that
 *    namespace or a ClusterRole, whose rules then apply in that namespace only.
 * There is no deny rule: permissions only add up. Members of `system:masters`
 * are allowed everything, as Kubernetes' superuser group is, even with no RBAC
 * objects at all (so an administrator can always repair a broken policy).
 *
 * The object types are proto/k8s/rbac-v1's, re-exported for callers' convenience.
 * Stored objects are outside input: kinds outside the declared unions can still
 * arrive at run time, and grant nothing.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import {
  RBAC_API_GROUP,
  SubjectKind,
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type Role,
  type RoleBinding,
  type RoleRef,
  type Subject,
} from '../../proto/k8s/rbac-v1.js';
import { SpecialGroup, serviceAccountUserName, type UserInfo } from './user.js';

/** Matches every verb, group, resource or path in a rule. */
export const RBAC_WILDCARD = '*';

// ---------------------------------------------------------------- objects

export { RBAC_API_GROUP, SubjectKind };
export type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject };

/** The kinds a roleRef may name. */
export const RoleRefKind = { Role: 'Role', ClusterRole: 'ClusterRole' } as const satisfies Record<string, RoleRef['kind']>;
export type RoleRefKind = (typeof RoleRefKind)[keyof typeof RoleRefKind];

/** What the authorizer reads; the caller implements it over its watch cache. */
export interface RbacSource {
  getClusterRole(name: string): ClusterRole | undefined;
  listClusterRoleBindings(): readonly ClusterRoleBinding[];
  getRole(namespace: string, name: string): Role | undefined;
  listRoleBindings(namespace: string): readonly RoleBinding[];
}

// ---------------------------------------------------------------- requests

/** A request for an API object (or a collection of them). */
export interface ResourceAttributes {
  readonly verb: string;
  /** '' for the core group. */
  readonly apiGroup: string;
  /** Lower-case plural, e.g. `pods`. */
  readonly resource: string;
  /** e.g. `log`, `status`, `scale`. */
  readonly subresource?: string;
  /** Absent or '' for cluster-scoped requests (and lists across all namespaces). */
  readonly namespace?: string;
  /** Absent for list, watch, create and deletecollection. */
  readonly name?: string;
  readonly nonResourcePath?: undefined;
}

/** A request for a path that is not an API object (`/healthz`, `/api`, `/version`). */
export interface NonResourceAttributes {
  readonly verb: string;
  readonly nonResourcePath: string;
}

export type AuthorizationAttributes = ResourceAttributes | NonResourceAttributes;

export interface AuthorizationDecision {
  readonly allowed: boolean;
  /** Allowed: which binding and role allowed it. Denied: Kubernetes' Forbidden message. */
  readonly reason: string;
}

export function isNonResourceRequest(attributes: AuthorizationAttributes): attributes is NonResourceAttributes {
  return attributes.nonResourcePath !== undefined;
}

/**
 * Most resolution errors (missing roles) named in one denial. The reason goes
 * into a response body and a log line; dangling bindings must not make every
 * denial kilobytes long.
 */
export const RBAC_ERRORS_REPORTED_MAX = 5;

// ---------------------------------------------------------------- decision

export function authorize(
  user: UserInfo,
  attributes: AuthorizationAttributes,
  source: RbacSource,
): AuthorizationDecision {
  if (user.groups.includes(SpecialGroup.Masters)) {
    return { allowed: true, reason: `allowed: user ${q(user.name)} is in the superuser group ${q(SpecialGroup.Masters)}` };
  }
  const errors: string[] = [];
  for (const binding of source.listClusterRoleBindings()) {
    const subject = matchingSubject(user, binding.subjects, '');
    if (subject === undefined) continue;
    const rules = clusterBindingRules(binding, source);
    if (typeof rules === 'string') {
      errors.push(rules);
      continue;
    }
    if (rules.some((rule) => ruleAllows(attributes, rule))) {
      const described = `ClusterRoleBinding ${q(nameOf(binding))} of ${binding.roleRef.kind} ${q(binding.roleRef.name)} to ${describeSubject(subject, '')}`;
      return { allowed: true, reason: `RBAC: allowed by ${described}` };
    }
  }
  const namespace = isNonResourceRequest(attributes) ? '' : (attributes.namespace ?? '');
  if (namespace !== '') {
    for (const binding of source.listRoleBindings(namespace)) {
      const subject = matchingSubject(user, binding.subjects, namespace);
      if (subject === undefined) continue;
      const rules = roleBindingRules(binding, namespace, source);
      if (typeof rules === 'string') {
        errors.push(rules);
        continue;
      }
      if (rules.some((rule) => ruleAllows(attributes, rule))) {
        const described = `RoleBinding ${q(`${nameOf(binding)}/${namespace}`)} of ${binding.roleRef.kind} ${q(binding.roleRef.name)} to ${describeSubject(subject, namespace)}`;
        return { allowed: true, reason: `RBAC: allowed by ${described}` };
      }
    }
  }
  return { allowed: false, reason: forbiddenMessage(user, attributes, errors) };
}

/** The rules of a ClusterRoleBinding's role, or why they cannot be read. */
function clusterBindingRules(binding: ClusterRoleBinding, source: RbacSource): readonly PolicyRule[] | string {
  const ref = binding.roleRef;
  if (ref.kind !== RoleRefKind.ClusterRole) {
    return `clusterrolebinding ${q(nameOf(binding))} references a ${ref.kind}; only a ClusterRole is allowed`;
  }
  const role = source.getClusterRole(ref.name);
  if (role === undefined) return `clusterrole.${RBAC_API_GROUP} ${q(ref.name)} not found`;
  return role.rules ?? [];
}

/** The rules of a RoleBinding's role (its namespace's Role, or a ClusterRole), or why they cannot be read. */
function roleBindingRules(binding: RoleBinding, namespace: string, source: RbacSource): readonly PolicyRule[] | string {
  const ref = binding.roleRef;
  switch (ref.kind) {
    case RoleRefKind.ClusterRole: {
      const role = source.getClusterRole(ref.name);
      if (role === undefined) return `clusterrole.${RBAC_API_GROUP} ${q(ref.name)} not found`;
      return role.rules ?? [];
    }
    case RoleRefKind.Role: {
      const role = source.getRole(namespace, ref.name);
      if (role === undefined) return `role.${RBAC_API_GROUP} ${q(ref.name)} not found`;
      return role.rules ?? [];
    }
    default:
      // Outside input (a stored object), so not an assertion: an unknown kind grants nothing.
      return `rolebinding ${q(`${nameOf(binding)}/${namespace}`)} references unknown kind ${q(ref.kind)}`;
  }
}

/** The first subject that names the user; `bindingNamespace` is '' for ClusterRoleBindings. */
function matchingSubject(
  user: UserInfo,
  subjects: readonly Subject[] | undefined,
  bindingNamespace: string,
): Subject | undefined {
  return (subjects ?? []).find((s) => subjectMatches(user, s, bindingNamespace));
}

export function subjectMatches(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case SubjectKind.User:
      return user.name === subject.name;
    case SubjectKind.Group:
      return user.groups.includes(subject.name);
    case SubjectKind.ServiceAccount: {
      const namespace = subject.namespace || bindingNamespace;
      // A ClusterRoleBinding's ServiceAccount subject without a namespace names nobody.
      if (namespace === '') return false;
      return user.name === serviceAccountUserName({ namespace, name: subject.name });
    }
    default:
      // A stored object may carry a kind outside the type's set; it names nobody.
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === SubjectKind.ServiceAccount) {
    return `${subject.kind} ${q(`${subject.name}/${subject.namespace || bindingNamespace}`)}`;
  }
  return `${subject.kind} ${q(subject.name)}`;
}

function nameOf(object: KubeObject): string {
  return object.metadata.name ?? '';
}

// ---------------------------------------------------------------- rules

/** Whether one rule allows the request (Kubernetes' RuleAllows). */
export function ruleAllows(attributes: AuthorizationAttributes, rule: PolicyRule): boolean {
  if (!matchesOrWildcard(rule.verbs, attributes.verb)) return false;
  if (isNonResourceRequest(attributes)) return nonResourceUrlMatches(rule, attributes.nonResourcePath);
  const subresource = attributes.subresource ?? '';
  const combined = subresource === '' ? attributes.resource : `${attributes.resource}/${subresource}`;
  return (
    matchesOrWildcard(rule.apiGroups, attributes.apiGroup) &&
    resourceMatches(rule, combined, subresource) &&
    resourceNameMatches(rule, attributes.name ?? '')
  );
}

function matchesOrWildcard(allowed: readonly string[] | undefined, value: string): boolean {
  return (allowed ?? []).some((a) => a === RBAC_WILDCARD || a === value);
}

/** `pods/log` matches `*`, `pods/log` and `*` + `/log` — but not `pods`: subresources are granted separately. */
function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) => r === RBAC_WILDCARD || r === combined || (subresource !== '' && r === `${RBAC_WILDCARD}/${subresource}`),
  );
}

/** An empty list allows every name — and unnamed requests (list, create); a non-empty one only those names. */
function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (name !== '' && names.includes(name));
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((url) => {
    if (url === RBAC_WILDCARD || url === path) return true;
    return url.endsWith(RBAC_WILDCARD) && path.startsWith(url.slice(0, -RBAC_WILDCARD.length));
  });
}

// ---------------------------------------------------------------- messages

/** Go's %q for the ASCII names these messages quote. */
function q(value: string): string {
  return JSON.stringify(value);
}

/** As Kubernetes does before writing the message into a response: a browser must not render it as HTML. */
function sanitize(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Kubernetes' Forbidden message, word for word, e.g.
 * `pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"`
 * or `forbidden: User "bob" cannot get path "/metrics"`. `errors` (roles that
 * could not be read) are appended as Kubernetes' RBAC authorizer does.
 */
export function forbiddenMessage(
  user: Pick<UserInfo, 'name'>,
  attributes: AuthorizationAttributes,
  errors: readonly string[] = [],
): string {
  const reason = errors.length === 0 ? '' : `: RBAC: ${describeErrors(errors)}`;
  if (isNonResourceRequest(attributes)) {
    return `forbidden: ${sanitize(`User ${q(user.name)} cannot ${attributes.verb} path ${q(attributes.nonResourcePath)}`)}${reason}`;
  }
  const { verb, apiGroup, resource, subresource, namespace, name } = attributes;
  const shownResource = subresource ? `${resource}/${subresource}` : resource;
  const scope = namespace ? `in the namespace ${q(namespace)}` : 'at the cluster scope';
  const detail = sanitize(`User ${q(user.name)} cannot ${verb} resource ${q(shownResource)} in API group ${q(apiGroup)} ${scope}`);
  const qualified = apiGroup === '' ? resource : `${resource}.${apiGroup}`;
  const subjectText = name ? `${qualified} ${q(name)}` : qualified;
  return `${subjectText} is forbidden: ${detail}${reason}`;
}

/** One error as is; several as Go's aggregate error prints them, `[a, b]`, at most RBAC_ERRORS_REPORTED_MAX. */
function describeErrors(errors: readonly string[]): string {
  if (errors.length === 1) return errors[0] ?? '';
  const shown = errors.slice(0, RBAC_ERRORS_REPORTED_MAX);
  const more = errors.length - shown.length;
  return `[${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}]`;
}

// ---------------------------------------------------------------- in-memory source

export interface RbacObjects {
  readonly clusterRoles?: readonly ClusterRole[];
  readonly clusterRoleBindings?: readonly ClusterRoleBinding[];
  readonly roles?: readonly Role[];
  readonly roleBindings?: readonly RoleBinding[];
}

/** An RbacSource over a fixed set of objects: for tests, and for authorizing before the watch cache is warm. */
export function rbacSourceFromObjects(objects: RbacObjects): RbacSource {
  const clusterRoles = new Map((objects.clusterRoles ?? []).map((r) => [nameOf(r), r] as const));
  const roles = new Map((objects.roles ?? []).map((r) => [`${r.metadata.namespace ?? ''}/${nameOf(r)}`, r] as const));
  const clusterRoleBindings = [...(objects.clusterRoleBindings ?? [])];
  const roleBindings = objects.roleBindings ?? [];
  return {
    getClusterRole: (name) => clusterRoles.get(name),
    listClusterRoleBindings: () => clusterRoleBindings,
    getRole: (namespace, name) => roles.get(`${namespace}/${name}`),
    listRoleBindings: (namespace) => roleBindings.filter((b) => (b.metadata.namespace ?? '') === namespace),
  };
}
