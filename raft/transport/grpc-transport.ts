/**
 * Raft peer transport over gRPC (proto/raft.proto). Each member keeps one
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
import type { NetworkFaults } from './network-faults.js';
import * as grpc from '@grpc/grpc-js';
import { unpack } from 'msgpackr';
import { crc32 } from 'node:zlib';
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
const MEMBER_REMOVED_STATUS = grpc.status.FAILED_PRECONDITION;

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

type ServiceClient = grpc.Client & {
  Stream(cb: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Frame>;
  Members(req: MembersRequest, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: MembersReply) => void): grpc.ClientUnaryCall;
  Snapshot(options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, ack?: { ok: boolean; error: string }) => void): grpc.ClientWritableStream<SnapshotChunk>;
};

function raftService(): { service: grpc.ServiceDefinition; Client: new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => ServiceClient } {
  const pkg = loadProto(['raft.proto']) as unknown as { strake: { raft: { RaftPeer: grpc.ServiceClientConstructor } } };
  const ctor = pkg.strake.raft.RaftPeer;
  return { service: ctor.service, Client: ctor as unknown as new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => ServiceClient };
}

/** "http://127.0.0.1:24000" → "127.0.0.1:24000". */
export function grpcAddress(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
}

class PeerStream {
  private queue: Message[] = [];
  private call: grpc.ClientWritableStream<Frame> | undefined;
  private backoffMs = RECONNECT_BACKOFF_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The call whose full buffer holds further writes back until it drains. */
  private awaitingDrain: grpc.ClientWritableStream<Frame> | undefined;

