/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`):
 * what `kubectl apply`, `kubectl edit`, `kubectl label` and most controllers
 * send for built-in kinds.
 *
 * It is a merge patch (maps merge, `null` deletes a key) plus knowledge of the
 * kind, given as a `PatchSchema` (see patch-schemas.ts): a list whose schema
 * says `merge` is merged element by element — by `patchMergeKey` when its
 * elements are objects (containers by `name`), as a set when they are
 * primitives (finalizers). Any other list is replaced whole, as in a merge patch.
 *
 * Directives the patch may carry (Kubernetes' names and meanings):
 *  - `$patch: replace | delete | merge` in an object: use the object as the
 *    new value / remove the field / merge as usual. In a list element:
 *    `replace` makes the patch list the whole new list; `delete` removes the
 *    live elements with the element's merge key.
 *  - `$retainKeys: [k...]`: live keys not listed are cleared before merging;
 *    the patch may only set listed keys.
 *  - `$deleteFromPrimitiveList/<field>: [v...]`: removes values from a
 *    primitive merge list (kubectl apply's way to drop a finalizer).
 *  - `$setElementOrder/<field>: [...]`: the order the client wants for a merge
 *    list (objects holding just the merge key, or the primitives). Elements
 *    the server added that the list does not name are woven in by their live
 *    positions.
 *
 * Without `$setElementOrder`, a merged list is ordered the way Kubernetes
 * orders it: elements named in the patch in patch order, live-only elements
 * in live order, a live-only element placed before a patch element only when
 * it came first in the live list. (So an element new to the list lands ahead
 * of the live-only elements that follow; kubectl always sends
 * `$setElementOrder`, which makes this moot.)
 *
 * Where this differs from Kubernetes, deliberately:
 *  - a patch value with no live counterpart is merged into nothing, so its
 *    nested directives and nulls never reach the stored object (Kubernetes
 *    drops any such map that carries a `$patch`);
 *  - `$patch: delete` on an object field removes the field (Kubernetes leaves
 *    `{}`, which its typed decoding then mostly drops);
 *  - `$patch: merge` is accepted as the explicit default (Kubernetes refuses it);
 *  - `$deleteFromPrimitiveList` and `$setElementOrder` on a list the schema
 *    does not merge are ignored, instead of replacing the list with the
 *    directive's own value.
 *
 * The target is never mutated: the merge runs on a private copy.
 */
import { PatchError, PatchErrorCode, describeValue } from './errors.js';
import {
  checkNestingDepth,
  cloneJson,
  getOwn,
  hasOwn,
  isJsonObject,
  jsonEntries,
  setOwn,
  type JsonObject,
  type JsonValue,
} from './merge-patch.js';

/** Kubernetes' `patchStrategy` tag values, emitted verbatim as `x-kubernetes-patch-strategy`. */
export const PatchStrategy = {
  Merge: 'merge',
  RetainKeys: 'retainKeys',
  MergeRetainKeys: 'merge,retainKeys',
  Replace: 'replace',
} as const;
export type PatchStrategy = (typeof PatchStrategy)[keyof typeof PatchStrategy];

/**
 * How one field (or a whole object, at the root) takes a strategic merge
 * patch. For an object field, `fields` describes its fields; for a list field,
 * `patchStrategy`/`patchMergeKey` describe the list and `fields` the fields of
 * its elements. A field not described merges if it is an object and is
 * replaced if it is a list.
 */
export interface PatchSchema {
  readonly patchStrategy?: PatchStrategy;
  /** The element field that identifies an element of a merged list of objects (`x-kubernetes-patch-merge-key`). */
  readonly patchMergeKey?: string;
  readonly fields?: Readonly<Record<string, PatchSchema>>;
}

export const PatchDirective = { Replace: 'replace', Delete: 'delete', Merge: 'merge' } as const;
export type PatchDirective = (typeof PatchDirective)[keyof typeof PatchDirective];

const DIRECTIVE_KEY = '$patch';
const RETAIN_KEYS_KEY = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST_PREFIX = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER_PREFIX = '$setElementOrder/';

type PatchMap = Readonly<Record<string, unknown>>;
/** A string naming an element's identity in a list: its JSON text, or its merge key's. */
type Identity = (element: unknown) => string;

/** Applies a strategic merge patch (a parsed JSON object) to `target`, returning a new object. */
export function applyStrategicMergePatch(target: unknown, patch: unknown, schema: PatchSchema): JsonObject {
  checkNestingDepth(patch, 'strategic merge patch');
  if (!isJsonObject(patch)) {
    throw invalid('', `a strategic merge patch must be a JSON object, got ${describeValue(patch)}`);
  }
  const live = isJsonObject(target) ? (cloneJson(target) as JsonObject) : {};
  return mergeObject(live, patch, schema, '') ?? {};
}

/** Merges `patch` into `live` (a private copy, edited in place); undefined means the patch deletes the object. */
function mergeObject(live: JsonObject, patch: PatchMap, schema: PatchSchema | undefined, path: string): JsonObject | undefined {
  switch (directiveOf(patch, path)) {
    case PatchDirective.Delete:
      return undefined;
    case PatchDirective.Replace:
      return mergeFields({}, withoutDirective(patch), schema, path);
    case PatchDirective.Merge:
    case undefined:
      return mergeFields(live, patch, schema, path);
  }
}

function mergeFields(live: JsonObject, patch: PatchMap, schema: PatchSchema | undefined, path: string): JsonObject {
  applyRetainKeys(live, patch, path);
  applyDeletesFromPrimitiveLists(live, patch, path);
  const orders = collectElementOrders(live, patch, schema, path);
  for (const [key, value] of jsonEntries(patch)) {
    if (!isDirectiveKey(key)) mergeField(live, key, value, fieldSchema(schema, key), joinPath(path, key));
  }
  for (const { field, order, identity, liveBefore } of orders) {
    const merged = getOwn(live, field);
    if (Array.isArray(merged)) setOwn(live, field, normalizeOrder(merged, identity, order, liveBefore));
  }
  return live;
}

function mergeField(live: JsonObject, key: string, patchValue: unknown, schema: PatchSchema | undefined, path: string): void {
  const current = getOwn(live, key) as JsonValue | undefined;
  const merged =
    patchValue === null ? undefined
    : current === undefined ? fresh(patchValue, schema, path)
    : mergeValues(current, patchValue, schema, path);
  if (merged === undefined) delete live[key];
  else setOwn(live, key, merged);
}

function mergeValues(current: JsonValue, patchValue: unknown, schema: PatchSchema | undefined, path: string): JsonValue | undefined {
  if (isJsonObject(patchValue) && isJsonObject(current) && schema?.patchStrategy !== PatchStrategy.Replace) {
    return mergeObject(current as JsonObject, patchValue, schema, path);
  }
  if (Array.isArray(patchValue) && Array.isArray(current) && isMergeList(schema)) {
    return mergeList(current, patchValue, schema, path);
  }
  return fresh(patchValue, schema, path);
}

/** A patch value with no live counterpart, merged into nothing so its directives and nulls are resolved. */
function fresh(patchValue: unknown, schema: PatchSchema | undefined, path: string): JsonValue | undefined {
  if (isJsonObject(patchValue)) return mergeObject({}, patchValue, schema, path);
  if (!Array.isArray(patchValue)) return cloneJson(patchValue);
  if (isMergeList(schema)) return mergeList([], patchValue, schema, path);
  return patchValue.flatMap((element: unknown, i) => {
    const value = fresh(element, schema, `${path}[${i}]`);
    return value === undefined ? [] : [value];
  });
}

// ---- lists ------------------------------------------------------------------

function mergeList(live: JsonValue[], patchList: readonly unknown[], schema: PatchSchema, path: string): JsonValue[] {
  switch (elementKind(live, patchList, path)) {
    case 'none':
      return [];
    case 'primitive': {
      const merged = dedupe([...live, ...patchList.map((v) => cloneJson(v))], primitiveIdentity);
      return normalizeOrder(merged, primitiveIdentity, patchList, live);
    }
    case 'object': {
      const mergeKey = schema.patchMergeKey;
      if (mergeKey === undefined) {
        const why = `${path}: a merged list of objects needs a merge key, and its schema names none`;
        throw new PatchError(PatchErrorCode.MissingMergeKey, why, path);
      }
      return mergeObjectList(live, patchList, schema, mergeKey, path);
    }
  }
}

function mergeObjectList(
  live: JsonValue[],
  patchList: readonly unknown[],
  schema: PatchSchema,
  mergeKey: string,
  path: string,
): JsonValue[] {
  const identity: Identity = (element) => mergeKeyIdentity(element, mergeKey);
  const { deletedIdentities, replaceAll, elements } = splitSpecialElements(patchList, mergeKey, path);
  const base = replaceAll ? [] : live.filter((element) => !deletedIdentities.has(identity(element)));
  const merged = [...base];
  const positions = firstPositions(merged, identity);
  for (const { element, index } of elements) {
    const elementPath = `${path}[${index}]`;
    const at = positions.get(identity(element));
    const current = at === undefined ? undefined : merged[at];
    if (at !== undefined && isJsonObject(current)) {
      merged[at] = mergeFields(current as JsonObject, element, schema, elementPath);
    } else {
      positions.set(identity(element), merged.length);
      merged.push(mergeFields({}, element, schema, elementPath));
    }
  }
  return normalizeOrder(merged, identity, elements.map((e) => e.element), base);
}

/** Separates the `$patch` elements of a patch list from the elements to merge. */
function splitSpecialElements(patchList: readonly unknown[], mergeKey: string, path: string) {
  const deletedIdentities = new Set<string>();
  const elements: { element: PatchMap; index: number }[] = [];
  let replaceAll = false;
  patchList.forEach((element, index) => {
    const elementPath = `${path}[${index}]`;
    if (!isJsonObject(element)) throw mixed(path);
    const hasKey = getOwn(element, mergeKey) !== undefined;
    const directive = directiveOf(element, elementPath);
    if (directive === PatchDirective.Replace) {
      replaceAll = true; // the element's other content, if any, carries no meaning
    } else if (directive === PatchDirective.Merge && !hasKey) {
      // A bare `{$patch: merge}` asks for the default and names nothing to merge.
    } else if (!hasKey) {
      throw new PatchError(
        PatchErrorCode.MissingMergeKey,
        `${elementPath}: ${describeValue(element)} does not contain declared merge key "${mergeKey}"`,
        elementPath,
      );
    } else if (directive === PatchDirective.Delete) {
      deletedIdentities.add(mergeKeyIdentity(element, mergeKey));
    } else {
      elements.push({ element: withoutDirective(element), index });
    }
  });
  return { deletedIdentities, replaceAll, elements };
}

/** What a merged list holds; lists of lists and mixtures have no merge rule (Kubernetes refuses them too). */
function elementKind(live: readonly unknown[], patchList: readonly unknown[], path: string): 'none' | 'object' | 'primitive' {
  let kind: 'none' | 'object' | 'primitive' = 'none';
  for (const list of [live, patchList]) {
    for (const element of list) {
      if (Array.isArray(element)) {
        throw new PatchError(PatchErrorCode.MixedListElements, `${path}: lists of lists cannot be merged`, path);
      }
      const thisKind = isJsonObject(element) ? 'object' : 'primitive';
      if (kind !== 'none' && kind !== thisKind) throw mixed(path);
      kind = thisKind;
    }
  }
  return kind;
}

/**
 * Orders a merged list: elements named in `patchOrder` in that order,
 * the others in `liveOrder`'s order, and the two woven together — a live-only
 * element goes first only when both it and the next patch element are in the
 * live list and it came earlier there. Relative order within each part is kept.
 */
function normalizeOrder(
  merged: readonly JsonValue[],
  identity: Identity,
  patchOrder: readonly unknown[],
  liveOrder: readonly unknown[],
): JsonValue[] {
  const patchRank = firstPositions(patchOrder, identity);
  const liveRank = firstPositions(liveOrder, identity);
  const byRank = (rank: ReadonlyMap<string, number>) => (a: JsonValue, b: JsonValue) =>
    (rank.get(identity(a)) ?? Number.MAX_SAFE_INTEGER) - (rank.get(identity(b)) ?? Number.MAX_SAFE_INTEGER);
  const named = merged.filter((e) => patchRank.has(identity(e))).sort(byRank(patchRank));
  const liveOnly = merged.filter((e) => !patchRank.has(identity(e))).sort(byRank(liveRank));
  const result: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < liveOnly.length && j < named.length) {
    const l = liveOnly[i] as JsonValue;
    const p = named[j] as JsonValue;
    const liveL = liveRank.get(identity(l));
    const liveP = liveRank.get(identity(p));
    if (liveL !== undefined && liveP !== undefined && liveL < liveP) {
      result.push(l);
      i += 1;
    } else {
      result.push(p);
      j += 1;
    }
  }
  return result.concat(liveOnly.slice(i), named.slice(j));
}

// ---- map directives -----------------------------------------------------------

function directiveOf(patch: PatchMap, path: string): PatchDirective | undefined {
  const directive = getOwn(patch, DIRECTIVE_KEY);
  if (directive === undefined) return undefined;
  if (directive === PatchDirective.Replace || directive === PatchDirective.Delete || directive === PatchDirective.Merge) {
    return directive;
  }
  const where = joinPath(path, DIRECTIVE_KEY);
  throw invalid(path, `${where}: unknown directive ${describeValue(directive)}; expected replace, delete or merge`);
}

function applyRetainKeys(live: JsonObject, patch: PatchMap, path: string): void {
  const retained = getOwn(patch, RETAIN_KEYS_KEY);
  if (retained === undefined) return;
  if (!Array.isArray(retained) || !retained.every((key): key is string => typeof key === 'string')) {
    throw invalid(path, `${joinPath(path, RETAIN_KEYS_KEY)} must be a list of field names, got ${describeValue(retained)}`);
  }
  const kept = new Set<string>(retained);
  for (const [key, value] of jsonEntries(patch)) {
    if (value === null || isDirectiveKey(key) || kept.has(key)) continue;
    throw new PatchError(
      PatchErrorCode.RetainKeysMismatch,
      `${joinPath(path, key)} is set by the patch but missing from its ${RETAIN_KEYS_KEY} ${describeValue(retained)}`,
      joinPath(path, key),
    );
  }
  for (const key of Object.keys(live)) {
    if (!kept.has(key)) delete live[key];
  }
}

function applyDeletesFromPrimitiveLists(live: JsonObject, patch: PatchMap, path: string): void {
  for (const [key, doomed] of jsonEntries(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX)) continue;
    if (!Array.isArray(doomed)) {
      throw invalid(path, `${joinPath(path, key)} must be a list of values to delete, got ${describeValue(doomed)}`);
    }
    const field = key.slice(DELETE_FROM_PRIMITIVE_LIST_PREFIX.length);
    const current = getOwn(live, field);
    if (!Array.isArray(current)) continue; // nothing to delete from
    const doomedIdentities = new Set(doomed.map(primitiveIdentity));
    setOwn(live, field, current.filter((element: JsonValue) => !doomedIdentities.has(primitiveIdentity(element))));
  }
}

interface ElementOrder {
  readonly field: string;
  readonly order: readonly unknown[];
  readonly identity: Identity;
  /** The live list before this patch merged into it: the order for elements `order` does not name. */
  readonly liveBefore: readonly unknown[];
}

/** Reads the `$setElementOrder/<field>` directives, before any list is merged. */
function collectElementOrders(
  live: JsonObject,
  patch: PatchMap,
  schema: PatchSchema | undefined,
  path: string,
): ElementOrder[] {
  const orders: ElementOrder[] = [];
  for (const [key, order] of jsonEntries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER_PREFIX)) continue;
    const orderPath = joinPath(path, key);
    if (!Array.isArray(order)) throw invalid(orderPath, `${orderPath} must be a list, got ${describeValue(order)}`);
    const field = key.slice(SET_ELEMENT_ORDER_PREFIX.length);
    const fieldRules = fieldSchema(schema, field);
    if (!isMergeList(fieldRules)) continue; // a replaced list keeps the patch's own order
    const mergeKey = fieldRules.patchMergeKey;
    const identity: Identity =
      mergeKey === undefined ? primitiveIdentity : (element) => mergeKeyIdentity(element, mergeKey);
    const patchList = getOwn(patch, field);
    if (Array.isArray(patchList)) checkOrderCoversPatch(patchList, order, identity, orderPath);
    const current = getOwn(live, field);
    orders.push({ field, order, identity, liveBefore: Array.isArray(current) ? [...current] : [] });
  }
  return orders;
}

/** The patch list's elements must all appear in `$setElementOrder`, in the same relative order. */
function checkOrderCoversPatch(patchList: readonly unknown[], order: readonly unknown[], identity: Identity, orderPath: string): void {
  const rank = firstPositions(order, identity);
  let previous = -1;
  for (const element of patchList) {
    if (isJsonObject(element) && hasOwn(element, DIRECTIVE_KEY)) continue;
    const position = rank.get(identity(element));
    if (position === undefined || position < previous) {
      throw invalid(orderPath, `${orderPath} does not list ${describeValue(element)} where the patch list has it`);
    }
    previous = position;
  }
}

// ---- helpers ------------------------------------------------------------------

function isMergeList(schema: PatchSchema | undefined): schema is PatchSchema {
  return schema?.patchStrategy === PatchStrategy.Merge || schema?.patchStrategy === PatchStrategy.MergeRetainKeys;
}

function fieldSchema(schema: PatchSchema | undefined, field: string): PatchSchema | undefined {
  const fields = schema?.fields;
  return fields !== undefined && Object.hasOwn(fields, field) ? fields[field] : undefined;
}

function isDirectiveKey(key: string): boolean {
  return (
    key === DIRECTIVE_KEY ||
    key === RETAIN_KEYS_KEY ||
    key.startsWith(DELETE_FROM_PRIMITIVE_LIST_PREFIX) ||
    key.startsWith(SET_ELEMENT_ORDER_PREFIX)
  );
}

function withoutDirective(patch: PatchMap): PatchMap {
  return Object.fromEntries(Object.entries(patch).filter(([key]) => key !== DIRECTIVE_KEY));
}

/** JSON text never starts with '#', so an element without the merge key matches no keyed element. */
const NO_MERGE_KEY = '#no-merge-key';

function mergeKeyIdentity(element: unknown, mergeKey: string): string {
  const value = isJsonObject(element) ? getOwn(element, mergeKey) : undefined;
  return value === undefined ? NO_MERGE_KEY : JSON.stringify(value);
}

/** Distinguishes 1 from "1", as Kubernetes' typed comparison does. */
function primitiveIdentity(element: unknown): string {
  return JSON.stringify(element) ?? 'undefined';
}

/** Position of the first element with each identity. */
function firstPositions(list: readonly unknown[], identity: Identity): Map<string, number> {
  const positions = new Map<string, number>();
  list.forEach((element, i) => {
    const id = identity(element);
    if (!positions.has(id)) positions.set(id, i);
  });
  return positions;
}

function dedupe(list: readonly JsonValue[], identity: Identity): JsonValue[] {
  const seen = new Set<string>();
  return list.filter((element) => {
    const id = identity(element);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function invalid(path: string, message: string): PatchError {
  return new PatchError(PatchErrorCode.InvalidPatch, message, path);
}

function mixed(path: string): PatchError {
  return new PatchError(PatchErrorCode.MixedListElements, `${path}: list mixes objects and primitives; no merge rule applies`, path);
}
