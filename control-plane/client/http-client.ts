/**
 * HttpApiClient: the ApiClient over HTTP(S) to a list of masters.
 *
 *   const client = new HttpApiClient({ servers: ['https://127.0.0.1:24002', 'https://127.0.0.1:24012'], token, caPem });
 *   const pod = await client.get(Resources.Pods, 'default', 'web-0');
 *
 * Failover: every request goes to the current master; a connection failure
 * (refused, reset, timed out) or an answer of 5xx or 429 moves the client to
 * the next master and retries, at most ATTEMPTS_PER_SERVER × servers attempts
 * with a short backoff. A request that may have reached a master already is
 * retried only when repeating it is harmless:
 *  - GET, DELETE, merge and strategic-merge PATCH, and PUT carrying a
 *    resourceVersion (a compare-and-swap: a repeat answers 409) are retried;
 *  - POST (create, subresources such as binding) is retried too, so a create
 *    that succeeded the first time may answer 409 AlreadyExists on the retry:
 *    callers treat AlreadyExists as success when the object is theirs;
 *  - PUT without a resourceVersion and JSON patch (its `add` to an array end
 *    is not idempotent) are retried only when no byte was sent.
 *
 * Errors: a non-2xx answer throws ApiStatusError with the server's Status; no
 * answer from any master throws HttpClientError (code Unreachable).
 *
 * Watch: newline-delimited JSON events; `done` resolves when the stream ends
 * for any reason, and the caller (the informer) resumes from its last
 * resourceVersion. A non-200 answer arrives as one ERROR event carrying the
 * server's Status; when no master answers at all, the ERROR event carries a
 * Status made here (503 ServiceUnavailable). A throwing onEvent stops the
 * watch and rejects `done` with that error. Deadlines: connecting within the
 * request timeout, the whole stream within its timeoutSeconds (or an hour)
 * plus WATCH_DEADLINE_SLACK_MS.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { KubeObject, Status } from '../../proto/k8s/meta.js';
import {
  ApiStatusError,
  PatchType,
  resourcePath,
  type ApiClient,
  type DeleteOptions,
  type ListOptions,
  type ObjectList,
  type ResourceRef,
  type WatchEvent,
  type WatchOptions,
  type WatchStream,
} from './api-client.js';

/** Per attempt: connecting, sending and reading a whole answer (watches: until the answer's headers). */
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** Attempts per request: twice round the masters, so one brief hiccup of each master is survived. */
const ATTEMPTS_PER_SERVER = 2;
/** Backoff between attempts: doubling from the base, capped; loopback answers in milliseconds. */
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1_000;
/** A server's Retry-After is honoured up to this; longer waits are the caller's decision. */
const RETRY_AFTER_MS_MAX = 2_000;
/**
 * Largest answer body read into memory: well below V8's largest string
 * (about 512 MiB), which JSON.parse needs; bigger lists must page with limit.
 */
export const RESPONSE_BODY_BYTES_MAX = 256 * 1024 * 1024;
/** Longest watch event line: the API caps request bodies at 3 MiB, so an event line this long means a broken stream. */
export const WATCH_LINE_BYTES_MAX = 16 * 1024 * 1024;
/** The server ends a watch within an hour (its timeoutSeconds cap); a watch quiet for longer is dead. */
const WATCH_SECONDS_MAX = 3_600;
/** Added to the watch's own timeout before the client gives up on a silent connection. */
const WATCH_DEADLINE_SLACK_MS = 30_000;
/** How much of a non-Status error body goes into the message. */
const ERROR_TEXT_CHARS_MAX = 512;

export const HttpClientErrorCode = {
  /** No master answered within the attempts. */
  Unreachable: 'Unreachable',
  /** An answer body passed RESPONSE_BODY_BYTES_MAX. */
  ResponseTooLarge: 'ResponseTooLarge',
  /** A 2xx answer that is not JSON. */
  BadResponse: 'BadResponse',
  /** The client was closed. */
  Closed: 'Closed',
} as const;
export type HttpClientErrorCode = (typeof HttpClientErrorCode)[keyof typeof HttpClientErrorCode];

