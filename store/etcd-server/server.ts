/**
 * The etcd v3 gRPC endpoint: KV, Watch, Lease, Cluster and Maintenance over an
 * EtcdBackend. Real etcdctl 3.4 and the etcd3 npm client talk to it unchanged.
 *
 *   const server = createEtcdGrpcServer(backend);
 *   const port = await listenEtcdGrpcServer(server, '127.0.0.1:24001');
 *   ...
 *   await closeEtcdGrpcServer(server);
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS } from '../mvcc/limits.js';
import type { EtcdBackend } from './backend.js';
import type { EdgeContext, EdgeLimits } from './call.js';
import { clusterService } from './cluster-service.js';
import { kvService } from './kv-service.js';
import { learnerGated } from './learner-gate.js';
import { leaseService } from './lease-service.js';
import { maintenanceService } from './maintenance-service.js';
import { PROGRESS_NOTIFY_INTERVAL_MS, watchService } from './watch-service.js';
import { etcdServiceDefinitions } from './wire.js';

/** etcd's grpcOverheadBytes: room for framing and headers on top of --max-request-bytes. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/**
 * Edge bound on one unary call. etcd's own request timeout is 5 s plus two
 * election timeouts (7 s by default) and the backend should answer by then;
 * this only catches a backend that never answers.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Shutdown waits this long for calls in flight, then cuts the rest (watch streams never end on their own). */
export const SHUTDOWN_GRACE_MS = 2_000;

export interface EtcdServerOptions {
  /** etcd --max-txn-ops (default 128). */
  readonly maxTxnOps?: number;
  /** etcd --max-request-bytes (default 1.5 MiB). */
  readonly maxRequestBytes?: number;
  readonly requestTimeoutMs?: number;
  /** Interval of progress notifications for watchers that asked for them (etcd: 10 min). */
  readonly progressNotifyIntervalMs?: number;
}

export function createEtcdGrpcServer(backend: EtcdBackend, options: EtcdServerOptions = {}): grpc.Server {
  const limits: EdgeLimits = {
    maxTxnOps: options.maxTxnOps ?? MAX_TXN_OPS,
    maxRequestBytes: options.maxRequestBytes ?? MAX_REQUEST_BYTES,
    requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
  };
  const ctx: EdgeContext = { backend, limits };
  const server = new grpc.Server({
    // Larger messages are refused by gRPC itself (RESOURCE_EXHAUSTED) before decoding;
    // between maxRequestBytes and this, writes get etcd's "request is too large".
    'grpc.max_receive_message_length': limits.maxRequestBytes + GRPC_OVERHEAD_BYTES,
  });
  const defs = etcdServiceDefinitions();
  // Every service goes through the learner gate, as every etcd service goes through its interceptors.
  const add = (definition: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void =>
    server.addService(definition, learnerGated(backend, definition, impl));
  add(defs.KV, kvService(ctx));
  add(defs.Watch, watchService(ctx, {
    progressNotifyIntervalMs: options.progressNotifyIntervalMs ?? PROGRESS_NOTIFY_INTERVAL_MS,
  }));
  add(defs.Lease, leaseService(ctx));
  add(defs.Cluster, clusterService(ctx));
  add(defs.Maintenance, maintenanceService(ctx));
  return server;
}

/** Binds `address` ("host:port"; port 0 = any free port) without TLS. Resolves with the bound port. */
export function listenEtcdGrpcServer(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err === null ? resolve(port) : reject(err),
    );
  });
}

/** Stops accepting calls, lets calls in flight finish for SHUTDOWN_GRACE_MS, then cuts the rest. */
export function closeEtcdGrpcServer(server: grpc.Server, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
