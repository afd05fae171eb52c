/**
 * What the API server does to an object on its way into storage, the same for
 * every kind (Kubernetes' "rest strategy"): system metadata on create (uid,
 * creationTimestamp, generation, a name from generateName), the fields a
 * client may not change on update, which part of the object the main resource
 * and the status subresource may write, generation bumps on spec changes, and
 * then defaulting and validation. Nothing invalid reaches storage.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { FieldError, KubeObject } from '../../proto/k8s/meta.js';
import { ApiError, badRequest, invalid } from '../api/errors.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import { applyDefaults, validateObject } from '../validation/index.js';
import { apiVersionOf, type ResourceDescriptor } from './resources.js';

/** Kubernetes' generateName suffix: 5 characters from an alphabet without vowels and look-alikes. */
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_SUFFIX_CHARS = 5;
/** Longest name generateName may produce a prefix for (the suffix is added on top, up to 253 in all). */
const GENERATE_NAME_PREFIX_CHARS_MAX = 253 - GENERATE_NAME_SUFFIX_CHARS;

/** RFC 3339 with second precision, as Kubernetes writes metav1.Time. */
export function timestamp(nowMs: number): string {
  return new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < GENERATE_NAME_SUFFIX_CHARS; i++) suffix += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)];
  return prefix.slice(0, GENERATE_NAME_PREFIX_CHARS_MAX) + suffix;
}

/** The body must be a JSON object of this resource's kind and apiVersion (when it names them). */
export function mustBeObjectOf(r: ResourceDescriptor, body: unknown): KubeObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON or YAML object');
  const o = body as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== r.kind) {
    throw badRequest(`the body kind "${String(o.kind)}" does not match the resource ${r.plural} (kind ${r.kind})`);
  }
  if (o.apiVersion !== undefined && o.apiVersion !== apiVersionOf(r)) {
    throw badRequest(`the body apiVersion "${String(o.apiVersion)}" does not match ${apiVersionOf(r)} for ${r.plural}`);
  }
  const metadata = o.metadata ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw badRequest('metadata must be an object');
  return { ...o, apiVersion: apiVersionOf(r), kind: r.kind, metadata: { ...(metadata as KubeObject['metadata']) } };
}

/** Fills in the system metadata of a new object, then defaults and validates it. */
export function prepareCreate(r: ResourceDescriptor, namespace: string | undefined, body: KubeObject, nowMs: number): KubeObject {
  const meta = { ...body.metadata };
  if (r.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace;
  } else {
    delete meta.namespace;
  }
  if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
    meta.name = generatedName(meta.generateName);
  }
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp(nowMs);
  meta.generation = 1;
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  const obj: KubeObject = { ...body, metadata: meta };
  if (r.kind === 'Pod') obj.status = { phase: 'Pending', ...podStatusOnCreate(obj) };
  return defaultAndValidate(r, obj, undefined);
}

function podStatusOnCreate(pod: KubeObject): Record<string, unknown> {
  const given = pod.status as Record<string, unknown> | undefined;
  return given?.qosClass === undefined ? {} : { qosClass: given.qosClass };
}

export const UpdateScope = {
  /** PUT/PATCH on the object: everything but status (for kinds with a status). */
  Main: 'main',
  /** PUT/PATCH on /status: status only. */
  Status: 'status',
  /** Internal writes (finalizer changes, deletion marks): take the object as given. */
  System: 'system',
} as const;
export type UpdateScope = (typeof UpdateScope)[keyof typeof UpdateScope];

/**
 * The object to store when `incoming` replaces `current`: system metadata kept,
 * the scope's fields taken, generation bumped on a spec change, then defaulted
 * and validated against the old object.
 */
