/**
 * The watch cache: one store watch per master over everything under
 * /registry/, kept in memory as the current objects plus a bounded window of
 * recent events. Watches are served from it (resuming from any revision still
 * in the window; older ones get 410 Expired), and so are lists that accept a
 * cached answer. One stream from the store serves every client of this master.
 *
 * Delivery to cache watchers is synchronous and in revision order; a watcher
 * that cannot keep up must say so by returning false, and is then dropped, so
 * a slow client never holds the cache back.
 *
 * Invariants:
 *  - `revision` only grows while the cache runs; every event with a revision
 *    <= `revision` has been applied to `objects` and passed to the watchers.
 *  - `history` holds every event with a revision in (historyStartRevision, revision].
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { KvBackend, KvEntry, KvEvent, KvWatch } from '../../store/kv-backend.js';
import { prefixEnd } from '../../store/kv-backend.js';
import { decodeObject } from './codec.js';
import { REGISTRY_PREFIX } from './keys.js';

/** Events kept for resuming watches. Kubernetes keeps a similar window per resource; ours is shared, so larger. */
export const HISTORY_EVENTS_MAX = 20_000;
/** Page size of the initial list: bounds the size of one store response. */
const LIST_PAGE_ENTRIES = 1_000;
/** Wait before relisting after the store watch broke, doubled up to the max. */
const RELIST_BACKOFF_MIN_MS = 200;
const RELIST_BACKOFF_MAX_MS = 5_000;

export interface CachedObject {
  readonly key: string;
  /** Decoded, with metadata.resourceVersion set. Shared: never mutate it. */
  readonly object: KubeObject;
  readonly modRevision: number;
}

export const CacheEventType = { Added: 'ADDED', Modified: 'MODIFIED', Deleted: 'DELETED' } as const;
export type CacheEventType = (typeof CacheEventType)[keyof typeof CacheEventType];

export interface CacheEvent {
  readonly type: CacheEventType;
  readonly key: string;
  /** For DELETED: the last state, with resourceVersion = the deletion revision. */
  readonly object: KubeObject;
  /** The state before the change (absent for ADDED). */
  readonly prev?: KubeObject;
  readonly revision: number;
}

export interface CacheWatcher {
  /** Returns false when the watcher cannot take more: it is then dropped and `onClose` is called. */
  onEvent(e: CacheEvent): boolean;
  /** The watch ended (cache restarting or watcher too slow); the client should re-watch. */
  onClose(reason: string): void;
}

export interface CacheWatchHandle {
  cancel(): void;
}

/** The requested revision is older than the window: the client must relist (410). */
export class TooOldError extends Error {
  override readonly name = 'TooOldError';
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

interface Registration {
  readonly prefix: string;
  readonly watcher: CacheWatcher;
}

export class WatchCache {
  private readonly objects = new Map<string, CachedObject>();
  private history: CacheEvent[] = [];
  private historyStartRevision = 0;
  private rev = 0;
  private readonly watchers = new Set<Registration>();
  private readonly waiters = new Set<{ revision: number; wake: () => void }>();
  private storeWatch: KvWatch | undefined;
  private stopped = false;
  private readyResolve!: () => void;
  /** Resolves once the first list is in. */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  private relistBackoffMs = RELIST_BACKOFF_MIN_MS;

  constructor(
    private readonly backend: KvBackend,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  get revision(): number {
    return this.rev;
  }

  /** Starts the list-then-watch loop; returns at once (see `ready`). */
  start(): void {
    void this.relist();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.storeWatch?.cancel();
    this.closeAll('the API server is stopping');
  }

  /** Current objects under `prefix`, ascending by key, with the revision they are current at. */
  list(prefix: string): { items: CachedObject[]; revision: number } {
    const items: CachedObject[] = [];
    for (const [key, o] of this.objects) if (key.startsWith(prefix)) items.push(o);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items, revision: this.rev };
  }

  get(key: string): CachedObject | undefined {
    return this.objects.get(key);
  }

  /** Resolves true once the cache reached `revision`, false if `timeoutMs` passed first. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.rev >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        revision,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Delivers every event under `prefix` with a revision > `fromRevision`:
   * first those still in the window, then live ones. Throws TooOldError when
   * the window no longer reaches back to `fromRevision`. The caller makes sure
   * the cache has reached `fromRevision` (waitFor) before asking.
   */
  watch(prefix: string, fromRevision: number, watcher: CacheWatcher): CacheWatchHandle {
    if (fromRevision < this.historyStartRevision) throw new TooOldError(fromRevision, this.historyStartRevision + 1);
    const reg: Registration = { prefix, watcher };
    for (const e of this.history) {
      if (e.revision <= fromRevision || !e.key.startsWith(prefix)) continue;
      if (!watcher.onEvent(e)) {
        watcher.onClose('the watcher fell behind while catching up');
        return { cancel: () => undefined };
      }
    }
    this.watchers.add(reg);
    return { cancel: () => void this.watchers.delete(reg) };
  }

