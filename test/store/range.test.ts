/**
 * Range semantics as etcd 3.4's applier serves them: key-range conventions,
 * byte order, limit/more/count, sort (including the default-ASCEND quirk),
 * keysOnly, countOnly, and the min/max revision filters.
 */
import { describe, expect, it } from 'vitest';
import { MvccStateMachine, prefixRangeEnd, type RangeRequest } from '../../store/mvcc/index.js';
import { b, err, keysOf, ok, putAll, str } from './helpers.js';

function store(): MvccStateMachine {
  const sm = new MvccStateMachine();
  // revisions 2..7
  putAll(sm, [['foo', 'c'], ['foo/a', 'b'], ['foo/b', 'a'], ['fop', 'z'], ['a', 'm'], ['foo/a', 'b2']]);
  return sm;
}

function keys(sm: MvccStateMachine, req: RangeRequest): string[] {
  return keysOf(ok(sm.range(req)).kvs);
}

describe('key ranges', () => {
  it('an empty range end selects the single key', () => {
    const sm = store();
    expect(keys(sm, { key: b('foo') })).toEqual(['foo']);
    expect(keys(sm, { key: b('fo') })).toEqual([]);
  });

  it('[key, rangeEnd) is half-open in byte order', () => {
    const sm = store();
    expect(keys(sm, { key: b('foo'), rangeEnd: b('fop') })).toEqual(['foo', 'foo/a', 'foo/b']);
    expect(keys(sm, { key: b('foo/'), rangeEnd: b('foo/b') })).toEqual(['foo/a']);
  });

  it('a prefix range uses prefixRangeEnd', () => {
    const sm = store();
    expect(str(prefixRangeEnd(b('foo/')))).toBe('foo0');
    expect(keys(sm, { key: b('foo/'), rangeEnd: prefixRangeEnd(b('foo/')) })).toEqual(['foo/a', 'foo/b']);
    expect(prefixRangeEnd(b('a\xff\xff'))).toEqual(b('b'));
    expect(prefixRangeEnd(b('\xff'))).toEqual(new Uint8Array([0]));
  });

  it('rangeEnd "\\0" means every key >= key; key "\\0" with it means every key', () => {
    const sm = store();
    expect(keys(sm, { key: b('foo/b'), rangeEnd: b('\0') })).toEqual(['foo/b', 'fop']);
    expect(keys(sm, { key: b('\0'), rangeEnd: b('\0') })).toEqual(['a', 'foo', 'foo/a', 'foo/b', 'fop']);
  });

  it('a range end at or before the key selects nothing', () => {
    const sm = store();
    expect(ok(sm.range({ key: b('fop'), rangeEnd: b('foo') }))).toEqual({ revision: 7, kvs: [], more: false, count: 0 });
  });

  it('keys compare as unsigned bytes, shorter prefix first', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['\xff', '1'], ['a', '2'], ['\x7f', '3'], ['a\0', '4'], ['\x80', '5']]);
    expect(keys(sm, { key: b('\0'), rangeEnd: b('\0') })).toEqual(['a', 'a\0', '\x7f', '\x80', '\xff']);
  });

  it('an empty key is refused with "etcdserver: key is not provided"', () => {
    const error = err(store().range({ key: b('') }));
    expect(error.code).toBe('EMPTY_KEY');
    expect(error.message).toBe('etcdserver: key is not provided');
  });
});

