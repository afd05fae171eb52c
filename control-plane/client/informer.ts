/**
 * An informer: a local, always-catching-up copy of one resource (optionally
 * one namespace or a selector), kept by list + watch, the way client-go's
 * reflector and shared informer do it:
 *  - list, then watch from the list's resourceVersion; when the watch ends,
 *    watch again from the last resourceVersion seen (bookmarks included);
 *  - when the server says that revision is gone (410) or anything fails,
 *    list again, and turn the difference into add/update/delete callbacks, so
 *    no change is ever missed, only merged;
 *  - every `resyncMs`, replay every object as an update, so level-triggered
 *    controllers get to re-check what they may have dropped.
 *
 * Handlers run synchronously, in order, and must be quick (controllers only
 * enqueue keys).
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { type ApiClient, type ResourceRef, type WatchEvent, WatchEventType, type WatchStream } from './api-client.js';
import { realClock, type Clock } from './clock.js';

export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** 0 = no resync. */
  readonly resyncMs?: number;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

/** Wait before listing again after a failure, doubled up to the max. */
const RELIST_BACKOFF_MIN_MS = 100;
const RELIST_BACKOFF_MAX_MS = 10_000;
/** Each watch asks the server to end it after this long (the next one resumes), so a silently dead connection is noticed. */
const WATCH_TIMEOUT_SECONDS = 300;
/** Page size of lists. */
const LIST_PAGE_ITEMS = 500;

/** `namespace/name`, or `name` for cluster-scoped objects: the key controllers queue. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns === undefined || ns === '' ? obj.metadata.name ?? '' : `${ns}/${obj.metadata.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion = '';
  private stopped = true;
  private watch: WatchStream | undefined;
  private cancelResync: (() => void) | undefined;
  private syncedResolve!: () => void;
  private isSynced = false;
  /** Resolves after the first complete list has been delivered to the handlers. */
  readonly synced: Promise<void> = new Promise((r) => (this.syncedResolve = r));
  private readonly clock: Clock;

  constructor(
    private readonly client: ApiClient,
    readonly resource: ResourceRef,
    private readonly o: InformerOptions = {},
  ) {
    this.clock = o.clock ?? realClock;
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // A late handler sees what is already known, as in client-go.
    for (const obj of this.items.values()) h.onAdd?.(obj);
  }

  hasSynced(): boolean {
    return this.isSynced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  /** Every object (of one namespace when given). */
  list(namespace?: string): T[] {
    const all = [...this.items.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.run();
    this.scheduleResync();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.cancelResync?.();
  }

  private async run(): Promise<void> {
    let backoffMs = RELIST_BACKOFF_MIN_MS;
    while (!this.stopped) {
      try {
        await this.listAll();
        backoffMs = RELIST_BACKOFF_MIN_MS;
        await this.watchUntilGone();
      } catch (err) {
        this.o.log?.(`informer ${this.resource.plural}: ${err instanceof Error ? err.message : String(err)}; listing again in ${backoffMs} ms`);
        await new Promise<void>((r) => this.clock.after(backoffMs, r));
        backoffMs = Math.min(RELIST_BACKOFF_MAX_MS, backoffMs * 2);
      }
    }
  }

  /** Lists everything (page by page, at one revision) and reconciles the local copy with it. */
  private async listAll(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.list<T>(this.resource, this.o.namespace, {
        limit: LIST_PAGE_ITEMS,
        ...(cont === undefined ? {} : { continue: cont }),
        ...(this.o.labelSelector === undefined ? {} : { labelSelector: this.o.labelSelector }),
        ...(this.o.fieldSelector === undefined ? {} : { fieldSelector: this.o.fieldSelector }),
      });
      for (const item of page.items) fresh.set(keyOf(item), item);
      rv = page.metadata.resourceVersion ?? rv;
      cont = page.metadata.continue === '' ? undefined : page.metadata.continue;
    } while (cont !== undefined && !this.stopped);
    if (this.stopped) return;
    this.replace(fresh);
    this.resourceVersion = rv;
    if (!this.isSynced) {
      this.isSynced = true;
      this.syncedResolve();
    }
  }

  private replace(fresh: Map<string, T>): void {
    for (const [key, old] of this.items) {
      if (!fresh.has(key)) {
        this.items.delete(key);
        for (const h of this.handlers) h.onDelete?.(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.items.get(key);
      this.items.set(key, obj);
      if (old === undefined) for (const h of this.handlers) h.onAdd?.(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) for (const h of this.handlers) h.onUpdate?.(old, obj);
    }
  }

  /** Watches (and re-watches) from the last resourceVersion; returns when a relist is needed. */
  private async watchUntilGone(): Promise<void> {
    while (!this.stopped) {
      let gone = false;
      this.watch = this.client.watch<T>(
        this.resource,
        this.o.namespace,
        {
          resourceVersion: this.resourceVersion,
          allowBookmarks: true,
          timeoutSeconds: WATCH_TIMEOUT_SECONDS,
          ...(this.o.labelSelector === undefined ? {} : { labelSelector: this.o.labelSelector }),
          ...(this.o.fieldSelector === undefined ? {} : { fieldSelector: this.o.fieldSelector }),
        },
        (e) => {
          if (this.apply(e)) return;
          gone = true;
          this.watch?.stop();
        },
      );
      await this.watch.done;
      if (gone) throw new Error('watch ended with an error event (resourceVersion too old, or the server refused)');
    }
  }

  /** Applies one watch event; false when it was an ERROR (the caller relists). */
  private apply(e: WatchEvent<T>): boolean {
    const rv = e.object.metadata?.resourceVersion;
    switch (e.type) {
      case WatchEventType.Error:
        return false;
      case WatchEventType.Bookmark:
        break;
      case WatchEventType.Added:
      case WatchEventType.Modified: {
        const key = keyOf(e.object);
        const old = this.items.get(key);
        this.items.set(key, e.object);
        for (const h of this.handlers) old === undefined ? h.onAdd?.(e.object) : h.onUpdate?.(old, e.object);
        break;
      }
      case WatchEventType.Deleted: {
        const key = keyOf(e.object);
        const old = this.items.get(key);
        this.items.delete(key);
        for (const h of this.handlers) h.onDelete?.(old ?? e.object);
        break;
      }
    }
    if (rv !== undefined) this.resourceVersion = rv;
    return true;
  }

  private scheduleResync(): void {
    const every = this.o.resyncMs ?? 0;
    if (every <= 0 || this.stopped) return;
    this.cancelResync = this.clock.after(every, () => {
      for (const obj of this.items.values()) for (const h of this.handlers) h.onUpdate?.(obj, obj);
      this.scheduleResync();
    });
  }
}
