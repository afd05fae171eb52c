/**
 * Raft peer transport over gRPC (proto/raft.proto), spoken directly over
 * node:http2 (grpc-wire.ts). Each member keeps one HTTP/2 connection and one
 * outgoing client stream per peer, fed from a bounded queue; snapshots go on a
 * separate chunked call. Connection failures drop the stream, report the peer
 * unreachable to Raft, and reconnect with capped exponential backoff.
 *
 * Raft tolerates lost messages, so when a peer's queue is full the message is
 * dropped (and the peer reported unreachable) rather than buffered without bound.
 *
 * Membership: a member removed from the cluster is told so. Its streams to the
 * other members end with MEMBER_REMOVED_MESSAGE once they have applied its
 * removal, and so does any stream it opens later; that is how a removed member
 * that never learns its removal committed (the leader stops sending to it) knows
 * to stop. A joining member asks a peer for the membership (`fetchPeerMembership`)
 * to learn its own id.
 */
import type * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { unpack } from 'msgpackr';
import { crc32 } from 'node:zlib';
import type { NetworkFaults } from './network-faults.js';
import { GrpcCode, GrpcStatusError, serveGrpc, startCall, type ClientCall, type ServerCall, type ServerCallHandlers } from './grpc-wire.js';
import { loadProto } from '../../proto/load.js';
import { pack } from '../../proto/msgpack.js';
import type { Message } from '../core/types.js';
import { MessageType, entriesBytes } from '../core/types.js';

/** Messages queued per peer. etcd buffers 4096 per stream; a heartbeat-only peer needs a handful. */
export const MAX_QUEUED_MESSAGES_PER_PEER = 4096;
/** Messages per frame: one Ready's messages to a peer usually fit in one. */
export const MAX_MESSAGES_PER_FRAME = 256;
/** Frames stay well under MAX_RECEIVE_MESSAGE_BYTES; one message larger than this travels alone. */
export const FRAME_BYTES_TARGET = 4 * 1024 * 1024;
/** Snapshot chunk size: well under gRPC's default 4 MiB message limit. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Reconnect backoff bounds. */
export const RECONNECT_BACKOFF_MIN_MS = 50;
export const RECONNECT_BACKOFF_MAX_MS = 2000;
/** A snapshot transfer that takes longer than this is abandoned and reported failed. */
export const SNAPSHOT_SEND_DEADLINE_MS = 5 * 60 * 1000;
/** How long close() waits for peers' streams to end before cutting them. */
export const SHUTDOWN_GRACE_MS = 200;
/** Largest frame a peer may send us: a full append message plus headroom. */
export const MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024;
/** etcd's words to a removed member; the status detail a removed member's streams end with. */
export const MEMBER_REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';
const MEMBER_REMOVED_STATUS = GrpcCode.FailedPrecondition;
/** HTTP/2 flow-control window per stream and connection: a full append frame flows without waiting for window updates. */
const HTTP2_WINDOW_BYTES = 4 * 1024 * 1024;
const HTTP2_SETTINGS: http2.Settings = { initialWindowSize: HTTP2_WINDOW_BYTES };

const PATH = {
  Stream: '/strake.raft.RaftPeer/Stream',
  Snapshot: '/strake.raft.RaftPeer/Snapshot',
  Members: '/strake.raft.RaftPeer/Members',
} as const;

export interface TransportHandlers {
  onMessage(m: Message): void;
  onUnreachable(peerId: number): void;
  onSnapshotStatus(peerId: number, ok: boolean): void;
  /** Peer `reporterId` says this member was removed from the cluster. */
  onRemoved?(reporterId: number): void;
  /** The membership to answer a joining member's Members request with (msgpack-able). */
  membership?(): unknown;
}

interface Frame {
  payload: Buffer;
  cluster_id: string;
}

interface SnapshotChunk {
  header: Buffer;
  data: Buffer;
  total_bytes: number;
  crc32: number;
  cluster_id: string;
}

interface MembersRequest {
  cluster_id: string;
}

interface MembersReply {
  payload: Buffer;
}

interface StreamAck {}

interface SnapshotAck {
  ok: boolean;
  error: string;
}

/** One message type's protobuf codec (proto/raft.proto, through the shared proto-loader options). */
interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

