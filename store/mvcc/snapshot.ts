/**
 * State-machine snapshots: the whole state (every retained revision, leases,
 * compact and current revision) as bytes, and back.
 *
 * Layout (all integers big-endian):
 *   magic "STRKMVCC" (8) | format version u32 | payload length u32 | payload | sha256 (32)
 * The sha256 covers everything before it. Decoding checks the frame, then the
 * checksum, then every field, and names the first problem.
 *
 * Payload, format version 2 (written now): a msgpack head
 *   { currentRevision, compactRevision, nextAutoLeaseId, leases, recordCount }
 * preceded by its length (u32), then the records back to back, each
 *   flags u8 (1 = tombstone) | revision f64 | sub-revision u32 | key length u32 | key
 * and, for a put, then
 *   value length u32 | value | createRevision f64 | version f64 | lease f64
 * (an f64 holds every safe integer exactly). Written in one pass, into one
 * buffer or a stream of chunks, it costs a fraction of packing a msgpack tuple
 * per record.
 *
 * Format version 1 (still read: older snapshot files and backups): the payload
 * is one msgpack map with the head's fields and `records`, a list of tuples
 * [main, sub, key, value, createRevision, version, lease] ([main, sub, key] for
 * a tombstone).
 */
import { createHash } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';
import { assert } from './assert.js';
import { ChunkedWriter } from './chunked-writer.js';
import { SnapshotCorruptError, SnapshotCorruptReason } from './errors.js';
import type { RevisionRecord } from './key-index.js';
import { keyIdOf, type KeyId } from './key-range.js';
import type { LeaseSnapshot } from './lessor.js';
import { ownedCopy } from './owned-bytes.js';
import { NO_LEASE } from './types.js';

const MAGIC = new Uint8Array(Buffer.from('STRKMVCC', 'latin1'));
const FORMAT_VERSION = 2;
/** The msgpack-records format, still read. */
const FORMAT_VERSION_MSGPACK_RECORDS = 1;
const HEADER_BYTES = MAGIC.length + 4 + 4;
const CHECKSUM_BYTES = 32; // sha256
/** The payload length is a u32; a state this large would be far past etcd's 8 GiB suggested quota anyway. */
const PAYLOAD_BYTES_MAX = 0xffffffff;

const packr = new Packr({ useRecords: false, variableMapSize: true });
/** Bytes of a record before its key: flags, revision, sub-revision, key length. */
const RECORD_HEAD_BYTES = 1 + 8 + 4 + 4;
/** Bytes of a put record besides its key and value: value length, createRevision, version, lease. */
const PUT_EXTRA_BYTES = 4 + 8 + 8 + 8;
const TOMBSTONE_FLAG = 1;
// Views, not copies: buildRecord copies what the store keeps.
const unpackr = new Unpackr({ useRecords: false, copyBuffers: false, mapsAsObjects: true });

export interface SnapshotContents {
  readonly currentRevision: number;
  readonly compactRevision: number;
  /** In (main, sub) order. */
  readonly records: readonly RevisionRecord[];
  readonly leases: readonly LeaseSnapshot[];
  readonly nextAutoLeaseId: number;
}

/** A snapshot being encoded: its length, and its bytes in chunks, written as they are read. */
export interface SnapshotStream {
  readonly byteLength: number;
  readonly chunks: Iterable<Uint8Array>;
}

/**
 * The snapshot of `contents` as a stream of chunks of `chunkBytes` (the last
 * one shorter). The head is encoded now; the records are encoded as the chunks
 * are read, so the first chunk can go out before the last is written, and no
 * buffer as large as the state is held. The records encoded are the first
 * `contents.records.length` of the list as it is now: records are immutable and
 * a store only appends to its list (compaction builds a new one), so a stream
 * read later still gives this moment's state.
 */
