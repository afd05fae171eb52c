/**
 * Writes a byte sequence of known total length into chunks of a fixed size,
 * big-endian. A snapshot is encoded through it: as one buffer of the exact
 * size (a chunk size at least the total), or as a stream of chunks that can go
 * out while the rest is still being written, so that no buffer as large as
 * the state is ever held. Values that straddle two chunks are split across
 * them; the concatenated chunks are the same bytes either way.
 *
 *   const w = new ChunkedWriter({ totalBytes: 12, chunkBytes: 8 });
 *   w.u32(7); w.f64(1.5);  // 12 bytes
 *   w.takeFull();           // [the first 8 bytes]
 *   w.takeFull();           // [] until the next chunk fills
 */
import { assert } from './assert.js';

export interface ChunkedWriterOptions {
  /** Bytes that will be written in all; the last chunk is cut to fit. */
  readonly totalBytes: number;
  readonly chunkBytes: number;
}

export class ChunkedWriter {
  private chunk: Buffer;
  /** `chunk` as a DataView: its number writers are the fastest. */
  private view: DataView;
  /** Write position in `chunk`. */
  private at = 0;
  /** Bytes not yet given a chunk. */
  private unallocatedBytes: number;
  private full: Buffer[] = [];
  private readonly scratch = Buffer.allocUnsafe(8);
  private readonly chunkBytes: number;

  constructor(o: ChunkedWriterOptions) {
    assert(Number.isSafeInteger(o.totalBytes) && o.totalBytes > 0, () => `total of ${o.totalBytes} bytes`);
    assert(o.chunkBytes > 0, () => `chunks of ${o.chunkBytes} bytes`);
    this.chunkBytes = o.chunkBytes;
    this.unallocatedBytes = o.totalBytes;
    this.chunk = this.nextChunk();
    this.view = viewOf(this.chunk);
  }

  u8(value: number): void {
    if (this.at < this.chunk.length) {
      this.chunk[this.at++] = value;
      if (this.at === this.chunk.length) this.rotate();
      return;
    }
    this.scratch[0] = value;
    this.bytes(this.scratch.subarray(0, 1));
  }

  u32(value: number): void {
    if (this.chunk.length - this.at > 4) {
      this.view.setUint32(this.at, value);
      this.at += 4;
      return;
    }
    this.scratch.writeUInt32BE(value, 0);
    this.bytes(this.scratch.subarray(0, 4));
  }

  /** An f64 holds every safe integer exactly (revisions, versions, lease ids). */
  f64(value: number): void {
    if (this.chunk.length - this.at > 8) {
      this.view.setFloat64(this.at, value);
      this.at += 8;
      return;
    }
    this.scratch.writeDoubleBE(value, 0);
    this.bytes(this.scratch.subarray(0, 8));
  }

  bytes(b: Uint8Array): void {
    let from = 0;
    while (from < b.length) {
      assert(this.at < this.chunk.length, () => `writing past the announced total (${b.length - from} bytes left over)`);
      const n = Math.min(b.length - from, this.chunk.length - this.at);
      this.chunk.set(n === b.length ? b : b.subarray(from, from + n), this.at);
      this.at += n;
      from += n;
      if (this.at === this.chunk.length) this.rotate();
    }
  }

  /** Whether a chunk filled since the last takeFull(). */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /** The chunks filled since the last call, in order. */
  takeFull(): Buffer[] {
    const out = this.full;
    this.full = [];
    return out;
  }

  /** What the current chunk holds so far (a view; it stays in the chunk). */
  pending(): Buffer {
    return this.chunk.subarray(0, this.at);
  }

  /** Whether every announced byte was written. */
  get done(): boolean {
    return this.unallocatedBytes === 0 && this.at === this.chunk.length;
  }

  private rotate(): void {
    this.full.push(this.chunk);
    if (this.unallocatedBytes === 0) return; // the last chunk: `done`, and any further write asserts
    this.chunk = this.nextChunk();
    this.view = viewOf(this.chunk);
    this.at = 0;
  }

  private nextChunk(): Buffer {
    const n = Math.min(this.chunkBytes, this.unallocatedBytes);
    this.unallocatedBytes -= n;
    // Every byte is written before the chunk is handed out: no need to zero it.
    return Buffer.allocUnsafeSlow(n);
  }
}

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
