/**
 * State-machine snapshots: the whole state (every retained revision, leases,
 * compact and current revision) as bytes, and back.
 *
 * Layout (all integers big-endian):
 *   magic "STRKMVCC" (8) | format version u32 | payload length u32 | payload | sha256 (32)
 * The payload is msgpack; the sha256 covers everything before it. Decoding checks
 * the frame, then the checksum, then every field, and names the first problem.
 */
import { createHash } from 'node:crypto';
import { Packr, Unpackr } from 'msgpackr';
import { SnapshotCorruptError, SnapshotCorruptReason } from './errors.js';
import type { RevisionRecord } from './key-index.js';
import { keyIdOf, type KeyId } from './key-range.js';
import type { LeaseSnapshot } from './lessor.js';
import { NO_LEASE } from './types.js';

const MAGIC = new Uint8Array(Buffer.from('STRKMVCC', 'latin1'));
const FORMAT_VERSION = 1;
const HEADER_BYTES = MAGIC.length + 4 + 4;
const CHECKSUM_BYTES = 32; // sha256
/** The payload length is a u32; a state this large would be far past etcd's 8 GiB suggested quota anyway. */
const PAYLOAD_BYTES_MAX = 0xffffffff;

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, copyBuffers: true, mapsAsObjects: true });

export interface SnapshotContents {
  readonly currentRevision: number;
  readonly compactRevision: number;
  /** In (main, sub) order. */
  readonly records: readonly RevisionRecord[];
  readonly leases: readonly LeaseSnapshot[];
  readonly nextAutoLeaseId: number;
}

/** put: [main, sub, key, value, createRevision, version, lease]; tombstone: [main, sub, key]. */
type RecordTuple = readonly unknown[];

function tupleOf(r: RevisionRecord): RecordTuple {
  if (r.tombstone) return [r.main, r.sub, r.kv.key];
  return [r.main, r.sub, r.kv.key, r.kv.value, r.kv.createRevision, r.kv.version, r.kv.lease];
}

export function encodeSnapshot(contents: SnapshotContents): Uint8Array {
  const payload = packr.pack({
    currentRevision: contents.currentRevision,
    compactRevision: contents.compactRevision,
    nextAutoLeaseId: contents.nextAutoLeaseId,
    leases: contents.leases,
    records: contents.records.map(tupleOf),
  });
  if (payload.length > PAYLOAD_BYTES_MAX) throw new RangeError(`snapshot payload of ${payload.length} bytes exceeds ${PAYLOAD_BYTES_MAX}`);
  const out = new Uint8Array(HEADER_BYTES + payload.length + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(MAGIC.length, FORMAT_VERSION);
  view.setUint32(MAGIC.length + 4, payload.length);
  out.set(payload, HEADER_BYTES);
  out.set(sha256(out.subarray(0, HEADER_BYTES + payload.length)), HEADER_BYTES + payload.length);
  return out;
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

/** Checks the frame and checksum; returns the payload bytes. */
function unframe(bytes: Uint8Array): Uint8Array | SnapshotCorruptError {
  if (bytes.length < HEADER_BYTES + CHECKSUM_BYTES) {
    return corrupt(SnapshotCorruptReason.Truncated, `${bytes.length} bytes is shorter than the ${HEADER_BYTES + CHECKSUM_BYTES}-byte frame`);
  }
  if (!MAGIC.every((b, i) => bytes[i] === b)) {
    return corrupt(SnapshotCorruptReason.BadMagic, `starts with 0x${hex(bytes.subarray(0, MAGIC.length))}, not "STRKMVCC"`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(MAGIC.length);
  if (version !== FORMAT_VERSION) {
    return corrupt(SnapshotCorruptReason.UnsupportedVersion, `format version ${version}; this build reads version ${FORMAT_VERSION}`);
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
  return bytes.subarray(HEADER_BYTES, HEADER_BYTES + payloadBytes);
}

/** Decodes and validates a snapshot; a damaged one yields a SnapshotCorruptError naming the problem. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotContents | SnapshotCorruptError {
  const payload = unframe(bytes);
  if (payload instanceof SnapshotCorruptError) return payload;
  let raw: unknown;
  try {
    raw = unpackr.unpack(payload);
  } catch (e) {
    return corrupt(SnapshotCorruptReason.MalformedPayload, `payload does not decode: ${(e as Error).message}`);
  }
  try {
    return parseContents(raw);
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

function parseContents(raw: unknown): SnapshotContents {
  check(typeof raw === 'object' && raw !== null, () => 'payload is not a map');
  const o = raw as Record<string, unknown>;
  const currentRevision = int(o.currentRevision, 'currentRevision', 1);
  const compactRevision = int(o.compactRevision, 'compactRevision', -1);
  check(compactRevision <= currentRevision, () => `compactRevision ${compactRevision} is after currentRevision ${currentRevision}`);
  const nextAutoLeaseId = int(o.nextAutoLeaseId, 'nextAutoLeaseId', 1);
  check(Array.isArray(o.leases) && Array.isArray(o.records), () => 'leases or records is not a list');
  const leases = (o.leases as unknown[]).map((l, i) => parseLease(l, i));
  check(new Set(leases.map((l) => l[0])).size === leases.length, () => 'a lease id appears twice');
  const keys = new Map<KeyId, Uint8Array>();
  const records: RevisionRecord[] = [];
  for (const [i, tuple] of (o.records as unknown[]).entries()) {
    const record = parseRecord(tuple, i, keys);
    const prev = records[records.length - 1];
    check(prev === undefined || prev.main < record.main || (prev.main === record.main && prev.sub < record.sub), () => `record ${i} is out of revision order`);
    check(record.main <= currentRevision, () => `record ${i} has revision ${record.main} after currentRevision ${currentRevision}`);
    records.push(record);
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

function parseRecord(raw: unknown, i: number, keys: Map<KeyId, Uint8Array>): RevisionRecord {
  check(Array.isArray(raw) && (raw.length === 3 || raw.length === 7), () => `record ${i} has the wrong shape`);
  const t = raw as unknown[];
  const main = int(t[0], `record ${i} revision`, 2);
  const sub = int(t[1], `record ${i} sub-revision`, 0);
  const keyBytes = bytesField(t[2], `record ${i} key`);
  check(keyBytes.length > 0, () => `record ${i} has an empty key`);
  const keyId = keyIdOf(keyBytes);
  const key = keys.get(keyId) ?? keyBytes;
  keys.set(keyId, key);
  if (t.length === 3) {
    const kv = { key, createRevision: 0, modRevision: main, version: 0, value: new Uint8Array(0), lease: NO_LEASE };
    return { main, sub, keyId, tombstone: true, kv };
  }
  const value = bytesField(t[3], `record ${i} value`);
  const createRevision = int(t[4], `record ${i} createRevision`, 2);
  check(createRevision <= main, () => `record ${i} was created at ${createRevision}, after its revision ${main}`);
  const version = int(t[5], `record ${i} version`, 1);
  check(Number.isSafeInteger(t[6]), () => `record ${i} has lease ${String(t[6])}`);
  const kv = { key, createRevision, modRevision: main, version, value, lease: t[6] as number };
  return { main, sub, keyId, tombstone: false, kv };
}
