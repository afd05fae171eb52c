/**
 * Strategic merge patch: the patches kubectl apply / edit / label and the
 * kubelet send, each directive, the list orders Kubernetes produces, the
 * errors — and properties: an empty patch is the identity, patching a keyed
 * list keeps the elements it does not name, and on a kind without list rules
 * a patch without directives acts as a JSON merge patch.
 * fast-check prints the seed and the shrunk case when a property fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatchError, PatchErrorCode } from '../../../control-plane/patch/errors.js';
import { applyMergePatch } from '../../../control-plane/patch/merge-patch.js';
import { METADATA_ONLY_PATCH_SCHEMA, patchSchemaFor } from '../../../control-plane/patch/patch-schemas.js';
import { PatchStrategy, applyStrategicMergePatch, type PatchSchema } from '../../../control-plane/patch/strategic-merge-patch.js';

const RUNS = 300;
const POD = patchSchemaFor('', 'Pod');
const DEPLOYMENT = patchSchemaFor('apps', 'Deployment');
const NODE = patchSchemaFor('', 'Node');

/** Test-only schema in the shape of Kubernetes' own SMP test type: a keyed list and a primitive list. */
const LISTS: PatchSchema = {
  fields: {
    mergingList: { patchStrategy: PatchStrategy.Merge, patchMergeKey: 'name' },
    mergingIntList: { patchStrategy: PatchStrategy.Merge },
    atomicList: {},
  },
};

function livePod() {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      labels: { app: 'web', tier: 'front' },
      finalizers: ['example.com/a', 'example.com/b'],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.25',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
          terminationMessagePath: '/dev/termination-log',
        },
        // Injected by an admission webhook: not in the user's configuration.
        { name: 'istio-proxy', image: 'proxyv2:1.20' },
      ],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
      nodeSelector: { disk: 'ssd', zone: 'a' },
    },
  };
}

describe('what kubectl apply sends', () => {
  it('changes one container image by name, keeping server-filled fields and other containers', () => {
    const patch = {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{...}' } },
      spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ image: 'nginx:1.26', name: 'web' }] },
    };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.containers).toEqual([
      { ...livePod().spec.containers[0], image: 'nginx:1.26' },
      { name: 'istio-proxy', image: 'proxyv2:1.20' },
    ]);
    expect(result.metadata).toEqual({ ...livePod().metadata, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{...}' } });
  });

  it('$setElementOrder puts a new container where the configuration has it', () => {
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'init-ish' }, { name: 'web' }],
        containers: [{ name: 'init-ish', image: 'busybox' }],
      },
    };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.containers.map((c) => c.name)).toEqual(['init-ish', 'web', 'istio-proxy']);
  });

  it('$setElementOrder weaves server-only elements in by their live positions (Kubernetes: "add an item ... and preserve order")', () => {
    const live = { mergingList: [{ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }] };
    const patch = {
      '$setElementOrder/mergingList': [{ name: '3' }, { name: '1' }, { name: '2' }],
      mergingList: [{ name: '3', value: '3' }],
    };
    expect(applyStrategicMergePatch(live, patch, LISTS)).toEqual({
      mergingList: [{ name: '3', value: '3' }, { name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }],
    });
    const primitives = applyStrategicMergePatch({ mergingIntList: [1, 4, 2] }, { '$setElementOrder/mergingIntList': [3, 1, 2], mergingIntList: [3] }, LISTS);
    expect(primitives).toEqual({ mergingIntList: [3, 1, 4, 2] });
  });

  it('$setElementOrder with $deleteFromPrimitiveList reorders and deletes', () => {
    const patch = { '$setElementOrder/mergingIntList': [2, 1], '$deleteFromPrimitiveList/mergingIntList': [3] };
    expect(applyStrategicMergePatch({ mergingIntList: [1, 2, 3] }, patch, LISTS)).toEqual({ mergingIntList: [2, 1] });
  });

  it('removes a finalizer with $deleteFromPrimitiveList/finalizers', () => {
    const patch = { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.metadata.finalizers).toEqual(['example.com/b']);
  });

  it('adds a finalizer to the set without duplicating the ones present', () => {
    const patch = { metadata: { finalizers: ['example.com/b', 'example.com/c'] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.metadata.finalizers).toEqual(['example.com/a', 'example.com/b', 'example.com/c']);
  });

  it('switching a Deployment to Recreate clears rollingUpdate through $retainKeys', () => {
    const live = { spec: { replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } };
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } };
    expect(applyStrategicMergePatch(live, patch, DEPLOYMENT)).toEqual({ spec: { replicas: 2, strategy: { type: 'Recreate' } } });
  });

  it('a volume switched from emptyDir to a configMap keeps only the retained keys', () => {
    const live = { spec: { volumes: [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: { medium: 'Memory' } }] } };
    const patch = { spec: { volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cfg' } }] } };
    expect(applyStrategicMergePatch(live, patch, POD)).toEqual({
      spec: { volumes: [{ name: 'data', configMap: { name: 'cfg' } }, { name: 'tmp', emptyDir: { medium: 'Memory' } }] },
    });
  });

  it('an env var change inside a Deployment template (kubectl edit) merges by name two levels down', () => {
    const live = {
      spec: {
        replicas: 1,
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] },
        },
      },
    };
    const patch = {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }],
            containers: [{ '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }], env: [{ name: 'B', value: '3' }], name: 'web' }],
          },
        },
      },
    };
    const result = applyStrategicMergePatch(live, patch, DEPLOYMENT);
    expect(result).toEqual({
      spec: {
        ...live.spec,
        template: {
          ...live.spec.template,
          spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }] }] },
        },
      },
    });
  });
});

