/**
 * Entry points of validation: per-kind dispatch of defaulting and validation.
 *
 * The API server calls, for every create and update:
 *   const object = applyDefaults(kind, body);
 *   const errors = validateObject(kind, object, storedObject);   // storedObject only on update
 * and answers 422 Invalid with the errors as causes when there are any.
 * `defaultAndValidate` does both.
 */
import type { FieldError, KubeObject } from '../../proto/k8s/meta.js';
import { validateConfigMap, validateSecret } from './config.js';
import {
  defaultDeployment,
  defaultEndpoints,
  defaultNamespace,
  defaultNode,
  defaultPod,
  defaultReplicaSet,
  defaultRoleBinding,
  defaultSecret,
  defaultService,
} from './defaults.js';
import { isRecord } from './field-errors.js';
import { NamespaceScope, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { validateEvent, validateLease, validateNamespace, validateNode, validateServiceAccount } from './misc.js';
import { nameValidatorForKind } from './names.js';
import { validatePod } from './pod.js';
import { validatePodUpdate } from './pod-update.js';
import { validateClusterRole, validateClusterRoleBinding, validateRole, validateRoleBinding } from './rbac.js';
import { validateEndpoints, validateService } from './service.js';
import { validateDeployment, validateReplicaSet } from './workloads.js';

export type Validator = (obj: unknown, old?: unknown) => FieldError[];
export type Defaulter = <T>(obj: T) => T;

/** The kinds with their own rules; any other kind gets metadata validation only. */
export const ValidatedKind = {
  Pod: 'Pod',
  Node: 'Node',
  Namespace: 'Namespace',
  Service: 'Service',
  Endpoints: 'Endpoints',
  ConfigMap: 'ConfigMap',
  Secret: 'Secret',
  Event: 'Event',
  ServiceAccount: 'ServiceAccount',
  Deployment: 'Deployment',
  ReplicaSet: 'ReplicaSet',
  Lease: 'Lease',
  Role: 'Role',
  ClusterRole: 'ClusterRole',
  RoleBinding: 'RoleBinding',
  ClusterRoleBinding: 'ClusterRoleBinding',
} as const;
export type ValidatedKind = (typeof ValidatedKind)[keyof typeof ValidatedKind];

const VALIDATORS: Readonly<Record<ValidatedKind, Validator>> = {
  Pod: (obj, old) => (old === undefined ? validatePod(obj) : validatePodUpdate(obj, old)),
  Node: validateNode,
  Namespace: validateNamespace,
  Service: validateService,
  Endpoints: validateEndpoints,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  Event: validateEvent,
  ServiceAccount: validateServiceAccount,
  Deployment: validateDeployment,
  ReplicaSet: validateReplicaSet,
  Lease: validateLease,
  Role: validateRole,
  ClusterRole: validateClusterRole,
  RoleBinding: validateRoleBinding,
  ClusterRoleBinding: validateClusterRoleBinding,
};

const identity: Defaulter = (obj) => structuredClone(obj);

const DEFAULTERS: Readonly<Record<ValidatedKind, Defaulter>> = {
  Pod: defaultPod,
  Node: defaultNode,
  Namespace: defaultNamespace,
  Service: defaultService,
  Endpoints: defaultEndpoints,
  ConfigMap: identity,
  Secret: defaultSecret,
  Event: identity,
  ServiceAccount: identity,
  Deployment: defaultDeployment,
  ReplicaSet: defaultReplicaSet,
  Lease: identity,
  Role: identity,
  ClusterRole: identity,
  RoleBinding: defaultRoleBinding,
  ClusterRoleBinding: defaultRoleBinding,
};

function isValidatedKind(kind: string): kind is ValidatedKind {
  return Object.hasOwn(ValidatedKind, kind);
}

/** Kinds without their own rules: metadata syntax, and immutable metadata on update. */
function validateUnknownKind(kind: string): Validator {
  return (obj, old) => {
    const meta = isRecord(obj) ? obj['metadata'] : undefined;
    const errors = validateObjectMeta(meta, { scope: NamespaceScope.Either, name: nameValidatorForKind(kind) });
    if (isRecord(old)) errors.push(...validateObjectMetaUpdate(meta, old['metadata']));
    return errors;
  };
}

/**
 * Identical errors reported by two rules (the pod create and update rules both
 * require an image) appear once, as Kubernetes' error aggregation does.
 */
function dedupe(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.type}\u0000${e.field}\u0000${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * Every problem with `obj` (a defaulted object of `kind`), in Kubernetes'
 * terms; empty when valid. `old` is the stored object on update. Never throws,
 * whatever JSON it is given.
 */
export function validateObject(kind: string, obj: KubeObject, old?: KubeObject): FieldError[] {
  const validator = isValidatedKind(kind) ? VALIDATORS[kind] : validateUnknownKind(kind);
  return dedupe(validator(obj, old));
}

/** A defaulted copy of `obj`; `obj` itself is not changed. Unknown kinds are copied unchanged. */
export function applyDefaults<T extends KubeObject>(kind: string, obj: T): T {
  return isValidatedKind(kind) ? DEFAULTERS[kind](obj) : structuredClone(obj);
}

export interface Prepared<T> {
  /** The defaulted object: what is stored when `errors` is empty. */
  readonly object: T;
  readonly errors: FieldError[];
}

/** applyDefaults then validateObject: the whole admission step for a create (no `old`) or an update. */
export function defaultAndValidate<T extends KubeObject>(kind: string, obj: T, old?: KubeObject): Prepared<T> {
  const object = applyDefaults(kind, obj);
  return { object, errors: validateObject(kind, object, old) };
}
