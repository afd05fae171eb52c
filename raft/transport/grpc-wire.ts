/**
 * gRPC on the wire, directly over node:http2, for the Raft peer service: the
 * length-prefixed message framing, the status trailers, and one call on either
 * side. The Raft transport sends a frame per Ready per peer; a general-purpose
 * gRPC stack spends several times the CPU of the protocol itself on each
 * message (interceptors, per-call objects, stream adapters), and that cost sat
 * on the critical path of every commit. What travels is unchanged: HTTP/2 POST
 * to /strake.raft.RaftPeer/<Method>, `application/grpc`, 5-byte message
 * prefixes, `grpc-status` / `grpc-message` trailers, so any gRPC peer speaks it.
 *
 * Not supported (never used between members): compression, metadata beyond the
 * standard headers, and deadlines sent as `grpc-timeout` (each side bounds its
 * own calls).
 */
import * as http2 from 'node:http2';

/** gRPC status codes used here (the public gRPC numbering). */
export const GrpcCode = {
  Ok: 0,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  FailedPrecondition: 9,
  ResourceExhausted: 8,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** A call that ended with a status other than OK; `code` and `details` as gRPC clients report them. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${codeName(code)}: ${details}`);
    this.name = 'GrpcStatusError';
  }
}

function codeName(code: number): string {
  return Object.entries(GrpcCode).find(([, c]) => c === code)?.[0] ?? 'Status';
}

const PREFIX_BYTES = 5;
const GRPC_CONTENT_TYPE = 'application/grpc';

/** One message with its 5-byte prefix (not compressed, big-endian length). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, PREFIX_BYTES);
  return out;
}

/**
 * Splits a byte stream into messages. Each message is a buffer of its own
 * (never a view into a chunk, which may hold other messages and would stay
 * alive as long as any decoded part of this one).
 */
export class MessageDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** The messages completed by `chunk`; throws GrpcStatusError for a compressed or oversized message. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    const out: Buffer[] = [];
    for (;;) {
      if (this.pendingBytes < PREFIX_BYTES) return out;
      const head = this.peek(PREFIX_BYTES);
      if (head[0] !== 0) throw new GrpcStatusError(GrpcCode.Unimplemented, 'compressed messages are not supported');
      const length = head.readUInt32BE(1);
      if (length > this.maxMessageBytes) {
        throw new GrpcStatusError(GrpcCode.ResourceExhausted, `message of ${length} bytes is larger than the limit of ${this.maxMessageBytes}`);
      }
      if (this.pendingBytes < PREFIX_BYTES + length) return out;
      this.skip(PREFIX_BYTES);
      out.push(this.take(length));
    }
  }

  /** Whether a message was cut off (bytes left over when the stream ended). */
  get hasPartial(): boolean {
    return this.pendingBytes > 0;
  }

  /** The next `n` bytes (a few: the prefix), without consuming them. */
  private peek(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.byteLength >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (let i = 0; filled < n; i++) filled += this.pending[i]!.copy(out, filled, 0, n - filled);
    return out;
  }

  /** Drops the next `n` bytes (the prefix) without copying them. */
  private skip(n: number): void {
    let left = n;
    while (left > 0) {
      const first = this.pending[0]!;
      if (first.byteLength <= left) {
        left -= first.byteLength;
        this.pending.shift();
      } else {
        this.pending[0] = first.subarray(left);
        left = 0;
      }
    }
    this.pendingBytes -= n;
  }

  /** The next `n` bytes, copied out. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0; // chunks used up
    while (filled < n) {
      const chunk = this.pending[used]!;
      const use = Math.min(n - filled, chunk.byteLength);
      chunk.copy(out, filled, 0, use);
      filled += use;
      if (use === chunk.byteLength) used++;
      else this.pending[used] = chunk.subarray(use);
    }
    if (used > 0) this.pending.splice(0, used);
    this.pendingBytes -= n;
    return out;
  }
}

// ---- server side ------------------------------------------------------------

/** One incoming call: its request messages arrive through `onMessage`; `finish` answers it exactly once. */
export interface ServerCall {
  readonly path: string;
  /** Sends the response message (if any) and the status; later calls are ignored. */
  finish(result: { readonly message?: Uint8Array; readonly status?: number; readonly details?: string }): void;
  readonly finished: boolean;
}

export interface ServerCallHandlers {
  onMessage(message: Buffer): void;
  /** The client half-closed: every request message has arrived. */
  onEnd(): void;
  /** The call went away (reset, connection lost) before or after it was answered. */
  onAbort(): void;
}

/**
 * Dispatches incoming streams of `server` to `route(path)`. A path it does not
 * know (undefined) gets UNIMPLEMENTED; requests that are not gRPC get 415.
 */
export function serveGrpc(
  server: http2.Http2Server,
  maxMessageBytes: number,
  route: (call: ServerCall) => ServerCallHandlers | undefined,
): void {
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '');
    const contentType = String(headers['content-type'] ?? '');
    if (headers[':method'] !== 'POST' || !contentType.startsWith(GRPC_CONTENT_TYPE)) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    let finished = false;
    const call: ServerCall = {
      path,
      get finished() {
        return finished;
      },
      finish: (result) => {
        if (finished || stream.destroyed || stream.closed) {
          finished = true;
          return;
        }
        finished = true;
        const status = result.status ?? GrpcCode.Ok;
        const trailers = { 'grpc-status': String(status), ...(result.details === undefined ? {} : { 'grpc-message': encodeURIComponent(result.details) }) };
        if (result.message === undefined) {
          // Trailers-only response.
          stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, ...trailers }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers(trailers));
        stream.end(frameMessage(result.message));
      },
    };
    const handlers = route(call);
    if (handlers === undefined) {
      call.finish({ status: GrpcCode.Unimplemented, details: `unknown method ${path}` });
      return;
    }
    const decoder = new MessageDecoder(maxMessageBytes);
    stream.on('data', (chunk: Buffer) => {
      if (finished) return;
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        const e = err as GrpcStatusError;
        call.finish({ status: e.code, details: e.details });
        return;
      }
      for (const m of messages) handlers.onMessage(m);
    });
    stream.on('end', () => {
      if (decoder.hasPartial) call.finish({ status: GrpcCode.Internal, details: 'the stream ended inside a message' });
      else handlers.onEnd();
    });
    stream.on('error', () => undefined); // reported through 'close'
    stream.on('close', () => {
      if (!finished) handlers.onAbort();
      finished = true;
    });
  });
}

// ---- client side --------------------------------------------------------------

/** A call this side started: write request messages, then `end`; `done` settles with the response message (or a GrpcStatusError). */
export interface ClientCall {
  /** Queues one message; false when the stream's buffer is full (wait for `onDrain`). */
  write(message: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  /** Half-closes: no more request messages. */
  end(): void;
  readonly done: Promise<Buffer | undefined>;
}

/** Starts a call of `path` on `session`; `deadlineMs` (optional) cancels it with DEADLINE_EXCEEDED. */
export function startCall(session: http2.ClientHttp2Session, path: string, maxMessageBytes: number, deadlineMs?: number): ClientCall {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': GRPC_CONTENT_TYPE, te: 'trailers' });
  const decoder = new MessageDecoder(maxMessageBytes);
  let response: Buffer | undefined;
  let status: { code: number; details: string } | undefined;
  let localError: GrpcStatusError | undefined;
  const statusOf = (h: http2.IncomingHttpHeaders): { code: number; details: string } | undefined => {
    const raw = h['grpc-status'];
    if (raw === undefined) return undefined;
    const message = h['grpc-message'];
    return { code: Number(raw), details: typeof message === 'string' ? safeDecode(message) : '' };
  };
  let timer: NodeJS.Timeout | undefined;
  let streamError: Error | undefined;
  let settle: () => void = () => undefined;
  const done = new Promise<Buffer | undefined>((resolve, reject) => {
    let settled = false;
    settle = () => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      if (localError !== undefined) return reject(localError);
      if (status === undefined) {
        const why = streamError?.message ?? `the stream was reset (code ${stream.rstCode})`;
        return reject(new GrpcStatusError(GrpcCode.Unavailable, `no answer from the peer: ${why}`));
      }
      if (status.code !== GrpcCode.Ok) return reject(new GrpcStatusError(status.code, status.details));
      resolve(response);
    };
  });
  /**
   * The server's status ends the call, whether or not this side finished
   * sending. An OK one waits for the end of the response's data (which may
   * still be on its way to the 'data' listener); an error needs no data.
   */
  const finishCall = (): void => {
    settle();
    if (!stream.closed) stream.close();
  };
  const onStatus = (): void => {
    if (status?.code !== GrpcCode.Ok) finishCall();
    else if (stream.readableEnded) finishCall();
    else stream.once('end', finishCall);
  };
  stream.on('response', (headers) => {
    const httpStatus = Number(headers[':status']);
    status ??= statusOf(headers); // a trailers-only answer
    if (status === undefined && httpStatus !== 200) status = { code: GrpcCode.Unknown, details: `HTTP status ${httpStatus}` };
    if (status !== undefined) onStatus();
  });
  stream.on('trailers', (trailers) => {
    status ??= statusOf(trailers);
    onStatus();
  });
  stream.on('data', (chunk: Buffer) => {
    try {
      for (const m of decoder.push(chunk)) response ??= m;
    } catch (err) {
      localError = err as GrpcStatusError;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
  });
  stream.on('error', (err: Error) => (streamError ??= err)); // settled on 'close'
  stream.on('close', () => settle());
  done.catch(() => undefined); // callers that only write may never look
  if (deadlineMs !== undefined) {
    timer = setTimeout(() => {
      localError = new GrpcStatusError(GrpcCode.DeadlineExceeded, `no answer within ${deadlineMs} ms`);
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, deadlineMs);
  }
  return {
    write: (message) => stream.write(frameMessage(message)),
    onDrain: (listener) => void stream.once('drain', listener),
    end: () => void stream.end(),
    done,
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
