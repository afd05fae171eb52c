/**
 * JSON patch (RFC 6902): the RFC's appendix examples, what `kubectl patch
 * --type json` sends, the operation bound, and properties — a failed `test`
 * leaves the target as it was (the patch is atomic), and inputs are never
 * mutated. fast-check prints the seed and the shrunk case on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatchError, PatchErrorCode, PatchErrorHttpStatus } from '../../../control-plane/patch/errors.js';
import { JSON_PATCH_COPIED_CHARS_MAX, JSON_PATCH_OPERATIONS_MAX, applyJsonPatch, parsePointer } from '../../../control-plane/patch/json-patch.js';
import type { JsonValue } from '../../../control-plane/patch/merge-patch.js';

const RUNS = 300;

describe('RFC 6902 appendix A examples', () => {
  const succeeding: readonly (readonly [string, JsonValue, unknown[], JsonValue])[] = [
    ['A.1 adding an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
    ['A.2 adding an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
    ['A.3 removing an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    ['A.4 removing an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
    ['A.5 replacing a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
    [
      'A.6 moving a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    [
      'A.7 moving an array element',
      { foo: ['all', 'grass', 'cows', 'eat'] },
      [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] },
    ],
    [
      'A.8 testing a value: success',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    ['A.10 adding a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
    ['A.11 ignoring unrecognized elements', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
    ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    ['A.16 adding an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
  ];

  it.each(succeeding)('%s', (_name, target, operations, expected) => {
    expect(applyJsonPatch(target, operations)).toEqual(expected);
  });

  it('A.9 testing a value: error', () => {
    const err = catchPatchError(() => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]));
    expect(err.code).toBe(PatchErrorCode.TestFailed);
    expect(err.message).toContain('/baz');
    expect(err.message).toContain('"qux"');
    expect(err.message).toContain('"bar"');
  });

  it('A.12 adding to a nonexistent target', () => {
    const err = catchPatchError(() => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]));
    expect(err.code).toBe(PatchErrorCode.PathNotFound);
    expect(err.path).toBe('/baz/bat');
  });

  // A.13 (an operation object with two "op" members) cannot reach this code:
  // JSON.parse keeps the last member, so it is the body parser's concern.

  it('A.15 comparing strings and numbers', () => {
    const err = catchPatchError(() => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]));
    expect(err.code).toBe(PatchErrorCode.TestFailed);
  });
});

describe('what kubectl patch --type json sends', () => {
  const pod = {
    metadata: { name: 'p', labels: { 'app.kubernetes.io/name': 'web', tier: 'front' } },
    spec: { containers: [{ name: 'web', image: 'nginx:1' }, { name: 'log', image: 'fluent:1' }] },
  };

  it('replaces one container image by index', () => {
    const result = applyJsonPatch(pod, [{ op: 'replace', path: '/spec/containers/1/image', value: 'fluent:2' }]);
    expect(result).toEqual({ ...pod, spec: { containers: [pod.spec.containers[0], { name: 'log', image: 'fluent:2' }] } });
  });

  it('removes a label whose key holds a "/" (escaped ~1)', () => {
    const result = applyJsonPatch(pod, [{ op: 'remove', path: '/metadata/labels/app.kubernetes.io~1name' }]);
    expect(result).toEqual({ ...pod, metadata: { name: 'p', labels: { tier: 'front' } } });
  });

  it('guards an edit with a test precondition on resourceVersion', () => {
    const target = { metadata: { resourceVersion: '7' }, spec: { replicas: 1 } };
    const ops = [
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'replace', path: '/spec/replicas', value: 4 },
    ];
    expect(applyJsonPatch(target, ops)).toEqual({ metadata: { resourceVersion: '7' }, spec: { replicas: 4 } });
    expect(() => applyJsonPatch({ ...target, metadata: { resourceVersion: '8' } }, ops)).toThrow(PatchError);
  });

  it('replaces and copies the whole document with the "" pointer', () => {
    expect(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }])).toEqual({ b: 2 });
    expect(applyJsonPatch({ a: 1 }, [{ op: 'copy', from: '', path: '/self' }])).toEqual({ a: 1, self: { a: 1 } });
  });

  it('a copied value is independent of its source', () => {
    const ops = [
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'add', path: '/b/x', value: 2 },
    ];
    expect(applyJsonPatch({ a: { x: 1 } }, ops)).toEqual({ a: { x: 1 }, b: { x: 2 } });
  });

  it('a value added by one operation and edited by the next does not change the patch', () => {
    const ops = [
      { op: 'add', path: '/a', value: { x: 1 } },
      { op: 'add', path: '/a/y', value: 2 },
    ];
    const before = structuredClone(ops);
    expect(applyJsonPatch({}, ops)).toEqual({ a: { x: 1, y: 2 } });
    expect(ops).toEqual(before);
  });
});

describe('malformed patches and paths that do not exist', () => {
  const cases: readonly (readonly [string, unknown, unknown, PatchErrorCode])[] = [
    ['the body is not a list', { a: 1 }, { op: 'add', path: '/a', value: 1 }, PatchErrorCode.InvalidPatch],
    ['an operation is not an object', { a: 1 }, ['add'], PatchErrorCode.InvalidPatch],
    ['an unknown op', { a: 1 }, [{ op: 'increment', path: '/a' }], PatchErrorCode.InvalidPatch],
    ['add without a value', { a: 1 }, [{ op: 'add', path: '/b' }], PatchErrorCode.InvalidPatch],
    ['move without from', { a: 1 }, [{ op: 'move', path: '/b' }], PatchErrorCode.InvalidPatch],
    ['a pointer without a leading "/"', { a: 1 }, [{ op: 'remove', path: 'a' }], PatchErrorCode.InvalidPatch],
    ['a bad ~ escape', { a: 1 }, [{ op: 'remove', path: '/a~2' }], PatchErrorCode.InvalidPatch],
    ['moving a value into its own child', { a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], PatchErrorCode.InvalidPatch],
    ['removing the whole document', { a: 1 }, [{ op: 'remove', path: '' }], PatchErrorCode.InvalidPatch],
    ['removing a missing member', { a: 1 }, [{ op: 'remove', path: '/b' }], PatchErrorCode.PathNotFound],
    ['replacing a missing member', { a: 1 }, [{ op: 'replace', path: '/b', value: 2 }], PatchErrorCode.PathNotFound],
    ['removing "-" (it names no element)', { a: [1] }, [{ op: 'remove', path: '/a/-' }], PatchErrorCode.PathNotFound],
    ['an index with a leading zero', { a: [1, 2] }, [{ op: 'remove', path: '/a/01' }], PatchErrorCode.PathNotFound],
    ['adding past the end of an array', { a: [1] }, [{ op: 'add', path: '/a/2', value: 3 }], PatchErrorCode.PathNotFound],
    ['adding below a string', { a: 'x' }, [{ op: 'add', path: '/a/b', value: 3 }], PatchErrorCode.PathNotFound],
    ['an inherited property is not a member', { a: 1 }, [{ op: 'remove', path: '/constructor' }], PatchErrorCode.PathNotFound],
    ['copying from a missing member', { a: 1 }, [{ op: 'copy', from: '/b', path: '/c' }], PatchErrorCode.PathNotFound],
    ['moving a missing member onto itself', { a: 1 }, [{ op: 'move', from: '/b', path: '/b' }], PatchErrorCode.PathNotFound],
  ];

  it.each(cases)('%s', (_name, target, operations, code) => {
    expect(catchPatchError(() => applyJsonPatch(target, operations)).code).toBe(code);
  });

  it('a bad operation is named by its index in the message', () => {
    const err = catchPatchError(() =>
      applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 1 }, { op: 'remove', path: '/nope' }]),
    );
    expect(err.message).toMatch(/^operation 1 \(remove \/nope\)/);
  });

  it(`refuses more than ${JSON_PATCH_OPERATIONS_MAX} operations with Kubernetes' message and 413`, () => {
    const ops = Array.from({ length: JSON_PATCH_OPERATIONS_MAX + 1 }, () => ({ op: 'test', path: '', value: {} }));
    const err = catchPatchError(() => applyJsonPatch({}, ops));
    expect(err.code).toBe(PatchErrorCode.TooManyOperations);
    expect(err.message).toBe(`The allowed maximum operations in a JSON patch is ${JSON_PATCH_OPERATIONS_MAX}, got ${JSON_PATCH_OPERATIONS_MAX + 1}`);
    expect(PatchErrorHttpStatus[err.code]).toBe(413);
    expect(applyJsonPatch({}, ops.slice(1))).toEqual({});
  });

  it(`refuses copies that together exceed ${JSON_PATCH_COPIED_CHARS_MAX} characters (copying the root doubles it)`, () => {
    const target = { a: 'x'.repeat(1000) };
    const ops = Array.from({ length: 30 }, (_, i) => ({ op: 'copy', from: '', path: `/copy${i}` }));
    const err = catchPatchError(() => applyJsonPatch(target, ops));
    expect(err.code).toBe(PatchErrorCode.CopyLimitExceeded);
    expect(err.message).toContain(String(JSON_PATCH_COPIED_CHARS_MAX));
    expect(target).toEqual({ a: 'x'.repeat(1000) });
    expect(JSON.stringify(applyJsonPatch(target, ops.slice(0, 5))).length).toBeGreaterThan(32 * 1000);
  });

  it('unescapes ~1 before ~0', () => {
    expect(parsePointer('/a~1b/c~0d/~01')).toEqual(['a/b', 'c~d', '~1']);
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/')).toEqual(['']);
  });
});

// ---- properties -------------------------------------------------------------

const leaf = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null));
const documentValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>;
const topObject = fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), documentValue, { maxKeys: 5 });

describe('JSON patch properties', () => {
  it('a failing test operation leaves the target unchanged, whatever ran before it', () => {
    fc.assert(
      fc.property(
        topObject,
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), leaf), { maxLength: 5 }),
        leaf,
        (target, additions, probe) => {
          const before = JSON.stringify(target);
          const ops: unknown[] = [
            // Edits inside the target's own nested values, so a shallow copy would show.
            ...Object.entries(target).flatMap(([k, v]) => nestedEdit(`/${escapeToken(k)}`, v)),
            ...additions.map(([k, v]) => ({ op: 'add', path: `/${escapeToken(k)}`, value: v })),
            { op: 'add', path: '/probe', value: probe },
            // A list never equals a leaf, so this test always fails, after every edit above succeeded.
            { op: 'test', path: '/probe', value: [probe] },
          ];
          expect(catchPatchError(() => applyJsonPatch(target, ops)).code).toBe(PatchErrorCode.TestFailed);
          expect(JSON.stringify(target)).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('test passes against the value just added, for any JSON value', () => {
    fc.assert(
      fc.property(topObject, documentValue, (target, value) => {
        const ops = [
          { op: 'add', path: '/k', value },
          { op: 'test', path: '/k', value: structuredClone(value) },
        ];
        expect(applyJsonPatch(target, ops)).toEqual({ ...target, k: value });
      }),
      { numRuns: RUNS },
    );
  });

  it('move there and back restores the document', () => {
    fc.assert(
      fc.property(topObject.filter((o) => Object.keys(o).length > 0), (target) => {
        const from = `/${escapeToken(Object.keys(target)[0] ?? '')}`;
        const ops = [
          { op: 'move', from, path: '/~0moved' },
          { op: 'move', from: '/~0moved', path: from },
        ];
        const result = applyJsonPatch(target, ops);
        expect(result).toEqual(target);
      }),
      { numRuns: RUNS },
    );
  });
});

/** An operation that edits inside `value` at `pointer`, if it is a container. */
function nestedEdit(pointer: string, value: JsonValue): unknown[] {
  if (Array.isArray(value)) return [{ op: 'add', path: `${pointer}/-`, value: 'appended' }];
  if (typeof value === 'object' && value !== null) return [{ op: 'add', path: `${pointer}/added`, value: 1 }];
  return [];
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function catchPatchError(run: () => unknown): PatchError {
  try {
    run();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
}
