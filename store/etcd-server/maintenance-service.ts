/**
 * etcdserverpb.Maintenance: Alarm, Status, Defragment, Hash, HashKV, Snapshot
 * (server stream), MoveLeader.
 *
 * Snapshot framing follows etcd: the data goes out in chunks whose
 * remaining_bytes counts down to 0, then one last message whose blob is the
 * SHA-256 (32 bytes) of all the data before it. `etcdctl snapshot save` writes
 * every blob to the file and then recognises the digest by the file size: an
 * etcd database is whole 4 KiB pages, so it requires size % 512 == 32 and
 * refuses anything else ("sha256 checksum not found"). The edge therefore pads
 * the backend's bytes with zeros to a multiple of 512 before the digest, which
 * covers data and padding. The saved file is:
 *   snapshot bytes | zero padding (< 512) | sha256(snapshot bytes + padding)
 * so a reader must find the end of the data from the data itself (Strake's
 * backend starts the stream with a header that carries the length:
 * store/backup/frame.ts).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { CallOptions } from './backend.js';
import { callScope, mustDecoded, serveUnary, wireHeader, type EdgeContext } from './call.js';
import { enumValue, safeId, safeInt } from './convert.js';
import { WIRE_ERRORS, toGrpcStatus } from './errors.js';
import type { AlarmAction, AlarmMember, AlarmType, Bytes, StatusResponse } from './types.js';
import type { WireAlarmMember, WireAlarmRequest, WireSnapshotResponse } from './wire.js';

/** Blob bytes per snapshot message: etcd sends 32 KiB; larger chunks mean fewer messages, far below gRPC's 4 MiB cap. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;
/** etcdctl finds the trailing digest only when the streamed size is a multiple of this (plus 32). */
export const SNAPSHOT_ALIGNMENT_BYTES = 512;

/** Zero bytes appended to `totalBytes` of snapshot data so that etcdctl accepts the digest. */
export function snapshotPaddingBytes(totalBytes: number): number {
  return (SNAPSHOT_ALIGNMENT_BYTES - (totalBytes % SNAPSHOT_ALIGNMENT_BYTES)) % SNAPSHOT_ALIGNMENT_BYTES;
}

const ALARM_ACTIONS: readonly AlarmAction[] = ['GET', 'ACTIVATE', 'DEACTIVATE'];
const ALARM_TYPES: readonly AlarmType[] = ['NONE', 'NOSPACE', 'CORRUPT'];

type Response = object;

function alarmToWire(a: AlarmMember): WireAlarmMember {
  return { memberID: a.memberId, alarm: a.alarm };
}

/** etcd lists a missing leader and each raised alarm (in Go's compact text form) in StatusResponse.errors. */
function statusErrors(s: StatusResponse): string[] {
  const errors: string[] = [];
  if (s.leader === 0) errors.push(WIRE_ERRORS.NO_LEADER.message);
  for (const a of s.alarms) errors.push(`memberID:${a.memberId} alarm:${a.alarm} `);
  return errors;
}

function statusToWire(s: StatusResponse, header: object): Response {
  return {
    header,
    version: s.version,
    dbSize: s.dbSizeBytes,
    leader: s.leader,
    raftIndex: s.raftIndex,
    raftTerm: s.raftTerm,
    raftAppliedIndex: s.raftAppliedIndex,
    errors: statusErrors(s),
    dbSizeInUse: s.dbSizeInUseBytes,
    isLearner: s.isLearner,
  };
}

/**
 * Re-cuts the backend's chunks into messages of at most SNAPSHOT_CHUNK_BYTES,
 * checking that they add up to the announced size, then yields the padding.
 */
