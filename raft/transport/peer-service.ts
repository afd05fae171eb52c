/**
 * The RaftPeer service (proto/raft.proto) as both sides speak it: the method
 * paths, the messages and their protobuf codecs, the HTTP/2 connection
 * settings, and the one unary call, Members, that a joining member makes before
 * it has a transport of its own.
 */
import type * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { unpack } from 'msgpackr';
import { loadProto } from '../../proto/load.js';
import type { Message } from '../core/types.js';
import { GrpcCode, GrpcStatusError, startCall } from './grpc-wire.js';

/** Largest frame a peer may send us: a full append message plus headroom. */
export const MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024;
/** etcd's words to a removed member; the status detail a removed member's streams end with. */
export const MEMBER_REMOVED_MESSAGE = 'the member has been permanently removed from the cluster';
export const MEMBER_REMOVED_STATUS = GrpcCode.FailedPrecondition;
/** HTTP/2 flow-control window per stream and connection: a full append frame flows without waiting for window updates. */
export const HTTP2_WINDOW_BYTES = 4 * 1024 * 1024;
export const HTTP2_SETTINGS: http2.Settings = { initialWindowSize: HTTP2_WINDOW_BYTES };
/** How long close() waits for peers' streams to end before cutting them. */
export const SHUTDOWN_GRACE_MS = 200;

/** What the transport tells the Raft driver, and asks of it. */
export interface TransportHandlers {
  onMessage(m: Message): void;
  onUnreachable(peerId: number): void;
  onSnapshotStatus(peerId: number, ok: boolean): void;
  /** Peer `reporterId` says this member was removed from the cluster. */
  onRemoved?(reporterId: number): void;
  /** The membership to answer a joining member's Members request with (msgpack-able). */
  membership?(): unknown;
}

/** The RaftPeer methods' HTTP/2 paths. */
export const PATH = {
  Stream: '/strake.raft.RaftPeer/Stream',
  Snapshot: '/strake.raft.RaftPeer/Snapshot',
  Members: '/strake.raft.RaftPeer/Members',
} as const;

export interface Frame {
  payload: Buffer;
  cluster_id: string;
}

export interface SnapshotChunk {
  header: Buffer;
  data: Buffer;
  total_bytes: number;
  crc32: number;
  cluster_id: string;
}

export interface MembersRequest {
  cluster_id: string;
}

export interface MembersReply {
  payload: Buffer;
}

export interface StreamAck {}

export interface SnapshotAck {
  ok: boolean;
  error: string;
}

/** One message type's protobuf codec (proto/raft.proto, through the shared proto-loader options). */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(bytes: Buffer): T;
}

export interface RaftCodecs {
  frame: Codec<Frame>;
  streamAck: Codec<StreamAck>;
  snapshotChunk: Codec<SnapshotChunk>;
  snapshotAck: Codec<SnapshotAck>;
  membersRequest: Codec<MembersRequest>;
  membersReply: Codec<MembersReply>;
}

let codecs: RaftCodecs | undefined;

/** The RaftPeer messages' codecs, from the service definition the .proto file gives. */
export function raftCodecs(): RaftCodecs {
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
export function hostAndPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not host:port: ${address}`);
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** An HTTP/2 connection to `address`, for the peer calls. */
export function connect(address: string): http2.ClientHttp2Session {
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
