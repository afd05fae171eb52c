/**
 * ObjectStore: Kubernetes objects over a KvBackend — get, create, guaranteed
 * update (read, change, compare-and-swap on the mod revision, retry), delete
 * with preconditions, and paged lists at one revision. It knows keys and
 * encoding, not the rules of any kind (those are in strategy.ts).
 *
 * Every write is a single txn comparing the key's mod revision, so two masters
 * writing the same object at once can never both win: the loser re-reads and
 * re-applies its change, or reports 409 when the caller pinned a
 * resourceVersion.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { KvBackend, KvCompare, KvEntry, KvOp, KvOpResult } from '../../store/kv-backend.js';
import { KvBackendError, KvBackendErrorCode, prefixEnd } from '../../store/kv-backend.js';
import { ApiError, alreadyExists, expired, internal, notFound, staleResourceVersion, unavailable, type ObjectRef } from '../api/errors.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import { decodeObject, encodeObject } from './codec.js';
import { listPrefix, objectKey } from './keys.js';
import type { ResourceDescriptor } from './resources.js';

/** Attempts of one guaranteed update under contention before giving up with 409. */
const UPDATE_ATTEMPTS_MAX = 16;
/** Largest page a list reads from the store at once. */
export const LIST_PAGE_ENTRIES_MAX = 500;
/** Largest number of store pages one list request may scan while filtering (bounds the work of a selective list). */
const LIST_SCAN_PAGES_MAX = 200;

/** Extra compares and writes that ride in an object's create txn. */
export interface SideEffects {
  readonly compare: readonly KvCompare[];
  readonly ops: readonly KvOp[];
}

/** A create failed on one of its side compares, not on the object's own key. */
export class SideConflictError extends Error {
  override readonly name = 'SideConflictError';
  constructor() {
    super('a side condition of the create did not hold');
  }
}

export interface ObjectAddress {
  readonly resource: ResourceDescriptor;
  readonly namespace: string | undefined;
  readonly name: string;
}

export interface Preconditions {
  readonly resourceVersion?: string;
  readonly uid?: string;
}

/**
 * Computes the new object from the current one. Returning undefined means
 * "no change" (nothing is written). It may be called several times under
 * contention, each time with a fresh current object; it must not have side effects.
 */
