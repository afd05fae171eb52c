/**
 * The Raft peer transport (raft/transport): gRPC framing spoken directly over
 * HTTP/2, two members exchanging messages, snapshots and membership on
 * loopback, and wire compatibility with a general-purpose gRPC stack in both
 * directions (a grpc-js client against our server, our client against a
 * grpc-js server).
 */
import * as grpc from '@grpc/grpc-js';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../raft/core/types.js';
import { GrpcCode, GrpcStatusError, MessageDecoder, frameMessage } from '../../raft/transport/grpc-wire.js';
import { GrpcTransport, type TransportHandlers } from '../../raft/transport/grpc-transport.js';
import { MEMBER_REMOVED_MESSAGE, fetchPeerMembership } from '../../raft/transport/peer-service.js';
import { loadProto } from '../../proto/load.js';
import { eventually } from '../../chaos/cluster/poll.js';

/** Loopback ports of this file (test/README.md). */
const BASE_PORT = 29_710;
const CLUSTER = 'c0ffee';
const WAIT_MS = 5_000;

describe('MessageDecoder', () => {
  const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last')];
  const wire = Buffer.concat(messages.map(frameMessage));

  it('reassembles messages however the bytes are cut', () => {
    for (const cut of [1, 3, 5, 4096, wire.length]) {
      const d = new MessageDecoder(1 << 20);
      const out: Buffer[] = [];
      for (let at = 0; at < wire.length; at += cut) out.push(...d.push(wire.subarray(at, at + cut)));
      expect(out.map((m) => m.toString('hex')), `cut ${cut}`).toEqual(messages.map((m) => m.toString('hex')));
      expect(d.hasPartial).toBe(false);
    }
  });

  it('hands out messages of their own, not views into the chunk', () => {
    const chunk = Buffer.from(wire);
    const [first] = new MessageDecoder(1 << 20).push(chunk);
    chunk.fill(0);
    expect(first!.toString()).toBe('first');
  });

  it('refuses oversized and compressed messages, and knows a cut-off one', () => {
    const refusal = (bytes: Buffer): GrpcStatusError => {
      try {
        new MessageDecoder(10).push(bytes);
      } catch (err) {
        return err as GrpcStatusError;
      }
      throw new Error('accepted');
    };
    expect(refusal(frameMessage(Buffer.alloc(11))).code).toBe(GrpcCode.ResourceExhausted);
    const compressed = frameMessage(Buffer.from('x'));
    compressed[0] = 1;
    expect(refusal(compressed).code).toBe(GrpcCode.Unimplemented);
    const d = new MessageDecoder(100);
    expect(d.push(frameMessage(Buffer.from('abc')).subarray(0, 6))).toEqual([]);
    expect(d.hasPartial).toBe(true);
  });
});

interface Member {
  readonly transport: GrpcTransport;
  readonly received: Message[];
  readonly events: string[];
}

