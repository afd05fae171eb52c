/**
 * Watch over HTTP: a chunked stream of newline-delimited JSON events
 * `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}` served from
 * the watch cache.
 *
 * Start (Kubernetes' rules): resourceVersion unset = the current state as
 * ADDED events, then changes; "0" = the same from the cache as it is; N = the
 * changes after N (410 Expired as an ERROR event when N is older than the
 * cache's window). With selectors, an object that stops matching is sent as
 * DELETED and one that starts matching as ADDED, so a client's view stays
 * exactly the set the selector picks.
 *
 * Bounds: a client that lets more than WATCH_BUFFER_BYTES_MAX pile up unread
 * is disconnected (it re-watches from its last resourceVersion); every watch
 * ends after its timeout.
 */
import type { ServerResponse } from 'node:http';
import type { KubeObject, Status } from '../../proto/k8s/meta.js';
import { listPrefix } from '../registry/keys.js';
import { apiVersionOf, type ResourceDescriptor } from '../registry/resources.js';
import { TooOldError, type CacheEvent, type WatchCache } from '../registry/watch-cache.js';
import { ApiError, expired } from './errors.js';
import type { ListOptions } from './list-options.js';
import { revisionOf } from './object-handlers.js';

/** Unread bytes a watch client may leave in our send buffer before it is cut off. */
export const WATCH_BUFFER_BYTES_MAX = 16 * 1024 * 1024;
/** How often a watch that allows bookmarks gets one, by default (Kubernetes sends them about once a minute; ours are cheaper). */
export const BOOKMARK_INTERVAL_MS = 10_000;
/** How long a watch at resourceVersion=N waits for the cache to reach N. */
const CACHE_WAIT_MS = 3_000;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchRequest {
  readonly resource: ResourceDescriptor;
  readonly namespace: string | undefined;
  readonly options: ListOptions;
  /** Renders each event's object (JSON as is, or a one-row Table). */
  readonly render: (o: KubeObject) => unknown;
  readonly contentType: string;
  readonly bookmarkIntervalMs: number;
}

export async function serveWatch(cache: WatchCache, req: WatchRequest, res: ServerResponse, consistentRevision: () => Promise<number>): Promise<void> {
  const { options: o, resource: r } = req;
  const start = await startRevision(cache, o, consistentRevision);
  res.writeHead(200, { 'content-type': req.contentType, 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  // A quiet watch must still show the client its answer has begun.
  res.flushHeaders();
  const send = (type: WatchEventType, object: unknown): boolean => {
    if (res.destroyed || res.writableEnded) return false;
    res.write(`${JSON.stringify({ type, object })}\n`);
    return res.writableLength <= WATCH_BUFFER_BYTES_MAX;
  };
  const prefix = listPrefix(r, req.namespace);
  if (start.replay) {
    for (const c of cache.list(prefix).items) if (o.matches(c.object)) send('ADDED', req.render(c.object));
  }
  let handle: { cancel(): void } | undefined;
  const finish = (): void => {
    clearInterval(bookmarks);
    clearTimeout(timeout);
    handle?.cancel();
    if (!res.writableEnded) res.end();
  };
  const bookmarks = setInterval(() => {
    if (o.allowBookmarks) send('BOOKMARK', bookmarkOf(r, cache.revision));
  }, req.bookmarkIntervalMs);
  const timeout = setTimeout(finish, o.timeoutSeconds * 1000);
  res.on('close', finish);
  try {
    handle = cache.watch(prefix, start.revision, {
      onEvent: (e) => {
        const out = filtered(e, o.matches);
        return out === undefined ? true : send(out.type, req.render(out.object));
      },
      onClose: () => finish(),
    });
  } catch (err) {
    if (!(err instanceof TooOldError)) throw err;
    send('ERROR', expired(err.message).toStatus() satisfies Status);
    finish();
  }
}

async function startRevision(cache: WatchCache, o: ListOptions, consistentRevision: () => Promise<number>): Promise<{ revision: number; replay: boolean }> {
  if (o.resourceVersion === '0') return { revision: cache.revision, replay: true };
  if (o.resourceVersion === '') {
    const current = await consistentRevision();
    await mustReach(cache, current);
    return { revision: cache.revision, replay: true };
  }
  const rv = revisionOf(o.resourceVersion);
  await mustReach(cache, rv);
  return { revision: rv, replay: false };
}

async function mustReach(cache: WatchCache, revision: number): Promise<void> {
  if (!(await cache.waitFor(revision, CACHE_WAIT_MS))) {
    throw new ApiError('Timeout', `Too large resource version: ${revision}, current: ${cache.revision}`, { retryAfterSeconds: 1 });
  }
}

/** The event a selector-filtered watcher sees, or nothing. */
function filtered(e: CacheEvent, matches: (o: KubeObject) => boolean): { type: WatchEventType; object: KubeObject } | undefined {
  const now = e.type !== 'DELETED' && matches(e.object);
  const before = e.prev !== undefined && matches(e.prev);
  if (e.type === 'DELETED') return before ? { type: 'DELETED', object: e.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: e.object };
  if (now) return { type: 'ADDED', object: e.object };
  if (before) return { type: 'DELETED', object: e.object };
  return undefined;
}

function bookmarkOf(r: ResourceDescriptor, revision: number): KubeObject {
  return { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(revision) } };
}
