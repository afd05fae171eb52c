/**
 * JSON patch (RFC 6902, `application/json-patch+json`): a list of operations
 * (add, remove, replace, move, copy, test) addressed by JSON pointers
 * (RFC 6901: `/a/b`, `~1` for `/`, `~0` for `~`, `-` for the end of an array).
 *
 * The patch is atomic: operations run on a private copy of the target, and
 * the copy is returned only when every operation succeeded, so a failed
 * `test` (kubectl and controllers use it as a precondition) or a missing path
 * leaves nothing changed. The inputs are never mutated.
 *
 * Errors: a body that is not a list of well-formed operations is
 * INVALID_PATCH (Kubernetes answers 400); an operation that does not apply to
 * this target is PATH_NOT_FOUND or TEST_FAILED (422).
 */
import { PatchError, PatchErrorCode, describeValue } from './errors.js';
import {
  checkNestingDepth,
  cloneJson,
  getOwn,
  isJsonObject,
  jsonEqual,
  setOwn,
  type JsonObject,
  type JsonValue,
} from './merge-patch.js';

/**
 * Operations per patch. Kubernetes refuses more than 10,000 (413, with the
 * message used below); each operation can copy a whole subtree, so the bound
 * also caps the work one request can ask for.
 */
export const JSON_PATCH_OPERATIONS_MAX = 10_000;

/**
 * Characters of JSON all `copy` operations of one patch may copy, together.
 * Copies are the one way a patch can grow a document beyond what its body
 * carried — copying the root doubles it, so forty copies outgrow any memory.
 * 3 MiB is the largest request body Kubernetes accepts by default: a patch
 * may copy as much as a client could have sent.
 */
export const JSON_PATCH_COPIED_CHARS_MAX = 3 * 1024 * 1024;

export const JsonPatchOp = {
  Add: 'add',
  Remove: 'remove',
  Replace: 'replace',
  Move: 'move',
  Copy: 'copy',
  Test: 'test',
} as const;
export type JsonPatchOp = (typeof JsonPatchOp)[keyof typeof JsonPatchOp];

export type JsonPatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: JsonValue }
  | { readonly op: 'remove'; readonly path: string }
  | { readonly op: 'move' | 'copy'; readonly from: string; readonly path: string };

/** Applies a JSON patch (the parsed body, validated here) to `target`, returning a new value. */
export function applyJsonPatch(target: unknown, operations: unknown): JsonValue {
  const parsed = parseJsonPatch(operations);
  // The one copy the operations edit in place; `target` itself is never touched.
  const document: PatchedDocument = { root: cloneJson(target), copiedChars: 0 };
  parsed.forEach((operation, index) => {
    try {
      applyOperation(document, operation);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      throw new PatchError(err.code, `operation ${index} (${operation.op} ${operation.path}): ${err.message}`, err.path);
    }
  });
  return document.root;
}

/** Validates a parsed body as a list of RFC 6902 operations. */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    throw new PatchError(PatchErrorCode.InvalidPatch, `a JSON patch must be a list of operations, got ${describeValue(body)}`);
  }
  if (body.length > JSON_PATCH_OPERATIONS_MAX) {
    throw new PatchError(
      PatchErrorCode.TooManyOperations,
      `The allowed maximum operations in a JSON patch is ${JSON_PATCH_OPERATIONS_MAX}, got ${body.length}`,
    );
  }
  checkNestingDepth(body, 'JSON patch');
  return body.map((element: unknown, index) => parseOperation(element, index));
}

function parseOperation(element: unknown, index: number): JsonPatchOperation {
  const bad = (why: string): PatchError =>
    new PatchError(PatchErrorCode.InvalidPatch, `operation ${index} ${describeValue(element)}: ${why}`);
  if (!isJsonObject(element)) throw bad('an operation must be an object');
  const op = getOwn(element, 'op');
  const path = getOwn(element, 'path');
  if (typeof path !== 'string') throw bad('"path" must be a string');
  parsePointer(path);
  switch (op) {
    case JsonPatchOp.Add:
    case JsonPatchOp.Replace:
    case JsonPatchOp.Test: {
      const value = getOwn(element, 'value');
      if (value === undefined) throw bad('"value" is required');
      return { op, path, value: cloneJson(value) };
    }
    case JsonPatchOp.Remove:
      return { op, path };
    case JsonPatchOp.Move:
    case JsonPatchOp.Copy: {
      const from = getOwn(element, 'from');
      if (typeof from !== 'string') throw bad('"from" must be a string');
      parsePointer(from);
      return { op, from, path };
    }
    default:
      throw bad(`unknown op ${describeValue(op)}; expected add, remove, replace, move, copy or test`);
  }
}

/** The private copy the operations edit, and how much the copies so far have copied. */
interface PatchedDocument {
  root: JsonValue;
  copiedChars: number;
}

