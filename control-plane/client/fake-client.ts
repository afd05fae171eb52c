/**
 * An in-memory ApiClient for controller and scheduler tests: objects with
 * resourceVersions, compare-and-swap updates (409 on a stale
 * resourceVersion), status updates that touch only status, label and field
 * selectors, finalizers and deletionTimestamp, pods/binding, and watches.
 * Watches replay what happened after their resourceVersion (410 once it is
 * older than the kept history). Every call is recorded (`actions`), and
 * `failWhen` injects API failures.
 *
 * It follows the real API server's rules closely enough for controllers;
 * validation and defaulting are not repeated here.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject, Status } from '../../proto/k8s/meta.js';
import { applyPatch, patchSchemaFor } from '../patch/index.js';
import { parseFieldSelector } from '../selectors/field-selector.js';
import { parseLabelSelector } from '../selectors/label-selector.js';
import {
  ApiStatusError,
  type ApiClient,
  type DeleteOptions,
  type ListOptions,
  type ObjectList,
  type PatchType,
  type ResourceRef,
  type WatchEvent,
  type WatchOptions,
  type WatchStream,
} from './api-client.js';
import { realClock, type Clock } from './clock.js';

/** Kinds whose main resource does not write status (they have a status subresource). */
const STATUS_PLURALS = new Set(['pods', 'nodes', 'services', 'namespaces', 'deployments', 'replicasets']);

export interface FakeAction {
  readonly verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'watch' | 'subresource';
  readonly plural: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** Events the fake keeps for watches that start from an older resourceVersion (older ones get 410). */
const HISTORY_EVENTS_MAX = 10_000;

interface HistoryEntry {
  readonly r: ResourceRef;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

type Watcher = { r: ResourceRef; namespace: string | undefined; matches: (o: KubeObject) => boolean; onEvent: (e: WatchEvent) => void; stop: () => void };

export class FakeApiClient implements ApiClient {
  private rv = 0;
  private readonly objects = new Map<string, KubeObject>();
  private readonly watchers = new Set<Watcher>();
  private history: HistoryEntry[] = [];
  readonly actions: FakeAction[] = [];
  private failure: ((a: FakeAction) => ApiStatusError | undefined) | undefined;

  constructor(private readonly clock: Clock = realClock) {}

  /** Every later call for which `pred` returns an error fails with it (until called again with undefined). */
  failWhen(pred: ((a: FakeAction) => ApiStatusError | undefined) | undefined): void {
    this.failure = pred;
  }

  /** Puts an object straight into the store (test setup); returns it as stored. */
  seed(r: ResourceRef, obj: KubeObject): KubeObject {
    const stored = this.stamp(r, structuredClone(obj), obj.metadata.namespace);
    this.objects.set(keyOf(r, stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.notify(r, 'ADDED', stored);
    return structuredClone(stored);
  }

  /** Objects of a resource as stored now. */
  all(r: ResourceRef, namespace?: string): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefixOf(r, namespace)))
      .map(([, o]) => structuredClone(o));
  }

  async get<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    this.record({ verb: 'get', plural: r.plural, ...ns(namespace), name });
    return structuredClone(this.mustGet(r, namespace, name)) as T;
  }

