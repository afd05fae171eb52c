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
