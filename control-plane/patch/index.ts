/**
 * Patches for the API server's PATCH verb: `applyPatch` picks the patch type
 * from the request's Content-Type, as Kubernetes does, and applies it to the
 * stored object.
 *
 *   application/merge-patch+json           RFC 7386  (kubectl patch --type merge)
 *   application/json-patch+json            RFC 6902  (kubectl patch --type json)
 *   application/strategic-merge-patch+json Kubernetes (kubectl apply/edit/label/scale…)
 *
 * Server-side apply (`application/apply-patch+yaml`) is not one of them; like
 * any other type it is refused with UNSUPPORTED_MEDIA_TYPE (415).
 *
 * Everything here is a pure function over JSON values: no I/O, inputs never
 * mutated. The caller owns what comes after: validation of the result,
 * resourceVersion preconditions, and refusing changes to immutable fields.
 */
import { PatchError, PatchErrorCode, describeValue } from './errors.js';
import { applyJsonPatch } from './json-patch.js';
import { applyMergePatch, isJsonObject, type JsonObject, type JsonValue } from './merge-patch.js';
import { applyStrategicMergePatch, type PatchSchema } from './strategic-merge-patch.js';

export { PatchError, PatchErrorCode, PatchErrorHttpStatus, describeValue } from './errors.js';
export {
  JSON_PATCH_COPIED_CHARS_MAX,
  JSON_PATCH_OPERATIONS_MAX,
  JsonPatchOp,
  applyJsonPatch,
  parseJsonPatch,
  parsePointer,
  type JsonPatchOperation,
} from './json-patch.js';
export {
  PATCH_NESTING_DEPTH_MAX,
  applyMergePatch,
  cloneJson,
  isJsonObject,
  jsonEqual,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
} from './merge-patch.js';
export { PatchDirective, PatchStrategy, applyStrategicMergePatch, type PatchSchema } from './strategic-merge-patch.js';
export {
  BUILTIN_PATCH_SCHEMAS,
  METADATA_ONLY_PATCH_SCHEMA,
  hasPatchSchema,
  patchSchemaFor,
  type BuiltinPatchSchema,
} from './patch-schemas.js';

export const PatchContentType = {
  JsonPatch: 'application/json-patch+json',
  MergePatch: 'application/merge-patch+json',
  StrategicMergePatch: 'application/strategic-merge-patch+json',
} as const;
export type PatchContentType = (typeof PatchContentType)[keyof typeof PatchContentType];

/**
 * Applies a parsed patch body to `target` according to `contentType` (its
 * parameters, such as `; charset=utf-8`, are ignored). `schema` is used only
 * by strategic merge patches. The result must be an object, since it replaces
 * a stored object.
 */
export function applyPatch(contentType: string, target: unknown, patchBody: unknown, schema: PatchSchema): JsonObject {
  const patchType = patchContentTypeOf(contentType);
  let result: JsonValue;
  switch (patchType) {
    case PatchContentType.JsonPatch:
      result = applyJsonPatch(target, patchBody);
      break;
    case PatchContentType.MergePatch:
      result = applyMergePatch(target, mustBeObject(patchBody, patchType));
      break;
    case PatchContentType.StrategicMergePatch:
      result = applyStrategicMergePatch(target, mustBeObject(patchBody, patchType), schema);
      break;
    default: {
      const unexpected: never = patchType;
      throw new Error(`unexpected patch type ${describeValue(unexpected)}`);
    }
  }
  if (!isJsonObject(result)) {
    throw new PatchError(PatchErrorCode.InvalidPatch, `the patched object would be ${describeValue(result)}, not an object`);
  }
  return result as JsonObject;
}

/** The patch type a Content-Type header names; UNSUPPORTED_MEDIA_TYPE for anything else. */
export function patchContentTypeOf(contentType: string): PatchContentType {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  for (const known of Object.values(PatchContentType)) {
    if (mediaType === known) return known;
  }
  throw new PatchError(
    PatchErrorCode.UnsupportedMediaType,
    `the body of the request was in an unknown format - accepted media types include: ${Object.values(PatchContentType).join(', ')}`,
  );
}

/** Parses a raw request body as JSON; a syntax error is INVALID_PATCH (400), not an internal error. */
export function parsePatchBody(body: string | Uint8Array): unknown {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PatchError(PatchErrorCode.InvalidPatch, `the patch is not valid JSON: ${(err as Error).message}`);
  }
}

function mustBeObject(patchBody: unknown, patchType: PatchContentType): Readonly<Record<string, unknown>> {
  if (isJsonObject(patchBody)) return patchBody;
  throw new PatchError(PatchErrorCode.InvalidPatch, `a ${patchType} body must be a JSON object, got ${describeValue(patchBody)}`);
}