  private async relist(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.listAndWatch();
        this.relistBackoffMs = RELIST_BACKOFF_MIN_MS;
        return;
      } catch (err) {
        this.log(`watch cache: list failed (${err instanceof Error ? err.message : String(err)}); retrying in ${this.relistBackoffMs} ms`);
        await new Promise((r) => setTimeout(r, this.relistBackoffMs));
        this.relistBackoffMs = Math.min(RELIST_BACKOFF_MAX_MS, this.relistBackoffMs * 2);
      }
    }
  }

  private async listAndWatch(): Promise<void> {
    const { entries, revision } = await this.listAll();
    if (this.stopped) return;
    this.objects.clear();
    for (const e of entries) {
      const cached = this.cachedOf(e);
      if (cached !== undefined) this.objects.set(e.key, cached);
    }
    this.history = [];
    this.historyStartRevision = revision;
    this.advanceTo(revision);
    this.readyResolve();
    this.storeWatch = this.backend.watch(
      { key: REGISTRY_PREFIX, rangeEnd: prefixEnd(REGISTRY_PREFIX), startRevision: revision + 1 },
      {
        onEvents: (rev, events) => this.apply(rev, events),
        onProgress: (rev) => this.advanceTo(rev),
        onClosed: (reason) => this.onStoreWatchClosed(reason),
      },
    );
  }

  /** Every entry under the prefix at one revision, read page by page. */
  private async listAll(): Promise<{ entries: KvEntry[]; revision: number }> {
    const entries: KvEntry[] = [];
    const end = prefixEnd(REGISTRY_PREFIX);
    let from = REGISTRY_PREFIX;
    let revision = 0;
    for (;;) {
      const page = await this.backend.range({ key: from, rangeEnd: end, limit: LIST_PAGE_ENTRIES, revision });
      revision = page.revision;
      entries.push(...page.entries);
      const last = page.entries[page.entries.length - 1];
      if (!page.more || last === undefined) return { entries, revision };
      from = `${last.key}\0`;
    }
  }

  private onStoreWatchClosed(reason: { compactRevision?: number; error?: unknown }): void {
    if (this.stopped) return;
    const why = reason.compactRevision !== undefined ? `compacted at ${reason.compactRevision}` : String(reason.error);
    this.log(`watch cache: store watch ended (${why}); relisting`);
    this.closeAll('the watch cache is re-listing; watch again');
    void this.relist();
  }

  private apply(revision: number, events: readonly KvEvent[]): void {
    for (const e of events) {
      const event = this.cacheEventOf(e, revision);
      if (event === undefined) continue;
      if (event.type === CacheEventType.Deleted) this.objects.delete(event.key);
      else this.objects.set(event.key, { key: event.key, object: event.object, modRevision: revision });
      this.history.push(event);
      this.deliver(event);
    }
    this.trimHistory();
    this.advanceTo(revision);
  }

  private cacheEventOf(e: KvEvent, revision: number): CacheEvent | undefined {
    const prev = this.objects.get(e.entry.key)?.object;
    if (e.type === 'delete') {
      if (prev === undefined) return undefined;
      const object = withResourceVersion(prev, revision);
      return { type: CacheEventType.Deleted, key: e.entry.key, object, prev, revision };
    }
    const cached = this.cachedOf(e.entry);
    if (cached === undefined) return undefined;
    const type = prev === undefined ? CacheEventType.Added : CacheEventType.Modified;
    return { type, key: e.entry.key, object: cached.object, ...(prev === undefined ? {} : { prev }), revision };
  }

  private cachedOf(e: KvEntry): CachedObject | undefined {
    const object = decodeObject(e.value, e.modRevision);
    if (object === undefined) {
      this.log(`watch cache: skipping undecodable value at ${e.key} (revision ${e.modRevision})`);
      return undefined;
    }
    return { key: e.key, object, modRevision: e.modRevision };
  }

  private deliver(event: CacheEvent): void {
    for (const reg of this.watchers) {
      if (!event.key.startsWith(reg.prefix)) continue;
      if (!reg.watcher.onEvent(event)) {
        this.watchers.delete(reg);
        reg.watcher.onClose('the watcher could not keep up with the event rate');
      }
    }
  }

  private trimHistory(): void {
    if (this.history.length <= HISTORY_EVENTS_MAX) return;
    // Drop whole revisions, so a resumed watch never sees half of one.
    let cut = this.history.length - HISTORY_EVENTS_MAX;
    const boundary = this.history[cut - 1]!.revision;
    while (cut < this.history.length && this.history[cut]!.revision === boundary) cut++;
    this.historyStartRevision = boundary;
    this.history = this.history.slice(cut);
  }

  private advanceTo(revision: number): void {
    if (revision <= this.rev) return;
    this.rev = revision;
    for (const w of [...this.waiters]) if (w.revision <= revision) w.wake();
  }

  private closeAll(reason: string): void {
    const regs = [...this.watchers];
    this.watchers.clear();
    for (const r of regs) r.watcher.onClose(reason);
  }
}

function withResourceVersion(o: KubeObject, revision: number): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: String(revision) } };
}
