/** The chunked byte writer under snapshots (store/mvcc/chunked-writer.ts): the same bytes for any chunk size. */
import { describe, expect, it } from 'vitest';
import { ChunkedWriter } from '../../store/mvcc/chunked-writer.js';

type Write = { kind: 'u8' | 'u32' | 'f64'; value: number } | { kind: 'bytes'; value: Uint8Array };

const WRITES: readonly Write[] = [
  { kind: 'u8', value: 0xfe },
  { kind: 'u32', value: 0xdeadbeef },
  { kind: 'f64', value: 2 ** 53 - 1 },
  { kind: 'bytes', value: Buffer.from('a key that spans chunks') },
  { kind: 'u8', value: 1 },
  { kind: 'bytes', value: new Uint8Array(0) },
  { kind: 'f64', value: -1.5 },
  { kind: 'u32', value: 7 },
  { kind: 'bytes', value: Buffer.alloc(40, 9) },
];

/** The expected bytes, written with Buffer's own big-endian writers. */
function reference(): Buffer {
  const parts = WRITES.map((w) => {
    if (w.kind === 'bytes') return Buffer.from(w.value);
    const b = Buffer.alloc(w.kind === 'u8' ? 1 : w.kind === 'u32' ? 4 : 8);
    if (w.kind === 'u8') b.writeUInt8(w.value);
    else if (w.kind === 'u32') b.writeUInt32BE(w.value);
    else b.writeDoubleBE(w.value);
    return b;
  });
  return Buffer.concat(parts);
}

function writeAll(w: ChunkedWriter): void {
  for (const x of WRITES) {
    if (x.kind === 'bytes') w.bytes(x.value);
    else w[x.kind](x.value);
  }
}

describe('ChunkedWriter', () => {
  const want = reference();

  it('gives the same bytes for every chunk size, every chunk but the last full', () => {
    for (let chunkBytes = 1; chunkBytes <= want.length + 3; chunkBytes++) {
      const w = new ChunkedWriter({ totalBytes: want.length, chunkBytes });
      writeAll(w);
      expect(w.done).toBe(true);
      const chunks = w.takeFull();
      expect(Buffer.concat(chunks).equals(want), `chunks of ${chunkBytes}`).toBe(true);
      expect(chunks.slice(0, -1).every((c) => c.length === chunkBytes)).toBe(true);
      expect(w.takeFull()).toEqual([]);
    }
  });

  it('hands out a chunk only once it is full; pending() shows the partial one', () => {
    const w = new ChunkedWriter({ totalBytes: 10, chunkBytes: 4 });
    w.u8(1);
    w.u8(2);
    expect(w.takeFull()).toEqual([]);
    expect([...w.pending()]).toEqual([1, 2]);
    w.u32(0x03040506);
    expect(w.takeFull().map((c) => [...c])).toEqual([[1, 2, 3, 4]]);
    expect([...w.pending()]).toEqual([5, 6]);
    expect(w.done).toBe(false);
  });

  it('refuses to write past the announced total', () => {
    const w = new ChunkedWriter({ totalBytes: 6, chunkBytes: 4 });
    w.u32(1);
    expect(() => w.u32(2)).toThrow(/past the announced total/);
  });
});
