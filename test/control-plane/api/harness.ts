/**
 * An API server for tests, over a KvBackend, driven through fastify's
 * `inject()` (no sockets): `req` sends one request as the admin (or as another
 * user's token) and returns status, parsed body and headers.
 *
 * Users (a static token file): `admin` (group system:masters, may do
 * everything), `bob` (no groups: only what the bootstrap policy grants every
 * authenticated user).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { parseTokenFile } from '../../../control-plane/auth/index.js';
import { startApiServer, type RunningApiServer } from '../../../control-plane/api/server.js';
import type { KvBackend } from '../../../store/kv-backend.js';
import type { BackendFactory } from '../../support/kv-backends.js';
import { eventually } from '../../support/process-cluster.js';

export const ADMIN_TOKEN = 'admin-token-for-tests';
export const BOB_TOKEN = 'bob-token-for-tests';

/** Store writes made before the API server starts (see start). */
export const SEED_WRITES = 5;
/** Bookmark interval of the test server: short, so a one-second watch sees one. */
const BOOKMARK_INTERVAL_MS = 300;

/** Bound on the API server's first list of the store and its bootstrap objects. */
export const API_READY_MS = 20_000;

export interface Reply {
  readonly status: number;
  readonly body: any;
  readonly text: string;
  readonly headers: LightMyRequestResponse['headers'];
}

export interface RequestOptions {
  readonly token?: string | null;
  readonly contentType?: string;
  readonly accept?: string;
  /** A raw body sent as is (otherwise `body` is JSON-encoded). */
  readonly raw?: string | Buffer;
}

export class ApiHarness {
  private constructor(
    readonly api: RunningApiServer,
    readonly backend: KvBackend,
  ) {}

  static async start(backend: KvBackend): Promise<ApiHarness> {
    // Writes outside the registry before the server starts: its watch cache then begins at a
    // revision above 1, so that resuming from an older revision can be shown to get 410.
    for (let i = 0; i < SEED_WRITES; i++) {
      await backend.txn({ compare: [], success: [{ type: 'put', key: `/harness/seed-${i}`, value: new Uint8Array([i]) }], failure: [] });
    }
    const tokenFile = parseTokenFile(`${ADMIN_TOKEN},admin,admin,"system:masters"\n${BOB_TOKEN},bob,bob\n`);
    const api = await startApiServer({ backend, access: { tokenFile, serviceAccountKey: Buffer.alloc(32, 7) }, version: 'test', bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
    const h = new ApiHarness(api, backend);
    await api.cache.ready;
    await eventually('bootstrap objects', async () => ((await h.req('GET', '/api/v1/namespaces/default')).status === 200 ? true : undefined), API_READY_MS);
    // The bootstrap RBAC policy authorizes from the watch cache, which may trail the store a moment.
    await eventually('bootstrap policy in the cache', async () => ((await h.req('GET', '/api', undefined, { token: BOB_TOKEN })).status === 200 ? true : undefined), API_READY_MS);
    return h;
  }

  async req(method: string, url: string, body?: unknown, o: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (o.accept !== undefined) headers.accept = o.accept;
    const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const res = await this.api.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, body: parsed, text: res.body, headers: res.headers };
  }

  /** Watch events of a finite watch (it must end, e.g. by timeoutSeconds). */
  async watch(url: string, o: RequestOptions = {}): Promise<{ status: number; events: Array<{ type: string; object: any }> }> {
    const res = await this.req('GET', url, undefined, o);
    const events = res.text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { type: string; object: any });
    return { status: res.status, events };
  }

  async close(): Promise<void> {
    await this.api.close();
  }
}

export function pod(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36', ports: [{ containerPort: 80 }] }] },
    ...extra,
  };
}

export function deployment(name: string, replicas = 2): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } },
    },
  };
}

/**
 * For the enclosing describe block: starts an API server over the factory's
 * backend before its tests (handing it to `onStarted`) and stops both after
 * them, keeping the backend's data and logs when a test failed.
 */
export function useApiHarness(factory: BackendFactory, onStarted: (h: ApiHarness) => void): void {
  let h: ApiHarness | undefined;
  let failed = false;
  beforeAll(async () => {
    h = await ApiHarness.start(await factory.start());
    onStarted(h);
  }, API_READY_MS * 3);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    await h?.close();
    await h?.backend.close();
    await factory.stop(failed);
  }, API_READY_MS);
}