/** A failure with no answer from the API (an answer is ApiStatusError). */
export class HttpClientError extends Error {
  override readonly name = 'HttpClientError';
  constructor(
    readonly code: HttpClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpClientOptions {
  /** Base URLs of the masters, http:// or https://. */
  readonly servers: readonly string[];
  /** Bearer token. */
  readonly token?: string;
  /** CA certificate(s), PEM, trusted for https:// servers (default: Node's CA store). */
  readonly caPem?: string;
  readonly requestTimeoutMs?: number;
  readonly userAgent?: string;
}

/** Whether a request may be repeated after it may have reached a master. */
const Retry = { Always: 'always', UnsentOnly: 'unsent-only' } as const;
type Retry = (typeof Retry)[keyof typeof Retry];

interface Exchange {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, below the server's base URL. */
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly retry: Retry;
}

interface Server {
  readonly url: URL;
  /** The base URL's path, without a trailing slash. */
  readonly prefix: string;
  readonly agent: HttpAgent;
}

/** A request that got no answer; `sent` when bytes may have reached the server. */
class TransportFailure extends Error {
  constructor(
    readonly sent: boolean,
    readonly server: string,
    cause: unknown,
  ) {
    super(`${server}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class HttpApiClient implements ApiClient {
  private readonly servers: Server[];
  private readonly timeoutMs: number;
  private readonly headers: OutgoingHttpHeaders;
  /** Index of the master requests go to; moves on failure. */
  private current = 0;
  /** Aborted by close(): ends in-flight requests, backoffs and watches. */
  private readonly closing = new AbortController();
  private readonly watches = new Set<Promise<void>>();

  constructor(o: HttpClientOptions) {
    if (o.servers.length === 0) throw new TypeError('HttpApiClient: servers must name at least one base URL');
    this.timeoutMs = o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ...(o.caPem === undefined ? {} : { ca: o.caPem }) }) };
    this.servers = o.servers.map((s) => {
      const url = new URL(s);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`HttpApiClient: server ${s} is neither http:// nor https://`);
      return { url, prefix: url.pathname.replace(/\/+$/, ''), agent: url.protocol === 'https:' ? agents.https : agents.http };
    });
    this.headers = {
      accept: 'application/json',
      'user-agent': o.userAgent ?? 'strake-client',
      ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }),
    };
  }

  get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    return this.call<T>({ method: 'GET', path: resourcePath(r, namespace, name), retry: Retry.Always });
  }

  list<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, o: ListOptions = {}): Promise<ObjectList<T>> {
    const q = query({ labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, resourceVersion: o.resourceVersion, limit: o.limit, continue: o.continue });
    return this.call<ObjectList<T>>({ method: 'GET', path: resourcePath(r, namespace) + q, retry: Retry.Always });
  }

  create<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T): Promise<T> {
    const path = resourcePath(r, namespace ?? obj.metadata.namespace);
    return this.call<T>({ method: 'POST', path, ...jsonBody(obj), retry: Retry.Always });
  }

  async update<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, obj: T, subresource?: 'status'): Promise<T> {
    const name = obj.metadata.name;
    if (name === undefined || name === '') throw new TypeError(`update of ${r.plural}: the object has no metadata.name`);
    const pinned = obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== '';
    const path = resourcePath(r, namespace ?? obj.metadata.namespace, name, subresource);
    return this.call<T>({ method: 'PUT', path, ...jsonBody(obj), retry: pinned ? Retry.Always : Retry.UnsentOnly });
  }

  patch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status' | 'scale'): Promise<T> {
    const path = resourcePath(r, namespace, name, subresource);
    return this.call<T>({ method: 'PATCH', path, body: JSON.stringify(patch), contentType: type, retry: type === PatchType.Json ? Retry.UnsentOnly : Retry.Always });
  }

  delete(r: ResourceRef, namespace: string | undefined, name: string, o?: DeleteOptions): Promise<KubeObject | Status> {
    const body = o === undefined ? {} : jsonBody({ kind: 'DeleteOptions', apiVersion: 'v1', ...o });
    return this.call<KubeObject | Status>({ method: 'DELETE', path: resourcePath(r, namespace, name), ...body, retry: Retry.Always });
  }

  createSubresource(r: ResourceRef, namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    return this.call<unknown>({ method: 'POST', path: resourcePath(r, namespace, name, subresource), ...jsonBody(body), retry: Retry.Always });
  }

  watch<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string | undefined, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchStream {
    const q = query({
      watch: 'true',
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      resourceVersion: o.resourceVersion,
      allowWatchBookmarks: o.allowBookmarks === true ? 'true' : undefined,
      timeoutSeconds: o.timeoutSeconds,
    });
    const stop = new AbortController();
    const seconds = Math.min(o.timeoutSeconds ?? WATCH_SECONDS_MAX, WATCH_SECONDS_MAX);
    const link = linked([this.closing.signal, stop.signal], seconds * 1000 + WATCH_DEADLINE_SLACK_MS);
    const x: Exchange = { method: 'GET', path: resourcePath(r, namespace) + q, retry: Retry.Always };
    const done = this.runWatch(x, link.signal, onEvent as (e: WatchEvent) => void).finally(() => {
      link.release();
      this.watches.delete(done);
    });
    this.watches.add(done);
    return { done, stop: () => stop.abort() };
  }

  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled([...this.watches]);
    for (const s of this.servers) s.agent.destroy();
  }

  /** One request with failover; the parsed JSON of a 2xx answer, else ApiStatusError. */
  private async call<T>(x: Exchange): Promise<T> {
    const answer = await this.failover(x, this.closing.signal, async (server, signal) => {
      // One deadline per attempt, covering the body too; the loop's bound is the attempt count.
      const attempt = linked([signal], this.timeoutMs);
      try {
        const res = await sendOnce(server, x, this.headers, attempt.signal, { timeoutMs: this.timeoutMs, until: 'head' });
        return { res, body: await readBody(res, RESPONSE_BODY_BYTES_MAX) };
      } catch (err) {
        if (err instanceof HttpClientError || err instanceof TransportFailure) throw err;
        throw new TransportFailure(true, server.url.origin, err);
      } finally {
        attempt.release();
      }
    });
    const code = answer.res.statusCode ?? 0;
    if (code >= 200 && code < 300) return parseJson<T>(answer.body, x);
    throw statusError(code, answer.body);
  }

  private async runWatch(x: Exchange, signal: AbortSignal, onEvent: (e: WatchEvent) => void): Promise<void> {
    let res: IncomingMessage;
    try {
      // Connecting is bounded by the request timeout; after that only by the watch's own deadline,
      // because a server may hold back a watch's head until its first event.
      ({ res } = await this.failover(x, signal, async (server, s) => ({ res: await sendOnce(server, x, this.headers, s, { timeoutMs: this.timeoutMs, until: 'connected' }) })));
    } catch (err) {
      if (signal.aborted) return;
      const message = err instanceof Error ? err.message : String(err);
      onEvent({ type: 'ERROR', object: synthesizedStatus(503, 'ServiceUnavailable', message) as unknown as KubeObject });
      return;
    }
    const code = res.statusCode ?? 0;
    if (code !== 200) {
      const body = await readBody(res, RESPONSE_BODY_BYTES_MAX).catch(() => Buffer.alloc(0));
      onEvent({ type: 'ERROR', object: statusOf(code, body) as unknown as KubeObject });
      return;
    }
    await streamEvents(res, signal, onEvent);
  }

  /**
   * Runs `attempt` against the current master, moving on after a connection
   * failure or a 5xx/429 answer while attempts remain (see the module comment
   * for which requests are repeated). Returns the last answer, whatever its code.
   */
  private async failover<A extends { res: IncomingMessage }>(x: Exchange, signal: AbortSignal, attempt: (server: Server, signal: AbortSignal) => Promise<A>): Promise<A> {
    const attemptsMax = ATTEMPTS_PER_SERVER * this.servers.length;
    for (let n = 0; ; n++) {
      const index = this.current;
      const last = n + 1 >= attemptsMax;
      let waitMs = backoffMs(n);
      try {
        const a = await attempt(this.servers[index]!, signal);
        const code = a.res.statusCode ?? 0;
        if (last || !retriableStatus(code, x.retry)) return a;
        a.res.resume();
        waitMs = Math.max(waitMs, retryAfterMs(a.res));
      } catch (err) {
        if (this.closing.signal.aborted) throw new HttpClientError(HttpClientErrorCode.Closed, `${x.method} ${x.path}: the client is closed`);
        if (!(err instanceof TransportFailure)) throw err;
        if (last || signal.aborted || (err.sent && x.retry !== Retry.Always)) throw unreachable(x, err);
      }
      this.advance(index);
      await delay(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Moves on from the master at `from`, unless a concurrent request already did. */
  private advance(from: number): void {
    if (this.current === from) this.current = (from + 1) % this.servers.length;
  }
}

/** One request to one master: the answer's head, or TransportFailure. `timeoutMs` bounds the wait for the head, or for the connection only. */
function sendOnce(server: Server, x: Exchange, base: OutgoingHttpHeaders, signal: AbortSignal, deadline: { timeoutMs: number; until: 'head' | 'connected' }): Promise<IncomingMessage> {
  const headers: OutgoingHttpHeaders = { ...base };
  if (x.body !== undefined) {
    headers['content-type'] = x.contentType ?? 'application/json';
    headers['content-length'] = Buffer.byteLength(x.body);
  }
  const request = server.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const host = server.url.origin;
  return new Promise<IncomingMessage>((resolve, reject) => {
    let sent = false;
    const req = request({
      protocol: server.url.protocol,
      hostname: server.url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: server.url.port,
      path: server.prefix + x.path,
      method: x.method,
      headers,
      agent: server.agent,
      signal,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no ${deadline.until === 'head' ? 'answer' : 'connection'} within ${deadline.timeoutMs} ms`)), deadline.timeoutMs);
    const connected = (): void => {
      sent = true;
      if (deadline.until === 'connected') clearTimeout(timer);
    };
    req.once('socket', (socket: Socket) => {
      // A reused keep-alive socket is connected already: what we write may reach the server.
      if (!socket.connecting) connected();
      else socket.once(server.url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    // Kept for the request's life: a socket error after the answer's head must not go unhandled.
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new TransportFailure(sent, host, err));
    });
    req.end(x.body);
  });
}

/** The whole body of an answer, at most `bytesMax`. */
function readBody(res: IncomingMessage, bytesMax: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        res.destroy();
        reject(new HttpClientError(HttpClientErrorCode.ResponseTooLarge, `the answer is larger than ${bytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.once('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
    });
  });
}

/**
 * Delivers each newline-terminated event to `onEvent` until the stream ends,
 * `signal` aborts, a line passes WATCH_LINE_BYTES_MAX or does not parse (both
 * end the stream after an ERROR event).
 */
function streamEvents(res: IncomingMessage, signal: AbortSignal, onEvent: (e: WatchEvent) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      res.destroy();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => finish();
    const fail = (message: string): void => {
      onEvent({ type: 'ERROR', object: synthesizedStatus(500, 'InternalError', message) as unknown as KubeObject });
      finish();
    };
    const deliver = (line: Buffer): boolean => {
      if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) return true;
      let e: WatchEvent;
      try {
        e = JSON.parse(line.toString('utf8')) as WatchEvent;
      } catch {
        fail(`malformed watch event: ${line.subarray(0, ERROR_TEXT_CHARS_MAX).toString('utf8')}`);
        return false;
      }
      onEvent(e);
      return true;
    };
    res.on('data', (chunk: Buffer) => {
      if (finished) return;
      try {
        let from = 0;
        for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
          const line = pending.length === 0 ? chunk.subarray(from, nl) : Buffer.concat([...pending, chunk.subarray(from, nl)]);
          pending.length = 0;
          pendingBytes = 0;
          from = nl + 1;
          if (line.length > WATCH_LINE_BYTES_MAX) return fail(`a watch event line is longer than ${WATCH_LINE_BYTES_MAX} bytes`);
          if (!deliver(line) || finished) return;
        }
        if (from < chunk.length) pending.push(chunk.subarray(from));
        pendingBytes += chunk.length - from;
        if (pendingBytes > WATCH_LINE_BYTES_MAX) fail(`a watch event line is longer than ${WATCH_LINE_BYTES_MAX} bytes`);
      } catch (err) {
        finish(err);
      }
    });
    res.once('end', () => finish());
    res.once('close', () => finish());
    res.on('error', () => finish());
    if (signal.aborted) finish();
    else signal.addEventListener('abort', onAbort);
  });
}

