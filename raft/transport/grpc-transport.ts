/**
 * Raft peer transport over gRPC (proto/raft.proto), spoken directly over
 * node:http2 (grpc-wire.ts; the service's paths and messages are in
 * peer-service.ts). This is the member's side of it: the server its peers
 * stream to, and sending, one outgoing stream per peer fed from a bounded
 * queue (peer-stream.ts); snapshots go on a separate chunked call.
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
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { unpack } from 'msgpackr';
import { crc32 } from 'node:zlib';
import { pack } from '../../proto/msgpack.js';
import type { Message } from '../core/types.js';
import { MessageType } from '../core/types.js';
import { GrpcCode, serveGrpc, startCall, type ServerCall, type ServerCallHandlers } from './grpc-wire.js';
import type { NetworkFaults } from './network-faults.js';
import {
  HTTP2_SETTINGS,
  HTTP2_WINDOW_BYTES,
  MAX_RECEIVE_MESSAGE_BYTES,
  MEMBER_REMOVED_MESSAGE,
  MEMBER_REMOVED_STATUS,
  PATH,
  SHUTDOWN_GRACE_MS,
  grpcAddress,
  hostAndPort,
  raftCodecs,
  type Frame,
  type MembersRequest,
  type SnapshotChunk,
  type TransportHandlers,
} from './peer-service.js';
import { PeerStream } from './peer-stream.js';

export type { TransportHandlers } from './peer-service.js';

/** Snapshot chunk size: well under gRPC's default 4 MiB message limit. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** A snapshot transfer that takes longer than this is abandoned and reported failed. */
export const SNAPSHOT_SEND_DEADLINE_MS = 5 * 60 * 1000;

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
