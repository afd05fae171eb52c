/**
 * ObjectMeta validation shared by every kind: name or generateName, namespace
 * scope, labels, annotations, owner references, finalizers; and on update the
 * fields that never change once an object exists.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  IMMUTABLE,
  child,
  forbidden,
  index,
  invalid,
  isRecord,
  listAt,
  nonNegative,
  recordAt,
  required,
  stringAt,
  tooLong,
  type JsonRecord,
} from './field-errors.js';
import { isDns1123Label, isLabelValue, isQualifiedName, type NameValidator } from './names.js';

/**
 * Total bytes of all annotation keys and values of one object. Annotations
 * live in the object, which etcd stores whole; Kubernetes keeps them to 256 KiB.
 */
export const ANNOTATIONS_TOTAL_BYTES_MAX = 256 * 1024;

export const NamespaceScope = {
  /** The object lives in a namespace: metadata.namespace is required. */
  Namespaced: 'Namespaced',
  /** Cluster-scoped: metadata.namespace must be empty. */
  Cluster: 'Cluster',
  /** Unknown kinds: a namespace is checked for syntax only. */
  Either: 'Either',
} as const;
export type NamespaceScope = (typeof NamespaceScope)[keyof typeof NamespaceScope];

export interface MetaRules {
  readonly scope: NamespaceScope;
  readonly name: NameValidator;
}

/** Deletion-control finalizers the garbage collector understands. */
const ORPHAN_FINALIZER = 'orphan';
const FOREGROUND_FINALIZER = 'foregroundDeletion';

const utf8 = new TextEncoder();

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(recordAt(labels, path, errors))) {
    for (const msg of isQualifiedName(k)) errors.push(invalid(path, k, msg));
    if (typeof v !== 'string') {
      errors.push(invalid(path, v, 'label values must be strings'));
      continue;
    }
    for (const msg of isLabelValue(v)) errors.push(invalid(path, v, msg));
  }
  return errors;
}

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let totalBytes = 0;
  for (const [k, v] of Object.entries(recordAt(annotations, path, errors))) {
    // Kubernetes ignores case in annotation keys' syntax.
    for (const msg of isQualifiedName(k.toLowerCase())) errors.push(invalid(path, k, msg));
    if (typeof v !== 'string') {
      errors.push(invalid(path, v, 'annotation values must be strings'));
      continue;
    }
    totalBytes += utf8.encode(k).length + utf8.encode(v).length;
  }
  if (totalBytes > ANNOTATIONS_TOTAL_BYTES_MAX) errors.push(tooLong(path, ANNOTATIONS_TOTAL_BYTES_MAX));
  return errors;
}

export function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const controllers: string[] = [];
  listAt(refs, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const ref = recordAt(raw, at, errors);
    const apiVersion = stringAt(ref['apiVersion'], child(at, 'apiVersion'), errors);
    // The version is what follows the last '/', or all of it for the core group ("v1").
    if (apiVersion.slice(apiVersion.lastIndexOf('/') + 1) === '') {
      errors.push(invalid(child(at, 'apiVersion'), apiVersion, 'version must not be empty'));
    }
    for (const field of ['kind', 'name', 'uid'] as const) {
      const value = stringAt(ref[field], child(at, field), errors);
      if (value === '') errors.push(invalid(child(at, field), value, `${field} must not be empty`));
    }
    if (ref['controller'] === true) controllers.push(`${String(ref['kind'])}/${String(ref['name'])}`);
  });
  if (controllers.length > 1) {
    errors.push(
      invalid(
        path,
        refs,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`,
      ),
    );
  }
  return errors;
}

export function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = listAt(finalizers, path, errors);
  names.forEach((name, i) => {
    const at = index(path, i);
    const value = stringAt(name, at, errors);
    for (const msg of isQualifiedName(value)) errors.push(invalid(at, value, msg));
  });
  if (names.includes(ORPHAN_FINALIZER) && names.includes(FOREGROUND_FINALIZER)) {
    errors.push(
      invalid(path, finalizers, `finalizer ${ORPHAN_FINALIZER} and ${FOREGROUND_FINALIZER} cannot be both set`),
    );
  }
  return errors;
}

function validateNamespaceField(meta: JsonRecord, scope: NamespaceScope, path: string, errors: FieldError[]): void {
  const at = child(path, 'namespace');
  const namespace = stringAt(meta['namespace'], at, errors);
  if (scope === NamespaceScope.Cluster) {
    if (namespace !== '') errors.push(forbidden(at, 'not allowed on this type'));
    return;
  }
  if (namespace === '') {
    if (scope === NamespaceScope.Namespaced) errors.push(required(at));
    return;
  }
  for (const msg of isDns1123Label(namespace)) errors.push(invalid(at, namespace, msg));
}

function validateNameFields(meta: JsonRecord, rules: MetaRules, path: string, errors: FieldError[]): void {
  const generateName = stringAt(meta['generateName'], child(path, 'generateName'), errors);
  const name = stringAt(meta['name'], child(path, 'name'), errors);
  if (generateName !== '') {
    for (const msg of rules.name(generateName, true)) errors.push(invalid(child(path, 'generateName'), generateName, msg));
  }
  if (name === '') {
    if (generateName === '') errors.push(required(child(path, 'name'), 'name or generateName is required'));
    return;
  }
  for (const msg of rules.name(name, false)) errors.push(invalid(child(path, 'name'), name, msg));
}

/** Everything Kubernetes checks in metadata on create (and, with the update rules, on update). */
export function validateObjectMeta(metadata: unknown, rules: MetaRules, path = 'metadata'): FieldError[] {
  const errors: FieldError[] = [];
  const meta = recordAt(metadata, path, errors);
  validateNameFields(meta, rules, path, errors);
  validateNamespaceField(meta, rules.scope, path, errors);
  errors.push(...nonNegative(child(path, 'generation'), meta['generation']));
  errors.push(...validateLabels(meta['labels'], child(path, 'labels')));
  errors.push(...validateAnnotations(meta['annotations'], child(path, 'annotations')));
  errors.push(...validateOwnerReferences(meta['ownerReferences'], child(path, 'ownerReferences')));
  errors.push(...validateFinalizers(meta['finalizers'], child(path, 'finalizers')));
  return errors;
}

/**
 * What may not change on update. uid and creationTimestamp are compared only
 * when the new object carries them: like Kubernetes, the server copies them
 * from the stored object when a client leaves them out.
 */
export function validateObjectMetaUpdate(metadata: unknown, oldMetadata: unknown, path = 'metadata'): FieldError[] {
  if (!isRecord(metadata) || !isRecord(oldMetadata)) return [];
  const errors: FieldError[] = [];
  for (const field of ['name', 'namespace'] as const) {
    if ((metadata[field] ?? '') !== (oldMetadata[field] ?? '')) {
      errors.push(invalid(child(path, field), metadata[field] ?? '', IMMUTABLE));
    }
  }
  for (const field of ['uid', 'creationTimestamp'] as const) {
    const value = metadata[field];
    if (value !== undefined && value !== '' && value !== oldMetadata[field]) {
      errors.push(invalid(child(path, field), value, IMMUTABLE));
    }
  }
  if (typeof oldMetadata['deletionTimestamp'] === 'string' && Array.isArray(metadata['finalizers'])) {
    const before = new Set(Array.isArray(oldMetadata['finalizers']) ? oldMetadata['finalizers'] : []);
    if (metadata['finalizers'].some((f) => !before.has(f))) {
      errors.push(forbidden(child(path, 'finalizers'), 'no new finalizers can be added if the object is being deleted'));
    }
  }
  return errors;
}
