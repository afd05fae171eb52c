/**
 * rbac.authorization.k8s.io/v1: rules that say what they grant, bindings that
 * point at a role and name who receives it.
 */
import { RBAC_API_GROUP } from '../../proto/k8s/rbac-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  index,
  invalid,
  isRecord,
  listAt,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { jsonEqual } from './json-equal.js';
import { validateLabelSelector } from './label-selector.js';
import { NamespaceScope, validateObjectMeta, validateObjectMetaUpdate, type MetaRules } from './meta.js';
import { nameIsDnsSubdomain, nameIsPathSegment } from './names.js';

const SUBJECT_KINDS: readonly string[] = ['ServiceAccount', 'User', 'Group'];

const NAMESPACED_RULES: MetaRules = { scope: NamespaceScope.Namespaced, name: nameIsPathSegment };
const CLUSTER_RULES: MetaRules = { scope: NamespaceScope.Cluster, name: nameIsPathSegment };

function validatePolicyRule(raw: unknown, namespaced: boolean, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const rule = recordAt(raw, path, errors);
  const count = (field: string): number => listAt(rule[field], child(path, field), errors).length;
  if (count('verbs') === 0) errors.push(required(child(path, 'verbs'), 'verbs must contain at least one value'));
  if (count('nonResourceURLs') > 0) {
    const at = child(path, 'nonResourceURLs');
    if (namespaced) errors.push(invalid(at, rule['nonResourceURLs'], 'namespaced rules cannot apply to non-resource URLs'));
    if (count('apiGroups') > 0 || count('resources') > 0 || count('resourceNames') > 0) {
      errors.push(invalid(at, rule['nonResourceURLs'], 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return errors;
  }
  if (count('apiGroups') === 0) errors.push(required(child(path, 'apiGroups'), 'resource rules must supply at least one api group'));
  if (count('resources') === 0) errors.push(required(child(path, 'resources'), 'resource rules must supply at least one resource'));
  return errors;
}

function validateRules(obj: JsonRecord, namespaced: boolean): FieldError[] {
  const errors: FieldError[] = [];
  listAt(obj['rules'], 'rules', errors).forEach((rule, i) => errors.push(...validatePolicyRule(rule, namespaced, index('rules', i))));
  return errors;
}

function metaUpdate(obj: JsonRecord, old: unknown): FieldError[] {
  return isRecord(old) ? validateObjectMetaUpdate(obj['metadata'], old['metadata']) : [];
}

export function validateRole(role: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(role, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], NAMESPACED_RULES));
  errors.push(...validateRules(obj, true));
  return [...errors, ...metaUpdate(obj, old)];
}

export function validateClusterRole(role: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(role, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], CLUSTER_RULES));
  errors.push(...validateRules(obj, false));
  if (obj['aggregationRule'] !== undefined && obj['aggregationRule'] !== null) {
    const at = 'aggregationRule.clusterRoleSelectors';
    const selectors = listAt(recordAt(obj['aggregationRule'], 'aggregationRule', errors)['clusterRoleSelectors'], at, errors);
    if (selectors.length === 0) errors.push(required(at, 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
    selectors.forEach((s, i) => errors.push(...validateLabelSelector(s, index(at, i))));
  }
  return [...errors, ...metaUpdate(obj, old)];
}

function validateSubject(raw: unknown, namespaced: boolean, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const subject = recordAt(raw, path, errors);
  const name = stringAt(subject['name'], child(path, 'name'), errors);
  const apiGroup = stringAt(subject['apiGroup'], child(path, 'apiGroup'), errors);
  if (name === '') errors.push(required(child(path, 'name')));
  switch (subject['kind']) {
    case 'ServiceAccount':
      if (name !== '') for (const msg of nameIsDnsSubdomain(name, false)) errors.push(invalid(child(path, 'name'), name, msg));
      if (apiGroup !== '') errors.push(notSupported(child(path, 'apiGroup'), apiGroup, ['']));
      if (!namespaced && stringAt(subject['namespace'], child(path, 'namespace'), errors) === '') {
        errors.push(required(child(path, 'namespace')));
      }
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_API_GROUP) errors.push(notSupported(child(path, 'apiGroup'), apiGroup, [RBAC_API_GROUP]));
      break;
    default:
      errors.push(notSupported(child(path, 'kind'), subject['kind'] ?? '', SUBJECT_KINDS));
  }
  return errors;
}

function validateBinding(obj: JsonRecord, namespaced: boolean, old: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const roleRef = recordAt(obj['roleRef'], 'roleRef', errors);
  const apiGroup = stringAt(roleRef['apiGroup'], 'roleRef.apiGroup', errors);
  if (apiGroup !== RBAC_API_GROUP) errors.push(notSupported('roleRef.apiGroup', apiGroup, [RBAC_API_GROUP]));
  // A ClusterRoleBinding grants cluster-wide, so it can only point at a ClusterRole.
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  const kind = roleRef['kind'];
  if (typeof kind !== 'string' || !kinds.includes(kind)) errors.push(notSupported('roleRef.kind', kind ?? '', kinds));
  const name = stringAt(roleRef['name'], 'roleRef.name', errors);
  if (name === '') errors.push(required('roleRef.name'));
  else for (const msg of nameIsPathSegment(name, false)) errors.push(invalid('roleRef.name', name, msg));
  listAt(obj['subjects'], 'subjects', errors).forEach((s, i) => errors.push(...validateSubject(s, namespaced, index('subjects', i))));
  if (isRecord(old)) {
    errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
    // Changing what a binding grants in place would race with caches holding the old grant.
    if (!jsonEqual(obj['roleRef'], old['roleRef'])) errors.push(invalid('roleRef', obj['roleRef'] ?? null, 'cannot change roleRef'));
  }
  return errors;
}

export function validateRoleBinding(binding: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(binding, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], NAMESPACED_RULES));
  return [...errors, ...validateBinding(obj, true, old)];
}

export function validateClusterRoleBinding(binding: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(binding, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], CLUSTER_RULES));
  return [...errors, ...validateBinding(obj, false, old)];
}
