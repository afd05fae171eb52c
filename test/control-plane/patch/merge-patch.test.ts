/**
 * JSON merge patch (RFC 7386): the RFC's own examples, what `kubectl patch
 * --type merge` and `kubectl scale` send, and properties — a patch computed
 * as the difference of two documents turns the first into the second, and
 * applying a patch twice changes nothing more than applying it once.
 * fast-check prints the seed and the shrunk case when a property fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatchError, PatchErrorCode } from '../../../control-plane/patch/errors.js';
import {
  PATCH_NESTING_DEPTH_MAX,
  applyMergePatch,
  jsonEqual,
  type JsonObject,
  type JsonValue,
} from '../../../control-plane/patch/merge-patch.js';

const RUNS = 500;

describe('RFC 7386 appendix A examples', () => {
  const examples: readonly (readonly [JsonValue, JsonValue, JsonValue])[] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];

  it.each(examples)('%j patched with %j is %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('section 3: the blog post example', () => {
    const target = {
      title: 'Goodbye!',
      author: { givenName: 'John', familyName: 'Doe' },
      tags: ['example', 'sample'],
      content: 'This will be unchanged',
    };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(applyMergePatch(target, patch)).toEqual({
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    });
  });
});

describe('what kubectl sends as a merge patch', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'front' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } },
  };

  it('kubectl scale --replicas=3 changes only spec.replicas', () => {
    const result = applyMergePatch(deployment, { spec: { replicas: 3 } });
    expect(result).toEqual({ ...deployment, spec: { ...deployment.spec, replicas: 3 } });
  });

  it('a label set to null is removed; the others stay', () => {
    const result = applyMergePatch(deployment, { metadata: { labels: { tier: null, env: 'prod' } } }) as JsonObject;
    expect(result['metadata']).toEqual({ name: 'web', namespace: 'default', labels: { app: 'web', env: 'prod' } });
  });

  it('a list in the patch replaces the whole list (no merge by name)', () => {
    const patch = { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy' }] } } } };
    const result = applyMergePatch(deployment, patch) as { spec: { template: { spec: { containers: unknown } } } };
    expect(result.spec.template.spec.containers).toEqual([{ name: 'sidecar', image: 'envoy' }]);
  });

  it('keeps the order of existing keys when it edits them', () => {
    const result = applyMergePatch({ a: 1, b: 2, c: 3 }, { a: 9, d: 4 });
    expect(Object.keys(result as JsonObject)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('inputs and results', () => {
  it('never mutates the target or the patch, and the result shares nothing with them', () => {
    const target = { spec: { list: [1, 2], inner: { a: 1 } }, keep: { x: 1 } };
    const patch = { spec: { inner: { b: 2 } }, added: { y: [1] } };
    const targetBefore = structuredClone(target);
    const patchBefore = structuredClone(patch);
    const result = applyMergePatch(target, patch) as { keep: unknown; added: unknown; spec: { list: unknown } };
    expect(target).toEqual(targetBefore);
    expect(patch).toEqual(patchBefore);
    expect(result.keep).not.toBe(target.keep);
    expect(result.spec.list).not.toBe(target.spec.list);
    expect(result.added).not.toBe(patch.added);
  });

  it('a "__proto__" key in a body is an ordinary field, never the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(JSON.stringify(result)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('drops object fields whose value is undefined, as JSON would', () => {
    expect(applyMergePatch({ a: undefined, b: 1 }, { c: 2 })).toEqual({ b: 1, c: 2 });
    expect(Object.keys(applyMergePatch({ a: undefined, b: 1 }, { c: 2 }) as JsonObject)).toEqual(['b', 'c']);
  });

  it(`refuses a patch nested deeper than ${PATCH_NESTING_DEPTH_MAX} levels, and accepts one at the limit`, () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 'leaf';
      for (let i = 0; i < levels; i++) value = { n: value };
      return value;
    };
    expect(() => applyMergePatch({}, nest(PATCH_NESTING_DEPTH_MAX - 1))).not.toThrow();
    const err = catchPatchError(() => applyMergePatch({}, nest(PATCH_NESTING_DEPTH_MAX + 5)));
    expect(err.code).toBe(PatchErrorCode.NestingTooDeep);
    expect(err.message).toContain(String(PATCH_NESTING_DEPTH_MAX));
  });
});

// ---- properties -------------------------------------------------------------

/** A small key pool, so generated documents share keys; "__proto__" keeps the own-key handling honest. */
const key = fc.constantFrom('a', 'b', 'c', 'd', 'metadata', 'spec', '__proto__');