function unreachable(x: Exchange, f: TransportFailure): HttpClientError {
  return new HttpClientError(HttpClientErrorCode.Unreachable, `${x.method} ${x.path}: no answer from the API servers (last: ${f.message})`, { cause: f.cause });
}

function parseJson<T>(body: Buffer, x: Exchange): T {
  if (body.length === 0) return undefined as T;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (err) {
    throw new HttpClientError(HttpClientErrorCode.BadResponse, `${x.method} ${x.path}: the answer is not JSON: ${body.subarray(0, ERROR_TEXT_CHARS_MAX).toString('utf8')}`, { cause: err });
  }
}

function statusError(code: number, body: Buffer): ApiStatusError {
  const s = statusOf(code, body);
  return new ApiStatusError(s.code, s.reason ?? '', s.message ?? `HTTP ${code}`, s);
}

/** The Status in an error answer, or one made from its code and text when the body is not a Status (a proxy, say). */
function statusOf(code: number, body: Buffer): Status {
  const text = body.toString('utf8');
  try {
    const s = JSON.parse(text) as Partial<Status> | null;
    if (s !== null && typeof s === 'object' && s.kind === 'Status') {
      return { ...s, code: typeof s.code === 'number' && s.code > 0 ? s.code : code } as Status;
    }
  } catch {
    // Not JSON: described below.
  }
  return synthesizedStatus(code, REASONS[code] ?? '', `HTTP ${code}: ${text.slice(0, ERROR_TEXT_CHARS_MAX)}`);
}

