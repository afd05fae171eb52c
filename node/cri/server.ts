/**
 * serveCri: any CriRuntime served as the CRI v1 gRPC services on a unix socket, the
 * way `strake runtime` exposes the built-in runtime. A thrown `CriError` becomes the
 * gRPC status of its code; anything else thrown becomes INTERNAL with its message;
 * a method the runtime lacks answers UNIMPLEMENTED.
 */
import * as grpc from '@grpc/grpc-js';
import { connect } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { CriError, CriErrorCode, GRPC_STATUS_OF_CODE } from './errors.js';
import { IMAGE_SERVICE_METHODS, RUNTIME_SERVICE_METHODS, type CriRuntime } from './runtime.js';
import { missingInRequest } from './required-fields.js';
import { criPackage } from './cri-package.js';

/** How long close() lets calls in flight finish before it cuts them. */
export const CRI_SHUTDOWN_GRACE_MS = 2_000;
/** How long serveCri waits to learn whether a socket file left behind still has a live server. */
const STALE_SOCKET_PROBE_MS = 500;

export interface ServeCriOptions {
  /** `unix:///absolute/path.sock`. */
  readonly endpoint: string;
}

export interface CriServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

type Method = keyof CriRuntime;
type UnaryHandler = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

export async function serveCri(runtime: CriRuntime, options: ServeCriOptions): Promise<CriServer> {
  const path = socketPath(options.endpoint);
  await removeStaleSocket(path);
  const v1 = criPackage();
  const server = new grpc.Server();
  server.addService(v1.RuntimeService.service, handlers(runtime, RUNTIME_SERVICE_METHODS));
  server.addService(v1.ImageService.service, handlers(runtime, IMAGE_SERVICE_METHODS));
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err === null ? resolve() : reject(err)));
  });
  return {
    endpoint: options.endpoint,
    close: async () => {
      await shutdown(server);
      await unlink(path).catch(() => undefined);
    },
  };
}

function handlers(runtime: CriRuntime, methods: Partial<Record<Method, string>>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, rpc] of Object.entries(methods) as [Method, string][]) {
    impl[rpc] = unaryHandler(runtime, method, rpc);
  }
  return impl;
}

function unaryHandler(runtime: CriRuntime, method: Method, rpc: string): UnaryHandler {
  return (call, callback) => {
    const fn = (runtime as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      return callback({ code: grpc.status.UNIMPLEMENTED, details: `this runtime does not implement ${rpc}` });
    }
    const missing = missingInRequest(method, call.request);
    if (missing !== undefined) {
      return callback({ code: grpc.status.INVALID_ARGUMENT, details: `${rpc} request lacks ${missing}` });
    }
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve((fn as (r: unknown) => unknown).call(runtime, call.request));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (response) => callback(null, response ?? {}),
      (err: unknown) => callback(toGrpcStatus(err)),
    );
  };
}

/** The gRPC status a thrown value is sent as. */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof CriError) return { code: GRPC_STATUS_OF_CODE[err.code], details: err.message };
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

function socketPath(endpoint: string): string {
  const prefix = 'unix://';
  const path = endpoint.startsWith(prefix) ? endpoint.slice(prefix.length) : '';
  if (!path.startsWith('/')) {
    throw new CriError(CriErrorCode.InvalidArgument, `CRI endpoint ${endpoint} is not unix:// followed by an absolute path`);
  }
  return path;
}

/** Deletes a socket file left by a server that is gone; refuses to take over one that still answers. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket()) {
    throw new CriError(CriErrorCode.FailedPrecondition, `${path} exists and is not a socket; not replacing it`);
  }
  if (await socketAnswers(path)) {
    throw new CriError(CriErrorCode.AlreadyExists, `a server is already listening on ${path}`);
  }
  await unlink(path);
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answers: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(false), STALE_SOCKET_PROBE_MS);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, CRI_SHUTDOWN_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
