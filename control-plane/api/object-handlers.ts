/**
 * The verbs on objects — get, list, create, update, patch — for every served
 * resource. Requests arrive parsed (request-info.ts, negotiation.ts); answers
 * leave as plain objects that the route layer renders as JSON, YAML or Table.
 *
 * Reads: a get or list without resourceVersion is a consistent read (served
 * by the store, or by the watch cache once it has caught up with the store's
 * current revision); resourceVersion=0 is served from the cache as it is;
 * resourceVersion=N waits for the cache to reach N. Writes always go to the
 * store as compare-and-swap txns (object-store.ts).
 */
import type { KubeObject, ListMeta } from '../../proto/k8s/meta.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import type { KvBackend } from '../../store/kv-backend.js';
import type { RbacSource } from '../auth/index.js';
import { applyPatch, patchSchemaFor, PatchError, PatchErrorHttpStatus } from '../patch/index.js';
import { listPrefix, objectKey } from '../registry/keys.js';
import { ObjectStore, SideConflictError, apiErrorOfStore, refOf, type ObjectAddress } from '../registry/object-store.js';
import { apiVersionOf, type ResourceDescriptor } from '../registry/resources.js';
import { ALLOCATE_ATTEMPTS_MAX, claimIp, type ServiceCidr } from '../registry/service-ips.js';
import { UpdateScope, mustBeObjectOf, prepareCreate, prepareUpdate, sameJson } from '../registry/strategy.js';
import type { WatchCache } from '../registry/watch-cache.js';
import { ApiError, badRequest, invalid, notFound, staleResourceVersion } from './errors.js';
import { encodeContinue, type ListOptions } from './list-options.js';
import { PatchType } from './negotiation.js';
import type { NamespaceLifecycle } from './namespace-lifecycle.js';

/** How long a consistent read waits for the watch cache to reach the store's revision before reading the store itself. */
const CACHE_CATCH_UP_WAIT_MS = 250;
/** How long a read at resourceVersion=N waits for the cache to reach N (Kubernetes waits 3 s, then 504). */
const CACHE_RESOURCE_VERSION_WAIT_MS = 3_000;

export interface HandlerDeps {
  readonly store: ObjectStore;
  readonly cache: WatchCache;
  readonly backend: KvBackend;
  readonly namespaces: NamespaceLifecycle;
  readonly serviceCidr: ServiceCidr;
  readonly nowMs: () => number;
  /** RBAC objects, for the access reviews the server answers. */
  readonly rbac: RbacSource;
  /** How often watches that allow bookmarks get one. */
  readonly bookmarkIntervalMs: number;
  /** Signs service-account tokens (TokenRequest); absent = not served. */
  readonly serviceAccountKey?: Buffer;
}

export interface ObjectList {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: KubeObject[];
}

export class ObjectHandlers {
  constructor(private readonly d: HandlerDeps) {}

  async get(a: ObjectAddress, resourceVersion: string): Promise<KubeObject> {
    if (resourceVersion === '') return this.d.store.get(a);
    await this.cacheAt(resourceVersion);
    const cached = this.d.cache.get(objectKey(a.resource, a.namespace, a.name));
    if (cached === undefined) throw notFound(refOf(a));
    return cached.object;
  }