/** Builds an object with own keys only (a literal or Object.fromEntries would do, but say it plainly). */
function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    Object.defineProperty(object, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  return object;
}

const primitive = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -5, max: 5 }), fc.boolean());

/**
 * JSON documents a merge patch can produce: no null as an object member's
 * value (a merge patch can only delete such a member). Nulls in arrays are fine.
 */
const { document } = fc.letrec<{ document: unknown; object: Record<string, unknown> }>((tie) => ({
  document: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, fc.constant(null), tie('object'), fc.array(fc.oneof(primitive, fc.constant(null), tie('object')), { maxLength: 3 })),
  object: fc
    .uniqueArray(fc.tuple(key, fc.oneof({ depthSize: 'small' }, primitive, tie('object'), fc.array(primitive, { maxLength: 3 }))), {
      maxLength: 4,
      selector: ([k]) => k,
    })
    .map(objectOf),
}));
const objectDocument = document.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null && !Array.isArray(d));

/** Any merge patch: objects whose members may be null (delete) or any document. */
const { patch } = fc.letrec<{ patch: unknown }>((tie) => ({
  patch: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    document,
    fc
      .uniqueArray(fc.tuple(key, fc.oneof(fc.constant(null), tie('patch'))), { maxLength: 4, selector: ([k]) => k })
      .map(objectOf),
  ),
}));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The merge patch that turns `from` into `to` (test-side, written from RFC 7386's definition). */
function mergeDiff(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const entries: [string, unknown][] = [];
  for (const k of Object.keys(from)) if (!Object.hasOwn(to, k)) entries.push([k, null]);
  for (const k of Object.keys(to)) {
    if (!Object.hasOwn(from, k)) entries.push([k, to[k]]);
    else if (!jsonEqual(from[k], to[k])) entries.push([k, mergeDiff(from[k], to[k])]);
  }
  return objectOf(entries);
}

describe('merge patch properties', () => {
  it('applying diff(a, b) to a gives b', () => {
    fc.assert(
      fc.property(document, document, (a, b) => {
        expect(applyMergePatch(a, mergeDiff(a, b))).toEqual(b);
      }),
      { numRuns: RUNS },
    );
  });

  it('is idempotent: applying a patch twice equals applying it once', () => {
    fc.assert(
      fc.property(document, patch, (target, p) => {
        const once = applyMergePatch(target, p);
        expect(applyMergePatch(once, p)).toEqual(once);
      }),
      { numRuns: RUNS },
    );
  });

  it('an empty patch is the identity on objects', () => {
    fc.assert(
      fc.property(objectDocument, (target) => {
        expect(applyMergePatch(target, {})).toEqual(target);
      }),
      { numRuns: RUNS },
    );
  });

  it('never mutates its inputs', () => {
    fc.assert(
      fc.property(document, patch, (target, p) => {
        const before = JSON.stringify([target, p]);
        applyMergePatch(target, p);
        expect(JSON.stringify([target, p])).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('the diff generator is not vacuous: a wrong diff is caught', () => {
    // Planted bug: a diff that forgets deletions must fail the first property for some pair.
    const forgetsDeletions = (_from: unknown, to: unknown): unknown => to;
    const result = fc.check(
      fc.property(objectDocument, objectDocument, (a, b) => jsonEqual(applyMergePatch(a, forgetsDeletions(a, b)), b)),
      { numRuns: RUNS, seed: 7 },
    );
    expect(result.failed).toBe(true);
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