async function* slices(chunks: AsyncIterable<Bytes>, totalBytes: number): AsyncGenerator<Bytes> {
  let dataBytes = 0;
  for await (const chunk of chunks) {
    dataBytes += chunk.length;
    if (dataBytes > totalBytes) throw new Error(`snapshot yielded more than the ${totalBytes} bytes it announced`);
    for (let at = 0; at < chunk.length; at += SNAPSHOT_CHUNK_BYTES) {
      yield chunk.subarray(at, Math.min(at + SNAPSHOT_CHUNK_BYTES, chunk.length));
    }
  }
  if (dataBytes !== totalBytes) throw new Error(`snapshot yielded ${dataBytes} bytes but announced ${totalBytes}`);
  const padding = snapshotPaddingBytes(totalBytes);
  if (padding > 0) yield new Uint8Array(padding);
}

async function writeWithBackpressure(
  call: grpc.ServerWritableStream<object, WireSnapshotResponse>,
  message: WireSnapshotResponse,
  opts: CallOptions,
): Promise<void> {
  if (!call.write(message)) await once(call, 'drain', { signal: opts.signal });
}

async function streamSnapshot(ctx: EdgeContext, call: grpc.ServerWritableStream<object, WireSnapshotResponse>, opts: CallOptions): Promise<void> {
  const snap = await ctx.backend.snapshot(opts);
  const header = wireHeader(ctx.backend, snap.revision);
  const streamedBytes = snap.totalBytes + snapshotPaddingBytes(snap.totalBytes);
  const digest = createHash('sha256');
  let sentBytes = 0;
  for await (const blob of slices(snap.chunks, snap.totalBytes)) {
    sentBytes += blob.length;
    digest.update(blob);
    const message: WireSnapshotResponse = { remaining_bytes: streamedBytes - sentBytes, blob };
    if (sentBytes === blob.length) message.header = header;
    await writeWithBackpressure(call, message, opts);
  }
  await writeWithBackpressure(call, { header, remaining_bytes: 0, blob: digest.digest() }, opts);
}

function serveSnapshot(ctx: EdgeContext, call: grpc.ServerWritableStream<object, WireSnapshotResponse>): void {
  const scope = callScope(call);
  const run = async (): Promise<void> => {
    mustDecoded(call.request);
    await streamSnapshot(ctx, call, scope.opts);
  };
  run().then(
    () => call.end(),
    (err: unknown) => {
      if (!scope.opts.signal.aborted) call.emit('error', toGrpcStatus(err));
    },
  ).finally(() => scope.dispose());
}

export function maintenanceService(ctx: EdgeContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx;
  return {
    Alarm: (call: grpc.ServerUnaryCall<WireAlarmRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const alarms = await backend.alarm(
          {
            action: enumValue('alarm action', req.action, ALARM_ACTIONS),
            memberId: safeId('alarm memberID', req.memberID),
            alarm: enumValue('alarm type', req.alarm, ALARM_TYPES),
          },
          opts,
        );
        // No header: etcd 3.4's maintenance server returns the applier's AlarmResponse as is.
        return { alarms: alarms.map(alarmToWire) };
      }),

    Status: (call: grpc.ServerUnaryCall<object, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (_req, opts) => statusToWire(await backend.status(opts), wireHeader(backend))),

    Defragment: (call: grpc.ServerUnaryCall<object, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (_req, opts) => {
        await backend.defragment(opts);
        return { header: wireHeader(backend) };
      }),

    // Strake keeps no separate backend file to hash: Hash is HashKV at the current revision.
    Hash: (call: grpc.ServerUnaryCall<object, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (_req, opts) => {
        const res = await backend.hashKV(0, opts);
        return { header: wireHeader(backend, res.revision), hash: res.hash };
      }),

    HashKV: (call: grpc.ServerUnaryCall<{ revision: number }, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.hashKV(Math.max(0, safeInt('hash revision', req.revision)), opts);
        return { header: wireHeader(backend, res.revision), hash: res.hash, compact_revision: res.compactRevision };
      }),

    MoveLeader: (call: grpc.ServerUnaryCall<{ targetID: number }, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        await backend.moveLeader(safeId('move-leader targetID', req.targetID), opts);
        return { header: wireHeader(backend) };
      }),

    Snapshot: (call: grpc.ServerWritableStream<object, WireSnapshotResponse>) => serveSnapshot(ctx, call),
  };
}