  async list(r: ResourceDescriptor, namespace: string | undefined, o: ListOptions): Promise<ObjectList> {
    const listKind = { apiVersion: apiVersionOf(r), kind: `${r.kind}List` };
    const fromCache = o.continueToken === undefined && (o.limit === 0 || o.resourceVersion === '0') ? await this.cacheServes(o.resourceVersion) : false;
    if (fromCache) {
      const { items, revision } = this.d.cache.list(listPrefix(r, namespace));
      const kept = items.map((c) => c.object).filter(o.matches);
      return { ...listKind, metadata: { resourceVersion: String(revision) }, items: kept };
    }
    const revision = o.continueToken?.revision ?? (o.resourceVersion === '' || o.resourceVersion === '0' ? 0 : revisionOf(o.resourceVersion));
    const page = await this.d.store.list(r, namespace, {
      limit: o.limit,
      revision,
      keep: o.matches,
      ...(o.continueToken === undefined ? {} : { after: o.continueToken.after }),
    }).catch((err: unknown) => {
      if (o.continueToken !== undefined && err instanceof ApiError && err.reason === StatusReason.Expired) {
        throw new ApiError(StatusReason.Expired, 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      throw err;
    });
    const metadata: ListMeta = { resourceVersion: String(page.revision) };
    if (page.continueAfter !== undefined) {
      metadata.continue = encodeContinue({ revision: page.revision, after: page.continueAfter });
      if (!o.hasSelectors && page.remaining !== undefined) metadata.remainingItemCount = page.remaining;
    }
    return { ...listKind, metadata, items: page.items };
  }

  async create(r: ResourceDescriptor, namespace: string | undefined, body: unknown, dryRun: boolean): Promise<KubeObject> {
    const obj = prepareCreate(r, namespace, mustBeObjectOf(r, body), this.d.nowMs());
    const a: ObjectAddress = { resource: r, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' };
    if (r.namespaced) await this.d.namespaces.mustAllowCreate(a.namespace ?? '');
    if (dryRun) return obj;
    if (r.kind === 'Service') return this.createService(a, obj);
    return this.d.store.create(a, obj);
  }

  /** PUT: replaces the object (or its status), honouring the resourceVersion the client sent. */
  async update(a: ObjectAddress, body: unknown, scope: UpdateScope, dryRun: boolean): Promise<KubeObject> {
    const incoming = mustBeObjectOf(a.resource, body);
    const rv = incoming.metadata.resourceVersion;
    return this.writeUpdate(a, (current) => prepareUpdate(a.resource, current, incoming, scope), rv, dryRun);
  }

  async patch(a: ObjectAddress, contentType: string, patch: unknown, scope: UpdateScope, dryRun: boolean): Promise<KubeObject> {
    if (contentType === PatchType.Apply) {
      throw new ApiError(StatusReason.UnsupportedMediaType, 'server-side apply (application/apply-patch+yaml) is not supported; use client-side `kubectl apply`');
    }
    const schema = patchSchemaFor(a.resource.group, a.resource.kind);
    return this.writeUpdate(a, (current) => {
      // Patched without its resourceVersion: one that the patch itself names is a precondition, as in Kubernetes.
      const { resourceVersion: currentRv, ...meta } = current.metadata;
      const patched = patchedObject(a, contentType, { ...current, metadata: meta }, patch, schema);
      const pinned = (patched.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (pinned !== undefined && pinned !== currentRv) throw staleResourceVersion(refOf(a));
      return prepareUpdate(a.resource, current, mustBeObjectOf(a.resource, patched), scope);
    }, undefined, dryRun);
  }

  /** One update through the store; a changed object that comes out equal to the stored one writes nothing. */
  private async writeUpdate(a: ObjectAddress, compute: (current: KubeObject) => KubeObject | undefined, rv: string | undefined, dryRun: boolean): Promise<KubeObject> {
    let dryResult: KubeObject | undefined;
    const stored = await this.d.store.update(
      a,
      (current) => {
        const next = compute(current);
        if (next === undefined || dryRun || unchanged(current, next)) {
          dryResult = next;
          return undefined;
        }
        return next;
      },
      rv === undefined ? {} : { resourceVersion: rv },
    );
    return dryRun && dryResult !== undefined ? dryResult : stored;
  }

  /** Creates a Service, claiming its ClusterIP in the same txn (service-ips.ts). */
  private async createService(a: ObjectAddress, obj: KubeObject): Promise<KubeObject> {
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    const requested = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    const owner = `${a.namespace ?? ''}/${a.name}`;
    if (requested === 'None') return this.d.store.create(a, obj);
    if (requested !== '') return this.createWithIp(a, obj, requested, owner, false);
    for (let attempt = 0; attempt < ALLOCATE_ATTEMPTS_MAX; attempt++) {
      const ip = this.d.serviceCidr.randomAddress();
      const created = await this.createWithIp(a, obj, ip, owner, true);
      if (created !== undefined) return created;
    }
    throw new ApiError(StatusReason.InternalError, `failed to allocate a serviceIP: range ${this.d.serviceCidr.cidr} is full`);
  }

  private async createWithIp(a: ObjectAddress, obj: KubeObject, ip: string, owner: string, retryable: true): Promise<KubeObject | undefined>;
  private async createWithIp(a: ObjectAddress, obj: KubeObject, ip: string, owner: string, retryable: false): Promise<KubeObject>;
  private async createWithIp(a: ObjectAddress, obj: KubeObject, ip: string, owner: string, retryable: boolean): Promise<KubeObject | undefined> {
    const ref = refOf(a);
    if (!this.d.serviceCidr.contains(ip)) {
      throw invalid(ref, [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: "${ip}": provided IP is not in the valid range. The range of valid IPs is ${this.d.serviceCidr.cidr}` }]);
    }
    const withIp = { ...obj, spec: { ...(obj.spec as object), clusterIP: ip, clusterIPs: [ip] } };
    try {
      return await this.d.store.create(a, withIp, { also: claimIp(ip, owner) });
    } catch (err) {
      if (!(err instanceof SideConflictError)) throw err;
      if (retryable) return undefined;
      throw invalid(ref, [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: "${ip}": provided IP is already allocated` }]);
    }
  }

  /** Whether the cache can answer a read at `resourceVersion` ('' = consistent, '0' = any). */
  private async cacheServes(resourceVersion: string): Promise<boolean> {
    if (resourceVersion === '0') return true;
    if (resourceVersion !== '') {
      await this.cacheAt(resourceVersion);
      return true;
    }
    let current: number;
    try {
      current = await this.d.backend.currentRevision();
    } catch (err) {
      throw apiErrorOfStore(err);
    }
    return this.d.cache.waitFor(current, CACHE_CATCH_UP_WAIT_MS);
  }

  private async cacheAt(resourceVersion: string): Promise<void> {
    if (resourceVersion === '0') return;
    const rv = revisionOf(resourceVersion);
    if (!(await this.d.cache.waitFor(rv, CACHE_RESOURCE_VERSION_WAIT_MS))) {
      throw new ApiError(StatusReason.Timeout, `Too large resource version: ${rv}, current: ${this.d.cache.revision}`, { retryAfterSeconds: 1 });
    }
  }
}

export function revisionOf(resourceVersion: string): number {
  const n = Number(resourceVersion);
  if (!/^\d+$/.test(resourceVersion) || !Number.isSafeInteger(n)) throw badRequest(`resourceVersion: invalid value "${resourceVersion}": must be a decimal revision`);
  return n;
}

function patchedObject(a: ObjectAddress, contentType: string, current: KubeObject, patch: unknown, schema: ReturnType<typeof patchSchemaFor>): KubeObject {
  try {
    const out = applyPatch(contentType, current, patch, schema) as KubeObject;
    if (out === null || typeof out !== 'object' || Array.isArray(out)) throw badRequest('the patch result is not an object');
    return out;
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    const http = PatchErrorHttpStatus[err.code];
    if (http === 415) throw new ApiError(StatusReason.UnsupportedMediaType, err.message);
    if (http === 422) throw new ApiError(StatusReason.Invalid, err.message, { name: a.name, group: a.resource.group, kind: a.resource.kind });
    if (http === 413) throw new ApiError(StatusReason.RequestEntityTooLarge, err.message);
    throw badRequest(err.message);
  }
}

function unchanged(current: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return sameJson(strip(current), strip(next));
}