export type TryUpdate = (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>;

export interface ListPage {
  readonly items: KubeObject[];
  readonly revision: number;
  /** The key to continue after, when more may follow. */
  readonly continueAfter?: string;
  readonly remaining?: number;
}

export class ObjectStore {
  constructor(private readonly backend: KvBackend) {}

  async get(a: ObjectAddress, signal?: AbortSignal): Promise<KubeObject> {
    const entry = await this.read(keyOf(a), signal);
    if (entry === undefined) throw notFound(refOf(a));
    return mustDecode(entry, a);
  }

  /**
   * Creates the object; AlreadyExists if the key is taken. `also` adds
   * compares and writes to the same txn (e.g. claiming a service IP): when
   * one of its compares fails instead, this throws SideConflictError.
   * Returns the object as stored.
   */
  async create(a: ObjectAddress, obj: KubeObject, opts: { lease?: number; signal?: AbortSignal; also?: SideEffects } = {}): Promise<KubeObject> {
    const key = keyOf(a);
    const value = encodeObject(obj);
    const res = await this.call(() =>
      this.backend.txn({
        compare: [{ key, modRevision: 0 }, ...(opts.also?.compare ?? [])],
        success: [{ type: 'put', key, value, ...(opts.lease === undefined ? {} : { lease: opts.lease }) }, ...(opts.also?.ops ?? [])],
        failure: [{ type: 'get', key }],
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      }),
    );
    if (!res.succeeded) {
      const existing = res.results[0];
      if (existing?.type === 'get' && existing.entry !== undefined) throw alreadyExists(refOf(a));
      throw new SideConflictError();
    }
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.revision) } };
  }

  /**
   * Reads, applies `tryUpdate`, and swaps in the result if nobody wrote in
   * between; otherwise retries with the newer object. A precondition on
   * resourceVersion is checked against the object `tryUpdate` would see: a
   * mismatch is a 409 Conflict (the client's copy is stale).
   */
  async update(a: ObjectAddress, tryUpdate: TryUpdate, pre: Preconditions = {}, signal?: AbortSignal): Promise<KubeObject> {
    const key = keyOf(a);
    // Each attempt works on the stored object: read first, or the one a failed
    // compare-and-swap handed back. (Starting from the watch cache's copy instead was
    // measured slower: with the cache a moment behind, a failed swap costs a Raft
    // write, where a read costs only a ReadIndex round.)
    let known: KvEntry | undefined;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS_MAX; attempt++) {
      const current = await this.currentOf(a, known, signal);
      checkPreconditions(a, current, pre);
      const next = await tryUpdate(current);
      if (next === undefined) return current;
      const res = await this.call(() =>
        this.backend.txn({
          compare: [{ key, modRevision: Number(current.metadata.resourceVersion) }],
          success: [{ type: 'put', key, value: encodeObject(next) }],
          failure: [{ type: 'get', key }],
          ...(signal === undefined ? {} : { signal }),
        }),
      );
      if (res.succeeded) return { ...next, metadata: { ...next.metadata, resourceVersion: String(res.revision) } };
      const got = res.results[0];
      if (got?.type === 'get' && got.entry === undefined) throw notFound(refOf(a));
      known = got?.type === 'get' ? got.entry : undefined;
    }
    throw staleResourceVersion(refOf(a));
  }

  /** The stored object: `known` (just returned by a failed compare) or a fresh read. */
  private async currentOf(a: ObjectAddress, known: KvEntry | undefined, signal?: AbortSignal): Promise<KubeObject> {
    const entry = known ?? (await this.read(keyOf(a), signal));
    if (entry === undefined) throw notFound(refOf(a));
    return mustDecode(entry, a);
  }

  /** Deletes the object if the preconditions hold; returns its last state. */
  async delete(a: ObjectAddress, pre: Preconditions = {}, signal?: AbortSignal, alsoOps: (current: KubeObject) => readonly KvOp[] = () => []): Promise<KubeObject> {
    const key = keyOf(a);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS_MAX; attempt++) {
      const entry = await this.read(key, signal);
      if (entry === undefined) throw notFound(refOf(a));
      const current = mustDecode(entry, a);
      checkPreconditions(a, current, pre);
      const res = await this.call(() =>
        this.backend.txn({
          compare: [{ key, modRevision: entry.modRevision }],
          success: [{ type: 'delete', key }, ...alsoOps(current)],
          failure: [],
          ...(signal === undefined ? {} : { signal }),
        }),
      );
      if (res.succeeded && deleted(res.results[0])) return current;
    }
    throw staleResourceVersion(refOf(a));
  }

  /**
   * One page of a list at `revision` (0 = latest), starting after `after`,
   * keeping only objects `keep` accepts, at most `limit` of them (0 = all).
   */
  async list(
    r: ResourceDescriptor,
    namespace: string | undefined,
    o: { limit: number; revision: number; after?: string; keep: (o: KubeObject) => boolean; signal?: AbortSignal },
  ): Promise<ListPage> {
    const prefix = listPrefix(r, namespace);
    const end = prefixEnd(prefix);
    let from = o.after === undefined ? prefix : `${o.after}\0`;
    let revision = o.revision;
    const items: KubeObject[] = [];
    for (let pages = 0; pages < LIST_SCAN_PAGES_MAX; pages++) {
      const want = o.limit === 0 ? LIST_PAGE_ENTRIES_MAX : Math.min(LIST_PAGE_ENTRIES_MAX, o.limit - items.length);
      const page = await this.call(() =>
        this.backend.range({ key: from, rangeEnd: end, limit: want, revision, ...(o.signal === undefined ? {} : { signal: o.signal }) }),
      );
      // A read at a past revision answers with the current one in its header: keep the snapshot's.
      if (revision === 0) revision = page.revision;
      for (const e of page.entries) {
        const obj = decodeObject(e.value, e.modRevision);
        if (obj !== undefined && o.keep(obj)) items.push(obj);
      }
      const last = page.entries[page.entries.length - 1];
      if (!page.more || last === undefined) return { items, revision };
      from = `${last.key}\0`;
      if (o.limit !== 0 && items.length >= o.limit) return { items, revision, continueAfter: last.key, remaining: page.count - page.entries.length };
    }
    throw new ApiError(StatusReason.Timeout, `list of ${r.plural} scanned ${LIST_SCAN_PAGES_MAX} pages without filling the page; use a smaller limit or a narrower selector`);
  }

  private async read(key: string, signal?: AbortSignal): Promise<KvEntry | undefined> {
    const res = await this.call(() => this.backend.range({ key, ...(signal === undefined ? {} : { signal }) }));
    return res.entries[0];
  }

  /** Runs a store call, turning store failures into API errors. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiErrorOfStore(err);
    }
  }
}

export function apiErrorOfStore(err: unknown): unknown {
  if (!(err instanceof KvBackendError)) return err;
  switch (err.code) {
    case KvBackendErrorCode.Compacted:
      return expired(`The resourceVersion for the provided list is too old (compacted; oldest available is ${err.compactRevision ?? 'unknown'}).`);
    case KvBackendErrorCode.Unavailable:
      return unavailable(`the storage is unavailable: ${err.message}`);
    case KvBackendErrorCode.Refused:
      return new ApiError(StatusReason.RequestEntityTooLarge, `the storage refused the request: ${err.message}`);
    case KvBackendErrorCode.Aborted:
      return new ApiError(StatusReason.Timeout, 'the request was canceled before the storage answered');
  }
}

function keyOf(a: ObjectAddress): string {
  return objectKey(a.resource, a.namespace, a.name);
}

export function refOf(a: ObjectAddress): ObjectRef {
  return { group: a.resource.group, plural: a.resource.plural, kind: a.resource.kind, name: a.name };
}

function mustDecode(e: KvEntry, a: ObjectAddress): KubeObject {
  const obj = decodeObject(e.value, e.modRevision);
  if (obj === undefined) throw internal(`stored ${a.resource.plural} "${a.name}" cannot be decoded`);
  return obj;
}

function checkPreconditions(a: ObjectAddress, current: KubeObject, pre: Preconditions): void {
  if (pre.uid !== undefined && pre.uid !== '' && pre.uid !== current.metadata.uid) {
    throw new ApiError(
      StatusReason.Conflict,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
      { name: a.name, group: a.resource.group, kind: a.resource.plural },
    );
  }
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== '' && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw staleResourceVersion(refOf(a));
  }
}

function deleted(r: KvOpResult | undefined): boolean {
  return r !== undefined && r.type === 'delete' && r.deleted;
}