describe('limit, count and more', () => {
  it('limit cuts the result and sets more; count is every key in the range', () => {
    const sm = store();
    const r = ok(sm.range({ key: b('\0'), rangeEnd: b('\0'), limit: 2 }));
    expect(keysOf(r.kvs)).toEqual(['a', 'foo']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
  });

  it('a limit equal to the number of keys leaves more false', () => {
    const r = ok(store().range({ key: b('foo/'), rangeEnd: prefixRangeEnd(b('foo/')), limit: 2 }));
    expect(r.more).toBe(false);
    expect(r.count).toBe(2);
  });

  it('limit <= 0 means no limit', () => {
    expect(keys(store(), { key: b('\0'), rangeEnd: b('\0'), limit: -3 })).toHaveLength(5);
  });

  it('countOnly returns the count and no kvs', () => {
    const r = ok(store().range({ key: b('foo'), rangeEnd: b('fop'), countOnly: true, limit: 1 }));
    expect(r).toEqual({ revision: 7, kvs: [], more: false, count: 3 });
  });

  it('keysOnly blanks values but keeps the revisions', () => {
    const r = ok(store().range({ key: b('foo/a'), keysOnly: true }));
    expect(r.kvs).toHaveLength(1);
    expect(str(r.kvs[0]!.value)).toBe('');
    expect(r.kvs[0]!.modRevision).toBe(7);
    // The stored value is untouched.
    expect(str(ok(store().range({ key: b('foo/a') })).kvs[0]!.value)).toBe('b2');
  });
});

describe('sort', () => {
  const all = { key: b('\0'), rangeEnd: b('\0') } as const;

  it('sorts by each target in both orders', () => {
    const sm = store();
    expect(keys(sm, { ...all, sortTarget: 'VALUE', sortOrder: 'ASCEND' })).toEqual(['foo/b', 'foo/a', 'foo', 'a', 'fop']);
    expect(keys(sm, { ...all, sortTarget: 'KEY', sortOrder: 'DESCEND' })).toEqual(['fop', 'foo/b', 'foo/a', 'foo', 'a']);
    expect(keys(sm, { ...all, sortTarget: 'CREATE', sortOrder: 'ASCEND' })).toEqual(['foo', 'foo/a', 'foo/b', 'fop', 'a']);
    expect(keys(sm, { ...all, sortTarget: 'MOD', sortOrder: 'DESCEND' })).toEqual(['foo/a', 'a', 'fop', 'foo/b', 'foo']);
  });

  it('ties keep key order in both directions', () => {
    const sm = store();
    // foo/a has version 2, everything else 1.
    expect(keys(sm, { ...all, sortTarget: 'VERSION', sortOrder: 'ASCEND' })).toEqual(['a', 'foo', 'foo/b', 'fop', 'foo/a']);
    expect(keys(sm, { ...all, sortTarget: 'VERSION', sortOrder: 'DESCEND' })).toEqual(['foo/a', 'a', 'foo', 'foo/b', 'fop']);
  });

  it('a sort fetches everything before limiting', () => {
    const r = ok(store().range({ ...all, sortTarget: 'MOD', sortOrder: 'DESCEND', limit: 2 }));
    expect(keysOf(r.kvs)).toEqual(['foo/a', 'a']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
  });

  it('a non-KEY target with order NONE sorts ascending, after limiting (etcd quirk)', () => {
    const sm = store();
    expect(keys(sm, { ...all, sortTarget: 'MOD' })).toEqual(['foo', 'foo/b', 'fop', 'a', 'foo/a']);
    // With no sort order the limit applies first (to key order), then the sort.
    expect(keys(sm, { ...all, sortTarget: 'VALUE', limit: 2 })).toEqual(['foo/a', 'foo']);
  });
});

describe('revision filters', () => {
  const all = { key: b('\0'), rangeEnd: b('\0') } as const;

  it('min/max mod and create revision drop kvs but not the count', () => {
    const sm = store();
    const r = ok(sm.range({ ...all, minModRevision: 4, maxModRevision: 6 }));
    expect(keysOf(r.kvs)).toEqual(['a', 'foo/b', 'fop']);
    expect(r.count).toBe(5);
    expect(keys(sm, { ...all, minCreateRevision: 3, maxCreateRevision: 4 })).toEqual(['foo/a', 'foo/b']);
  });

  it('a filter fetches everything, so limit and more apply to the filtered list', () => {
    const r = ok(store().range({ ...all, minCreateRevision: 3, limit: 3 }));
    expect(keysOf(r.kvs)).toEqual(['a', 'foo/a', 'foo/b']);
    expect(r.more).toBe(true);
  });
});

describe('ranges at a past revision', () => {
  it('a range at a revision sees the keys and values of that revision', () => {
    const sm = store();
    ok(sm.deleteRange({ key: b('foo/'), rangeEnd: prefixRangeEnd(b('foo/')) }));
    const now = ok(sm.range({ key: b('foo'), rangeEnd: b('fop') }));
    expect(keysOf(now.kvs)).toEqual(['foo']);
    const then = ok(sm.range({ key: b('foo'), rangeEnd: b('fop'), revision: 4 }));
    expect(keysOf(then.kvs)).toEqual(['foo', 'foo/a', 'foo/b']);
    expect(then.kvs.map((kv) => str(kv.value))).toEqual(['c', 'b', 'a']);
    expect(then.revision).toBe(8);
  });
});
