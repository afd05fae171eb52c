/**
 * GET|POST /api/v1/namespaces/{ns}/pods/{name}/exec?command=...: a command
 * in a container, over a WebSocket proxied to the server of the pod's node
 * (its /exec), speaking the remotecommand channel protocol
 * (v5.channel.k8s.io, v4.channel.k8s.io) end to end: once the node accepts
 * the upgrade, the two connections are spliced byte for byte.
 *
 * Errors before the upgrade are ordinary Status answers. kubectl >= 1.30
 * tries WebSocket first and, when the upgrade is refused, retries over SPDY,
 * which this server does not speak; so once the request itself is valid, a
 * node's refusal (unknown container, node unreachable) is reported inside an
 * accepted WebSocket, as a Status on the error channel, where kubectl prints
 * it, instead of being hidden behind the SPDY refusal.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ObjectStore } from '../registry/object-store.js';
import { ApiError, badRequest } from './errors.js';
import { askNode, nodeError, switchingProtocolsHead, websocketHandshakeHeaders } from './node-requests.js';
import { rawQuery } from './pod-log.js';
import { podNodeTarget } from './pod-node-target.js';
import type { ResourceRequest } from './request-info.js';
import { pendingUpgrade, type UpgradeSocket } from './upgrade-requests.js';

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** The remotecommand error channel: carries the final Status. */
const ERROR_CHANNEL = 3;

export const SPDY_NOT_SUPPORTED =
  `this server serves pods/exec over WebSocket only (subprotocols ${EXEC_PROTOCOLS.join(', ')}: the default of kubectl 1.30 and newer, ` +
  'and of kubectl 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true); SPDY is not supported';

/** Accepts client WebSockets only to report a node's refusal in-band. */
const refusals = new WebSocketServer({ noServer: true, handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false });

export async function servePodExec(store: ObjectStore, info: ResourceRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const query = rawQuery(req);
  const target = await podNodeTarget(store, info.namespace ?? '', info.name ?? '', query.get('container') ?? undefined);
  const command = query.getAll('command');
  if (command.length === 0) throw badRequest('you must specify at least one command for the container');
  const flags = ['stdin', 'stdout', 'stderr', 'tty'].map((f) => [f, query.get(f) ?? 'false'] as const);
  if (!flags.some(([f, v]) => f !== 'tty' && isTrue(v))) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  const upgrade = pendingUpgrade(req.raw);
  if (upgrade === undefined) throw badRequest('Upgrade request required');
  if (upgrade.protocol !== 'websocket') throw badRequest(SPDY_NOT_SUPPORTED);
  const nodeQuery = new URLSearchParams(command.map((c): [string, string] => ['command', c]));
  for (const [f, v] of flags) nodeQuery.set(f, v);
  const path = `/exec/${[info.namespace ?? '', info.name ?? '', target.container].map(encodeURIComponent).join('/')}?${nodeQuery}`;
  let refusal: string;
  try {
    const answer = await askNode({ target, path, headers: websocketHandshakeHeaders(req.raw.headers) });
    if (answer.kind === 'upgrade') {
      void reply.hijack();
      const client = upgrade.take();
      client.socket.write(switchingProtocolsHead(answer.res));
      splice(client, { socket: answer.socket, head: answer.head });
      return;
    }
    refusal = (await nodeError(target, answer.res)).message;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    refusal = err.message;
  }
  void reply.hijack();
  refuseInBand(req.raw, upgrade.take(), refusal);
}

function isTrue(v: string): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/** Joins the client's and the node's connections, each first getting what the other sent past its head. */
function splice(client: UpgradeSocket, node: UpgradeSocket): void {
  if (node.head.length > 0) client.socket.write(node.head);
  if (client.head.length > 0) node.socket.write(client.head);
  const end = (): void => {
    client.socket.destroy();
    node.socket.destroy();
  };
  for (const s of [client.socket, node.socket]) {
    s.once('close', end);
    s.on('error', end);
  }
  node.socket.pipe(client.socket);
  client.socket.pipe(node.socket);
}

/** Completes the client's WebSocket handshake only to send a Failure Status on the error channel and close. */
function refuseInBand(req: IncomingMessage, client: UpgradeSocket, message: string): void {
  const status = JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'InternalError' });
  refusals.handleUpgrade(req, client.socket as Duplex, client.head, (ws) => {
    if (ws.protocol === '') {
      ws.close(1011, 'exec refused');
      return;
    }
    ws.send(Buffer.concat([Buffer.from([ERROR_CHANNEL]), Buffer.from(status)]));
    ws.close(1000);
  });
}
