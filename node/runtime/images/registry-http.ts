/**
 * HTTP(S) requests to an OCI distribution registry: one deadline (AbortSignal)
 * over every request, redirects (bounded, credentials dropped across hosts),
 * Bearer token challenges, and `insecure` = TLS without verification falling
 * back to plain HTTP.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { ImageError, ImageErrorCode, errnoCode, errorText } from './errors.js';

/** Registries redirect blob GETs to storage once; a chain longer than this is a loop. */
const REDIRECTS_MAX = 5;
/** Error bodies and token responses are small; we read this much of them at most. */
const SMALL_BODY_BYTES_MAX = 1024 * 1024;

export interface RegistryClientOptions {
  /** host[:port] serving /v2/. */
  host: string;
  insecure: boolean;
  /** Aborts every request when the pull's deadline passes. */
  signal: AbortSignal;
  timeoutMs: number;
  what: string;
}

export interface RegistryResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: IncomingMessage;
}

export class RegistryClient {
  private scheme: 'https' | 'http' | undefined;
  private token: string | undefined;

  constructor(private readonly o: RegistryClientOptions) {}

  /** GET `path` (under the registry root), answering an auth challenge once. */
  async get(path: string, headers: Record<string, string>): Promise<RegistryResponse> {
    const first = await this.getWithScheme(path, headers);
    if (first.status !== 401) return first;
    const challenge = first.headers['www-authenticate'];
    first.body.resume();
    if (typeof challenge !== 'string' || !/^bearer\s/i.test(challenge)) {
      throw new ImageError(ImageErrorCode.Unauthorized, `${this.o.what}: registry ${this.o.host} requires authentication (${challenge ?? 'no challenge'}); only anonymous Bearer tokens are supported`);
    }
    this.token = await this.fetchToken(challenge);
    return this.getWithScheme(path, headers);
  }

  private async getWithScheme(path: string, headers: Record<string, string>): Promise<RegistryResponse> {
    const auth: Record<string, string> = this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
    if (this.scheme !== undefined) return this.follow(`${this.scheme}://${this.o.host}${path}`, { ...headers, ...auth });
    try {
      const r = await this.follow(`https://${this.o.host}${path}`, { ...headers, ...auth });
      this.scheme = 'https';
      return r;
    } catch (err) {
      if (!this.o.insecure || !isTlsFailure(err)) throw err;
      this.scheme = 'http';
      return this.follow(`http://${this.o.host}${path}`, { ...headers, ...auth });
    }
  }

  private async follow(url: string, headers: Record<string, string>): Promise<RegistryResponse> {
    let current = new URL(url);
    let hdrs = headers;
    for (let i = 0; i <= REDIRECTS_MAX; i++) {
      const r = await this.once(current, hdrs);
      const location = r.headers.location;
      if (r.status < 300 || r.status >= 400 || location === undefined) return r;
      r.body.resume();
      const next = new URL(location, current);
      if (next.host !== current.host) {
        const { authorization: _dropped, ...rest } = hdrs;
        hdrs = rest;
      }
      current = next;
    }
    throw new ImageError(ImageErrorCode.Registry, `${this.o.what}: more than ${REDIRECTS_MAX} redirects from ${url}`);
  }

  private once(url: URL, headers: Record<string, string>): Promise<RegistryResponse> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: 'GET', headers: { 'user-agent': 'strake-image-store', ...headers }, signal: this.o.signal, ...(url.protocol === 'https:' ? { rejectUnauthorized: !this.o.insecure } : {}) }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.on('error', (err) => reject(this.translate(err, url)));
      req.end();
    });
  }

  translate(err: unknown, url: URL | string): Error {
    if (err instanceof ImageError) return err;
    if (this.o.signal.aborted) return new ImageError(ImageErrorCode.DeadlineExceeded, `${this.o.what}: no answer within the pull deadline of ${this.o.timeoutMs} ms (at ${String(url)})`);
    const code = errnoCode(err);
    if (isTlsFailure(err)) return Object.assign(new ImageError(ImageErrorCode.Unavailable, `${this.o.what}: TLS with ${String(url)} failed: ${errorText(err)} (for a plain-HTTP or self-signed registry, use --insecure)`), { cause: err });
    return new ImageError(ImageErrorCode.Unavailable, `${this.o.what}: cannot reach ${String(url)}: ${code ?? ''} ${errorText(err)}`.trim());
  }

  private async fetchToken(challenge: string): Promise<string> {
    const params = parseChallenge(challenge.replace(/^bearer\s+/i, ''));
    const realm = params['realm'];
    if (realm === undefined) throw new ImageError(ImageErrorCode.Unauthorized, `${this.o.what}: Bearer challenge without a realm: ${challenge}`);
    const url = new URL(realm);
    for (const k of ['service', 'scope']) if (params[k] !== undefined) url.searchParams.set(k, params[k]!);
    const r = await this.follow(url.toString(), {});
    const body = await readSmallBody(r.body, this.o.what);
    if (r.status !== 200) throw new ImageError(ImageErrorCode.Unauthorized, `${this.o.what}: token service ${url.host} answered ${r.status}: ${body.toString().slice(0, 200)}`);
    const json = JSON.parse(body.toString()) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (typeof token !== 'string') throw new ImageError(ImageErrorCode.Unauthorized, `${this.o.what}: token service ${url.host} returned no token`);
    return token;
  }
}

function isTlsFailure(err: unknown): boolean {
  const code = errnoCode(err) ?? '';
  return code === 'EPROTO' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /certificate|self.signed|SSL/i.test(errorText(err)) || code === 'ECONNRESET';
}

/** `realm="https://x/token",service="reg",scope="repository:a/b:pull"` -> fields. */
export function parseChallenge(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}

/** The whole body, refusing more than `max` bytes. */
export async function readSmallBody(body: IncomingMessage, what: string, max = SMALL_BODY_BYTES_MAX): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      throw new ImageError(ImageErrorCode.TooLarge, `${what}: response body exceeds ${max} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
