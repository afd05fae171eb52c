/**
 * Requests from the API server to a node's server (pods/log, pods/exec):
 * plain HTTP to the address the Node object reports, each with a deadline
 * for the node's answer, and the node's error answers turned into API errors.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { StatusReason } from '../../proto/k8s/meta.js';
import { ApiError, badRequest, internal } from './errors.js';
import { hostPort, type PodNodeTarget } from './pod-node-target.js';

/** How long a node has to answer with its status line and headers (a log stream sends them before any line). */
export const NODE_ANSWER_MS = 10_000;
/** Largest error text read from a node. */
const NODE_ERROR_BYTES_MAX = 64 * 1024;

export type NodeAnswer =
  | { readonly kind: 'response'; readonly res: IncomingMessage }
  | { readonly kind: 'upgrade'; readonly res: IncomingMessage; readonly socket: Socket; readonly head: Buffer };

export interface NodeRequest {
  readonly target: PodNodeTarget;
  readonly path: string;
  readonly headers?: Record<string, string | string[]>;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** A GET to the node; resolves with its answer (any status) or an upgraded connection. */
export function askNode(r: NodeRequest): Promise<NodeAnswer> {
  const where = `the server of node "${r.target.nodeName}" at ${hostPort(r.target)}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: r.target.host, port: r.target.port, method: 'GET', path: r.path, headers: r.headers ?? {} });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${r.timeoutMs ?? NODE_ANSWER_MS} ms`)), r.timeoutMs ?? NODE_ANSWER_MS);
    const onAbort = (): void => void req.destroy(new Error('the client went away'));
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
    };
    req.once('response', (res) => {
      settle();
      resolve({ kind: 'response', res });
    });
    req.once('upgrade', (res, socket, head) => {
      settle();
      resolve({ kind: 'upgrade', res, socket, head });
    });
    req.once('error', (err) => {
      settle();
      reject(internal(`cannot reach ${where}: ${err.message}`));
    });
    req.end();
  });
}

/** The API error for a node's non-success answer, with the node's own text. */
export async function nodeError(target: PodNodeTarget, res: IncomingMessage): Promise<ApiError> {
  const text = (await readBounded(res, NODE_ERROR_BYTES_MAX)).trim();
  const code = res.statusCode ?? 0;
  if (code === 404) return new ApiError(StatusReason.NotFound, text);
  if (code === 400) return badRequest(text);
  return internal(`the server of node "${target.nodeName}" answered ${code}: ${text}`);
}

async function readBounded(res: IncomingMessage, bytesMax: number): Promise<string> {
  const parts: Buffer[] = [];
  let bytes = 0;
  const timer = setTimeout(() => res.destroy(), NODE_ANSWER_MS);
  try {
    for await (const chunk of res) {
      const b = chunk as Buffer;
      parts.push(b.subarray(0, bytesMax - bytes));
      bytes += b.length;
      if (bytes >= bytesMax) break;
    }
  } catch {
    // A cut-off error text is still worth showing.
  } finally {
    clearTimeout(timer);
    res.destroy();
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The raw head of a node's 101 answer, to hand to the client unchanged. */
export function switchingProtocolsHead(res: IncomingMessage): string {
  const lines = ['HTTP/1.1 101 Switching Protocols'];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The WebSocket handshake headers of the client's request, passed through to the node. */
export function websocketHandshakeHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = { connection: 'Upgrade', upgrade: 'websocket' };
  for (const name of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']) {
    const v = h[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