export function encodeSnapshotStream(contents: SnapshotContents, chunkBytes: number): SnapshotStream {
  const head = packr.pack({
    currentRevision: contents.currentRevision,
    compactRevision: contents.compactRevision,
    nextAutoLeaseId: contents.nextAutoLeaseId,
    leases: contents.leases,
    recordCount: contents.records.length,
  });
  const { records } = contents;
  const count = records.length;
  let payloadBytes = 4 + head.length;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    payloadBytes += RECORD_HEAD_BYTES + r.kv.key.length + (r.tombstone ? 0 : PUT_EXTRA_BYTES + r.kv.value.length);
  }
  if (payloadBytes > PAYLOAD_BYTES_MAX) throw new RangeError(`snapshot payload of ${payloadBytes} bytes exceeds ${PAYLOAD_BYTES_MAX}`);
  const byteLength = HEADER_BYTES + payloadBytes + CHECKSUM_BYTES;
  function* chunks(): Generator<Uint8Array> {
    const out = new ChunkedWriter({ totalBytes: byteLength, chunkBytes });
    const hash = createHash('sha256');
    /** Chunks are hashed as they fill; every byte but the checksum's is hashed once. */
    function* filled(): Generator<Uint8Array> {
      for (const c of out.takeFull()) {
        hash.update(c);
        yield c;
      }
    }
    out.bytes(MAGIC);
    out.u32(FORMAT_VERSION);
    out.u32(payloadBytes);
    out.u32(head.length);
    out.bytes(head);
    yield* filled();
    for (let i = 0; i < count; i++) {
      writeRecord(out, records[i]!);
      if (out.hasFull) yield* filled();
    }
    hash.update(out.pending());
    out.bytes(hash.digest());
    assert(out.done, () => `snapshot of ${byteLength} bytes was not written to the end`);
    yield* out.takeFull(); // the rest holds the checksum, which is not hashed
  }
  return { byteLength, chunks: chunks() };
}

function writeRecord(out: ChunkedWriter, r: RevisionRecord): void {
  const { key, value } = r.kv;
  out.u8(r.tombstone ? TOMBSTONE_FLAG : 0);
  out.f64(r.main);
  out.u32(r.sub);
  out.u32(key.length);
  out.bytes(key);
  if (r.tombstone) return;
  out.u32(value.length);
  out.bytes(value);
  out.f64(r.kv.createRevision);
  out.f64(r.kv.version);
  out.f64(r.kv.lease);
}