  async list<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, o: ListOptions = {}): Promise<ObjectList<T>> {
    this.record({ verb: 'list', plural: r.plural, ...ns(namespace) });
    const matches = selectorOf(o.labelSelector, o.fieldSelector);
    const items = this.all(r, namespace).filter(matches) as T[];
    return { metadata: { resourceVersion: String(this.rv) }, items };
  }

  async create<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T): Promise<T> {
    const name = obj.metadata.name ?? `${obj.metadata.generateName ?? 'obj-'}${randomUUID().slice(0, 5)}`;
    this.record({ verb: 'create', plural: r.plural, ...ns(namespace), name });
    const key = keyOf(r, namespace, name);
    if (this.objects.has(key)) throw statusError(409, 'AlreadyExists', `${r.plural} "${name}" already exists`);
    const stored = this.stamp(r, { ...structuredClone(obj), metadata: { ...obj.metadata, name } }, namespace);
    this.objects.set(key, stored);
    this.notify(r, 'ADDED', stored);
    return structuredClone(stored) as T;
  }

  async update<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T, subresource?: 'status'): Promise<T> {
    const name = obj.metadata.name ?? '';
    this.record({ verb: 'update', plural: r.plural, ...ns(namespace), name, ...(subresource === undefined ? {} : { subresource }) });
    const current = this.mustGet(r, namespace, name);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) throw statusError(409, 'Conflict', `the object has been modified`);
    const next = this.merged(r, current, structuredClone(obj), subresource);
    return structuredClone(this.write(r, current, next)) as T;
  }

  async patch<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status' | 'scale'): Promise<T> {
    this.record({ verb: 'patch', plural: r.plural, ...ns(namespace), name, ...(subresource === undefined ? {} : { subresource }) });
    const current = this.mustGet(r, namespace, name);
    const { resourceVersion: currentRv, ...meta } = current.metadata;
    const patched = applyPatch(type, { ...current, metadata: meta }, patch, patchSchemaFor(r.group, current.kind ?? '')) as KubeObject;
    // As the API server: a resourceVersion or uid the patch names is a precondition.
    const pinned = patched.metadata.resourceVersion;
    if (pinned !== undefined && pinned !== currentRv) throw statusError(409, 'Conflict', 'the object has been modified');
    if (patched.metadata.uid !== current.metadata.uid) throw statusError(409, 'Conflict', 'Precondition failed: UID');
    const next = this.merged(r, current, patched, subresource === 'status' ? 'status' : undefined);
    return structuredClone(this.write(r, current, next)) as T;
  }

  async delete(r: ResourceRef, namespace: string | undefined, name: string, o: DeleteOptions = {}): Promise<KubeObject | Status> {
    this.record({ verb: 'delete', plural: r.plural, ...ns(namespace), name });
    const current = this.mustGet(r, namespace, name);
    if (o.preconditions?.uid !== undefined && o.preconditions.uid !== current.metadata.uid) throw statusError(409, 'Conflict', 'Precondition failed: UID');
    const added = o.propagationPolicy === 'Foreground' ? ['foregroundDeletion'] : o.propagationPolicy === 'Orphan' ? ['orphan'] : [];
    const finalizers = [...new Set([...(current.metadata.finalizers ?? []), ...added])];
    if (finalizers.length > 0) {
      const marked = { ...current, metadata: { ...current.metadata, finalizers, deletionTimestamp: current.metadata.deletionTimestamp ?? iso(this.clock.nowMs()) } };
      return structuredClone(this.write(r, current, marked));
    }
    this.objects.delete(keyOf(r, namespace, name));
    const gone = { ...current, metadata: { ...current.metadata, resourceVersion: String(++this.rv) } };
    this.notify(r, 'DELETED', gone);
    return structuredClone(gone);
  }

  async createSubresource(r: ResourceRef, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    this.record({ verb: 'subresource', plural: r.plural, ...ns(namespace), name, subresource });
    const current = this.mustGet(r, namespace, name);
    if (r.plural !== 'pods' || subresource !== 'binding') throw statusError(404, 'NotFound', `no subresource ${subresource}`);
    const spec = (current.spec ?? {}) as { nodeName?: string };
    if (spec.nodeName) throw statusError(409, 'Conflict', `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const node = (body as { target?: { name?: string } }).target?.name ?? '';
    this.write(r, current, { ...current, spec: { ...spec, nodeName: node } });
    return { kind: 'Status', status: 'Success', code: 201 };
  }

  watch<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchStream {
    this.record({ verb: 'watch', plural: r.plural, ...ns(namespace) });
    let resolveDone!: () => void;
    const done = new Promise<void>((res) => (resolveDone = res));
    const w: Watcher = {
      r,
      namespace,
      matches: selectorOf(o.labelSelector, o.fieldSelector),
      onEvent: onEvent as (e: WatchEvent) => void,
      stop: () => {
        this.watchers.delete(w);
        resolveDone();
      },
    };
    if (!this.replay(w, o.resourceVersion)) {
      queueMicrotask(() => w.stop());
      return { done, stop: w.stop };
    }
    this.watchers.add(w);
    return { done, stop: w.stop };
  }

  async close(): Promise<void> {
    for (const w of [...this.watchers]) w.stop();
  }

  /** Ends every open watch (as a server restart would); informers re-watch from their last resourceVersion. */
  breakWatches(): void {
    for (const w of [...this.watchers]) w.stop();
  }

  private record(a: FakeAction): void {
    this.actions.push(a);
    const err = this.failure?.(a);
    if (err !== undefined) throw err;
  }

  private mustGet(r: ResourceRef, namespace: string | undefined, name: string): KubeObject {
    const o = this.objects.get(keyOf(r, namespace, name));
    if (o === undefined) throw statusError(404, 'NotFound', `${r.plural} "${name}" not found`);
    return o;
  }

  private stamp(r: ResourceRef, obj: KubeObject, namespace: string | undefined): KubeObject {
    const meta = { ...obj.metadata, uid: obj.metadata.uid ?? randomUUID(), creationTimestamp: obj.metadata.creationTimestamp ?? iso(this.clock.nowMs()), generation: 1, resourceVersion: String(++this.rv) };
    if (r.namespaced) meta.namespace = namespace ?? obj.metadata.namespace ?? 'default';
    return { ...obj, metadata: meta };
  }

  private merged(r: ResourceRef, current: KubeObject, incoming: KubeObject, subresource: 'status' | undefined): KubeObject {
    if (subresource === 'status') return { ...current, status: incoming.status };
    const next: KubeObject = { ...incoming, metadata: { ...incoming.metadata, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp } };
    if (STATUS_PLURALS.has(r.plural)) next.status = current.status;
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(next.spec);
    next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    if (current.metadata.deletionTimestamp !== undefined) next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    return next;
  }

  /** Stores `next` over `current`; an object marked for deletion with no finalizers left goes. */
  private write(r: ResourceRef, current: KubeObject, next: KubeObject): KubeObject {
    const key = keyOf(r, current.metadata.namespace, current.metadata.name ?? '');
    const stored = { ...next, metadata: { ...next.metadata, resourceVersion: String(++this.rv) } };
    if (stored.metadata.deletionTimestamp !== undefined && (stored.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(key);
      this.notify(r, 'DELETED', stored);
      return stored;
    }
    this.objects.set(key, stored);
    this.notify(r, 'MODIFIED', stored);
    return stored;
  }

  /** Sends `w` what happened after `resourceVersion`; false (after an ERROR event) when that is no longer known. */
  private replay(w: Watcher, resourceVersion: string): boolean {
    const from = Number(resourceVersion === '' ? this.rv : resourceVersion);
    const oldest = this.history[0] === undefined ? this.rv : Number(this.history[0].object.metadata.resourceVersion) - 1;
    if (from < oldest) {
      const message = `too old resource version: ${from} (${oldest})`;
      w.onEvent({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 } as unknown as KubeObject });
      return false;
    }
    for (const h of this.history) if (Number(h.object.metadata.resourceVersion) > from) this.deliver(w, h.r, h.type, h.object);
    return true;
  }

  private notify(r: ResourceRef, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    this.history.push({ r, type, object: structuredClone(obj) });
    if (this.history.length > HISTORY_EVENTS_MAX) this.history = this.history.slice(-HISTORY_EVENTS_MAX);
    for (const w of this.watchers) this.deliver(w, r, type, obj);
  }

  private deliver(w: Watcher, r: ResourceRef, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    if (w.r.plural !== r.plural || w.r.group !== r.group) return;
    if (w.namespace !== undefined && w.namespace !== obj.metadata.namespace) return;
    if (!w.matches(obj)) return;
    w.onEvent({ type, object: structuredClone(obj) });
  }
}

function ns(namespace: string | undefined): { namespace?: string } {
  return namespace === undefined ? {} : { namespace };
}

function keyOf(r: ResourceRef, namespace: string | undefined, name: string): string {
  return `${prefixOf(r, r.namespaced ? namespace ?? 'default' : undefined)}${name}`;
}

function prefixOf(r: ResourceRef, namespace: string | undefined): string {
  return r.namespaced && namespace !== undefined ? `${r.group}/${r.plural}/${namespace}/` : `${r.group}/${r.plural}/`;
}

function selectorOf(labelSelector: string | undefined, fieldSelector: string | undefined): (o: KubeObject) => boolean {
  const labels = parseLabelSelector(labelSelector ?? '');
  const fields = parseFieldSelector(fieldSelector ?? '');
  return (o) => labels.matches(o.metadata.labels ?? {}) && fields.matches((path) => fieldOf(o, path));
}

function fieldOf(o: KubeObject, path: string): string {
  let at: unknown = o;
  for (const part of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at === undefined || at === null ? '' : String(at);
}

function statusError(code: number, reason: string, message: string): ApiStatusError {
  return new ApiStatusError(code, reason, message, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
