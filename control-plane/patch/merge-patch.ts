/**
 * JSON merge patch (RFC 7386, `application/merge-patch+json`), and the JSON
 * value model the three patch types share.
 *
 * A merge patch is a partial document: objects merge key by key, `null`
 * deletes a key, and every other value — arrays included — replaces what was
 * there. It is the base that strategic merge patch refines, which is why the
 * shared JSON helpers live here.
 *
 * Inputs are values as `JSON.parse` returns them (typed `unknown`, because
 * stored objects arrive typed as `KubeObject`). Nothing here mutates an input,
 * and a result shares no structure with its inputs: callers may edit it (set a
 * resourceVersion, default a field) without touching the stored object or the
 * request body.
 *
 * Keys are handled as own properties only, so a `__proto__` key in a body is
 * an ordinary field and can never reach an object's prototype.
 */
import { PatchError, PatchErrorCode, describeValue } from './errors.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * How deep a patch body may nest. The merges recurse a frame or two per
 * level, and Node's default stack holds on the order of ten thousand small
 * frames; Kubernetes' decoder stops at 10,000 levels, but no built-in kind
 * nests deeper than a few dozen, so 1,000 refuses only hostile bodies and
 * keeps well clear of the stack.
 */
export const PATCH_NESTING_DEPTH_MAX = 1000;

/** Applies an RFC 7386 merge patch to `target`, returning a new value. */
export function applyMergePatch(target: unknown, patch: unknown): JsonValue {
  checkNestingDepth(patch, 'merge patch');
  return mergeValue(target, patch);
}

function mergeValue(target: unknown, patch: unknown): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const base = isJsonObject(target) ? target : {};
  const result: JsonObject = {};
  // Target keys keep their order, so a patch that edits a field does not move it.
  for (const [key, value] of jsonEntries(base)) {
    const patchValue = getOwn(patch, key);
    if (patchValue === undefined) setOwn(result, key, cloneJson(value));
    else if (patchValue !== null) setOwn(result, key, mergeValue(value, patchValue));
  }
  for (const [key, value] of jsonEntries(patch)) {
    if (value !== null && !hasOwn(base, key)) setOwn(result, key, mergeValue(undefined, value));
  }
  return result;
}

// ---- the shared JSON value model ----------------------------------------

/** A JSON object: not null, not an array. */
export function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function hasOwn(object: Readonly<Record<string, unknown>>, key: string): boolean {
  return Object.hasOwn(object, key) && object[key] !== undefined;
}

/** The own property `key`, never one inherited (`constructor`, `__proto__`). */
export function getOwn(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Sets an own property; `__proto__` becomes an ordinary key instead of replacing the prototype. */
export function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** Own entries whose value is defined: objects built in code may carry `undefined`, which JSON cannot. */
export function jsonEntries(object: Readonly<Record<string, unknown>>): [string, unknown][] {
  return Object.entries(object).filter(([, value]) => value !== undefined);
}

/**
 * A deep copy that is plain JSON: object keys whose value is `undefined` are
 * dropped (as `JSON.stringify` drops them); any other non-JSON value is
 * refused, since it could not have come from a request or from storage.
 */
export function cloneJson(value: unknown): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
  } else if (Array.isArray(value)) {
    return value.map((element: unknown) => cloneJson(element));
  } else if (isJsonObject(value)) {
    const copy: JsonObject = {};
    for (const [key, element] of jsonEntries(value)) setOwn(copy, key, cloneJson(element));
    return copy;
  }
  throw new PatchError(PatchErrorCode.InvalidPatch, `${describeValue(String(value))} is not a JSON value`);
}

/** RFC 6902 equality: same type; numbers by value; objects with the same members regardless of order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((element: unknown, i) => jsonEqual(element, b[i]));
  }
  if (!isJsonObject(a) || !isJsonObject(b)) return false;
  const entriesA = jsonEntries(a);
  if (entriesA.length !== jsonEntries(b).length) return false;
  return entriesA.every(([key, value]) => hasOwn(b, key) && jsonEqual(value, b[key]));
}

/**
 * Refuses a body nested deeper than `PATCH_NESTING_DEPTH_MAX`. Iterative, so
 * the check itself cannot overflow the stack it protects.
 */
export function checkNestingDepth(body: unknown, what: string): void {
  const pending: [unknown, number][] = [[body, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > PATCH_NESTING_DEPTH_MAX) {
      throw new PatchError(
        PatchErrorCode.NestingTooDeep,
        `${what} nests deeper than ${PATCH_NESTING_DEPTH_MAX} levels`,
      );
    }
    const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) pending.push([child, depth + 1]);
  }
}