export function prepareUpdate(r: ResourceDescriptor, current: KubeObject, incoming: KubeObject, scope: UpdateScope): KubeObject {
  const uid = incoming.metadata.uid;
  if (uid !== undefined && uid !== '' && uid !== current.metadata.uid) {
    // A uid in the body is a precondition (an adoption patch names the object it means), as in Kubernetes.
    throw new ApiError(StatusReason.Conflict, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ''}`, {
      name: current.metadata.name ?? '',
      group: r.group,
      kind: r.plural,
    });
  }
  if (incoming.metadata.name !== undefined && incoming.metadata.name !== current.metadata.name) {
    throw badRequest(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${current.metadata.name ?? ''})`);
  }
  let next: KubeObject;
  if (scope === UpdateScope.Status) {
    next = { ...current, status: incoming.status };
  } else {
    next = { ...incoming, apiVersion: current.apiVersion, kind: current.kind };
    if (scope === UpdateScope.Main && r.hasStatus) next.status = current.status;
    if (r.kind === 'Service') next.spec = keepClusterIps(current.spec, next.spec);
  }
  next.metadata = keepSystemMetadata(scope === UpdateScope.Status ? current.metadata : incoming.metadata, current.metadata);
  // A terminating object may lose finalizers but not gain new ones (Kubernetes forbids it too).
  if (current.metadata.deletionTimestamp !== undefined) rejectNewFinalizers(r, current, next);
  next.metadata.generation = nextGeneration(r, current, next);
  return defaultAndValidate(r, next, current);
}

/** An update that leaves the ClusterIP out keeps the allocated one (it cannot change, and `kubectl replace` omits it). */
function keepClusterIps(current: unknown, next: unknown): unknown {
  const c = (current ?? {}) as Record<string, unknown>;
  const n = { ...((next ?? {}) as Record<string, unknown>) };
  if ((n.clusterIP === undefined || n.clusterIP === '') && c.clusterIP !== undefined) n.clusterIP = c.clusterIP;
  if (n.clusterIPs === undefined && c.clusterIPs !== undefined) n.clusterIPs = c.clusterIPs;
  return n;
}

function keepSystemMetadata(given: KubeObject['metadata'], current: KubeObject['metadata']): KubeObject['metadata'] {
  const meta = { ...given };
  meta.name = current.name;
  meta.uid = current.uid;
  meta.creationTimestamp = current.creationTimestamp;
  meta.generation = current.generation;
  if (current.namespace === undefined) delete meta.namespace;
  else meta.namespace = current.namespace;
  if (current.deletionTimestamp === undefined) {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  } else {
    meta.deletionTimestamp = current.deletionTimestamp;
    if (current.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = current.deletionGracePeriodSeconds;
  }
  delete meta.resourceVersion;
  return meta;
}

function rejectNewFinalizers(r: ResourceDescriptor, current: KubeObject, next: KubeObject): void {
  const before = new Set(current.metadata.finalizers ?? []);
  const added = (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
  if (added.length === 0) return;
  throw new ApiError(
    StatusReason.Forbidden,
    `${r.plural} "${current.metadata.name ?? ''}" is being deleted: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
  );
}

/** Kinds with a status bump generation on spec changes; the rest on any change but metadata. */
function nextGeneration(r: ResourceDescriptor, current: KubeObject, next: KubeObject): number {
  const generation = current.metadata.generation ?? 1;
  const changed = r.hasStatus ? !sameJson(current.spec, next.spec) : !sameJson(withoutMeta(current), withoutMeta(next));
  return changed ? generation + 1 : generation;
}

function withoutMeta(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, ...rest } = o;
  return rest;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** A copy with object keys sorted, so equal values serialize equally. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
  return out;
}

function defaultAndValidate(r: ResourceDescriptor, obj: KubeObject, old: KubeObject | undefined): KubeObject {
  const defaulted = applyDefaults(r.kind, obj);
  const errors: FieldError[] = validateObject(r.kind, defaulted, old);
  if (errors.length > 0) throw invalid({ group: r.group, plural: r.plural, kind: r.kind, name: defaulted.metadata.name ?? '' }, errors);
  return defaulted;
}
