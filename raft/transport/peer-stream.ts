/**
 * The outgoing side of the transport for one peer: a bounded queue of Raft
 * messages written as frames on one long-lived Stream call, over one HTTP/2
 * connection. A failed call drops what is queued (Raft resends), reports the
 * peer unreachable (or this member removed, when the peer says so) and is
 * retried after a capped exponential backoff.
 */
import type * as http2 from 'node:http2';
import { pack } from '../../proto/msgpack.js';
import type { Message } from '../core/types.js';
import { entriesBytes } from '../core/types.js';
import { GrpcCode, GrpcStatusError, startCall, type ClientCall } from './grpc-wire.js';
import { MAX_RECEIVE_MESSAGE_BYTES, MEMBER_REMOVED_MESSAGE, MEMBER_REMOVED_STATUS, PATH, SHUTDOWN_GRACE_MS, connect, raftCodecs, type TransportHandlers } from './peer-service.js';

/** Messages queued per peer. etcd buffers 4096 per stream; a heartbeat-only peer needs a handful. */
export const MAX_QUEUED_MESSAGES_PER_PEER = 4096;
/** Messages per frame: one Ready's messages to a peer usually fit in one. */
export const MAX_MESSAGES_PER_FRAME = 256;
/** Frames stay well under MAX_RECEIVE_MESSAGE_BYTES; one message larger than this travels alone. */
export const FRAME_BYTES_TARGET = 4 * 1024 * 1024;
/** Reconnect backoff bounds. */
export const RECONNECT_BACKOFF_MIN_MS = 50;
export const RECONNECT_BACKOFF_MAX_MS = 2000;

export class PeerStream {
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