/** The snapshot of `contents` in one buffer of the exact size. */
export function encodeSnapshot(contents: SnapshotContents): Uint8Array {
  const stream = encodeSnapshotStream(contents, Number.MAX_SAFE_INTEGER);
  const [only, ...rest] = [...stream.chunks];
  assert(only !== undefined && rest.length === 0 && only.byteLength === stream.byteLength, 'a snapshot written as one chunk');
  return new Uint8Array(only.buffer, only.byteOffset, only.byteLength);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function corrupt(reason: SnapshotCorruptReason, what: string): SnapshotCorruptError {
  return new SnapshotCorruptError(reason, what);
}

/** Checks the frame and checksum; returns the format version and the payload bytes. */
function unframe(bytes: Uint8Array): { version: number; payload: Uint8Array } | SnapshotCorruptError {
  if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    return corrupt(SnapshotCorruptReason.Truncated, `${bytes.length} bytes is shorter than the ${HEADER_BYTES + CHECKSUM_BYTES}-byte frame`);
  }
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    return corrupt(SnapshotCorruptReason.BadMagic, `starts with 0x${hex(bytes.subarray(0, MAGIC.length))}, not "STRKMVCC"`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(MAGIC.length);
  if (version !== FORMAT_VERSION && version !== FORMAT_VERSION_MSGPACK_RECORDS) {
    return corrupt(SnapshotCorruptReason.UnsupportedVersion, `format version ${version}; this build reads versions ${FORMAT_VERSION_MSGPACK_RECORDS} and ${FORMAT_VERSION}`);
  }
  const payloadBytes = view.getUint32(MAGIC.length + 4);
  const expectedBytes = HEADER_BYTES + payloadBytes + CHECKSUM_BYTES;
  if (bytes.length !== expectedBytes) {
    const reason = bytes.length < expectedBytes ? SnapshotCorruptReason.Truncated : SnapshotCorruptReason.LengthMismatch;
    return corrupt(reason, `header announces ${expectedBytes} bytes but the snapshot has ${bytes.length}`);
  }
  const stored = bytes.subarray(HEADER_BYTES + payloadBytes);
  const computed = sha256(bytes.subarray(0, HEADER_BYTES + payloadBytes));
  if (!computed.every((b, i) => stored[i] === b)) {
    return corrupt(SnapshotCorruptReason.ChecksumMismatch, `sha256 stored ${hex(stored)} but computed ${hex(computed)}`);
  }
  return { version, payload: bytes.subarray(HEADER_BYTES, HEADER_BYTES + payloadBytes) };
}

/** Decodes and validates a snapshot; a damaged one yields a SnapshotCorruptError naming the problem. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotContents | SnapshotCorruptError {
  const framed = unframe(bytes);
  if (framed instanceof SnapshotCorruptError) return framed;
  const { version, payload } = framed;
  let head: unknown;
  let records: Uint8Array | undefined;
  try {
    if (version === FORMAT_VERSION_MSGPACK_RECORDS) head = unpackr.unpack(payload);
    else {
      check(payload.length >= 4, () => `payload of ${payload.length} bytes has no head length`);
      const headBytes = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
      check(4 + headBytes <= payload.length, () => `head of ${headBytes} bytes runs past the payload's ${payload.length}`);
      head = unpackr.unpack(payload.subarray(4, 4 + headBytes));
      records = payload.subarray(4 + headBytes);
    }
  } catch (e) {
    const detail = e instanceof PayloadError ? e.message : `payload does not decode: ${(e as Error).message}`;
    return corrupt(SnapshotCorruptReason.MalformedPayload, detail);
  }
  try {
    return parseContents(head, records);
  } catch (e) {
    if (e instanceof PayloadError) return corrupt(SnapshotCorruptReason.MalformedPayload, e.message);
    throw e;
  }
}

class PayloadError extends Error {}

function check(condition: boolean, what: () => string): asserts condition {
  if (!condition) throw new PayloadError(what());
}

function int(value: unknown, name: string, min: number): number {
  check(Number.isSafeInteger(value) && (value as number) >= min, () => `${name} is ${String(value)}; expected an integer >= ${min}`);
  return value as number;
}

function bytesField(value: unknown, name: string): Uint8Array {
  check(value instanceof Uint8Array, () => `${name} is not bytes`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** The head's fields, and the records: from the head's list (version 1) or from `recordBytes` (version 2). */
function parseContents(raw: unknown, recordBytes: Uint8Array | undefined): SnapshotContents {
  check(typeof raw === 'object' && raw !== null, () => 'payload is not a map');
  const o = raw as Record<string, unknown>;
  const currentRevision = int(o.currentRevision, 'currentRevision', 1);
  const compactRevision = int(o.compactRevision, 'compactRevision', -1);
  check(compactRevision <= currentRevision, () => `compactRevision ${compactRevision} is after currentRevision ${currentRevision}`);
  const nextAutoLeaseId = int(o.nextAutoLeaseId, 'nextAutoLeaseId', 1);
  check(Array.isArray(o.leases), () => 'leases is not a list');
  const leases = (o.leases as unknown[]).map((l, i) => parseLease(l, i));
  check(new Set(leases.map((l) => l[0])).size === leases.length, () => 'a lease id appears twice');
  const keys = new Map<KeyId, Uint8Array>();
  const records: RevisionRecord[] = [];
  const add = (record: RevisionRecord, i: number): void => {
    const prev = records[records.length - 1];
    check(prev === undefined || prev.main < record.main || (prev.main === record.main && prev.sub < record.sub), () => `record ${i} is out of revision order`);
    check(record.main <= currentRevision, () => `record ${i} has revision ${record.main} after currentRevision ${currentRevision}`);
    records.push(record);
  };
  if (recordBytes === undefined) {
    check(Array.isArray(o.records), () => 'records is not a list');
    for (const [i, tuple] of (o.records as unknown[]).entries()) add(parseRecord(tuple, i, keys), i);
  } else {
    const count = int(o.recordCount, 'recordCount', 0);
    const reader = new RecordReader(recordBytes);
    for (let i = 0; i < count; i++) add(reader.next(i, keys), i);
    check(reader.done(), () => `${recordBytes.length - reader.offset} bytes follow the last of ${count} records`);
  }
  return { currentRevision, compactRevision, records, leases, nextAutoLeaseId };
}

function parseLease(raw: unknown, i: number): LeaseSnapshot {
  check(Array.isArray(raw) && raw.length === 4, () => `lease ${i} is not [id, ttl, remainingTtl, expiryMs]`);
  const [id, ttl, remaining, expiry] = raw as unknown[];
  check(Number.isSafeInteger(id) && id !== NO_LEASE, () => `lease ${i} has id ${String(id)}`);
  check(Number.isSafeInteger(expiry), () => `lease ${i} has expiry ${String(expiry)}`);
  return [id as number, int(ttl, `lease ${i} ttl`, 1), int(remaining, `lease ${i} remainingTtl`, 0), expiry as number];
}

/** A version-1 record tuple. */
function parseRecord(raw: unknown, i: number, keys: Map<KeyId, Uint8Array>): RevisionRecord {
  check(Array.isArray(raw) && (raw.length === 3 || raw.length === 7), () => `record ${i} has the wrong shape`);
  const t = raw as unknown[];
  const head = { main: t[0], sub: t[1], key: bytesField(t[2], `record ${i} key`) };
  if (t.length === 3) return buildRecord(i, head, undefined, keys);
  return buildRecord(i, head, { value: bytesField(t[3], `record ${i} value`), createRevision: t[4], version: t[5], lease: t[6] }, keys);
}

/** Reads version-2 records one after another, never past the end. */
class RecordReader {
  offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }

  next(i: number, keys: Map<KeyId, Uint8Array>): RevisionRecord {
    this.need(RECORD_HEAD_BYTES, i);
    const p = this.offset;
    const flags = this.bytes[p]!;
    check(flags === 0 || flags === TOMBSTONE_FLAG, () => `record ${i} has flags ${flags}`);
    const head = { main: this.view.getFloat64(p + 1), sub: this.view.getUint32(p + 9), key: this.take(this.view.getUint32(p + 13), p + RECORD_HEAD_BYTES, i) };
    if (flags === TOMBSTONE_FLAG) return buildRecord(i, head, undefined, keys);
    this.need(4, i);
    const value = this.take(this.view.getUint32(this.offset), this.offset + 4, i);
    this.need(24, i);
    const q = this.offset;
    this.offset += 24;
    return buildRecord(i, head, { value, createRevision: this.view.getFloat64(q), version: this.view.getFloat64(q + 8), lease: this.view.getFloat64(q + 16) }, keys);
  }

  private need(n: number, i: number): void {
    check(this.offset + n <= this.bytes.length, () => `record ${i} is cut short at byte ${this.offset} of ${this.bytes.length}`);
  }

  /** `n` bytes starting at `from`; moves past them. */
  private take(n: number, from: number, i: number): Uint8Array {
    this.offset = from;
    this.need(n, i);
    this.offset = from + n;
    return this.bytes.subarray(from, from + n);
  }
}

