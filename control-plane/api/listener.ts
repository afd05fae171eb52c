/**
 * The API's listening socket. With a serving certificate, one port speaks both
 * HTTPS and plain HTTP: the first byte of a connection tells them apart (a TLS
 * handshake starts with 0x16, an HTTP request with a letter). kubectl needs
 * TLS (it sends bearer tokens over TLS only); plain HTTP keeps the port's
 * `http://` URL in the cluster file working for health checks and scripts.
 * Without a certificate, plain HTTP only.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/** First byte of a TLS record carrying a handshake. */
const TLS_HANDSHAKE_BYTE = 0x16;
/** A connection that sends nothing for this long is dropped before we know its protocol. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

export interface ApiListener {
  close(): Promise<void>;
}

/**
 * Accepts connections for `app` (which must not listen itself) until
 * `close()`, which stops accepting and drops open connections; closing the
 * app stays with its owner.
 */
export async function listenApi(app: FastifyInstance, o: ListenOptions): Promise<ApiListener> {
  await app.ready();
  const http = app.server;
  const tls = o.tls === undefined ? undefined : createTlsServer({ cert: o.tls.cert, key: o.tls.key, ALPNProtocols: ['http/1.1'] }, (secure) => http.emit('connection', secure));
  tls?.on('tlsClientError', (_err, socket) => socket.destroy());
  const sockets = new Set<Socket>();
  const net: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      if (first[0] === TLS_HANDSHAKE_BYTE && tls !== undefined) {
        tls.emit('connection', replaying(socket, first));
        return;
      }
      socket.unshift(first);
      http.emit('connection', socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(o.port, o.host, () => resolve());
  });
  return {
    close: async () => {
      // Open keep-alive connections would hold net.close() until they end: drop them first.
      const closed = new Promise<void>((resolve) => net.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/**
 * The socket as a plain stream that starts with the bytes already read. TLS
 * reads a net.Socket's handle directly, past anything unshifted in JS, so the
 * handshake's first bytes must be replayed through a stream of our own.
 */
function replaying(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _enc, cb) => void socket.write(chunk, cb),
    final: (cb) => {
      socket.end();
      cb();
    },
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  stream.push(first);
  socket.on('data', (d: Buffer) => {
    if (!stream.push(d)) socket.pause();
  });
  socket.once('end', () => stream.push(null));
  socket.once('close', () => stream.destroy());
  socket.once('error', (err) => stream.destroy(err));
  return stream;
}