describe('what kubectl label, kubectl edit and the kubelet send', () => {
  it('kubectl label env=prod adds a label; kubectl label tier- sends null to delete one', () => {
    const added = applyStrategicMergePatch(livePod(), { metadata: { labels: { env: 'prod' } } }, POD) as ReturnType<typeof livePod>;
    expect(added.metadata.labels).toEqual({ app: 'web', tier: 'front', env: 'prod' });
    const removed = applyStrategicMergePatch(livePod(), { metadata: { labels: { tier: null } } }, POD) as ReturnType<typeof livePod>;
    expect(removed.metadata.labels).toEqual({ app: 'web' });
  });

  it('a node status heartbeat merges one condition by type and leaves the others', () => {
    const live = {
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: 't0' },
          { type: 'Ready', status: 'True', lastHeartbeatTime: 't0' },
        ],
        addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }],
      },
    };
    const patch = {
      status: {
        '$setElementOrder/conditions': [{ type: 'MemoryPressure' }, { type: 'Ready' }],
        conditions: [{ type: 'Ready', lastHeartbeatTime: 't1' }],
      },
    };
    expect(applyStrategicMergePatch(live, patch, NODE)).toEqual({
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: 't0' },
          { type: 'Ready', status: 'True', lastHeartbeatTime: 't1' },
        ],
        addresses: live.status.addresses,
      },
    });
  });

  it('a container port is merged by its number', () => {
    const patch = { spec: { containers: [{ name: 'web', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.containers[0]?.ports).toEqual([{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 443 }]);
  });

  it('an ownerReference is merged by uid', () => {
    const live = { metadata: { ownerReferences: [{ uid: 'u1', kind: 'ReplicaSet', name: 'rs1' }] } };
    const patch = { metadata: { ownerReferences: [{ uid: 'u1', controller: true }, { uid: 'u2', kind: 'Job', name: 'j' }] } };
    expect(applyStrategicMergePatch(live, patch, POD)).toEqual({
      metadata: { ownerReferences: [{ uid: 'u1', kind: 'ReplicaSet', name: 'rs1', controller: true }, { uid: 'u2', kind: 'Job', name: 'j' }] },
    });
  });

  it('tolerations have no merge key in Kubernetes: the patch list replaces them', () => {
    const patch = { spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.tolerations).toEqual([{ key: 'gpu', operator: 'Exists' }]);
  });

  it('without $setElementOrder, an element new to the list lands ahead of the live-only ones (as in Kubernetes)', () => {
    const live = { mergingList: [{ name: 'a' }, { name: 'b' }] };
    expect(applyStrategicMergePatch(live, { mergingList: [{ name: 'c' }] }, LISTS)).toEqual({ mergingList: [{ name: 'c' }, { name: 'a' }, { name: 'b' }] });
    expect(applyStrategicMergePatch(live, { mergingList: [{ name: 'b', v: 1 }] }, LISTS)).toEqual({ mergingList: [{ name: 'a' }, { name: 'b', v: 1 }] });
  });

  it('an empty patch list leaves a merged list alone; null deletes it', () => {
    const live = { mergingList: [{ name: 'a' }] };
    expect(applyStrategicMergePatch(live, { mergingList: [] }, LISTS)).toEqual(live);
    expect(applyStrategicMergePatch(live, { mergingList: null }, LISTS)).toEqual({});
  });
});

describe('$patch directives', () => {
  it('$patch: delete on a list element removes the container with that name', () => {
    const patch = { spec: { containers: [{ name: 'istio-proxy', $patch: 'delete' }] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.containers.map((c) => c.name)).toEqual(['web']);
  });

  it('$patch: replace in a list makes the patch list the whole list', () => {
    const patch = { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.containers).toEqual([{ name: 'only', image: 'x' }]);
  });

  it('$patch: replace on a map uses the patch map as the new value', () => {
    const patch = { spec: { nodeSelector: { $patch: 'replace', gpu: 'true' } } };
    const result = applyStrategicMergePatch(livePod(), patch, POD) as ReturnType<typeof livePod>;
    expect(result.spec.nodeSelector).toEqual({ gpu: 'true' });
  });

  it('$patch: delete on a map removes the field', () => {
    const result = applyStrategicMergePatch(livePod(), { spec: { nodeSelector: { $patch: 'delete' } } }, POD) as Record<string, Record<string, unknown>>;
    expect(Object.keys(result['spec'] ?? {})).toEqual(['containers', 'tolerations']);
  });

  it('$patch: merge is the default, said explicitly', () => {
    const plain = applyStrategicMergePatch(livePod(), { spec: { nodeSelector: { zone: 'b' } } }, POD);
    expect(applyStrategicMergePatch(livePod(), { spec: { nodeSelector: { $patch: 'merge', zone: 'b' } } }, POD)).toEqual(plain);
    const element = { spec: { containers: [{ name: 'web', $patch: 'merge', image: 'nginx:2' }] } };
    const viaElement = applyStrategicMergePatch(livePod(), element, POD) as ReturnType<typeof livePod>;
    expect(viaElement.spec.containers[0]?.image).toBe('nginx:2');
  });

  it('directives and nulls inside a brand-new field never reach the result', () => {
    const patch = { spec: { affinity: { nodeAffinity: { a: null, b: 1 }, gone: { $patch: 'delete' } }, containers: [{ name: 'new', args: null, $retainKeys: ['name'] }] } };
    const result = applyStrategicMergePatch({ spec: {} }, patch, POD);
    expect(result).toEqual({ spec: { affinity: { nodeAffinity: { b: 1 } }, containers: [{ name: 'new' }] } });
  });
});

describe('errors', () => {
  const cases: readonly (readonly [string, unknown, unknown, PatchErrorCode])[] = [
    ['an element without the merge key', livePod(), { spec: { containers: [{ image: 'x' }] } }, PatchErrorCode.MissingMergeKey],
    ['$patch: delete without the merge key', livePod(), { spec: { containers: [{ $patch: 'delete' }] } }, PatchErrorCode.MissingMergeKey],
    ['an unknown $patch directive', livePod(), { spec: { $patch: 'explode' } }, PatchErrorCode.InvalidPatch],
    ['$retainKeys that is not a list of names', {}, { $retainKeys: 'a' }, PatchErrorCode.InvalidPatch],
    ['a field set outside its own $retainKeys', {}, { $retainKeys: ['a'], b: 1 }, PatchErrorCode.RetainKeysMismatch],
    ['$deleteFromPrimitiveList that is not a list', livePod(), { metadata: { '$deleteFromPrimitiveList/finalizers': 'x' } }, PatchErrorCode.InvalidPatch],
    ['$setElementOrder that is not a list', {}, { '$setElementOrder/mergingList': {} }, PatchErrorCode.InvalidPatch],
    [
      '$setElementOrder that misses an element of the patch list',
      {},
      { '$setElementOrder/mergingList': [{ name: 'a' }], mergingList: [{ name: 'b' }] },
      PatchErrorCode.InvalidPatch,
    ],
    [
      '$setElementOrder in a different order from the patch list',
      {},
      { '$setElementOrder/mergingList': [{ name: 'a' }, { name: 'b' }], mergingList: [{ name: 'b' }, { name: 'a' }] },
      PatchErrorCode.InvalidPatch,
    ],
    ['a merged list of lists', { mergingIntList: [[1]] }, { mergingIntList: [[2]] }, PatchErrorCode.MixedListElements],
    ['a merged list mixing objects and primitives', { mergingIntList: [1] }, { mergingIntList: [{ name: 'a' }] }, PatchErrorCode.MixedListElements],
    ['a patch that is not an object', {}, [1], PatchErrorCode.InvalidPatch],
  ];

  it.each(cases)('%s', (_name, target, patch, code) => {
    const podAndLists: PatchSchema = { fields: { ...POD.fields, ...LISTS.fields } };
    const err = catchPatchError(() => applyStrategicMergePatch(target, patch, podAndLists));
    expect(err.code).toBe(code);
  });

  it('names the path and the element that lacks the merge key', () => {
    const err = catchPatchError(() => applyStrategicMergePatch(livePod(), { spec: { containers: [{ name: 'web' }, { image: 'x' }] } }, POD));
    expect(err.path).toBe('spec.containers[1]');
    expect(err.message).toBe('spec.containers[1]: {"image":"x"} does not contain declared merge key "name"');
  });
});

describe('inputs', () => {
  it('never mutates the target or the patch', () => {
    const target = livePod();
    const patch = {
      metadata: { labels: { tier: null }, '$deleteFromPrimitiveList/finalizers': ['example.com/a'] },
      spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ name: 'web', image: 'x', $patch: 'merge' }] },
    };
    const before = structuredClone([target, patch]);
    const result = applyStrategicMergePatch(target, patch, POD) as ReturnType<typeof livePod>;
    expect([target, patch]).toEqual(before);
    expect(result.spec.containers[1]).not.toBe(target.spec.containers[1]);
  });

  it('a kind without rules replaces every list, but metadata still follows the metadata rules', () => {
    const live = { metadata: { finalizers: ['a'] }, spec: { items: [{ name: 'x', v: 1 }] } };
    const patch = { metadata: { finalizers: ['b'] }, spec: { items: [{ name: 'x', w: 2 }] } };
    expect(applyStrategicMergePatch(live, patch, patchSchemaFor('example.com', 'Widget'))).toEqual({
      // A value new to a merged list goes ahead of the live-only ones (see the ordering test above).
      metadata: { finalizers: ['b', 'a'] },
      spec: { items: [{ name: 'x', w: 2 }] },
    });
  });
});

