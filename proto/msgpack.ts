/**
 * msgpackr as Strake's payloads use it (Raft messages, log and snapshot
 * records, proposals, state-machine images).
 *
 * msgpackr writes the output of every Packr into one buffer shared by the
 * whole process and hands out views into it; when that buffer is full it
 * allocates the next one at the same size. After one large value (a snapshot
 * image) the shared buffer stays that large: every later small output is a
 * view that keeps a buffer as large as the snapshot alive, and every refill
 * allocates and zeroes another. `pack` below copies a large output out and
 * gives msgpackr a small buffer back, so memory follows what is kept.
 */
import { Packr } from 'msgpackr';

/** Outputs at least this large are copied out, and the shared buffer is replaced by a small one. */
export const LARGE_OUTPUT_BYTES = 256 * 1024;
/** The buffer handed back to msgpackr after a large output. */
const SMALL_BUFFER_BYTES = 64 * 1024;

/** The same options as msgpackr's own `pack`. */
const defaultPackr = new Packr({ useRecords: false });

/** `packr.pack(value)`: a view into msgpackr's shared buffer when small, a buffer of its own when large. */
export function pack(value: unknown, packr: Packr = defaultPackr): Buffer {
  const out = packr.pack(value);
  if (out.byteLength < LARGE_OUTPUT_BYTES) return out;
  const own = Buffer.allocUnsafeSlow(out.byteLength);
  out.copy(own);
  packr.useBuffer(Buffer.allocUnsafeSlow(SMALL_BUFFER_BYTES));
  return own;
}

const MSGPACK_FIXMAP = 0x80;
const MSGPACK_MAP16 = 0xde;
const MSGPACK_FIXSTR = 0xa0;
const MSGPACK_BIN32 = 0xc6;

/**
 * The msgpack map of `value` (an object) with one more entry, `key` → `bytes`,
 * as two parts: the encoding up to and including the bin header of the last
 * entry, then `bytes` themselves (not copied). Written one after the other they
 * are one msgpack map, which any decoder reads; a writer that streams the
 * parts never copies `bytes`, and one that needs a single buffer copies them
 * once (packWithBytes), where packing them with the rest would copy them into
 * a growing buffer several times over. Worth it for large bytes (a snapshot
 * image).
 */
export function packWithBytesParts(value: object, key: string, bytes: Uint8Array, packr: Packr = defaultPackr): [Buffer, Uint8Array] {
  return [packWithBytesHead(value, key, bytes.byteLength, packr), bytes];
}

/** The first part of packWithBytesParts: what comes before `byteLength` bytes (which may still be on their way). */
export function packWithBytesHead(value: object, key: string, byteLength: number, packr: Packr = defaultPackr): Buffer {
  const head = pack(value, packr);
  let count: number;
  let body: Uint8Array;
  if ((head[0]! & 0xf0) === MSGPACK_FIXMAP) {
    count = head[0]! & 0x0f;
    body = head.subarray(1);
  } else if (head[0] === MSGPACK_MAP16) {
    count = head.readUInt16BE(1);
    body = head.subarray(3);
  } else {
    throw new TypeError(`packWithBytes needs an object with fewer than 65535 keys; msgpackr wrote 0x${head[0]!.toString(16)}`);
  }
  const keyBytes = Buffer.from(key, 'utf8');
  if (keyBytes.length >= 32) throw new RangeError(`key ${key} is longer than a msgpack fixstr`);
  const prefix = Buffer.allocUnsafe(3 + body.length + 1 + keyBytes.length + 5);
  let p = prefix.writeUInt8(MSGPACK_MAP16, 0);
  p = prefix.writeUInt16BE(count + 1, p);
  prefix.set(body, p);
  p += body.length;
  p = prefix.writeUInt8(MSGPACK_FIXSTR | keyBytes.length, p);
  prefix.set(keyBytes, p);
  p += keyBytes.length;
  p = prefix.writeUInt8(MSGPACK_BIN32, p);
  prefix.writeUInt32BE(byteLength, p);
  return prefix;
}

/** packWithBytesParts in one buffer of the exact size: `bytes` is copied once. */
export function packWithBytes(value: object, key: string, bytes: Uint8Array, packr: Packr = defaultPackr): Uint8Array {
  const [prefix] = packWithBytesParts(value, key, bytes, packr);
  const out = Buffer.allocUnsafeSlow(prefix.length + bytes.length);
  out.set(prefix, 0);
  out.set(bytes, prefix.length);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
