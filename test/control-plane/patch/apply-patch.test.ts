/**
 * The API server's entry point: the Content-Type picks the patch type, as
 * kubectl's `--type` flag picks it; anything else is 415.
 */
import { describe, expect, it } from 'vitest';
import {
  PatchContentType,
  PatchError,
  PatchErrorCode,
  PatchErrorHttpStatus,
  applyPatch,
  parsePatchBody,
  patchContentTypeOf,
  patchSchemaFor,
} from '../../../control-plane/patch/index.js';

const POD = patchSchemaFor('', 'Pod');

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx:1' }, { name: 'log', image: 'fluent:1' }] },
};

describe('applyPatch', () => {
  it('the same containers patch merges by name as a strategic merge patch and replaces the list as a merge patch', () => {
    const body = { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } };
    const strategic = applyPatch(PatchContentType.StrategicMergePatch, pod, body, POD);
    expect(strategic['spec']).toEqual({ containers: [{ name: 'web', image: 'nginx:2' }, { name: 'log', image: 'fluent:1' }] });
    const merge = applyPatch(PatchContentType.MergePatch, pod, body, POD);
    expect(merge['spec']).toEqual({ containers: [{ name: 'web', image: 'nginx:2' }] });
  });

  it('dispatches JSON patches', () => {
    const result = applyPatch(PatchContentType.JsonPatch, pod, [{ op: 'replace', path: '/metadata/labels/app', value: 'api' }], POD);
    expect(result['metadata']).toEqual({ name: 'p', labels: { app: 'api' } });
  });

  it('ignores media type parameters and case', () => {
    const result = applyPatch('Application/Merge-Patch+JSON; charset=utf-8', pod, { spec: null }, POD);
    expect(result).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata });
  });

  it.each(['application/json', 'application/apply-patch+yaml', 'text/plain', ''])('refuses %j with UNSUPPORTED_MEDIA_TYPE (415)', (contentType) => {
    const err = catchPatchError(() => applyPatch(contentType, pod, {}, POD));
    expect(err.code).toBe(PatchErrorCode.UnsupportedMediaType);
    expect(PatchErrorHttpStatus[err.code]).toBe(415);
    expect(err.message).toContain(PatchContentType.StrategicMergePatch);
  });

  it('checks the media type before looking at the body', () => {
    expect(catchPatchError(() => applyPatch('text/plain', pod, 'not even an object', POD)).code).toBe(PatchErrorCode.UnsupportedMediaType);
  });

  it('refuses merge and strategic bodies that are not objects, and JSON patch bodies that are not lists', () => {
    for (const [type, body] of [
      [PatchContentType.MergePatch, [1]],
      [PatchContentType.StrategicMergePatch, 'x'],
      [PatchContentType.JsonPatch, { op: 'add' }],
    ] as const) {
      const err = catchPatchError(() => applyPatch(type, pod, body, POD));
      expect(err.code).toBe(PatchErrorCode.InvalidPatch);
      expect(PatchErrorHttpStatus[err.code]).toBe(400);
    }
  });

  it('refuses a JSON patch whose result is not an object', () => {
    const err = catchPatchError(() => applyPatch(PatchContentType.JsonPatch, pod, [{ op: 'replace', path: '', value: [1] }], POD));
    expect(err.code).toBe(PatchErrorCode.InvalidPatch);
  });

  it('names each known content type', () => {
    expect(patchContentTypeOf('application/json-patch+json')).toBe(PatchContentType.JsonPatch);
    expect(patchContentTypeOf(' application/strategic-merge-patch+json ;x=y')).toBe(PatchContentType.StrategicMergePatch);
  });
});

describe('parsePatchBody', () => {
  it('parses text and bytes', () => {
    expect(parsePatchBody('{"a":1}')).toEqual({ a: 1 });
    expect(parsePatchBody(new TextEncoder().encode('[{"op":"remove","path":"/a"}]'))).toEqual([{ op: 'remove', path: '/a' }]);
  });

  it('turns a syntax error into INVALID_PATCH (400)', () => {
    const err = catchPatchError(() => parsePatchBody('{"a":'));
    expect(err.code).toBe(PatchErrorCode.InvalidPatch);
    expect(err.message).toMatch(/^the patch is not valid JSON: /);
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
