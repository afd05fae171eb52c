/**
 * HttpApiClient against a real API server in this process (one embedded
 * strake member, 28300/28301) reached through real sockets: plain HTTP on
 * 28302, HTTPS on 28304 (two listeners of one server), and a second API
 * server over the same store on 28303, closed by the failover test. A hand-written HTTP server on 28305 plays broken masters (503, 429,
 * resets, a non-Status 502, a runaway watch line); nobody listens on 28309.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki } from '../../../cli/pki.js';
import { listenApi, type ApiListener } from '../../../control-plane/api/listener.js';
import { startApiServer, type RunningApiServer } from '../../../control-plane/api/server.js';
import { parseTokenFile } from '../../../control-plane/auth/index.js';
import { ApiStatusError, isAlreadyExists, isConflict, isNotFound, PatchType, Resources, type WatchEvent } from '../../../control-plane/client/api-client.js';
import { HttpApiClient, HttpClientError, HttpClientErrorCode, WATCH_LINE_BYTES_MAX } from '../../../control-plane/client/http-client.js';
import type { KubeObject, Status } from '../../../proto/k8s/meta.js';
import { embeddedBackendFactory, type BackendFactory } from '../../support/kv-backends.js';
import { eventually } from '../../support/process-cluster.js';

const HOST = '127.0.0.1';
const STORE_BASE_PORT = 28_300;
const PLAIN_PORT = 28_302;
const SECOND_PORT = 28_303;
const TLS_PORT = 28_304;
const FAKE_PORT = 28_305;
const DEAD_PORT = 28_309;
const TOKEN = 't';
/** Bound on the server's watch cache filling and its bootstrap objects (default namespace) appearing. */
const API_READY_MS = 30_000;

const plainUrl = `http://${HOST}:${PLAIN_PORT}`;
const ns = 'default';

let factory: BackendFactory;
let api: RunningApiServer;
let listeners: ApiListener[] = [];
/** A second master: its own API server over the same store, closed by a test. */
let secondApi: RunningApiServer | undefined;
let pkiDir: string;
let caPem: string;
let fake: Server;
/** What the fake master does with the next request. */
let fakeBehaviour: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
let fakeRequests = 0;
const clients: HttpApiClient[] = [];
let failed = false;

function client(servers: string[], extra: { token?: string; caPem?: string } = {}): HttpApiClient {
  const c = new HttpApiClient({ servers, token: TOKEN, requestTimeoutMs: 5_000, ...extra });
  clients.push(c);
  return c;
}

function configMap(name: string, data: Record<string, string> = { k: 'v' }): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'client-test' } }, data };
}

async function apiError(p: Promise<unknown>): Promise<ApiStatusError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiStatusError);
  return err as ApiStatusError;
}