function synthesizedStatus(code: number, reason: string, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message };
}

/** Kubernetes' reasons for codes that come without a Status (its StatusReasonUnknown is ''). */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone',
  413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

/** 429 and 503 mean the request was not served; other 5xx may have been applied. */
function retriableStatus(code: number, retry: Retry): boolean {
  if (code === 429 || code === 503) return true;
  return code >= 500 && retry === Retry.Always;
}

function retryAfterMs(res: IncomingMessage): number {
  const seconds = Number(res.headers['retry-after']);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, RETRY_AFTER_MS_MAX) : 0;
}

function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** attempt, BACKOFF_MAX_MS);
}

/**
 * A signal that aborts with any of `parents` or after `timeoutMs`; release()
 * detaches it. (Not AbortSignal.any: dependents of a long-lived signal such as
 * the client's own are only freed by garbage collection.)
 */
function linked(parents: readonly AbortSignal[], timeoutMs: number): { readonly signal: AbortSignal; release(): void } {
  const c = new AbortController();
  const abort = (): void => c.abort();
  for (const p of parents) {
    if (p.aborted) c.abort();
    else p.addEventListener('abort', abort, { once: true });
  }
  const timer = setTimeout(() => c.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  return {
    signal: c.signal,
    release: () => {
      clearTimeout(timer);
      for (const p of parents) p.removeEventListener('abort', abort);
    },
  };
}

function jsonBody(value: unknown): { body: string; contentType: string } {
  return { body: JSON.stringify(value), contentType: 'application/json' };
}

/** `?a=1&b=2` of the defined, non-empty values, or ''. */
function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
