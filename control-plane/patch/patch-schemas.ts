/**
 * The strategic-merge rules of the built-in kinds Strake serves: which lists
 * merge, by which key, and which objects take `$retainKeys`.
 *
 * The entries transcribe the `patchStrategy` / `patchMergeKey` tags of
 * Kubernetes' API types (core/v1, apps/v1, meta/v1), because kubectl computes
 * its patches from those same tags: a rule that differs here would make
 * `kubectl apply` duplicate or drop list elements. A list with no tag there
 * (tolerations, taints, container statuses, endpoint subsets, …) has no entry
 * here and is replaced whole.
 *
 * This table is the one source of truth for patch rules: the OpenAPI
 * generator emits `x-kubernetes-patch-strategy` (the `patchStrategy` string
 * as is) and `x-kubernetes-patch-merge-key` from it, so what kubectl reads
 * and what the API server applies cannot drift apart.
 *
 * A kind not listed (a custom resource, say) gets only the metadata rules:
 * every list in it is replaced whole, as in a JSON merge patch. (Kubernetes
 * itself refuses strategic merge patches to custom resources with 415; the
 * API server decides whether to do the same.)
 */
import { PatchStrategy, type PatchSchema } from './strategic-merge-patch.js';

export { PatchStrategy, type PatchSchema } from './strategic-merge-patch.js';

/** A list merged by `key`; `elements` gives the rules inside each element. */
function mergeBy(key: string, elements?: PatchSchema): PatchSchema {
  const list: PatchSchema = { patchStrategy: PatchStrategy.Merge, patchMergeKey: key };
  return elements?.fields === undefined ? list : { ...list, fields: elements.fields };
}

/** meta/v1 ObjectMeta: owners are identified by uid; finalizers are a set. */
const objectMeta: PatchSchema = {
  fields: {
    ownerReferences: mergeBy('uid'),
    finalizers: { patchStrategy: PatchStrategy.Merge },
  },
};

const conditionsByType: PatchSchema = mergeBy('type');

/** core/v1 Container; EphemeralContainer carries the same tags. */
const container: PatchSchema = {
  fields: {
    // Kubernetes keys ports by containerPort alone, although (containerPort, protocol) is the real
    // identity; the same port over TCP and UDP therefore merges into one element, as it does there.
    ports: mergeBy('containerPort'),
    env: mergeBy('name'),
    volumeMounts: mergeBy('mountPath'),
    volumeDevices: mergeBy('devicePath'),
  },
};

/** core/v1 PodSpec. */
const podSpec: PatchSchema = {
  fields: {
    volumes: { patchStrategy: PatchStrategy.MergeRetainKeys, patchMergeKey: 'name' },
    initContainers: mergeBy('name', container),
    containers: mergeBy('name', container),
    ephemeralContainers: mergeBy('name', container),
    imagePullSecrets: mergeBy('name'),
    hostAliases: mergeBy('ip'),
    topologySpreadConstraints: mergeBy('topologyKey'),
    schedulingGates: mergeBy('name'),
    resourceClaims: { patchStrategy: PatchStrategy.MergeRetainKeys, patchMergeKey: 'name' },
  },
};

/** core/v1 PodStatus. containerStatuses and its siblings carry no tags: replaced whole. */
const podStatus: PatchSchema = {
  fields: {
    conditions: conditionsByType,
    hostIPs: mergeBy('ip'),
    podIPs: mergeBy('ip'),
    resourceClaimStatuses: { patchStrategy: PatchStrategy.MergeRetainKeys, patchMergeKey: 'name' },
  },
};

const podTemplateSpec: PatchSchema = { fields: { metadata: objectMeta, spec: podSpec } };

/** Deployment / ReplicaSet status: only the conditions merge. */
const workloadStatus: PatchSchema = { fields: { conditions: conditionsByType } };

const withMetadata = (fields: Readonly<Record<string, PatchSchema>> = {}): PatchSchema => ({
  fields: { metadata: objectMeta, ...fields },
});

const pod = withMetadata({ spec: podSpec, status: podStatus });

const node = withMetadata({
  // spec.taints has no tags in Kubernetes: replaced whole.
  spec: { fields: { podCIDRs: { patchStrategy: PatchStrategy.Merge } } },
  // Addresses merge by type, as Kubernetes tags them, although a node may have two of one type.
  status: { fields: { conditions: conditionsByType, addresses: mergeBy('type') } },
});

const service = withMetadata({
  // Kubernetes keys service ports by port alone; (port, protocol) pairs merge as in containers.
  spec: { fields: { ports: mergeBy('port') } },
  status: { fields: { conditions: conditionsByType } },
});

const deployment = withMetadata({
  spec: { fields: { strategy: { patchStrategy: PatchStrategy.RetainKeys }, template: podTemplateSpec } },
  status: workloadStatus,
});

const replicaSet = withMetadata({
  spec: { fields: { template: podTemplateSpec } },
  status: workloadStatus,
});

const namespace = withMetadata({
  // spec.finalizers has no tags in Kubernetes: replaced whole, unlike metadata.finalizers.
  status: { fields: { conditions: conditionsByType } },
});

const serviceAccount = withMetadata({
  // imagePullSecrets has no tags on ServiceAccount (unlike PodSpec): replaced whole.
  secrets: mergeBy('name'),
});

export interface BuiltinPatchSchema {
  /** API group; '' for the core group. */
  readonly group: string;
  readonly kind: string;
  readonly schema: PatchSchema;
}

/** Every built-in kind with its rules, for the OpenAPI generator. */
export const BUILTIN_PATCH_SCHEMAS: readonly BuiltinPatchSchema[] = [
  { group: '', kind: 'Pod', schema: pod },
  { group: '', kind: 'Node', schema: node },
  { group: '', kind: 'Service', schema: service },
  { group: '', kind: 'Endpoints', schema: withMetadata() },
  { group: '', kind: 'ConfigMap', schema: withMetadata() },
  { group: '', kind: 'Secret', schema: withMetadata() },
  { group: '', kind: 'Namespace', schema: namespace },
  { group: '', kind: 'Event', schema: withMetadata() },
  { group: '', kind: 'ServiceAccount', schema: serviceAccount },
  { group: 'apps', kind: 'Deployment', schema: deployment },
  { group: 'apps', kind: 'ReplicaSet', schema: replicaSet },
  { group: 'coordination.k8s.io', kind: 'Lease', schema: withMetadata() },
];

const byGroupKind: ReadonlyMap<string, PatchSchema> = new Map(
  BUILTIN_PATCH_SCHEMAS.map(({ group, kind, schema }) => [groupKind(group, kind), schema]),
);

/** Rules for a kind without a table entry: metadata only, every other list replaced whole. */
export const METADATA_ONLY_PATCH_SCHEMA: PatchSchema = withMetadata();

/** The strategic-merge rules for `group`/`kind` ('' is the core group); unknown kinds get metadata rules only. */
export function patchSchemaFor(group: string, kind: string): PatchSchema {
  return byGroupKind.get(groupKind(group, kind)) ?? METADATA_ONLY_PATCH_SCHEMA;
}

/** Whether `group`/`kind` has its own rules, i.e. its lists are not all replaced whole. */
export function hasPatchSchema(group: string, kind: string): boolean {
  return byGroupKind.has(groupKind(group, kind));
}

function groupKind(group: string, kind: string): string {
  return `${group}/${kind}`;
}
