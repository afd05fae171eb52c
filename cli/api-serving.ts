/**
 * The HTTP API part of `strake master`: builds the KvBackend (this master's
 * embedded store, or an external etcd cluster given with --store), loads the
 * credentials files, starts the API server and listens on --listen-api.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { listenApi } from '../control-plane/api/listener.js';
import { startApiServer, type RunningApiServer } from '../control-plane/api/server.js';
import { parseTokenFile, SIGNING_KEY_BYTES_MIN, type TokenTable } from '../control-plane/auth/index.js';
import type { EtcdBackend } from '../store/etcd-server/backend.js';
import type { KvBackend } from '../store/kv-backend.js';
import { EmbeddedKvBackend } from '../store/kv-backend/embedded.js';
import { Etcd3KvBackend } from '../store/kv-backend/etcd3.js';

export interface ApiFlags {
  readonly listenApi: string;
  readonly tokenAuthFile?: string;
  readonly serviceAccountKeyFile?: string;
  readonly serviceClusterIpRange?: string;
  readonly anonymousAuth: boolean;
  readonly tlsCertFile?: string;
  readonly tlsPrivateKeyFile?: string;
  readonly version: string;
}

export class ApiFlagError extends Error {
  override readonly name = 'ApiFlagError';
}

/** `embedded` or `etcd://host:port[,host:port...]`; returns the etcd endpoints, or undefined for embedded. */
export function parseStoreFlag(spec: string): readonly string[] | undefined {
  if (spec === 'embedded') return undefined;
  const m = /^etcd:\/\/(.+)$/.exec(spec);
  const endpoints = m === null ? [] : m[1]!.split(',').map((s) => s.trim());
  if (endpoints.length === 0 || endpoints.some((e) => !/^[^/:,\s]+:\d{1,5}$/.test(e))) {
    throw new ApiFlagError(`--store must be "embedded" or "etcd://host:port[,host:port...]", got "${spec}"`);
  }
  return endpoints;
}

export function kvBackendOf(etcdEndpoints: readonly string[] | undefined, member: EtcdBackend | undefined): KvBackend {
  if (etcdEndpoints !== undefined) return new Etcd3KvBackend({ endpoints: [...etcdEndpoints] });
  if (member === undefined) throw new Error('kvBackendOf: an embedded store needs a running member');
  return new EmbeddedKvBackend(member);
}

/** host and port of an http:// URL (the only scheme the API listens on for now). */
export function listenAddress(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ApiFlagError(`--listen-api must be a URL like http://127.0.0.1:24002, got "${url}"`);
  }
  if (u.protocol !== 'http:' || u.port === '') throw new ApiFlagError(`--listen-api must be http://host:port, got "${url}"`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) };
}

/**
 * How this master's own components (scheduler, controller manager) reach its
 * API: over loopback, with tokens made at start and known only to this
 * process (Kubernetes' API server gives its loopback clients a token the same way).
 */
export interface LoopbackAccess {
  readonly url: string;
  readonly schedulerToken: string;
  readonly controllerManagerToken: string;
}

export interface ServingApi extends RunningApiServer {
  readonly loopback: LoopbackAccess;
}

/** Bytes of randomness in each loopback token. */
const LOOPBACK_TOKEN_BYTES = 32;

export async function serveApi(backend: KvBackend, f: ApiFlags, log: (line: string) => void): Promise<ServingApi> {
  const { host, port } = listenAddress(f.listenApi);
  const tls = await tlsOf(f);
  const loopback: LoopbackAccess = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    schedulerToken: randomBytes(LOOPBACK_TOKEN_BYTES).toString('hex'),
    controllerManagerToken: randomBytes(LOOPBACK_TOKEN_BYTES).toString('hex'),
  };
  const loopbackLines = [
    `${loopback.schedulerToken},system:kube-scheduler,system:kube-scheduler`,
    `${loopback.controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager`,
  ].join('\n');
  const tokenFile = await loadTokens(f.tokenAuthFile, loopbackLines);
  const serviceAccountKey = f.serviceAccountKeyFile === undefined ? undefined : await loadKey(f.serviceAccountKeyFile);
  if (f.tokenAuthFile === undefined && serviceAccountKey === undefined && !f.anonymousAuth) {
    log('note: no --token-auth-file and no --service-account-key-file: every API request will be refused (401)');
  }
  const api = await startApiServer({
    backend,
    access: {
      tokenFile,
      ...(serviceAccountKey === undefined ? {} : { serviceAccountKey }),
      allowAnonymous: f.anonymousAuth,
    },
    ...(f.serviceClusterIpRange === undefined ? {} : { serviceCidr: f.serviceClusterIpRange }),
    version: f.version,
    log,
  });
  const listener = await listenApi(api.app, { host, port, ...(tls === undefined ? {} : { tls }) }).catch(async (err: unknown) => {
    await api.close();
    throw err;
  });
  log(`api: serving on ${f.listenApi}${tls === undefined ? '' : ` (and https://${host}:${port})`} (store: ${backend.kind})`);
  return {
    ...api,
    loopback,
    close: async () => {
      await listener.close();
      await api.close();
    },
  };
}

async function tlsOf(f: ApiFlags): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if ((f.tlsCertFile === undefined) !== (f.tlsPrivateKeyFile === undefined)) {
    throw new ApiFlagError('--tls-cert-file and --tls-private-key-file go together');
  }
  if (f.tlsCertFile === undefined || f.tlsPrivateKeyFile === undefined) return undefined;
  const read = (flag: string, path: string) =>
    readFile(path).catch((err: unknown) => {
      throw new ApiFlagError(`${flag} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    });
  return { cert: await read('--tls-cert-file', f.tlsCertFile), key: await read('--tls-private-key-file', f.tlsPrivateKeyFile) };
}

/** The token file's users plus the loopback ones. */
async function loadTokens(path: string | undefined, loopbackLines: string): Promise<TokenTable> {
  try {
    const fromFile = path === undefined ? '' : await readFile(path, 'utf8');
    return parseTokenFile(`${fromFile.replace(/\s*$/, '')}\n${loopbackLines}\n`, path ?? 'loopback tokens');
  } catch (err) {
    throw new ApiFlagError(`--token-auth-file ${path ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The service-account signing key: a file of at least SIGNING_KEY_BYTES_MIN bytes (hex text is decoded). */
async function loadKey(path: string): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new ApiFlagError(`--service-account-key-file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = raw.toString('utf8').trim();
  const key = /^[0-9a-f]+$/i.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : raw;
  if (key.length < SIGNING_KEY_BYTES_MIN) throw new ApiFlagError(`--service-account-key-file ${path}: the key has ${key.length} bytes; at least ${SIGNING_KEY_BYTES_MIN} are needed`);
  return key;
}
