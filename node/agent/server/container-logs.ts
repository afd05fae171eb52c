/**
 * GET /containerLogs/{namespace}/{pod}/{container}: a container's log as
 * plain text, with the kubelet's query options (follow, tailLines, previous,
 * timestamps, sinceSeconds/sinceTime, limitBytes, stream). Following ends
 * when the client goes away, or when the container is gone (stopped, or
 * replaced by a new instance) and its file has ended.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readContainerLog } from '../logs/cri-log-reader.js';
import { LogOptionsError, parseContainerLogQuery, type ContainerLogQuery } from '../logs/log-options.js';
import type { NodeContainer, NodeServerPods } from './node-server-pods.js';

export interface ContainerRef {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

export interface ContainerLogDeps {
  readonly pods: NodeServerPods;
  readonly nowMs: () => number;
  readonly pollIntervalMs?: number;
  readonly log: (line: string) => void;
}

export async function serveContainerLogs(ref: ContainerRef, query: URLSearchParams, req: IncomingMessage, res: ServerResponse, d: ContainerLogDeps): Promise<void> {
  let q: ContainerLogQuery;
  try {
    q = parseContainerLogQuery(query, d.nowMs());
  } catch (err) {
    if (err instanceof LogOptionsError) return plain(res, 400, err.message);
    throw err;
  }
  const found = await d.pods.findContainer(ref.namespace, ref.pod, ref.container, q.previous);
  if (found === undefined) {
    const what = q.previous ? `previous terminated container "${ref.container}"` : `container "${ref.container}"`;
    return plain(res, 404, `${what} in pod "${ref.pod}" in namespace "${ref.namespace}" not found`);
  }
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  req.once('aborted', () => abort.abort());
  res.statusCode = 200;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  try {
    await readContainerLog({
      path: found.logPath,
      out: res,
      ...q,
      signal: abort.signal,
      containerRunning: () => stillRunning(d.pods, ref, found),
      onOpened: () => res.flushHeaders(),
      ...(d.pollIntervalMs === undefined ? {} : { pollIntervalMs: d.pollIntervalMs }),
    });
    res.end();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (res.headersSent) {
      d.log(`node server: log of ${ref.namespace}/${ref.pod}/${ref.container} failed: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
      return;
    }
    if (code === 'ENOENT') return plain(res, 404, `the log file of container "${ref.container}" in pod "${ref.pod}" in namespace "${ref.namespace}" does not exist (yet)`);
    throw err;
  }
}

/** The same container instance still runs (a restart makes a new instance with a new log file). */
async function stillRunning(pods: NodeServerPods, ref: ContainerRef, instance: NodeContainer): Promise<boolean> {
  if (!instance.running) return false;
  const now = await pods.findContainer(ref.namespace, ref.pod, ref.container, false);
  return now !== undefined && now.containerId === instance.containerId && now.running;
}

export function plain(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1 });
  res.end(`${text}\n`);
}