  constructor(
    readonly id: number,
    readonly address: string,
    readonly client: ServiceClient,
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
    while (this.queue.length > 0) {
      const batch = this.takeFrame();
      const ok = call.write({ payload: pack(batch), cluster_id: this.clusterId });
      if (!ok) {
        // The stream's buffer is full: queue (bounded) until it drains.
        this.awaitingDrain = call;
        call.once('drain', () => {
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

  private open(): grpc.ClientWritableStream<Frame> {
    const call = this.client.Stream((err) => {
      if (this.call === call) this.fail(err);
    });
    call.on('error', () => undefined); // reported through the callback above
    this.call = call;
    return call;
  }

  private fail(err: grpc.ServiceError | null): void {
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
    this.client.close();
  }
}

export class GrpcTransport {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES });
  private readonly peers = new Map<number, PeerStream>();
  private readonly svc = raftService();
  private handlers: TransportHandlers | undefined;
  /** Members removed from the cluster: their streams are ended and refused. */
  private removed: ReadonlySet<number> = new Set();
  /** Incoming streams by sender, so a removed sender's can be ended. */
  private readonly inbound = new Map<number, Set<(status: Partial<grpc.StatusObject>) => void>>();
  /** When each peer's last message arrived (Date.now()). */
  private readonly lastHeardMs = new Map<number, number>();

  constructor(
    private readonly selfId: number,
    private readonly clusterId: string,
    /** A chaos failpoint: peers to cut off (network-faults.ts); absent in normal runs. */
    private readonly faults?: NetworkFaults,
  ) {
    this.server.addService(this.svc.service, {
      Stream: (call: grpc.ServerReadableStream<Frame, object>, cb: grpc.sendUnaryData<object>) => this.serveStream(call, cb),
      Snapshot: (call: grpc.ServerReadableStream<SnapshotChunk, object>, cb: grpc.sendUnaryData<object>) =>
        this.serveSnapshot(call, cb),
      Members: (call: grpc.ServerUnaryCall<MembersRequest, MembersReply>, cb: grpc.sendUnaryData<MembersReply>) =>
        this.serveMembers(call, cb),
    });
  }

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  /** Listens for peers on `url` (host:port). Resolves with the bound port. */
  listen(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(grpcAddress(url), grpc.ServerCredentials.createInsecure(), (err, port) =>
        err === null ? resolve(port) : reject(err),
      );
    });
  }

  addPeer(id: number, url: string): void {
    if (id === this.selfId || this.peers.has(id)) return;
    const client = new this.svc.Client(grpcAddress(url), grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
      // gRPC's own reconnect backoff grows to 2 minutes; a member that comes up
      // (a restart, or a new member started after `member add`) should be reached
      // as soon as our own backoff allows.
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MIN_MS,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
    });
    this.peers.set(id, new PeerStream(id, grpcAddress(url), client, this.clusterId, this.mustHandlers()));
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
        this.server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
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

  private serveStream(call: grpc.ServerReadableStream<Frame, object>, cb: grpc.sendUnaryData<object>): void {
    let from: number | undefined;
    let ended = false;
    /** Ends the call once: with `status`, or OK; `answer` false when the call already failed. */
    const end = (status?: Partial<grpc.StatusObject>, answer = true): void => {
      if (ended) return;
      ended = true;
      if (from !== undefined) this.inbound.get(from)?.delete(end);
      if (from !== undefined && this.inbound.get(from)?.size === 0) this.inbound.delete(from);
      if (!answer) return;
      if (status === undefined) cb(null, {});
      else cb(status);
    };
    call.on('data', (frame: Frame) => {
      if (ended) return;
      if (frame.cluster_id !== this.clusterId) {
        call.destroy(new Error(`frame from cluster ${frame.cluster_id}, this is cluster ${this.clusterId}`));
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
    });
    call.on('end', () => end());
    call.on('error', () => end(undefined, false));
    call.on('close', () => end(undefined, false));
  }

  private serveMembers(call: grpc.ServerUnaryCall<MembersRequest, MembersReply>, cb: grpc.sendUnaryData<MembersReply>): void {
    if (call.request.cluster_id !== this.clusterId) {
      cb({ code: grpc.status.FAILED_PRECONDITION, details: `this is cluster ${this.clusterId}, not ${call.request.cluster_id}` });
      return;
    }
    const membership = this.handlers?.membership?.();
    if (membership === undefined) {
      cb({ code: grpc.status.UNAVAILABLE, details: 'the membership is not known yet' });
      return;
    }
    cb(null, { payload: pack(membership) });
  }

  private serveSnapshot(call: grpc.ServerReadableStream<SnapshotChunk, object>, cb: grpc.sendUnaryData<object>): void {
    let header: Message | undefined;
    let expectedCrc = 0;
    let totalBytes = 0;
    const parts: Buffer[] = [];
    let received = 0;
    call.on('data', (chunk: SnapshotChunk) => {
      if (header === undefined) {
        if (chunk.cluster_id !== this.clusterId) return call.destroy(new Error('snapshot from another cluster'));
        header = unpack(chunk.header) as Message;
        expectedCrc = chunk.crc32;
        totalBytes = chunk.total_bytes;
      }
      received += chunk.data.byteLength;
      if (received > totalBytes) return call.destroy(new Error(`snapshot larger than announced ${totalBytes} bytes`));
      parts.push(chunk.data);
    });
    call.on('end', () => {
      const data = Buffer.concat(parts);
      if (header?.snapshot === undefined || data.byteLength !== totalBytes || crc32(data) !== expectedCrc) {
        cb(null, { ok: false, error: 'snapshot incomplete or checksum mismatch' });
        return;
      }
      const m: Message = { ...header, snapshot: { metadata: header.snapshot.metadata, data: new Uint8Array(data) } };
      if (this.isCutOff(m.from)) {
        cb(null, { ok: false, error: 'link cut by a network fault' });
        return;
      }
      this.handlers?.onMessage(m);
      cb(null, { ok: true, error: '' });
    });
    call.on('error', () => undefined);
  }

  private async sendSnapshot(peer: PeerStream, m: Message): Promise<void> {
    const snap = m.snapshot!;
    const data = Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength);
    const header = pack({ ...m, snapshot: { metadata: snap.metadata, data: new Uint8Array() } });
    const client = peer.client;
    const ok = await new Promise<boolean>((resolve) => {
      const call = client.Snapshot({ deadline: Date.now() + SNAPSHOT_SEND_DEADLINE_MS }, (err, ack) =>
        resolve(err === null && ack?.ok === true),
      );
      call.on('error', () => undefined);
      let offset = 0;
      const writeNext = (): void => {
        while (offset < data.byteLength || offset === 0) {
          const slice = data.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES);
          const first = offset === 0;
          offset += Math.max(slice.byteLength, 1);
          const more = call.write({
            header: first ? header : Buffer.alloc(0),
            data: slice,
            total_bytes: first ? data.byteLength : 0,
            crc32: first ? crc32(data) : 0,
            cluster_id: this.clusterId,
          });
          if (!more && offset < data.byteLength) {
            call.once('drain', writeNext);
            return;
          }
        }
        call.end();
      };
      writeNext();
    });
    this.handlers?.onSnapshotStatus(peer.id, ok);
  }
}

/**
 * Asks the member at `peerUrl` for the membership it applied (proto/raft.proto
 * Members), bounded by `deadlineMs`. Rejects with the peer's status when it is of
 * another cluster or does not know the membership yet.
 */
export function fetchPeerMembership(peerUrl: string, clusterId: string, deadlineMs: number): Promise<unknown> {
  const { Client } = raftService();
  const client = new Client(grpcAddress(peerUrl), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  });
  return new Promise<unknown>((resolve, reject) => {
    client.Members({ cluster_id: clusterId }, { deadline: Date.now() + deadlineMs }, (err, reply) => {
      client.close();
      if (err !== null) return reject(err);
      try {
        resolve(unpack(reply?.payload ?? Buffer.alloc(0)));
      } catch (decodeErr) {
        reject(decodeErr instanceof Error ? decodeErr : new Error(String(decodeErr)));
      }
    });
  });
}
