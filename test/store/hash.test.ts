/**
 * HashKV: CRC-32C over etcd's backend bytes (revision key + protobuf KeyValue),
 * with etcd 3.4.45's rules for revisions at or below the compact revision.
 * The expected values are built here byte by byte from the documented layout.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c, MvccStateMachine } from '../../store/mvcc/index.js';
import { encodeStoredKeyValue, revisionKeyBytes } from '../../store/mvcc/kv-encoding.js';
import type { RevisionRecord } from '../../store/mvcc/key-index.js';
import { b, err, ok, putAll } from './helpers.js';

function record(main: number, sub: number, kv: Partial<RevisionRecord['kv']>, tombstone = false): RevisionRecord {
  const full = { key: b('foo'), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0, ...kv };
  return { main, sub, keyId: 'foo', tombstone, kv: full };
}

function concat(...parts: (number[] | Uint8Array)[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

/** etcd's revision key, written out: 8-byte BE main, '_', 8-byte BE sub, optional 't'. */
function revKey(main: number, sub: number, tombstone = false): number[] {
  const be = (n: number) => [0, 0, 0, 0, 0, 0, (n >> 8) & 0xff, n & 0xff];
  return [...be(main), 0x5f, ...be(sub), ...(tombstone ? [0x74] : [])];
}

/** protobuf mvccpb.KeyValue for a short ASCII key/value and small numbers. */
function kvProto(key: string, create: number, mod: number, version: number, value: string): number[] {
  const field = (tag: number, s: string) => (s.length === 0 ? [] : [tag, s.length, ...b(s)]);
  const int = (tag: number, n: number) => (n === 0 ? [] : [tag, n]);
  return [...field(0x0a, key), ...int(0x10, create), ...int(0x18, mod), ...int(0x20, version), ...field(0x2a, value)];
}

describe('encodings', () => {
  it('crc32c matches the standard check value', () => {
    expect(crc32c(b('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('a KeyValue encodes as protobuf fields 1..6 with zero fields omitted', () => {
    const kv = record(3, 0, { createRevision: 2, modRevision: 3, version: 2, value: b('bar') });
    expect([...encodeStoredKeyValue(kv)]).toEqual([0x0a, 3, 0x66, 0x6f, 0x6f, 0x10, 2, 0x18, 3, 0x20, 2, 0x2a, 3, 0x62, 0x61, 0x72]);
    const bigLease = record(300, 0, { createRevision: 300, modRevision: 300, version: 1, lease: 0x694d });
    expect([...encodeStoredKeyValue(bigLease)]).toEqual([0x0a, 3, 0x66, 0x6f, 0x6f, 0x10, 0xac, 0x02, 0x18, 0xac, 0x02, 0x20, 1, 0x30, 0xcd, 0xd2, 0x01]);
  });

  it('a negative lease id encodes as a ten-byte two\'s-complement varint', () => {
    const kv = record(2, 0, { createRevision: 2, modRevision: 2, version: 1, lease: -1 });
    expect([...encodeStoredKeyValue(kv)].slice(-11)).toEqual([0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('a tombstone stores only the key, under a revision key marked "t"', () => {
    const tomb = record(5, 1, { modRevision: 5 }, true);
    expect([...encodeStoredKeyValue(tomb)]).toEqual([0x0a, 3, 0x66, 0x6f, 0x6f]);
    expect([...revisionKeyBytes(tomb)]).toEqual(revKey(5, 1, true));
  });
});

describe('hashKv', () => {
  it('hashes "key" and each revision\'s backend bytes in revision order', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['foo', 'bar'], ['a', 'x']]);
    ok(sm.deleteRange({ key: b('foo') }));
    const expected = crc32c(concat(
      b('key'),
      revKey(2, 0), kvProto('foo', 2, 2, 1, 'bar'),
      revKey(3, 0), kvProto('a', 3, 3, 1, 'x'),
      revKey(4, 0, true), kvProto('foo', 0, 0, 0, ''),
    ));
    expect(ok(sm.hashKv())).toEqual({ hash: expected, compactRevision: -1, revision: 4 });
  });

  it('hashing at a past revision ignores later revisions', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['b', '2']]);
    const atThree = ok(sm.hashKv()).hash;
    putAll(sm, [['a', '3']]);
    expect(ok(sm.hashKv(3)).hash).toBe(atThree);
    expect(ok(sm.hashKv()).hash).not.toBe(atThree);
  });

  it('after compaction, old revisions count only while they are a key\'s newest value; a tombstone at the compact revision never', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['foo', '1'], ['a', '1']]);
    ok(sm.deleteRange({ key: b('foo') })); // 4
    putAll(sm, [['a', '2']]); // 5
    ok(sm.compact({ revision: 4 }));
    // Retained: a@3 (newest of a at 4), foo tombstone@4, a@5.
    const atFour = crc32c(concat(b('key'), revKey(3, 0), kvProto('a', 3, 3, 1, '1')));
    expect(ok(sm.hashKv(4)).hash).toBe(atFour);
    // At 5, a@3 is no longer a's newest value, so only a@5 counts.
    const atFive = crc32c(concat(b('key'), revKey(5, 0), kvProto('a', 3, 5, 2, '2')));
    expect(ok(sm.hashKv(5)).hash).toBe(atFive);
  });

  it('replicas that applied the same commands agree; a different value changes the hash', () => {
    const build = (last: string) => {
      const sm = new MvccStateMachine();
      putAll(sm, [['x', '1'], ['y', '2'], ['x', last]]);
      return ok(sm.hashKv()).hash;
    };
    expect(build('3')).toBe(build('3'));
    expect(build('3')).not.toBe(build('4'));
  });

  it('a revision below the compact revision is compacted; above the current one is future', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['a', '2'], ['a', '3']]);
    ok(sm.compact({ revision: 3 }));
    expect(err(sm.hashKv(2)).code).toBe('COMPACTED');
    expect(ok(sm.hashKv(3)).compactRevision).toBe(3);
    expect(err(sm.hashKv(5)).code).toBe('FUTURE_REVISION');
    expect(ok(sm.hashKv(-1)).hash).toBe(crc32c(b('key'))); // etcd hashes nothing below revision 0
  });

  it('is independent of how the keys were inserted (index order does not leak in)', () => {
    const one = new MvccStateMachine();
    const two = new MvccStateMachine();
    putAll(one, [['b', '1'], ['a', '1']]);
    putAll(two, [['b', '1'], ['a', '1']]);
    // Same commands, but two also took (and restored from) a snapshot in between.
    const restored = MvccStateMachine.restore(two.snapshot());
    if (!(restored instanceof MvccStateMachine)) throw restored;
    expect(ok(restored.hashKv()).hash).toBe(ok(one.hashKv()).hash);
    expect(createHash('sha256').update(one.snapshot()).digest('hex')).toBe(createHash('sha256').update(restored.snapshot()).digest('hex'));
  });
});