/** Applies one operation to the private copy; `operation.value` is already a private copy too (parseJsonPatch). */
function applyOperation(document: PatchedDocument, operation: JsonPatchOperation): void {
  switch (operation.op) {
    case JsonPatchOp.Add:
      return addValue(document, operation.path, operation.value);
    case JsonPatchOp.Remove:
      removeValue(document, operation.path);
      return;
    case JsonPatchOp.Replace:
      if (operation.path === '') {
        document.root = operation.value;
      } else {
        removeValue(document, operation.path); // the target must exist (RFC 6902 section 4.3)
        addValue(document, operation.path, operation.value);
      }
      return;
    case JsonPatchOp.Move:
      return moveValue(document, operation.from, operation.path);
    case JsonPatchOp.Copy:
      return copyValue(document, operation.from, operation.path);
    case JsonPatchOp.Test:
      return testValue(document.root, operation.path, operation.value);
    default: {
      const unexpected: never = operation;
      throw new Error(`unexpected JSON patch operation ${describeValue(unexpected)}`);
    }
  }
}

function moveValue(document: PatchedDocument, from: string, path: string): void {
  if (from === path) {
    readValue(document.root, from); // RFC 6902: still an error when `from` does not exist
    return;
  }
  if (isProperPrefix(parsePointer(from), parsePointer(path))) {
    throw new PatchError(PatchErrorCode.InvalidPatch, `cannot move ${describeValue(from)} into its own child`, path);
  }
  addValue(document, path, removeValue(document, from));
}

function copyValue(document: PatchedDocument, from: string, path: string): void {
  const value = readValue(document.root, from);
  document.copiedChars += JSON.stringify(value).length;
  if (document.copiedChars > JSON_PATCH_COPIED_CHARS_MAX) {
    const why = `copying ${describeValue(from)} brings this patch's copies to ${document.copiedChars} characters of JSON`;
    throw new PatchError(PatchErrorCode.CopyLimitExceeded, `${why}; the limit is ${JSON_PATCH_COPIED_CHARS_MAX}`, path);
  }
  addValue(document, path, cloneJson(value));
}

function testValue(root: JsonValue, path: string, expected: JsonValue): void {
  const actual = readValue(root, path);
  if (jsonEqual(actual, expected)) return;
  throw new PatchError(
    PatchErrorCode.TestFailed,
    `test failed: ${path} is ${describeValue(actual)}, not ${describeValue(expected)}`,
    path,
  );
}

// ---- locations ------------------------------------------------------------

/** RFC 6901: '' is the whole document; otherwise '/'-separated, unescaped reference tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new PatchError(PatchErrorCode.InvalidPatch, `JSON pointer ${describeValue(pointer)} must start with "/"`, pointer);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        const why = `JSON pointer ${describeValue(pointer)} has a "~" not followed by 0 or 1`;
        throw new PatchError(PatchErrorCode.InvalidPatch, why, pointer);
      }
      // ~1 first: "~01" must become "~1", not "/".
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** The value at `pointer`; PATH_NOT_FOUND when any step is missing. */
function readValue(root: JsonValue, pointer: string): JsonValue {
  let current = root;
  for (const token of parsePointer(pointer)) current = childOf(current, token, pointer);
  return current;
}

/** The container that holds the location `pointer` names, and the last token. */
function locate(root: JsonValue, pointer: string): { parent: JsonValue; token: string } {
  const tokens = parsePointer(pointer);
  const token = tokens.pop();
  if (token === undefined) throw new Error('locate() is for locations below the root');
  let parent = root;
  for (const step of tokens) parent = childOf(parent, step, pointer);
  return { parent, token };
}

function childOf(container: JsonValue, token: string, pointer: string): JsonValue {
  const child = Array.isArray(container)
    ? container[arrayIndex(token, container.length - 1, pointer)]
    : isJsonObject(container)
      ? (getOwn(container, token) as JsonValue | undefined)
      : undefined;
  if (child === undefined) throw notFound(pointer);
  return child;
}

function addValue(document: PatchedDocument, pointer: string, value: JsonValue): void {
  if (pointer === '') {
    document.root = value;
    return;
  }
  const { parent, token } = locate(document.root, pointer);
  if (Array.isArray(parent)) {
    const index = token === '-' ? parent.length : arrayIndex(token, parent.length, pointer);
    parent.splice(index, 0, value);
  } else if (isJsonObject(parent)) {
    setOwn(parent as JsonObject, token, value);
  } else {
    throw notFound(pointer, `its parent is ${describeValue(parent)}, not an object or array`);
  }
}

/** Removes and returns the value at `pointer`. */
function removeValue(document: PatchedDocument, pointer: string): JsonValue {
  if (pointer === '') {
    // RFC 6902 leaves removing the whole document undefined; an object cannot become nothing.
    throw new PatchError(PatchErrorCode.InvalidPatch, 'cannot remove the whole document', pointer);
  }
  const { parent, token } = locate(document.root, pointer);
  const removed = childOf(parent, token, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(token, parent.length - 1, pointer), 1);
  else delete (parent as JsonObject)[token];
  return removed;
}

/** A decimal array index without leading zeros, at most `last`. */
function arrayIndex(token: string, last: number, pointer: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw notFound(pointer, `${describeValue(token)} is not an array index`);
  }
  const index = Number(token);
  if (index > last) throw notFound(pointer, `index ${index} is past the end of the array (last usable index ${last})`);
  return index;
}

function isProperPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length < path.length && prefix.every((token, i) => token === path[i]);
}

function notFound(pointer: string, why?: string): PatchError {
  const detail = why === undefined ? '' : `: ${why}`;
  return new PatchError(PatchErrorCode.PathNotFound, `path ${describeValue(pointer)} does not exist${detail}`, pointer);
}
