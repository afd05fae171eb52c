/**
 * GET /api/v1/namespaces/{ns}/pods/{name}/log: the container's log, streamed
 * from the server of the pod's node (its /containerLogs) to the client as
 * plain text. `follow` streams until the client goes away or the node ends
 * the stream (the container is gone). The log options (follow, previous,
 * timestamps, tailLines, sinceSeconds, sinceTime, limitBytes, stream) are
 * passed to the node, which checks them with Kubernetes' messages.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectStore } from '../registry/object-store.js';
import { askNode, nodeError } from './node-requests.js';
import { podNodeTarget } from './pod-node-target.js';
import type { ResourceRequest } from './request-info.js';

const LOG_OPTIONS = ['follow', 'previous', 'timestamps', 'tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes', 'stream'] as const;

export async function servePodLog(store: ObjectStore, info: ResourceRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = rawQuery(req);
  const target = await podNodeTarget(store, info.namespace ?? '', info.name ?? '', query.get('container') ?? undefined);
  const nodeQuery = new URLSearchParams();
  for (const name of LOG_OPTIONS) for (const v of query.getAll(name)) nodeQuery.append(name, v);
  const path = `/containerLogs/${[info.namespace ?? '', info.name ?? '', target.container].map(encodeURIComponent).join('/')}?${nodeQuery}`;
  // The client may leave while the node is still to answer.
  const gone = new AbortController();
  reply.raw.once('close', () => gone.abort());
  const answer = await askNode({ target, path, signal: gone.signal });
  if (answer.kind !== 'response') {
    answer.socket.destroy();
    throw new Error(`the server of node "${target.nodeName}" upgraded a log request`);
  }
  const res = answer.res;
  if (res.statusCode !== 200) throw await nodeError(target, res);
  // fastify pipes the stream and destroys it (ending the node's read) when the client disconnects.
  await reply.code(200).header('content-type', 'text/plain').send(res);
}

/** The request's query as sent (repeated parameters kept). */
export function rawQuery(req: FastifyRequest): URLSearchParams {
  const url = req.raw.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}
