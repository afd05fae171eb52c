/**
 * Every definition Strake publishes, by Kubernetes' definition name, with the
 * strategic-merge directives applied and a `<Kind>List` for each listable kind.
 * Index of the files: meta (apimachinery), core-container, core-pod,
 * core-volume, core (other core/v1 kinds), apps (+ autoscaling Scale),
 * coordination, rbac, authorization.
 */
import {
  APPS, COORDINATION, CORE, RBAC, listKind,
  type Definitions, type GroupVersionKind, type Schema,
} from './builders.js';
import { APPS_DEFINITIONS } from './apps.js';
import { AUTHORIZATION_DEFINITIONS } from './authorization.js';
import { COORDINATION_DEFINITIONS } from './coordination.js';
import { CORE_DEFINITIONS } from './core.js';
import { CORE_CONTAINER_DEFINITIONS } from './core-container.js';
import { CORE_POD_DEFINITIONS } from './core-pod.js';
import { CORE_VOLUME_DEFINITIONS } from './core-volume.js';
import { META_DEFINITIONS } from './meta.js';
import { BUILTIN_PATCH_SCHEMAS } from '../../patch/patch-schemas.js';
import { mustApplyPatchDirectives, mustDerivePatchDirectives } from './patch-directives.js';
import { RBAC_DEFINITIONS } from './rbac.js';

export type { Definitions, GroupVersionKind, Schema } from './builders.js';
export { DEFINITIONS_PREFIX, META } from './builders.js';

/** Kinds that have a list form (everything served as a collection). */
const LISTED_KINDS: readonly string[] = [
  `${CORE}Namespace`, `${CORE}Pod`, `${CORE}Node`, `${CORE}Service`, `${CORE}Endpoints`,
  `${CORE}ConfigMap`, `${CORE}Secret`, `${CORE}Event`, `${CORE}ServiceAccount`,
  `${APPS}Deployment`, `${APPS}ReplicaSet`,
  `${COORDINATION}Lease`,
  `${RBAC}Role`, `${RBAC}ClusterRole`, `${RBAC}RoleBinding`, `${RBAC}ClusterRoleBinding`,
];

function withLists(definitions: Definitions): Definitions {
  const out: Record<string, Schema> = { ...definitions };
  for (const name of LISTED_KINDS) {
    const gvk = definitions[name]?.['x-kubernetes-group-version-kind']?.[0];
    if (gvk === undefined) throw new Error(`listed kind ${name} has no definition with a group-version-kind`);
    out[`${name}List`] = listKind(gvk, name);
  }
  return out;
}

function sortedByName(definitions: Definitions): Definitions {
  return Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const UNPATCHED: Definitions = withLists({
  ...META_DEFINITIONS,
  ...CORE_CONTAINER_DEFINITIONS,
  ...CORE_POD_DEFINITIONS,
  ...CORE_VOLUME_DEFINITIONS,
  ...CORE_DEFINITIONS,
  ...APPS_DEFINITIONS,
  ...COORDINATION_DEFINITIONS,
  ...RBAC_DEFINITIONS,
  ...AUTHORIZATION_DEFINITIONS,
});

/**
 * All published definitions, with the API server's strategic-merge rules
 * written on, sorted by name so documents serialize the same every time.
 */
export const DEFINITIONS: Definitions = sortedByName(
  mustApplyPatchDirectives(UNPATCHED, mustDerivePatchDirectives(UNPATCHED, BUILTIN_PATCH_SCHEMAS)),
);

export function gvkKey(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

const DEFINITION_BY_GVK: ReadonlyMap<string, string> = new Map(
  Object.entries(DEFINITIONS).flatMap(([name, schema]) =>
    (schema['x-kubernetes-group-version-kind'] ?? []).map((gvk) => [gvkKey(gvk), name] as const)),
);

/** The definition describing objects of `gvk`, if one is published. */
export function definitionOf(gvk: GroupVersionKind): string | undefined {
  return DEFINITION_BY_GVK.get(gvkKey(gvk));
}
