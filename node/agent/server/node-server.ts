/**
 * The node's own HTTP server (the kubelet's :10250): the API server proxies
 * `pods/log` and `pods/exec` here, to the address and port the Node object
 * reports (status.addresses InternalIP, status.daemonEndpoints.kubeletEndpoint.Port).
 *
 *   GET       /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&...  plain text
 *   GET|POST  /exec/{namespace}/{pod}/{container}?command=a&command=b&stdout=1     WebSocket
 *   GET       /healthz
 *
 * UNAUTHENTICATED plain HTTP: anyone who reaches it can read every log and run
 * commands in every container, so it must listen on loopback or a
 * node-private address only.
 *
 *   const s = await startNodeServer({ host: '127.0.0.1', port: 10250, pods });
 *   ...
 *   await s.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { plain, serveContainerLogs, type ContainerLogDeps, type ContainerRef } from './container-logs.js';
import { EXEC_TIMEOUT_MS, ExecRequestError, finish, parseExecQuery, runExecSession, type ExecSessionDeps } from './exec-session.js';
import type { NodeServerPods } from './node-server-pods.js';
import { chooseExecProtocol, EXEC_PROTOCOLS, execFailure, offeredProtocols } from './remotecommand.js';

export type { NodeServerPods, NodeContainer, ExecResult } from './node-server-pods.js';

/** Largest message a client may send over an exec WebSocket (stdin is refused; resize messages are tiny). */
const CLIENT_MESSAGE_BYTES_MAX = 64 * 1024;
/** A request must send its headers within this time. */
const HEADERS_TIMEOUT_MS = 10_000;

export interface NodeServerOptions {
  readonly host: string;
  /** 0 picks a free port (see RunningNodeServer.port). */
  readonly port: number;
  readonly pods: NodeServerPods;
  readonly log?: (line: string) => void;
  /** Bound on one exec command's run time; default EXEC_TIMEOUT_MS. */
  readonly execTimeoutMs?: number;
  /** How often log followers look at their file; default FOLLOW_POLL_INTERVAL_MS. */
  readonly followPollIntervalMs?: number;
  readonly nowMs?: () => number;
}

export interface RunningNodeServer {
  readonly port: number;
  /** Stops accepting, and ends open log streams and exec sessions. */
  close(): Promise<void>;
}

export async function startNodeServer(o: NodeServerOptions): Promise<RunningNodeServer> {
  const log = o.log ?? (() => undefined);
  const deps: ContainerLogDeps = { pods: o.pods, nowMs: o.nowMs ?? Date.now, log, ...(o.followPollIntervalMs === undefined ? {} : { pollIntervalMs: o.followPollIntervalMs }) };
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    handleRequest(req, res, deps).catch((err: unknown) => {
      log(`node server: ${req.method ?? ''} ${req.url ?? ''} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (!res.headersSent) plain(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: CLIENT_MESSAGE_BYTES_MAX, handleProtocols: (offered) => chooseExecProtocol(offered) ?? false });
  const execDeps: ExecSessionDeps = { pods: o.pods, timeoutMs: o.execTimeoutMs ?? EXEC_TIMEOUT_MS, log };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head, wss, execDeps).catch((err: unknown) => {
      log(`node server: upgrade ${req.url ?? ''} failed: ${err instanceof Error ? err.message : String(err)}`);
      rejectUpgrade(socket, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  return {
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await closed;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

type Route = { readonly kind: 'containerLogs' | 'exec'; readonly ref: ContainerRef } | { readonly kind: 'healthz' } | undefined;

function route(path: string): Route {
  if (path === '/healthz') return { kind: 'healthz' };
  const parts = path.split('/').slice(1);
  if (parts.length !== 4 || (parts[0] !== 'containerLogs' && parts[0] !== 'exec')) return undefined;
  let decoded: string[];
  try {
    decoded = parts.slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [namespace = '', pod = '', container = ''] = decoded;
  if (namespace === '' || pod === '' || container === '') return undefined;
  return { kind: parts[0], ref: { namespace, pod, container } };
}

async function handleRequest(req: IncomingMessage, res: ServerResponse, d: ContainerLogDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://node');
  const r = route(url.pathname);
  if (r === undefined) return plain(res, 404, `no such path: ${url.pathname}`);
  if (r.kind === 'healthz') return plain(res, 200, 'ok');
  if (r.kind === 'exec') return plain(res, 400, `exec needs a WebSocket upgrade (subprotocols ${EXEC_PROTOCOLS.join(', ')})`);
  if (req.method !== 'GET') return plain(res, 405, `${req.method ?? ''} is not allowed on ${url.pathname}`);
  await serveContainerLogs(r.ref, url.searchParams, req, res, d);
}

async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, wss: WebSocketServer, d: ExecSessionDeps): Promise<void> {
  socket.on('error', () => socket.destroy());
  const url = new URL(req.url ?? '/', 'http://node');
  const r = route(url.pathname);
  if (r === undefined || r.kind !== 'exec') return rejectUpgrade(socket, 404, `no such path: ${url.pathname}`);
  if (req.method !== 'GET' && req.method !== 'POST') return rejectUpgrade(socket, 405, `${req.method ?? ''} is not allowed on ${url.pathname}`);
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return rejectUpgrade(socket, 400, `exec is served over WebSocket only (subprotocols ${EXEC_PROTOCOLS.join(', ')}); "${req.headers.upgrade ?? ''}" is not supported`);
  }
  const offered = offeredProtocols(req.headers['sec-websocket-protocol']);
  if (chooseExecProtocol(offered) === undefined) {
    return rejectUpgrade(socket, 400, `none of the offered subprotocols [${offered.join(', ')}] is supported; supported: ${EXEC_PROTOCOLS.join(', ')}`);
  }
  let exec;
  try {
    exec = parseExecQuery(url.searchParams);
  } catch (err) {
    if (err instanceof ExecRequestError) return rejectUpgrade(socket, 400, err.message);
    throw err;
  }
  const { namespace, pod, container } = r.ref;
  const found = await d.pods.findContainer(namespace, pod, container, false);
  if (found === undefined) return rejectUpgrade(socket, 404, `container "${container}" in pod "${pod}" in namespace "${namespace}" not found`);
  wss.handleUpgrade(req, socket, head, (ws) => {
    // From here on, errors travel as a Status on the error channel, which clients print.
    if (!found.running) return finish(ws, execFailure(`container "${container}" in pod "${pod}" in namespace "${namespace}" is not running`));
    void runExecSession(ws, found.containerId, exec, d);
  });
}

/** An HTTP error answer on a socket whose request asked for an upgrade. */
export function rejectUpgrade(socket: Duplex, code: number, text: string): void {
  if (socket.destroyed) return;
  const body = `${text}\n`;
  const reason = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 500: 'Internal Server Error' }[code] ?? 'Error';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
