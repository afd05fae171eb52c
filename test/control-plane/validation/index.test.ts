/**
 * The dispatch tables: each kind reaches its own rules, unknown kinds get
 * metadata rules only, and no JSON whatever makes validation or defaulting throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldErrorType, type KubeObject } from '../../../proto/k8s/meta.js';
import { ValidatedKind, applyDefaults, defaultAndValidate, validateObject } from '../../../control-plane/validation/index.js';
import { causes, pod } from './helpers.js';

describe('dispatch', () => {
  it('applies the per-kind rule: a name valid for one kind is invalid for another', () => {
    const obj = { metadata: { name: '1web', namespace: 'default' } } as KubeObject;
    expect(causes(validateObject('Service', obj))).toContainEqual(['metadata.name', FieldErrorType.Invalid]);
    expect(causes(validateObject('ConfigMap', obj))).toEqual([]);
  });

  it('every validated kind has a validator that reports a missing name', () => {
    for (const kind of Object.values(ValidatedKind)) {
      const errors = validateObject(kind, applyDefaults(kind, { metadata: { namespace: 'default' } }));
      expect(causes(errors), kind).toContainEqual(['metadata.name', FieldErrorType.Required]);
    }
  });

  it('defaultAndValidate returns the defaulted object with its errors', () => {
    const { object, errors } = defaultAndValidate('Pod', pod() as KubeObject);
    expect(errors).toEqual([]);
    expect((object['spec'] as { restartPolicy?: string }).restartPolicy).toBe('Always');
  });

  it('reports an identical error once', () => {
    const p = pod();
    p['spec'].containers[0].image = '';
    const errors = validateObject('Pod', applyDefaults('Pod', p as KubeObject), applyDefaults('Pod', pod() as KubeObject));
    expect(causes(errors)).toEqual([['spec.containers[0].image', FieldErrorType.Required]]);
  });
});

describe('robustness', () => {
  const kinds = [...Object.values(ValidatedKind), 'Widget'];
  const anyBody = fc.record(
    {
      apiVersion: fc.jsonValue(),
      metadata: fc.oneof(fc.jsonValue(), fc.record({ name: fc.string(), namespace: fc.string(), labels: fc.jsonValue() })),
      spec: fc.jsonValue(),
      data: fc.jsonValue(),
      subsets: fc.jsonValue(),
      rules: fc.jsonValue(),
      roleRef: fc.jsonValue(),
      involvedObject: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );

  it.each(kinds)('%s: never throws, on create or update, and reports errors as data', (kind) => {
    fc.assert(
      fc.property(anyBody, anyBody, (a, b) => {
        const obj = applyDefaults(kind, a as KubeObject);
        const old = applyDefaults(kind, b as KubeObject);
        for (const errors of [validateObject(kind, obj), validateObject(kind, obj, old)]) {
          for (const e of errors) {
            expect(Object.values(FieldErrorType)).toContain(e.type);
            expect(typeof e.field).toBe('string');
            expect(typeof e.message).toBe('string');
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