/** The connection to `port` is refused: nobody listens there. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, HOST);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

beforeAll(async () => {
  factory = embeddedBackendFactory(STORE_BASE_PORT);
  const backend = await factory.start();
  api = await startApiServer({ backend, access: { tokenFile: parseTokenFile(`${TOKEN},admin,admin,"system:masters"\n`) }, bookmarkIntervalMs: 300 });
  await api.cache.ready;
  pkiDir = mkdtempSync(join(tmpdir(), 'strake-client-pki-'));
  const pki = await ensurePki(pkiDir);
  caPem = pki.caPem;
  const tls = { cert: readFileSync(pki.servingCertFile), key: readFileSync(pki.servingKeyFile) };
  listeners.push(await listenApi(api.app, { host: HOST, port: PLAIN_PORT }));
  secondApi = await startApiServer({ backend, access: { tokenFile: parseTokenFile(`${TOKEN},admin,admin,"system:masters"\n`) } });
  await secondApi.app.listen({ host: HOST, port: SECOND_PORT });
  listeners.push(await listenApi(api.app, { host: HOST, port: TLS_PORT, tls }));
  fake = createServer((req, res) => {
    fakeRequests++;
    fakeBehaviour(req, res);
  });
  await new Promise<void>((resolve) => fake.listen(FAKE_PORT, HOST, resolve));
  const c = client([plainUrl]);
  await eventually('the default namespace', () => c.get(Resources.Namespaces, undefined, 'default'), API_READY_MS);
}, 90_000);

afterEach((ctx) => {
  // Keeps the store's data for a post-mortem.
  if (ctx.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await new Promise<void>((resolve) => (fake === undefined ? resolve() : fake.close(() => resolve())));
  for (const l of listeners) await l.close();
  await secondApi?.close();
  await api?.close();
  await factory?.stop(failed);
  if (pkiDir !== undefined) rmSync(pkiDir, { recursive: true, force: true });
});

describe('HttpApiClient verbs against the API server', () => {
  it('creates, reads, lists, updates, patches and deletes; errors carry the Status code and reason', async () => {
    const c = client([plainUrl]);
    const created = await c.create(Resources.ConfigMaps, ns, configMap('verbs'));
    expect(created.metadata.uid).toBeTruthy();
    expect(isAlreadyExists(await apiError(c.create(Resources.ConfigMaps, ns, configMap('verbs'))))).toBe(true);

    const got = await c.get(Resources.ConfigMaps, ns, 'verbs');
    expect(got.data).toEqual({ k: 'v' });
    const list = await c.list(Resources.ConfigMaps, ns, { labelSelector: 'app=client-test' });
    expect(list.items.map((o) => o.metadata.name)).toContain('verbs');
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);

    const updated = await c.update(Resources.ConfigMaps, ns, { ...got, data: { k: 'v2' } });
    expect(updated.data).toEqual({ k: 'v2' });
    const stale = await apiError(c.update(Resources.ConfigMaps, ns, { ...got, data: { k: 'v3' } }));
    expect(stale.code).toBe(409);
    expect(stale.reason).toBe('Conflict');
    expect(isConflict(stale)).toBe(true);

    const merged = await c.patch(Resources.ConfigMaps, ns, 'verbs', PatchType.Merge, { data: { extra: 'x' } });
    expect(merged.data).toEqual({ k: 'v2', extra: 'x' });
    const jsonPatched = await c.patch(Resources.ConfigMaps, ns, 'verbs', PatchType.Json, [{ op: 'remove', path: '/data/extra' }]);
    expect(jsonPatched.data).toEqual({ k: 'v2' });

    await c.delete(Resources.ConfigMaps, ns, 'verbs', { preconditions: { resourceVersion: jsonPatched.metadata.resourceVersion! } });
    const gone = await apiError(c.get(Resources.ConfigMaps, ns, 'verbs'));
    expect(isNotFound(gone)).toBe(true);
    expect(gone.reason).toBe('NotFound');
    expect(gone.status?.kind).toBe('Status');
  });

  it('answers 422 Invalid with the field causes for an invalid object', async () => {
    const c = client([plainUrl]);
    const err = await apiError(c.create(Resources.Pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-containers' }, spec: { containers: [] } }));
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(err.status?.details?.causes?.length).toBeGreaterThan(0);
  });

  it('posts to a subresource (pods/binding) and updates status', async () => {
    const c = client([plainUrl]);
    await c.create(Resources.Pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bind-me' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } });
    const answer = (await c.createSubresource(Resources.Pods, ns, 'bind-me', 'binding', {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'bind-me' },
      target: { kind: 'Node', name: 'node-1' },
    })) as Status;
    expect(answer.status).toBe('Success');
    const pod = await c.get(Resources.Pods, ns, 'bind-me');
    expect((pod.spec as { nodeName?: string }).nodeName).toBe('node-1');
    const withStatus = await c.update(Resources.Pods, ns, { ...pod, status: { ...(pod.status as object), phase: 'Running' } }, 'status');
    expect((withStatus.status as { phase?: string }).phase).toBe('Running');
    const again = await apiError(c.createSubresource(Resources.Pods, ns, 'bind-me', 'binding', { target: { name: 'node-2' } }));
    expect(again.code).toBe(409);
  });

  it('is refused (401) with a wrong token', async () => {
    const c = client([plainUrl], { token: 'not-a-token' });
    const err = await apiError(c.get(Resources.Namespaces, undefined, 'default'));
    expect(err.code).toBe(401);
  });
});

describe('HttpApiClient watch', () => {
  it('delivers ADDED, MODIFIED and DELETED in order and ends at timeoutSeconds', async () => {
    const c = client([plainUrl]);
    const rv = (await c.list(Resources.ConfigMaps, ns)).metadata.resourceVersion!;
    const events: WatchEvent[] = [];
    const startedMs = Date.now();
    const w = c.watch(Resources.ConfigMaps, ns, { resourceVersion: rv, timeoutSeconds: 2 }, (e) => events.push(e));
    const cm = await c.create(Resources.ConfigMaps, ns, configMap('watched'));
    await c.update(Resources.ConfigMaps, ns, { ...cm, data: { k: 'changed' } });
    await c.delete(Resources.ConfigMaps, ns, 'watched');
    await w.done;
    const elapsedMs = Date.now() - startedMs;
    const mine = events.filter((e) => e.object.metadata.name === 'watched').map((e) => e.type);
    expect(mine).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(elapsedMs).toBeLessThan(15_000);
  });

  it('delivers bookmarks when allowed, and stop() ends the stream', async () => {
    const c = client([plainUrl]);
    const rv = (await c.list(Resources.ConfigMaps, ns)).metadata.resourceVersion!;
    const events: WatchEvent[] = [];
    const w = c.watch(Resources.ConfigMaps, ns, { resourceVersion: rv, allowBookmarks: true, timeoutSeconds: 60 }, (e) => events.push(e));
    await eventually('a bookmark', async () => (events.some((e) => e.type === 'BOOKMARK') ? true : undefined), 10_000);
    const startedMs = Date.now();
    w.stop();
    await w.done;
    expect(Date.now() - startedMs).toBeLessThan(2_000);
  });

  it('delivers a non-200 answer as one ERROR event carrying the Status, then ends', async () => {
    const c = client([plainUrl], { token: 'not-a-token' });
    const events: WatchEvent[] = [];
    await c.watch(Resources.ConfigMaps, ns, { resourceVersion: '', timeoutSeconds: 5 }, (e) => events.push(e)).done;
    expect(events.map((e) => [e.type, (e.object as unknown as Status).code])).toEqual([['ERROR', 401]]);

    const viaFake = client([`http://${HOST}:${FAKE_PORT}`]);
    fakeBehaviour = (_req, res) => res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old resource version', code: 410 }));
    const expired: WatchEvent[] = [];
    await viaFake.watch(Resources.ConfigMaps, ns, { resourceVersion: '1' }, (e) => expired.push(e)).done;
    expect(expired.map((e) => [e.type, (e.object as unknown as Status).reason])).toEqual([['ERROR', 'Expired']]);
  });

  it('keeps a quiet watch open past the request timeout (the server may hold its head back until an event)', async () => {
    const c = new HttpApiClient({ servers: [plainUrl], token: TOKEN, requestTimeoutMs: 1_000 });
    clients.push(c);
    const events: WatchEvent[] = [];
    const startedMs = Date.now();
    await c.watch(Resources.ConfigMaps, 'kube-public', { resourceVersion: '', timeoutSeconds: 3 }, (e) => events.push(e)).done;
    expect(events.filter((e) => e.type === 'ERROR')).toEqual([]);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(2_500);
  });
});

describe('HttpApiClient failover', () => {
  it('skips a master nobody listens on', async () => {
    expect(await refused(DEAD_PORT)).toBe(true);
    const c = client([`http://${HOST}:${DEAD_PORT}`, plainUrl]);
    const ns1 = await c.get(Resources.Namespaces, undefined, 'default');
    expect(ns1.metadata.name).toBe('default');
    const created = await c.create(Resources.ConfigMaps, ns, configMap('via-failover'));
    expect(created.metadata.name).toBe('via-failover');
  });

  it('moves to the next master when the one it uses goes away', async () => {
    const c = client([`http://${HOST}:${SECOND_PORT}`, plainUrl]);
    await c.get(Resources.Namespaces, undefined, 'default');
    await secondApi!.close();
    secondApi = undefined;
    expect(await refused(SECOND_PORT)).toBe(true);
    const again = await c.get(Resources.Namespaces, undefined, 'default');
    expect(again.metadata.name).toBe('default');
    const rv = (await c.list(Resources.ConfigMaps, ns)).metadata.resourceVersion!;
    const events: WatchEvent[] = [];
    const w = c.watch(Resources.ConfigMaps, ns, { resourceVersion: rv, timeoutSeconds: 1 }, (e) => events.push(e));
    await w.done;
    expect(events.filter((e) => e.type === 'ERROR')).toEqual([]);
  });

  it('fails with Unreachable when no master answers, after a bounded number of attempts', async () => {
    const c = client([`http://${HOST}:${DEAD_PORT}`]);
    const startedMs = Date.now();
    const err = await c.get(Resources.Namespaces, undefined, 'default').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpClientError);
    expect((err as HttpClientError).code).toBe(HttpClientErrorCode.Unreachable);
    expect(Date.now() - startedMs).toBeLessThan(3_000);
    const events: WatchEvent[] = [];
    await c.watch(Resources.ConfigMaps, ns, { resourceVersion: '1' }, (e) => events.push(e)).done;
    expect(events.map((e) => [e.type, (e.object as unknown as Status).code])).toEqual([['ERROR', 503]]);
  });

  it('moves on after 503 and 429 answers, honouring Retry-After', async () => {
    const c = client([`http://${HOST}:${FAKE_PORT}`, plainUrl]);
    fakeRequests = 0;
    fakeBehaviour = (_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503 }));
    expect((await c.get(Resources.Namespaces, undefined, 'default')).metadata.name).toBe('default');
    expect(fakeRequests).toBe(1);

    const c2 = client([`http://${HOST}:${FAKE_PORT}`, plainUrl]);
    fakeRequests = 0;
    fakeBehaviour = (_req, res) => res.writeHead(429, { 'retry-after': '1' }).end('slow down');
    const startedMs = Date.now();
    expect((await c2.get(Resources.Namespaces, undefined, 'default')).metadata.name).toBe('default');
    expect(fakeRequests).toBe(1);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(900);
  });

  it('turns a non-Status error answer into ApiStatusError with the HTTP code, after retrying it', async () => {
    const c = client([`http://${HOST}:${FAKE_PORT}`]);
    fakeRequests = 0;
    fakeBehaviour = (_req, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    const err = await apiError(c.get(Resources.Namespaces, undefined, 'default'));
    expect(err.code).toBe(502);
    expect(err.message).toContain('bad gateway');
    expect(fakeRequests).toBe(2);
  });

  it('repeats a request cut off after sending only when repeating it is harmless', async () => {
    const c = client([`http://${HOST}:${FAKE_PORT}`]);
    fakeBehaviour = (req) => req.socket.destroy();
    const unconditional = { ...configMap('put'), metadata: { name: 'put' } };
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ['PUT without resourceVersion', () => c.update(Resources.ConfigMaps, ns, unconditional), 1],
      ['PUT with resourceVersion', () => c.update(Resources.ConfigMaps, ns, { ...unconditional, metadata: { name: 'put', resourceVersion: '7' } }), 2],
      ['JSON patch', () => c.patch(Resources.ConfigMaps, ns, 'put', PatchType.Json, [{ op: 'add', path: '/data/x', value: '1' }]), 1],
      ['GET', () => c.get(Resources.ConfigMaps, ns, 'put'), 2],
      ['POST', () => c.create(Resources.ConfigMaps, ns, configMap('post')), 2],
    ];
    for (const [what, call, attempts] of cases) {
      fakeRequests = 0;
      const err = await call().catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(HttpClientError);
      expect((err as HttpClientError).code, what).toBe(HttpClientErrorCode.Unreachable);
      expect(fakeRequests, what).toBe(attempts);
    }
  });
});

describe('HttpApiClient watch stream bounds', () => {
  it('ends a watch whose line passes the bound with an ERROR event', async () => {
    const c = client([`http://${HOST}:${FAKE_PORT}`]);
    fakeBehaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: configMap('first') })}\n`);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      const send = (left: number): void => {
        if (left === 0 || res.destroyed) return void res.end();
        if (res.write(chunk)) send(left - 1);
        else res.once('drain', () => send(left - 1));
      };
      send(WATCH_LINE_BYTES_MAX / chunk.length + 2);
    };
    const events: WatchEvent[] = [];
    await c.watch(Resources.ConfigMaps, ns, { resourceVersion: '1' }, (e) => events.push(e)).done;
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ERROR']);
    expect((events[1]!.object as unknown as Status).message).toContain('longer than');
  });

  it('ends a watch with an ERROR event at a line that is not JSON', async () => {
    const c = client([`http://${HOST}:${FAKE_PORT}`]);
    fakeBehaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ADDED', object: configMap('first') })}\n{not json\n${JSON.stringify({ type: 'ADDED', object: configMap('never') })}\n`);
    };
    const events: WatchEvent[] = [];
    await c.watch(Resources.ConfigMaps, ns, { resourceVersion: '1' }, (e) => events.push(e)).done;
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'ERROR']);
  });
});

describe('HttpApiClient over HTTPS', () => {
  it('works when it trusts the cluster CA, and fails without it', async () => {
    const trusted = client([`https://${HOST}:${TLS_PORT}`], { caPem });
    expect((await trusted.get(Resources.Namespaces, undefined, 'default')).metadata.name).toBe('default');
    const untrusted = client([`https://${HOST}:${TLS_PORT}`]);
    const err = await untrusted.get(Resources.Namespaces, undefined, 'default').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpClientError);
    expect((err as HttpClientError).code).toBe(HttpClientErrorCode.Unreachable);
    expect(String((err as Error).message)).toMatch(/certificate/);
  });

  it('close() ends open watches and later calls fail with Closed', async () => {
    const c = new HttpApiClient({ servers: [`https://${HOST}:${TLS_PORT}`], token: TOKEN, caPem });
    const rv = (await c.list(Resources.ConfigMaps, ns)).metadata.resourceVersion!;
    const w = c.watch(Resources.ConfigMaps, ns, { resourceVersion: rv, timeoutSeconds: 60 }, () => undefined);
    await c.close();
    await w.done;
    const err = await c.get(Resources.Namespaces, undefined, 'default').catch((e: unknown) => e);
    expect((err as HttpClientError).code).toBe(HttpClientErrorCode.Closed);
  });
});