interface RaftCodecs {
  frame: Codec<Frame>;
  streamAck: Codec<StreamAck>;
  snapshotChunk: Codec<SnapshotChunk>;
  snapshotAck: Codec<SnapshotAck>;
  membersRequest: Codec<MembersRequest>;
  membersReply: Codec<MembersReply>;
}

let codecs: RaftCodecs | undefined;

/** The RaftPeer messages' codecs, from the service definition the .proto file gives. */
function raftCodecs(): RaftCodecs {
  if (codecs !== undefined) return codecs;
  const pkg = loadProto(['raft.proto']) as unknown as { strake: { raft: { RaftPeer: grpc.ServiceClientConstructor } } };
  const svc = pkg.strake.raft.RaftPeer.service;
  const request = <T>(method: keyof typeof PATH): Codec<T> => ({ encode: svc[method]!.requestSerialize, decode: svc[method]!.requestDeserialize });
  const response = <T>(method: keyof typeof PATH): Codec<T> => ({ encode: svc[method]!.responseSerialize, decode: svc[method]!.responseDeserialize });
  codecs = {
    frame: request('Stream'),
    streamAck: response('Stream'),
    snapshotChunk: request('Snapshot'),
    snapshotAck: response('Snapshot'),
    membersRequest: request('Members'),
    membersReply: response('Members'),
  };
  return codecs;
}

/** "127.0.0.1:24000" or "[::1]:24000" → host and port. */
function hostAndPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not host:port: ${address}`);
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** An HTTP/2 connection to `address`, for the peer calls. */
function connect(address: string): http2.ClientHttp2Session {
  const { host, port } = hostAndPort(address);
  const session = http2.connect(`http://${address}`, {
    settings: HTTP2_SETTINGS,
    // A frame is a Ready's messages: never hold it back to coalesce with later writes.
    createConnection: () => net.connect({ host, port, noDelay: true }),
  });
  session.on('connect', () => session.setLocalWindowSize(HTTP2_WINDOW_BYTES));
  session.on('error', () => undefined); // every call on it fails and says so
  return session;
}

/** "http://127.0.0.1:24000" → "127.0.0.1:24000". */
export function grpcAddress(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
}

class PeerStream {
  private queue: Message[] = [];
  private session: http2.ClientHttp2Session | undefined;
  private call: ClientCall | undefined;
  private backoffMs = RECONNECT_BACKOFF_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The call whose full buffer holds further writes back until it drains. */
  private awaitingDrain: ClientCall | undefined;

  constructor(
    readonly id: number,
    readonly address: string,
    private readonly clusterId: string,
    private readonly handlers: TransportHandlers,
  ) {}

  enqueue(m: Message): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED_MESSAGES_PER_PEER) {
      this.handlers.onUnreachable(this.id);
      return;
    }
    this.queue.push(m);
  }

  /** Writes what is queued (one frame per MAX_MESSAGES_PER_FRAME); called once per send, after the whole batch is queued. */
  flush(): void {
    if (this.reconnectTimer !== undefined || this.closed || this.awaitingDrain !== undefined) return;
    const call = this.call ?? this.open();
    const { frame } = raftCodecs();
    while (this.queue.length > 0) {
      const batch = this.takeFrame();
      const ok = call.write(frame.encode({ payload: pack(batch), cluster_id: this.clusterId }));
      if (!ok) {
        // The stream's buffer is full: queue (bounded) until it drains.
        this.awaitingDrain = call;
        call.onDrain(() => {
          if (this.awaitingDrain !== call) return;
          this.awaitingDrain = undefined;
          this.flush();
        });
        return;
      }
    }
  }

  /** The next messages that fit one frame (by count and estimated bytes). */
  private takeFrame(): Message[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < MAX_MESSAGES_PER_FRAME) {
      const entries = this.queue[n]!.entries;
      const size = entries === undefined ? 0 : entriesBytes(entries);
      if (n > 0 && bytes + size > FRAME_BYTES_TARGET) break;
      bytes += size;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** The connection to the peer, dialled again if the last one closed. */
  connection(): http2.ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = connect(this.address);
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  private open(): ClientCall {
    const call = startCall(this.connection(), PATH.Stream, MAX_RECEIVE_MESSAGE_BYTES);
    this.call = call;
    call.done.then(
      () => {
        if (this.call === call) this.fail(null);
      },
      (err: unknown) => {
        if (this.call === call) this.fail(err instanceof GrpcStatusError ? err : new GrpcStatusError(GrpcCode.Unknown, String(err)));
      },
    );
    return call;
  }

  private fail(err: GrpcStatusError | null): void {
    this.call = undefined;
    this.awaitingDrain = undefined;
    if (this.closed) return;
    if (err !== null && err.code === MEMBER_REMOVED_STATUS && err.details === MEMBER_REMOVED_MESSAGE) {
      this.handlers.onRemoved?.(this.id);
    } else if (err !== null) {
      this.handlers.onUnreachable(this.id);
    }
    // Messages queued for a dead stream are stale by the time it reconnects; Raft resends.
    this.queue = [];
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.flush();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
  }

  markHealthy(): void {
    this.backoffMs = RECONNECT_BACKOFF_MIN_MS;
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.call?.end();
    this.call = undefined;
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      // Let the end of the stream go out, then cut whatever is left.
      session.close();
      setTimeout(() => session.destroy(), SHUTDOWN_GRACE_MS).unref();
    }
  }
}

