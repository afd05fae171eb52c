/**
 * The JSON-schema subset Strake publishes, and small constructors that keep
 * the definition files readable. Schemas are written once, with `$ref`s in the
 * Swagger 2.0 form (`#/definitions/<name>`); the v3 builder rewrites them.
 *
 * What kubectl's OpenAPI reader (kube-openapi `util/proto`) accepts shapes these
 * helpers: a `$ref` schema carries nothing but the reference and a
 * description (a type or properties beside it make kubectl reject the whole
 * document); an array has exactly one `items` schema; an object with no
 * `properties` is a map of `additionalProperties` (or of anything).
 */

export const PrimitiveType = {
  String: 'string',
  Integer: 'integer',
  Number: 'number',
  Boolean: 'boolean',
} as const;
export type PrimitiveType = (typeof PrimitiveType)[keyof typeof PrimitiveType];
export type SchemaType = PrimitiveType | 'object' | 'array';

export interface GroupVersionKind {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** How a strategic merge patch treats a field (`x-kubernetes-patch-strategy`). */
export type PatchStrategy = 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';

export interface Schema {
  readonly $ref?: string;
  readonly description?: string;
  readonly type?: SchemaType;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly additionalProperties?: Schema;
  readonly enum?: readonly string[];
  /** On top-level kinds: the group-version-kinds whose objects this schema describes. */
  readonly 'x-kubernetes-group-version-kind'?: readonly GroupVersionKind[];
  /** On lists merged by key: the item field that identifies an element. */
  readonly 'x-kubernetes-patch-merge-key'?: string;
  readonly 'x-kubernetes-patch-strategy'?: PatchStrategy;
  /** `atomic`: a patch replaces the whole object/map instead of merging it. */
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** Definition name → schema; names are Kubernetes' (`io.k8s.api.core.v1.Pod`). */
export type Definitions = Readonly<Record<string, Schema>>;

export const DEFINITIONS_PREFIX = '#/definitions/';

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
export const CORE = 'io.k8s.api.core.v1.';
export const APPS = 'io.k8s.api.apps.v1.';
export const AUTOSCALING = 'io.k8s.api.autoscaling.v1.';
export const COORDINATION = 'io.k8s.api.coordination.v1.';
export const RBAC = 'io.k8s.api.rbac.v1.';
export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const TIME = `${META}Time`;
export const MICRO_TIME = `${META}MicroTime`;
export const OBJECT_META = `${META}ObjectMeta`;
export const LIST_META = `${META}ListMeta`;
export const LABEL_SELECTOR = `${META}LabelSelector`;

export function str(description: string, extra: { format?: string; enum?: readonly string[] } = {}): Schema {
  return { type: 'string', description, ...extra };
}

export function int32(description: string): Schema {
  return { type: 'integer', format: 'int32', description };
}

export function int64(description: string): Schema {
  return { type: 'integer', format: 'int64', description };
}

export function bool(description: string): Schema {
  return { type: 'boolean', description };
}

export function ref(definition: string, description?: string): Schema {
  return description === undefined
    ? { $ref: DEFINITIONS_PREFIX + definition }
    : { $ref: DEFINITIONS_PREFIX + definition, description };
}

export function arrayOf(items: Schema, description: string): Schema {
  return { type: 'array', description, items };
}

export function stringList(description: string): Schema {
  return arrayOf({ type: 'string' }, description);
}

export function mapOf(values: Schema, description: string): Schema {
  return { type: 'object', description, additionalProperties: values };
}

export function stringMap(description: string): Schema {
  return mapOf({ type: 'string' }, description);
}

export function quantityMap(description: string): Schema {
  return mapOf(ref(QUANTITY), description);
}

export function time(description: string): Schema {
  return ref(TIME, description);
}

export function object(
  description: string,
  properties: Readonly<Record<string, Schema>>,
  required: readonly string[] = [],
): Schema {
  return required.length === 0
    ? { type: 'object', description, properties }
    : { type: 'object', description, properties, required };
}

/** The `apiVersion` and `kind` fields every top-level object carries. */
export function typeMeta(): Record<string, Schema> {
  return {
    apiVersion: str('The versioned schema of this object, `group/version` (`v1` for the core group).'),
    kind: str('The kind of this object, in CamelCase (`Pod`, `Deployment`, ...).'),
  };
}

/**
 * A top-level kind: apiVersion, kind and metadata first, then `properties`,
 * tagged with its group-version-kind so kubectl can find it.
 */
export function kind(
  gvk: GroupVersionKind,
  description: string,
  properties: Readonly<Record<string, Schema>>,
  required: readonly string[] = [],
): Schema {
  return {
    ...object(description, {
      ...typeMeta(),
      metadata: ref(OBJECT_META, "Standard object metadata: name, namespace, labels, annotations, owners, ..."),
      ...properties,
    }, required),
    'x-kubernetes-group-version-kind': [gvk],
  };
}

/** The `<Kind>List` kind that list calls answer with. */
export function listKind(gvk: GroupVersionKind, itemDefinition: string): Schema {
  return {
    ...object(`A list of ${gvk.kind} objects.`, {
      ...typeMeta(),
      metadata: ref(LIST_META, 'Standard list metadata: resourceVersion and continue token.'),
      items: arrayOf(ref(itemDefinition), `The ${gvk.kind} objects.`),
    }, ['items']),
    'x-kubernetes-group-version-kind': [{ ...gvk, kind: `${gvk.kind}List` }],
  };
}

export function gvk(group: string, version: string, kindName: string): GroupVersionKind {
  return { group, version, kind: kindName };
}
