/**
 * The query parameters of list and watch requests, checked and parsed once:
 * label and field selectors (fields limited to what the resource supports, as
 * Kubernetes does), limit and continue, resourceVersion, bookmarks and
 * timeoutSeconds. Bad values are 400 with a message naming the parameter.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { ResourceDescriptor } from '../registry/resources.js';
import { fieldsOf, parseFieldSelector } from '../selectors/field-selector.js';
import { parseLabelSelector, SelectorError } from '../selectors/label-selector.js';
import { badRequest } from './errors.js';

export type Query = Readonly<Record<string, string | string[] | undefined>>;

/** Largest page a client may ask for; Kubernetes clients use 500. Larger values are clamped, not refused. */
export const LIST_LIMIT_MAX = 10_000;
/** Longest watch a client may ask for with timeoutSeconds. */
const WATCH_TIMEOUT_SECONDS_MAX = 3_600;
/** Default watch length: Kubernetes' --min-request-timeout (1800 s), randomized up to twice that so watches do not all end together. */
const WATCH_TIMEOUT_SECONDS_DEFAULT = 1_800;

export interface ListOptions {
  /** Whether the object matches the label and field selectors. */
  readonly matches: (o: KubeObject) => boolean;
  readonly hasSelectors: boolean;
  readonly limit: number;
  readonly continueToken?: ContinueToken;
  /** '' = most recent (consistent), '0' = any (cache), otherwise a revision. */
  readonly resourceVersion: string;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number;
}

export interface ContinueToken {
  readonly revision: number;
  readonly after: string;
}

export function single(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function parseListOptions(r: ResourceDescriptor, q: Query, namespaced: boolean, randomFraction: number): ListOptions {
  const matches = selectorsOf(r, q, namespaced);
  const limit = integerParam(q, 'limit', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const cont = single(q, 'continue');
  const timeout = integerParam(q, 'timeoutSeconds', 0, WATCH_TIMEOUT_SECONDS_MAX);
  return {
    matches: matches.fn,
    hasSelectors: matches.present,
    limit: Math.min(limit, LIST_LIMIT_MAX),
    ...(cont === undefined || cont === '' ? {} : { continueToken: decodeContinue(cont) }),
    resourceVersion: single(q, 'resourceVersion') ?? '',
    allowBookmarks: single(q, 'allowWatchBookmarks') === 'true',
    timeoutSeconds: timeout ?? Math.round(WATCH_TIMEOUT_SECONDS_DEFAULT * (1 + randomFraction)),
  };
}

function integerParam(q: Query, name: string, min: number, max: number): number | undefined {
  const raw = single(q, name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw badRequest(`${name}: must be an integer >= ${min}, got "${raw}"`);
  return Math.min(n, max);
}

function selectorsOf(r: ResourceDescriptor, q: Query, namespaced: boolean): { fn: (o: KubeObject) => boolean; present: boolean } {
  const labelText = single(q, 'labelSelector') ?? '';
  const fieldText = single(q, 'fieldSelector') ?? '';
  try {
    const labels = parseLabelSelector(labelText);
    const fields = parseFieldSelector(fieldText);
    for (const f of fieldsOf(fields)) {
      if (!supportedField(r, f, namespaced)) throw badRequest(`field label not supported: ${f}`);
    }
    const fn = (o: KubeObject): boolean =>
      labels.matches(o.metadata.labels ?? {}) && fields.matches((path: string) => fieldValue(r, o, path));
    return { fn, present: labelText.trim() !== '' || fieldText.trim() !== '' };
  } catch (err) {
    if (err instanceof SelectorError) throw badRequest(err.message);
    throw err;
  }
}

function supportedField(r: ResourceDescriptor, f: string, namespaced: boolean): boolean {
  return f === 'metadata.name' || (f === 'metadata.namespace' && namespaced) || f in r.selectableFields;
}

function fieldValue(r: ResourceDescriptor, o: KubeObject, path: string): string | undefined {
  if (path === 'metadata.name') return o.metadata.name ?? '';
  if (path === 'metadata.namespace') return o.metadata.namespace ?? '';
  const get = r.selectableFields[path];
  return get === undefined ? undefined : get(o as Record<string, unknown>);
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: t.revision, after: t.after })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const o = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; after?: unknown };
    if (o.v === 1 && Number.isSafeInteger(o.rv) && typeof o.after === 'string') return { revision: o.rv as number, after: o.after };
  } catch {
    // Falls through to the error below.
  }
  throw badRequest('continue key is not valid: the continue token was not produced by this server');
}
