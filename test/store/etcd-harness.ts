/**
 * Helpers for the etcd edge tests: raw gRPC clients built from our own
 * proto/etcd files (to look at exact wire fields, codes and trailers), and a
 * runner for the real etcdctl.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';

type Ctor = grpc.ServiceClientConstructor;
type Services = Record<'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance', Ctor>;

export interface RawClients {
  readonly kv: grpc.Client;
  readonly watch: grpc.Client;
  readonly lease: grpc.Client;
  readonly cluster: grpc.Client;
  readonly maintenance: grpc.Client;
  close(): void;
}

export function rawClients(address: string): RawClients {
  const pkg = loadProto(['etcd/rpc.proto']) as unknown as { etcdserverpb: Services };
  const make = (c: Ctor): grpc.Client => new c(address, grpc.credentials.createInsecure());
  const clients = {
    kv: make(pkg.etcdserverpb.KV),
    watch: make(pkg.etcdserverpb.Watch),
    lease: make(pkg.etcdserverpb.Lease),
    cluster: make(pkg.etcdserverpb.Cluster),
    maintenance: make(pkg.etcdserverpb.Maintenance),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

/** Deadline of every raw unary call: far beyond a loopback round trip. */
export const RAW_CALL_DEADLINE_MS = 10_000;

// The generated client methods are untyped; these casts are the whole of it.
type AnyRecord = Record<string, any>;

export function unary(client: grpc.Client, method: string, req: object, deadlineMs = RAW_CALL_DEADLINE_MS): Promise<AnyRecord> {
  const fn = (client as unknown as AnyRecord)[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: AnyRecord) => void) => void;
  return new Promise((resolve, reject) => {
    fn.call(client, req, { deadline: Date.now() + deadlineMs }, (err, res) => (err === null ? resolve(res) : reject(err)));
  });
}

/** The status a call failed with (fails the test if the call succeeded). */
export async function unaryError(client: grpc.Client, method: string, req: object, deadlineMs?: number): Promise<grpc.ServiceError> {
  try {
    const res = await unary(client, method, req, deadlineMs);
    throw new Error(`${method} succeeded unexpectedly: ${JSON.stringify(res)}`);
  } catch (err) {
    if ((err as grpc.ServiceError).code === undefined) throw err;
    return err as grpc.ServiceError;
  }
}

/** Sends raw bytes to a method, bypassing the client's encoder. */
export function rawBytesCall(client: grpc.Client, path: string, bytes: Buffer): Promise<grpc.ServiceError | Buffer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      { deadline: Date.now() + RAW_CALL_DEADLINE_MS },
      (err, res) => resolve(err ?? res!),
    );
  });
}

/** Polls `check` until it returns a value, within a bounded wait. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const stepMs = 10;
  for (let waitedMs = 0; waitedMs <= timeoutMs; waitedMs += stepMs) {
    const v = check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// ------------------------------------------------------------------ etcdctl

/** The etcdctl on PATH, if any. */
export function findEtcdctl(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'etcdctl');
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Bound on one etcdctl run: its own dial timeout is 2 s and its command timeout 5 s. */
export const ETCDCTL_RUN_TIMEOUT_MS = 15_000;

export interface EtcdctlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function etcdctl(bin: string, endpoint: string, args: readonly string[], stdin?: string): Promise<EtcdctlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      ['--endpoints', endpoint, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: ETCDCTL_RUN_TIMEOUT_MS },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** A long-running etcdctl (watch); the caller must stop() it. */
export interface EtcdctlProcess {
  output(): string;
  stop(): void;
}

export function startEtcdctl(bin: string, endpoint: string, args: readonly string[]): EtcdctlProcess {
  const child: ChildProcessWithoutNullStreams = spawn(bin, ['--endpoints', endpoint, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { output: () => out, stop: () => void child.kill() };
}
