/**
 * HTTP Upgrade requests (`kubectl exec` asks for a WebSocket) served by the
 * same routes, hooks and errors as every other request. Node's HTTP server
 * hands a request with an Upgrade header to its 'upgrade' listeners instead
 * of the app; this listener gives it back to the app with a response of its
 * own on the socket, and remembers the socket, so that:
 *  - authentication, RBAC and validation run as for any request, and their
 *    errors leave as a Status with the right code;
 *  - a route that does upgrade (pods/exec) takes the socket over with
 *    `takeUpgrade(req)` and speaks on it directly;
 *  - any other Upgrade request (h2c, SPDY elsewhere) is answered as a plain
 *    request on a connection that closes afterwards.
 * Listens on the app's server, so it covers HTTPS and HTTP alike (listener.ts
 * hands both kinds of connection to that server).
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface UpgradeSocket {
  readonly socket: Duplex;
  /** Bytes the client sent after its request head. */
  readonly head: Buffer;
}

export interface PendingUpgrade {
  /** The Upgrade header, lower-case: `websocket`, `spdy/3.1`, ... */
  readonly protocol: string;
  /** Takes the connection away from the app's response: the caller must have hijacked the reply. Once only. */
  take(): UpgradeSocket;
}

const pending = new WeakMap<IncomingMessage, PendingUpgrade>();

/** The upgrade the request asked for, or undefined for a plain request. */
export function pendingUpgrade(req: IncomingMessage): PendingUpgrade | undefined {
  return pending.get(req);
}

export function serveUpgradesThroughApp(server: Server): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    // One request per connection: after the answer (if nothing took the socket) the connection ends.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    let taken = false;
    pending.set(req, {
      protocol: String(req.headers.upgrade ?? '').toLowerCase(),
      take: () => {
        if (taken) throw new Error('the upgrade socket was already taken');
        taken = true;
        res.detachSocket(socket as Socket);
        return { socket, head };
      },
    });
    res.once('finish', () => {
      if (!taken) socket.end();
    });
    // The HTTP parser has let go of the socket: the request has no body to read.
    req.push(null);
    server.emit('request', req, res);
  });
}
