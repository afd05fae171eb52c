/**
 * Keys and key ranges.
 *
 * Inside the store a key is identified by its latin1 string (one UTF-16 code unit
 * per byte, 0..255). JS compares such strings code unit by code unit, with a
 * proper prefix sorting first, which is exactly byte order (Buffer.compare /
 * Go's bytes.Compare). Strings give cheap Map keys and fast comparisons for the
 * sorted key index.
 */

export type KeyId = string;

export function keyIdOf(key: Uint8Array): KeyId {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export function keyOfId(id: KeyId): Uint8Array {
  return new Uint8Array(Buffer.from(id, 'latin1'));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** A resolved key range: one key, every key from `start`, or [start, end). */
export type KeyRange =
  | { readonly kind: 'single'; readonly start: KeyId }
  | { readonly kind: 'fromKey'; readonly start: KeyId }
  | { readonly kind: 'range'; readonly start: KeyId; readonly end: KeyId };

/** etcd's conventions: empty rangeEnd = single key; rangeEnd "\0" = all keys >= key. */
export function toKeyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  const start = keyIdOf(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { kind: 'single', start };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'fromKey', start };
  return { kind: 'range', start, end: keyIdOf(rangeEnd) };
}

export function rangeContains(range: KeyRange, id: KeyId): boolean {
  switch (range.kind) {
    case 'single':
      return id === range.start;
    case 'fromKey':
      return id >= range.start;
    case 'range':
      return id >= range.start && id < range.end;
  }
}

/**
 * The range end that selects every key with `prefix` (clientv3.GetPrefixRangeEnd):
 * increment the last byte below 0xff and cut after it; all-0xff (or empty) gives
 * [0x00], i.e. "every key from here".
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i]!;
    if (b < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}