/**
 * A checked record from its fields (either format). Keys and values are copied
 * out of the snapshot's bytes, so keeping one does not keep the whole image.
 */
function buildRecord(
  i: number,
  head: { main: unknown; sub: unknown; key: Uint8Array },
  put: { value: Uint8Array; createRevision: unknown; version: unknown; lease: unknown } | undefined,
  keys: Map<KeyId, Uint8Array>,
): RevisionRecord {
  const main = int(head.main, `record ${i} revision`, 2);
  const sub = int(head.sub, `record ${i} sub-revision`, 0);
  check(head.key.length > 0, () => `record ${i} has an empty key`);
  const keyId = keyIdOf(head.key);
  let key = keys.get(keyId);
  if (key === undefined) {
    key = ownedCopy(head.key);
    keys.set(keyId, key);
  }
  if (put === undefined) {
    const kv = { key, createRevision: 0, modRevision: main, version: 0, value: new Uint8Array(0), lease: NO_LEASE };
    return { main, sub, keyId, tombstone: true, kv };
  }
  const createRevision = int(put.createRevision, `record ${i} createRevision`, 2);
  check(createRevision <= main, () => `record ${i} was created at ${createRevision}, after its revision ${main}`);
  const version = int(put.version, `record ${i} version`, 1);
  check(Number.isSafeInteger(put.lease), () => `record ${i} has lease ${String(put.lease)}`);
  const kv = { key, createRevision, modRevision: main, version, value: ownedCopy(put.value), lease: put.lease as number };
  return { main, sub, keyId, tombstone: false, kv };
}