/** How an incoming stream is ended: with `status`, or OK. */
type EndInbound = (status?: { code: GrpcCode; details: string }) => void;

export class GrpcTransport {
  private readonly server = http2.createServer({ settings: HTTP2_SETTINGS });
  /** Connections peers opened to this member, cut at close. */
  private readonly serverSessions = new Set<http2.ServerHttp2Session>();
  private readonly peers = new Map<number, PeerStream>();
  private handlers: TransportHandlers | undefined;
  /** Members removed from the cluster: their streams are ended and refused. */
  private removed: ReadonlySet<number> = new Set();
  /** Incoming streams by sender, so a removed sender's can be ended. */
  private readonly inbound = new Map<number, Set<EndInbound>>();
  /** When each peer's last message arrived (Date.now()). */
  private readonly lastHeardMs = new Map<number, number>();

  constructor(
    private readonly selfId: number,
    private readonly clusterId: string,
    /** A chaos failpoint: peers to cut off (network-faults.ts); absent in normal runs. */
    private readonly faults?: NetworkFaults,
  ) {
    raftCodecs(); // load the .proto now, not on the first message
    this.server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
    this.server.on('session', (session) => {
      this.serverSessions.add(session);
      session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
      session.on('error', () => undefined); // its streams end and say so
      session.on('close', () => this.serverSessions.delete(session));
    });
    serveGrpc(this.server, MAX_RECEIVE_MESSAGE_BYTES, (call) => {
      switch (call.path) {
        case PATH.Stream:
          return this.serveStream(call);
        case PATH.Snapshot:
          return this.serveSnapshot(call);
        case PATH.Members:
          return this.serveMembers(call);
        default:
          return undefined;
      }
    });
  }

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  /** Listens for peers on `url` (host:port). Resolves with the bound port. */
  listen(url: string): Promise<number> {
    const { host, port } = hostAndPort(grpcAddress(url));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  addPeer(id: number, url: string): void {
    if (id === this.selfId || this.peers.has(id)) return;
    this.peers.set(id, new PeerStream(id, grpcAddress(url), this.clusterId, this.mustHandlers()));
  }

  /** Makes the peer set exactly `wanted` (id → URL): adds, removes, and re-dials peers whose URL changed. */
  syncPeers(wanted: ReadonlyMap<number, string>): void {
    for (const [id, peer] of this.peers) {
      const url = wanted.get(id);
      if (url === undefined || grpcAddress(url) !== peer.address) this.removePeer(id);
    }
    for (const [id, url] of wanted) this.addPeer(id, url);
  }

  removePeer(id: number): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  /** The members removed from the cluster: their open streams end now, and later ones are refused. */
  setRemoved(ids: Iterable<number>): void {
    this.removed = new Set(ids);
    for (const id of this.removed) {
      for (const end of [...(this.inbound.get(id) ?? [])]) end({ code: MEMBER_REMOVED_STATUS, details: MEMBER_REMOVED_MESSAGE });
    }
  }

  /** Whether a message from peer `id` arrived within the last `withinMs`. */
  heardWithinMs(id: number, withinMs: number): boolean {
    const at = this.lastHeardMs.get(id);
    return at !== undefined && Date.now() - at <= withinMs;
  }

  /**
   * Sends one Ready's messages: each peer's go out together, in one frame, at
   * once (not on a later tick: the caller's fsync may start right after this
   * returns, and the messages should be on the wire before it).
   */
  send(messages: readonly Message[]): void {
    const touched = new Set<PeerStream>();
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer === undefined) continue; // not (or no longer) a member
      if (this.faults?.isBlocked(peer.address)) continue; // a chaos run cut this link
      if (m.type === MessageType.Snap) void this.sendSnapshot(peer, m);
      else {
        peer.enqueue(m);
        touched.add(peer);
      }
    }
    for (const peer of touched) peer.flush();
  }

  async close(): Promise<void> {
    this.faults?.close();
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    // Peers keep their streams to us open for as long as they run: give in-flight
    // frames a moment, then cut the rest (Raft resends whatever was lost).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.serverSessions) session.destroy();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of this.serverSessions) session.close();
    });
  }

  /** Whether a chaos run cut the link with peer `id` (network-faults.ts). */
  private isCutOff(id: number): boolean {
    const address = this.peers.get(id)?.address;
    return this.faults !== undefined && address !== undefined && this.faults.isBlocked(address);
  }

  private mustHandlers(): TransportHandlers {
    if (this.handlers === undefined) throw new Error('transport handlers are not set');
    return this.handlers;
  }

  private serveStream(call: ServerCall): ServerCallHandlers {
    const { frame: frameCodec, streamAck } = raftCodecs();
    let from: number | undefined;
    /** Ends the call once: with `status`, or OK; a call that went away is only forgotten. */
    const end = (status?: { code: GrpcCode; details: string }, answer = true): void => {
      if (from !== undefined) this.inbound.get(from)?.delete(end);
      if (from !== undefined && this.inbound.get(from)?.size === 0) this.inbound.delete(from);
      if (!answer) return;
      call.finish(status === undefined ? { message: streamAck.encode({}) } : { status: status.code, details: status.details });
    };
    return {
      onMessage: (bytes) => {
        if (call.finished) return;
        let frame: Frame;
        try {
          frame = frameCodec.decode(bytes);
        } catch {
          return; // malformed frame: drop it, Raft will resend
        }
        if (frame.cluster_id !== this.clusterId) {
          end({ code: GrpcCode.FailedPrecondition, details: `frame from cluster ${frame.cluster_id}, this is cluster ${this.clusterId}` });
          return;
        }
        let decoded: unknown;
        try {
          decoded = unpack(frame.payload);
        } catch {
          return; // malformed frame: drop it, Raft will resend
        }
        if (!Array.isArray(decoded)) return;
        for (const m of decoded as Message[]) {
          if (typeof m !== 'object' || m === null || m.to !== this.selfId) continue;
          if (from === undefined) {
            from = m.from;
            this.inbound.set(from, (this.inbound.get(from) ?? new Set()).add(end));
          }
          if (this.removed.has(m.from)) return end({ code: MEMBER_REMOVED_STATUS, details: MEMBER_REMOVED_MESSAGE });
          if (this.isCutOff(m.from)) continue;
          this.lastHeardMs.set(m.from, Date.now());
          this.peers.get(m.from)?.markHealthy();
          this.handlers?.onMessage(m);
        }
      },
      onEnd: () => end(),
      onAbort: () => end(undefined, false),
    };
  }

  private serveMembers(call: ServerCall): ServerCallHandlers {
    const { membersRequest, membersReply } = raftCodecs();
    let request: MembersRequest | undefined;
    return {
      onMessage: (bytes) => {
        try {
          request ??= membersRequest.decode(bytes);
        } catch {
          call.finish({ status: GrpcCode.InvalidArgument, details: 'malformed MembersRequest' });
        }
      },
      onEnd: () => {
        if (call.finished) return;
        if (request === undefined) return call.finish({ status: GrpcCode.InvalidArgument, details: 'no MembersRequest' });
        if (request.cluster_id !== this.clusterId) {
          return call.finish({ status: GrpcCode.FailedPrecondition, details: `this is cluster ${this.clusterId}, not ${request.cluster_id}` });
        }
        const membership = this.handlers?.membership?.();
        if (membership === undefined) return call.finish({ status: GrpcCode.Unavailable, details: 'the membership is not known yet' });
        call.finish({ message: membersReply.encode({ payload: pack(membership) }) });
      },
      onAbort: () => undefined,
    };
  }

  private serveSnapshot(call: ServerCall): ServerCallHandlers {
    const { snapshotChunk, snapshotAck } = raftCodecs();
    let header: Message | undefined;
    let expectedCrc = 0;
    let totalBytes = 0;
    const parts: Buffer[] = [];
    let received = 0;
    const refuse = (details: string): void => call.finish({ status: GrpcCode.FailedPrecondition, details });
    return {
      onMessage: (bytes) => {
        if (call.finished) return;
        let chunk: SnapshotChunk;
        try {
          chunk = snapshotChunk.decode(bytes);
        } catch {
          return refuse('malformed snapshot chunk');
        }
        if (header === undefined) {
          if (chunk.cluster_id !== this.clusterId) return refuse('snapshot from another cluster');
          try {
            header = unpack(chunk.header) as Message;
          } catch {
            return refuse('malformed snapshot header');
          }
          expectedCrc = chunk.crc32;
          totalBytes = chunk.total_bytes;
        }
        received += chunk.data.byteLength;
        if (received > totalBytes) return refuse(`snapshot larger than announced ${totalBytes} bytes`);
        parts.push(chunk.data);
      },
      onEnd: () => {
        if (call.finished) return;
        const answer = (ok: boolean, error: string): void => call.finish({ message: snapshotAck.encode({ ok, error }) });
        const data = Buffer.concat(parts);
        if (header?.snapshot === undefined || data.byteLength !== totalBytes || crc32(data) !== expectedCrc) {
          return answer(false, 'snapshot incomplete or checksum mismatch');
        }
        const m: Message = { ...header, snapshot: { metadata: header.snapshot.metadata, data: new Uint8Array(data) } };
        if (this.isCutOff(m.from)) return answer(false, 'link cut by a network fault');
        this.handlers?.onMessage(m);
        answer(true, '');
      },
      onAbort: () => undefined,
    };
  }

  private async sendSnapshot(peer: PeerStream, m: Message): Promise<void> {
    const { snapshotChunk, snapshotAck } = raftCodecs();
    const snap = m.snapshot!;
    const data = Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength);
    const header = pack({ ...m, snapshot: { metadata: snap.metadata, data: new Uint8Array() } });
    const call = startCall(peer.connection(), PATH.Snapshot, MAX_RECEIVE_MESSAGE_BYTES, SNAPSHOT_SEND_DEADLINE_MS);
    let offset = 0;
    const writeNext = (): void => {
      while (offset < data.byteLength || offset === 0) {
        const slice = data.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES);
        const first = offset === 0;
        offset += Math.max(slice.byteLength, 1);
        const more = call.write(
          snapshotChunk.encode({
            header: first ? header : Buffer.alloc(0),
            data: slice,
            total_bytes: first ? data.byteLength : 0,
            crc32: first ? crc32(data) : 0,
            cluster_id: this.clusterId,
          }),
        );
        if (!more && offset < data.byteLength) {
          call.onDrain(writeNext);
          return;
        }
      }
      call.end();
    };
    writeNext();
    const ok = await call.done.then(
      (reply) => reply !== undefined && snapshotAck.decode(reply).ok,
      () => false,
    );
    this.handlers?.onSnapshotStatus(peer.id, ok);
  }
}

/**
 * Asks the member at `peerUrl` for the membership it applied (proto/raft.proto
 * Members), bounded by `deadlineMs`. Rejects with the peer's status when it is of
 * another cluster or does not know the membership yet.
 */
export async function fetchPeerMembership(peerUrl: string, clusterId: string, deadlineMs: number): Promise<unknown> {
  const { membersRequest, membersReply } = raftCodecs();
  const session = connect(grpcAddress(peerUrl));
  try {
    const call = startCall(session, PATH.Members, MAX_RECEIVE_MESSAGE_BYTES, deadlineMs);
    call.write(membersRequest.encode({ cluster_id: clusterId }));
    call.end();
    const reply = await call.done;
    if (reply === undefined) throw new GrpcStatusError(GrpcCode.Internal, 'the Members call answered no message');
    return unpack(membersReply.decode(reply).payload);
  } finally {
    session.destroy();
  }
}
