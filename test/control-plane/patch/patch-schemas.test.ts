/**
 * The merge-key table: spot checks against the tags in Kubernetes' API types
 * (a wrong entry makes kubectl apply duplicate or drop list elements), and
 * the invariants an OpenAPI generator relies on when it emits
 * x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key from the table.
 */
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_PATCH_SCHEMAS,
  METADATA_ONLY_PATCH_SCHEMA,
  PatchStrategy,
  hasPatchSchema,
  patchSchemaFor,
  type PatchSchema,
} from '../../../control-plane/patch/patch-schemas.js';

/** The rules at a dotted path, e.g. 'spec.containers.env' (list fields describe their elements). */
function rulesAt(schema: PatchSchema, path: string): PatchSchema | undefined {
  let current: PatchSchema | undefined = schema;
  for (const field of path.split('.')) {
    current = current?.fields !== undefined && Object.hasOwn(current.fields, field) ? current.fields[field] : undefined;
  }
  return current;
}

const mergeBy = (key: string) => ({ patchStrategy: PatchStrategy.Merge, patchMergeKey: key });

describe('the tags Kubernetes puts on its types', () => {
  const pod = patchSchemaFor('', 'Pod');
  const expectations: readonly (readonly [string, string, string, Partial<PatchSchema> | undefined])[] = [
    ['', 'Pod', 'metadata.ownerReferences', mergeBy('uid')],
    ['', 'Pod', 'metadata.finalizers', { patchStrategy: PatchStrategy.Merge }],
    ['', 'Pod', 'spec.containers', mergeBy('name')],
    ['', 'Pod', 'spec.initContainers', mergeBy('name')],
    ['', 'Pod', 'spec.ephemeralContainers', mergeBy('name')],
    ['', 'Pod', 'spec.containers.ports', mergeBy('containerPort')],
    ['', 'Pod', 'spec.containers.env', mergeBy('name')],
    ['', 'Pod', 'spec.containers.volumeMounts', mergeBy('mountPath')],
    ['', 'Pod', 'spec.containers.volumeDevices', mergeBy('devicePath')],
    ['', 'Pod', 'spec.volumes', { patchStrategy: PatchStrategy.MergeRetainKeys, patchMergeKey: 'name' }],
    ['', 'Pod', 'spec.imagePullSecrets', mergeBy('name')],
    ['', 'Pod', 'spec.tolerations', undefined],
    ['', 'Pod', 'spec.containers.envFrom', undefined],
    ['', 'Pod', 'status.conditions', mergeBy('type')],
    ['', 'Pod', 'status.podIPs', mergeBy('ip')],
    ['', 'Pod', 'status.containerStatuses', undefined],
    ['', 'Node', 'spec.taints', undefined],
    ['', 'Node', 'spec.podCIDRs', { patchStrategy: PatchStrategy.Merge }],
    ['', 'Node', 'status.conditions', mergeBy('type')],
    ['', 'Node', 'status.addresses', mergeBy('type')],
    ['', 'Service', 'spec.ports', mergeBy('port')],
    ['', 'Endpoints', 'subsets', undefined],
    ['', 'ServiceAccount', 'secrets', mergeBy('name')],
    ['', 'ServiceAccount', 'imagePullSecrets', undefined],
    ['', 'Namespace', 'spec.finalizers', undefined],
    ['apps', 'Deployment', 'spec.strategy', { patchStrategy: PatchStrategy.RetainKeys }],
    ['apps', 'Deployment', 'spec.template.spec.containers.env', mergeBy('name')],
    ['apps', 'Deployment', 'spec.template.metadata.finalizers', { patchStrategy: PatchStrategy.Merge }],
    ['apps', 'Deployment', 'status.conditions', mergeBy('type')],
    ['apps', 'ReplicaSet', 'spec.template.spec.volumes', { patchStrategy: PatchStrategy.MergeRetainKeys, patchMergeKey: 'name' }],
    ['apps', 'ReplicaSet', 'status.conditions', mergeBy('type')],
    ['coordination.k8s.io', 'Lease', 'metadata.ownerReferences', mergeBy('uid')],
  ];

  it.each(expectations)('%s/%s %s', (group, kind, path, expected) => {
    const rules = rulesAt(patchSchemaFor(group, kind), path);
    if (expected === undefined) {
      expect(rules?.patchStrategy).toBeUndefined();
      expect(rules?.patchMergeKey).toBeUndefined();
    } else {
      expect(rules).toMatchObject(expected);
    }
  });

  it('a Deployment template uses the very Pod spec rules', () => {
    expect(rulesAt(patchSchemaFor('apps', 'Deployment'), 'spec.template.spec')).toBe(rulesAt(pod, 'spec'));
  });

  it('an unknown kind, or a known kind in another group, gets the metadata rules only', () => {
    expect(patchSchemaFor('example.com', 'Widget')).toBe(METADATA_ONLY_PATCH_SCHEMA);
    expect(patchSchemaFor('apps', 'Pod')).toBe(METADATA_ONLY_PATCH_SCHEMA);
    expect(hasPatchSchema('apps', 'Pod')).toBe(false);
    expect(hasPatchSchema('', 'Pod')).toBe(true);
    expect(Object.keys(METADATA_ONLY_PATCH_SCHEMA.fields ?? {})).toEqual(['metadata']);
  });
});

describe('table invariants', () => {
  function* walk(schema: PatchSchema, path: string): Generator<[string, PatchSchema]> {
    yield [path, schema];
    for (const [field, rules] of Object.entries(schema.fields ?? {})) yield* walk(rules, path === '' ? field : `${path}.${field}`);
  }

  const everyRule = BUILTIN_PATCH_SCHEMAS.flatMap(({ group, kind, schema }) =>
    [...walk(schema, '')].map(([path, rules]) => [`${group}/${kind} ${path}`, rules] as const),
  );

  it('lists each kind once, with metadata rules', () => {
    const names = BUILTIN_PATCH_SCHEMAS.map(({ group, kind }) => `${group}/${kind}`);
    expect(new Set(names).size).toBe(names.length);
    for (const { schema } of BUILTIN_PATCH_SCHEMAS) expect(rulesAt(schema, 'metadata.ownerReferences')).toEqual(mergeBy('uid'));
  });

  it('a merge key only on a list that merges (an OpenAPI merge key without "merge" strategy means nothing)', () => {
    const offenders = everyRule.filter(
      ([, rules]) =>
        rules.patchMergeKey !== undefined &&
        rules.patchStrategy !== PatchStrategy.Merge &&
        rules.patchStrategy !== PatchStrategy.MergeRetainKeys,
    );
    expect(offenders.map(([where]) => where)).toEqual([]);
    expect(everyRule.length).toBeGreaterThan(40);
  });

  it('every strategy is one Kubernetes knows', () => {
    const known = new Set<string>(Object.values(PatchStrategy));
    const unknown = everyRule.filter(([, rules]) => rules.patchStrategy !== undefined && !known.has(rules.patchStrategy));
    expect(unknown).toEqual([]);
  });
});