// ---- properties -------------------------------------------------------------

const key = fc.constantFrom('metadata', 'spec', 'containers', 'name', 'image', 'finalizers', 'labels', 'x', '__proto__');
const primitive = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 3 }), fc.boolean());
const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitive,
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));
const anyObject = fc.dictionary(key, anyValue, { maxKeys: 5 });

/** Patches with no `$` keys; nulls only as object members (deletions); lists hold primitives only. */
const { plainPatch } = fc.letrec<{ plainPatch: Record<string, unknown>; member: unknown }>((tie) => ({
  plainPatch: fc.dictionary(fc.constantFrom('spec', 'containers', 'name', 'x', 'y'), tie('member'), { maxKeys: 4 }),
  member: fc.oneof({ depthSize: 'small' }, primitive, fc.constant(null), fc.array(primitive, { maxLength: 3 }), tie('plainPatch')),
}));

const containerNames = fc.uniqueArray(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 6 });

describe('strategic merge patch properties', () => {
  it('an empty patch is the identity', () => {
    fc.assert(
      fc.property(anyObject, fc.constantFrom(POD, DEPLOYMENT, NODE, METADATA_ONLY_PATCH_SCHEMA), (target, schema) => {
        expect(applyStrategicMergePatch(target, {}, schema)).toEqual(target);
      }),
      { numRuns: RUNS },
    );
  });

  it('patching containers by name keeps every container the patch does not name, unchanged', () => {
    fc.assert(
      fc.property(containerNames, fc.array(fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 4 }), (live, patched) => {
        const target = { spec: { containers: live.map((name) => ({ name, image: `${name}:1`, keep: true })) } };
        const patch = { spec: { containers: patched.map((name) => ({ name, image: `${name}:2` })) } };
        const result = applyStrategicMergePatch(target, patch, POD) as { spec: { containers: { name: string; image: string; keep?: boolean }[] } };
        const byName = new Map(result.spec.containers.map((c) => [c.name, c]));
        expect(byName.size).toBe(result.spec.containers.length); // no duplicates
        for (const name of live) {
          expect(byName.get(name)).toEqual(patched.includes(name) ? { name, image: `${name}:2`, keep: true } : { name, image: `${name}:1`, keep: true });
        }
        for (const name of patched) expect(byName.get(name)?.image).toBe(`${name}:2`);
        expect(byName.size).toBe(new Set([...live, ...patched]).size);
        // The live-only containers keep their relative order.
        const liveOnly = live.filter((n) => !patched.includes(n));
        expect(result.spec.containers.map((c) => c.name).filter((n) => liveOnly.includes(n))).toEqual(liveOnly);
      }),
      { numRuns: RUNS },
    );
  });

  it('with $setElementOrder naming every element, the result is in exactly that order', () => {
    fc.assert(
      fc.property(containerNames, containerNames, (live, wanted) => {
        const target = { spec: { containers: live.map((name) => ({ name })) } };
        const added = wanted.filter((n) => !live.includes(n)).map((name) => ({ name }));
        const removed = live.filter((n) => !wanted.includes(n)).map((name) => ({ name, $patch: 'delete' }));
        const patch = { spec: { '$setElementOrder/containers': wanted.map((name) => ({ name })), containers: [...added, ...removed] } };
        const result = applyStrategicMergePatch(target, patch, POD) as { spec: { containers: { name: string }[] } };
        expect(result.spec.containers.map((c) => c.name)).toEqual(wanted);
      }),
      { numRuns: RUNS },
    );
  });

  it('on a kind without list rules, a patch without directives is a JSON merge patch', () => {
    fc.assert(
      fc.property(anyObject, plainPatch, (target, patch) => {
        expect(applyStrategicMergePatch(target, patch, METADATA_ONLY_PATCH_SCHEMA)).toEqual(applyMergePatch(target, patch));
      }),
      { numRuns: RUNS },
    );
  });
});

function catchPatchError(run: () => unknown): PatchError {
  try {
    run();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
}
