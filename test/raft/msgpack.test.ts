/** proto/msgpack.ts: msgpackr's shared output buffer never stays large, and a bytes entry is spliced into a map correctly. */
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { LARGE_OUTPUT_BYTES, pack, packWithBytes, packWithBytesParts } from '../../proto/msgpack.js';

describe('pack', () => {
  it('copies a large output out, and later small outputs no longer share a large buffer', () => {
    const large = pack({ data: Buffer.alloc(4 * LARGE_OUTPUT_BYTES, 1) });
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(large.byteLength);
    const small = pack({ a: 1 });
    expect(small.buffer.byteLength).toBeLessThan(LARGE_OUTPUT_BYTES);
    expect(unpack(small)).toEqual({ a: 1 });
    expect((unpack(large) as { data: Uint8Array }).data.length).toBe(4 * LARGE_OUTPUT_BYTES);
  });
});

describe('packWithBytes', () => {
  it('reads back as the map with the bytes entry added, for small and larger maps', () => {
    const bytes = Buffer.alloc(1000, 7);
    for (const value of [{}, { a: 1, b: 'x' }, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))]) {
      for (const packr of [undefined, new Packr({ useRecords: false, variableMapSize: true })]) {
        const { blob, ...rest } = unpack(packWithBytes(value, 'blob', bytes, packr)) as { blob: Uint8Array };
        expect(rest).toEqual(value);
        expect(Buffer.from(blob).equals(bytes)).toBe(true);
      }
    }
  });

  it('in parts: the bytes are not copied, and the parts written one after the other are the same map', () => {
    const bytes = Buffer.alloc(5000, 3);
    const [prefix, tail] = packWithBytesParts({ index: 7, confState: { voters: [1] } }, 'data', bytes);
    expect(tail).toBe(bytes);
    const joined = Buffer.concat([prefix, tail]);
    expect(joined.equals(Buffer.from(packWithBytes({ index: 7, confState: { voters: [1] } }, 'data', bytes)))).toBe(true);
    expect(unpack(joined)).toEqual({ index: 7, confState: { voters: [1] }, data: bytes });
  });

  it('refuses what is not a map, and a key too long for the format it writes', () => {
    expect(() => packWithBytes([1, 2] as unknown as object, 'k', Buffer.alloc(1))).toThrow(TypeError);
    expect(() => packWithBytes({}, 'k'.repeat(40), Buffer.alloc(1))).toThrow(RangeError);
  });
});
