/**
 * Checksummed records: a 4-byte big-endian CRC-32 of the payload, then the
 * payload. Every record read back from disk is verified; a mismatch means the
 * file is corrupt and the member must refuse to start rather than serve it.
 */
import { crc32 } from 'node:zlib';

export const CHECKSUM_BYTES = 4;

export function seal(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CHECKSUM_BYTES + payload.byteLength);
  out.writeUInt32BE(crc32(payload), 0);
  out.set(payload, CHECKSUM_BYTES);
  return out;
}

/** Returns the payload, or undefined when the record is too short or its checksum does not match. */
export function unseal(record: Uint8Array): Buffer | undefined {
  if (record.byteLength < CHECKSUM_BYTES) return undefined;
  const buf = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const payload = buf.subarray(CHECKSUM_BYTES);
  return buf.readUInt32BE(0) === crc32(payload) ? payload : undefined;
}