const open: GrpcTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function member(id: number, port: number, membership?: unknown): Promise<Member> {
  const transport = new GrpcTransport(id, CLUSTER);
  const received: Message[] = [];
  const events: string[] = [];
  const handlers: TransportHandlers = {
    onMessage: (m) => received.push(m),
    onUnreachable: (peer) => events.push(`unreachable ${peer}`),
    onSnapshotStatus: (peer, ok) => events.push(`snapshot ${peer} ${ok}`),
    onRemoved: (reporter) => events.push(`removed by ${reporter}`),
    ...(membership === undefined ? {} : { membership: () => membership }),
  };
  transport.setHandlers(handlers);
  await transport.listen(`http://127.0.0.1:${port}`);
  open.push(transport);
  return { transport, received, events };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('two members on loopback', () => {
  it('deliver a Ready\'s messages, entries intact, in order', async () => {
    const a = await member(1, BASE_PORT);
    const b = await member(2, BASE_PORT + 1);
    a.transport.addPeer(2, `http://127.0.0.1:${BASE_PORT + 1}`);
    const sent: Message[] = [
      { type: 'App', from: 1, to: 2, term: 3, index: 4, logTerm: 3, commit: 4, entries: [{ index: 5, term: 3, type: 'Normal', data: bytes('five') }] },
      { type: 'Heartbeat', from: 1, to: 2, term: 3, commit: 5, context: 'r1' },
    ];
    a.transport.send(sent);
    await eventually('the messages to arrive', async () => (b.received.length === 2 ? true : undefined), WAIT_MS);
    expect(b.received.map((m) => m.type)).toEqual(['App', 'Heartbeat']);
    expect(new TextDecoder().decode(b.received[0]!.entries![0]!.data)).toBe('five');
    expect(b.received[1]!.context).toBe('r1');
    expect(b.transport.heardWithinMs(1, WAIT_MS)).toBe(true);
  });

  it('send a snapshot in chunks, checked, and report it', async () => {
    const a = await member(1, BASE_PORT + 2);
    const b = await member(2, BASE_PORT + 3);
    a.transport.addPeer(2, `http://127.0.0.1:${BASE_PORT + 3}`);
    const data = new Uint8Array(2_500_000).map((_, i) => i % 251);
    a.transport.send([{ type: 'Snap', from: 1, to: 2, term: 2, snapshot: { metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [] } }, data } }]);
    await eventually('the snapshot to be acknowledged', async () => (a.events.includes('snapshot 2 true') ? true : undefined), WAIT_MS);
    expect(b.received[0]!.snapshot!.metadata.index).toBe(9);
    expect(Buffer.from(b.received[0]!.snapshot!.data).equals(Buffer.from(data))).toBe(true);
  });

  it('a removed member hears so on its stream; a stopped peer is reported unreachable', async () => {
    const a = await member(1, BASE_PORT + 4);
    const b = await member(2, BASE_PORT + 5);
    a.transport.addPeer(2, `http://127.0.0.1:${BASE_PORT + 5}`);
    b.transport.setRemoved([1]);
    a.transport.send([{ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 0 }]);
    await eventually('the removal to be reported', async () => (a.events.includes('removed by 2') ? true : undefined), WAIT_MS);
    expect(b.received).toEqual([]);

    const c = await member(3, BASE_PORT + 6);
    c.transport.addPeer(4, `http://127.0.0.1:${BASE_PORT + 7}`); // nobody listens there
    c.transport.send([{ type: 'Heartbeat', from: 3, to: 4, term: 1, commit: 0 }]);
    await eventually('the dead peer to be reported', async () => (c.events.includes('unreachable 4') ? true : undefined), WAIT_MS);
  });

  it('answer Members, and refuse another cluster by name', async () => {
    const membership = [{ id: 1, name: 'm0', peerUrls: ['http://127.0.0.1:1'], clientUrls: [], isLearner: false }];
    await member(1, BASE_PORT + 8, membership);
    expect(await fetchPeerMembership(`http://127.0.0.1:${BASE_PORT + 8}`, CLUSTER, WAIT_MS)).toEqual(membership);
    const refused = await fetchPeerMembership(`http://127.0.0.1:${BASE_PORT + 8}`, 'other', WAIT_MS).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GrpcStatusError);
    expect((refused as GrpcStatusError).code).toBe(GrpcCode.FailedPrecondition);
    expect((refused as GrpcStatusError).details).toBe(`this is cluster ${CLUSTER}, not other`);
    expect(MEMBER_REMOVED_MESSAGE).toContain('removed');
  });
});

describe('wire compatibility with grpc-js', () => {
  type RaftClient = grpc.Client & {
    Members(req: { cluster_id: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: { payload: Buffer }) => void): void;
    Stream(cb: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<{ payload: Buffer; cluster_id: string }>;
  };
  const RaftPeer = (): grpc.ServiceClientConstructor =>
    (loadProto(['raft.proto']) as unknown as { strake: { raft: { RaftPeer: grpc.ServiceClientConstructor } } }).strake.raft.RaftPeer;

  it('a grpc-js client calls our Members and streams frames to us', async () => {
    const b = await member(2, BASE_PORT + 9, [{ id: 2 }]);
    const client = new (RaftPeer())(`127.0.0.1:${BASE_PORT + 9}`, grpc.credentials.createInsecure()) as unknown as RaftClient;
    try {
      const reply = await new Promise<{ payload: Buffer }>((resolve, reject) =>
        client.Members({ cluster_id: CLUSTER }, { deadline: Date.now() + WAIT_MS }, (err, r) => (err === null ? resolve(r!) : reject(err))),
      );
      expect(unpack(reply.payload)).toEqual([{ id: 2 }]);
      const ended = new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.Stream((err) => resolve(err));
        call.write({ payload: pack([{ type: 'Heartbeat', from: 1, to: 2, term: 1, commit: 0 }]), cluster_id: CLUSTER });
        call.end();
      });
      expect(await ended).toBeNull();
      expect(b.received.map((m) => m.type)).toEqual(['Heartbeat']);
    } finally {
      client.close();
    }
  });

  it('our client asks a grpc-js server for Members and gets its status on refusal', async () => {
    const server = new grpc.Server();
    server.addService(RaftPeer().service, {
      Members: (call: grpc.ServerUnaryCall<{ cluster_id: string }, unknown>, cb: grpc.sendUnaryData<{ payload: Buffer }>) =>
        call.request.cluster_id === CLUSTER ? cb(null, { payload: pack(['from grpc-js']) }) : cb({ code: grpc.status.FAILED_PRECONDITION, details: 'not ours' }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${BASE_PORT + 9}`, grpc.ServerCredentials.createInsecure(), (err) => (err === null ? resolve() : reject(err))),
    );
    try {
      expect(await fetchPeerMembership(`http://127.0.0.1:${BASE_PORT + 9}`, CLUSTER, WAIT_MS)).toEqual(['from grpc-js']);
      const refused = (await fetchPeerMembership(`http://127.0.0.1:${BASE_PORT + 9}`, 'x', WAIT_MS).catch((e: unknown) => e)) as GrpcStatusError;
      expect([refused.code, refused.details]).toEqual([GrpcCode.FailedPrecondition, 'not ours']);
    } finally {
      server.forceShutdown();
    }
  });
});
