/**
 * The Kubernetes-style HTTP API server of one master. Every master runs one,
 * all over the same store: any master answers any request (HA multi-master),
 * because all state is in the store and every write is a compare-and-swap.
 *
 *   const api = await startApiServer({ backend, access: { tokenFile } });
 *   await api.app.listen({ host: '127.0.0.1', port: 24002 });
 *   ...
 *   await api.close();
 *
 * Plugins, one concern each: access (authn + RBAC, onRequest hook), health,
 * discovery, OpenAPI, and the resource routes. Errors from anywhere leave as a
 * meta/v1 Status with the matching code.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { KvBackend } from '../../store/kv-backend.js';
import { openApiRoutes } from '../openapi/plugin.js';
import { NamespaceFinalizer } from './namespace-finalizer.js';
import { ObjectStore } from '../registry/object-store.js';
import { RESOURCES } from '../registry/resources.js';
import { DEFAULT_SERVICE_CIDR, ServiceCidr } from '../registry/service-ips.js';
import { WatchCache } from '../registry/watch-cache.js';
import { accessHook, rbacFromCache, type AccessOptions } from './access.js';
import { ensureBootstrapObjects } from './bootstrap.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { ApiError, internal, noSuchResource } from './errors.js';
import { NamespaceLifecycle } from './namespace-lifecycle.js';
import { ResourceRoutes } from './resource-routes.js';
import { BOOKMARK_INTERVAL_MS } from './watch-stream.js';
import { serveUpgradesThroughApp } from './upgrade-requests.js';
import { StatusReason } from '../../proto/k8s/meta.js';

/** Largest request body: Kubernetes' limit is 3 MiB (objects are capped near 1.5 MiB by etcd's request size). */
export const REQUEST_BODY_BYTES_MAX = 3 * 1024 * 1024;
/** How long /readyz waits for the store to answer. */
const READY_CHECK_MS = 2_000;

export interface ApiServerOptions {
  readonly backend: KvBackend;
  readonly access: AccessOptions;
  readonly serviceCidr?: string;
  /** Reported by /version. */
  readonly version?: string;
  readonly log?: (line: string) => void;
  readonly nowMs?: () => number;
  /** Default BOOKMARK_INTERVAL_MS. */
  readonly bookmarkIntervalMs?: number;
}

export interface RunningApiServer {
  readonly app: FastifyInstance;
  readonly cache: WatchCache;
  close(): Promise<void>;
}

export async function startApiServer(o: ApiServerOptions): Promise<RunningApiServer> {
  const log = o.log ?? (() => undefined);
  const nowMs = o.nowMs ?? Date.now;
  const cache = new WatchCache(o.backend, log);
  cache.start();
  const store = new ObjectStore(o.backend);
  const routes = new ResourceRoutes({
    store,
    cache,
    backend: o.backend,
    namespaces: new NamespaceLifecycle(store, cache),
    serviceCidr: new ServiceCidr(o.serviceCidr ?? DEFAULT_SERVICE_CIDR),
    nowMs,
    rbac: rbacFromCache(cache),
    bookmarkIntervalMs: o.bookmarkIntervalMs ?? BOOKMARK_INTERVAL_MS,
    ...(o.access.serviceAccountKey === undefined ? {} : { serviceAccountKey: o.access.serviceAccountKey }),
  });
  const app = Fastify({ bodyLimit: REQUEST_BODY_BYTES_MAX, logger: false, return503OnClosing: true });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, _req, reply) => sendError(reply, err, log));
  app.setNotFoundHandler((_req, reply) => sendError(reply, noSuchResource(), log));
  app.addHook('onRequest', accessHook(cache, o.access));
  registerHealth(app, o.backend, cache);
  registerDiscovery(app, o.version ?? '0.0.0');
  await app.register(openApiRoutes, { resources: RESOURCES });
  const resource = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const info = req.strakeInfo;
    if (info === undefined || !info.isResource) return discoveryOrNotFound(req, reply);
    await routes.handle(info, req, reply);
  };
  app.all('/api/*', resource);
  app.all('/apis/*', resource);
  // pods/exec asks for a WebSocket: Upgrade requests reach the same routes (upgrade-requests.ts).
  serveUpgradesThroughApp(app.server);
  const finalizer = new NamespaceFinalizer(store, cache, log);
  void cache.ready.then(async () => {
    await ensureBootstrapObjects(store, nowMs, log);
    finalizer.start();
  });
  return {
    app,
    cache,
    close: async () => {
      finalizer.stop();
      await app.close();
      await cache.stop();
    },
  };
}

function registerHealth(app: FastifyInstance, backend: KvBackend, cache: WatchCache): void {
  const ok = async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/plain').send('ok');
  app.get('/healthz', ok);
  app.get('/livez', ok);
  app.get('/readyz', async (_req, reply) => {
    const storeOk = await backend.currentRevision(AbortSignal.timeout(READY_CHECK_MS)).then(() => true, () => false);
    const ready = storeOk && cache.revision > 0;
    return reply.code(ready ? 200 : 500).type('text/plain').send(ready ? 'ok' : `[-]store ${storeOk ? 'ok' : 'unreachable'}, watch cache ${cache.revision > 0 ? 'ok' : 'not synced'}\nreadyz check failed`);
  });
}

function registerDiscovery(app: FastifyInstance, version: string): void {
  const json = (reply: FastifyReply, body: unknown) => reply.type('application/json').send(JSON.stringify(body));
  app.get('/version', async (_req, reply) => json(reply, versionInfo(version)));
  app.get('/api', async (_req, reply) => json(reply, apiVersions()));
  app.get('/apis', async (_req, reply) => json(reply, apiGroupList()));
}

/** /api/v1, /apis/<group>, /apis/<group>/<version>: discovery; anything else that is not a resource: 404. */
async function discoveryOrNotFound(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const parts = req.url.split('?')[0]!.split('/').filter((p) => p !== '');
  let doc: unknown;
  if (parts[0] === 'api' && parts.length === 2) doc = apiResourceList('', parts[1]!);
  else if (parts[0] === 'apis' && parts.length === 2) doc = apiGroup(parts[1]!);
  else if (parts[0] === 'apis' && parts.length === 3) doc = apiResourceList(parts[1]!, parts[2]!);
  if (doc === undefined || req.method !== 'GET') throw noSuchResource();
  await reply.type('application/json').send(JSON.stringify(doc));
}

function sendError(reply: FastifyReply, err: unknown, log: (line: string) => void): FastifyReply {
  const e = apiErrorOf(err);
  if (e.code >= 500) log(`api: ${e.code} ${e.message}${err instanceof Error && !(err instanceof ApiError) ? `\n${err.stack ?? ''}` : ''}`);
  if (e.details?.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.details.retryAfterSeconds));
  return reply.code(e.code).type('application/json').send(JSON.stringify(e.toStatus()));
}

function apiErrorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const f = err as Partial<FastifyError>;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(StatusReason.RequestEntityTooLarge, `the request body is larger than ${REQUEST_BODY_BYTES_MAX} bytes`);
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ApiError(StatusReason.UnsupportedMediaType, f.message ?? 'unsupported media type');
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) return new ApiError(StatusReason.BadRequest, f.message ?? 'bad request');
  return internal(err instanceof Error ? err.message : String(err));
}
