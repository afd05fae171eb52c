/** The store's copies of keys and values (store/mvcc/owned-bytes.ts). */
import { describe, expect, it } from 'vitest';
import { MAX_SLABBED_BYTES, SLAB_BYTES, ownedCopy } from '../../store/mvcc/owned-bytes.js';

describe('ownedCopy', () => {
  it('copies: changing the source afterwards leaves the copy as it was', () => {
    for (const size of [0, 1, 256, MAX_SLABBED_BYTES, MAX_SLABBED_BYTES + 1, 70_000]) {
      const frame = Buffer.alloc(size + 10, 7); // a view into a larger frame, as a decoded entry is
      const src = frame.subarray(5, 5 + size);
      const copy = ownedCopy(src);
      expect(Buffer.from(copy).equals(src), `size ${size}`).toBe(true);
      frame.fill(9);
      expect(copy.every((b) => b === 7), `size ${size}`).toBe(true);
      expect(copy.buffer === frame.buffer, `size ${size}`).toBe(false);
    }
  });

  it('small copies share slabs without overlapping; large ones get their own buffer', () => {
    const copies = Array.from({ length: 3 * (SLAB_BYTES / 100) }, (_, i) => ownedCopy(new Uint8Array(100).fill(i % 251)));
    copies.forEach((c, i) => expect(c.every((b) => b === i % 251), `copy ${i}`).toBe(true));
    const slabs = new Set(copies.map((c) => c.buffer));
    expect(slabs.size).toBeGreaterThan(1);
    expect(slabs.size).toBeLessThan(copies.length / 10);
    expect(new Set(copies.map((c) => c.buffer)).has(ownedCopy(new Uint8Array(MAX_SLABBED_BYTES + 1)).buffer)).toBe(false);
  });
});
