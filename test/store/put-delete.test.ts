/**
 * Put and DeleteRange options as etcd 3.4 applies them: prev_kv, ignore_value,
 * ignore_lease, leases, and the request checks of the gRPC layer.
 */
import { describe, expect, it } from 'vitest';
import { MvccStateMachine, prefixRangeEnd } from '../../store/mvcc/index.js';
import { b, err, getOne, keysOf, ok, putAll, view, views } from './helpers.js';

const NOW_MS = 1_700_000_000_000;

describe('put', () => {
  it('prev_kv returns the value before the put, and nothing for a new key', () => {
    const sm = new MvccStateMachine();
    expect(ok(sm.put({ key: b('k'), value: b('1'), prevKv: true }))).toEqual({ revision: 2 });
    const second = ok(sm.put({ key: b('k'), value: b('2'), prevKv: true }));
    expect(second.revision).toBe(3);
    expect(view(second.prevKv!)).toEqual({ key: 'k', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: 0 });
  });

  it('without prev_kv the previous value is not returned', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['k', '1']]);
    expect(ok(sm.put({ key: b('k'), value: b('2') }))).toEqual({ revision: 3 });
  });

  it('an empty value is a real value', () => {
    const sm = new MvccStateMachine();
    ok(sm.put({ key: b('k') }));
    expect(getOne(sm, 'k')).toMatchObject({ value: '', version: 1 });
  });

  it('ignore_value keeps the value and still creates a revision', () => {
    const sm = new MvccStateMachine();
    const lease = ok(sm.leaseGrant({ id: 0, ttlSeconds: 60, nowMs: NOW_MS })).id;
    ok(sm.put({ key: b('k'), value: b('keep'), lease: 0 }));
    ok(sm.put({ key: b('k'), ignoreValue: true, lease }));
    expect(getOne(sm, 'k')).toMatchObject({ value: 'keep', lease, version: 2, modRevision: 3 });
  });

  it('ignore_lease keeps the lease while changing the value', () => {
    const sm = new MvccStateMachine();
    const lease = ok(sm.leaseGrant({ id: 7, ttlSeconds: 60, nowMs: NOW_MS })).id;
    ok(sm.put({ key: b('k'), value: b('1'), lease }));
    ok(sm.put({ key: b('k'), value: b('2'), ignoreLease: true }));
    expect(getOne(sm, 'k')).toMatchObject({ value: '2', lease: 7 });
    expect(ok(sm.leaseTimeToLive({ id: 7, keys: true, nowMs: NOW_MS })).keys).toEqual([b('k')]);
  });

  it('ignore_value with a value is refused with "etcdserver: value is provided"', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['k', '1']]);
    const error = err(sm.put({ key: b('k'), value: b('x'), ignoreValue: true }));
    expect(error.code).toBe('VALUE_PROVIDED');
    expect(error.message).toBe('etcdserver: value is provided');
    expect(sm.currentRevision).toBe(2);
  });

  it('ignore_lease with a lease is refused with "etcdserver: lease is provided"', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['k', '1']]);
    const error = err(sm.put({ key: b('k'), value: b('x'), lease: 5, ignoreLease: true }));
    expect(error.code).toBe('LEASE_PROVIDED');
    expect(error.message).toBe('etcdserver: lease is provided');
  });

  it('ignore_value / ignore_lease on a missing key is "etcdserver: key not found" and writes nothing', () => {
    const sm = new MvccStateMachine();
    for (const flags of [{ ignoreValue: true }, { ignoreLease: true }]) {
      const error = err(sm.put({ key: b('missing'), ...flags }));
      expect(error.code).toBe('KEY_NOT_FOUND');
      expect(error.message).toBe('etcdserver: key not found');
    }
    expect(sm.currentRevision).toBe(1);
    expect(sm.status().keyCount).toBe(0);
  });

  it('a put to a missing lease is "etcdserver: requested lease not found" and writes nothing', () => {
    const sm = new MvccStateMachine();
    const error = err(sm.put({ key: b('k'), value: b('v'), lease: 0x1234 }));
    expect(error.code).toBe('LEASE_NOT_FOUND');
    expect(error.message).toBe('etcdserver: requested lease not found');
    expect(error.detail).toContain('1234');
    expect(sm.currentRevision).toBe(1);
  });

  it('an empty key is refused', () => {
    expect(err(new MvccStateMachine().put({ key: b(''), value: b('v') })).message).toBe('etcdserver: key is not provided');
  });

  it('stored bytes are copied: mutating the request afterwards changes nothing', () => {
    const sm = new MvccStateMachine();
    const key = b('k');
    const value = b('v1');
    ok(sm.put({ key, value }));
    key[0] = 0x7a;
    value[1] = 0x39;
    expect(getOne(sm, 'k')).toMatchObject({ key: 'k', value: 'v1' });
  });
});

describe('delete range', () => {
  it('deletes every key of the range in one revision and returns prev_kvs in key order', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['p/b', '2'], ['p/a', '1'], ['q', '3']]);
    const r = ok(sm.deleteRange({ key: b('p/'), rangeEnd: prefixRangeEnd(b('p/')), prevKv: true }));
    expect(r.revision).toBe(5);
    expect(r.deleted).toBe(2);
    expect(views(r.prevKvs).map((kv) => [kv.key, kv.value])).toEqual([['p/a', '1'], ['p/b', '2']]);
    expect(keysOf(ok(sm.range({ key: b('\0'), rangeEnd: b('\0') })).kvs)).toEqual(['q']);
  });

  it('a from-key delete ("\\0" range end) removes every key from the start key on', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['b', '2'], ['c', '3']]);
    expect(ok(sm.deleteRange({ key: b('b'), rangeEnd: b('\0') })).deleted).toBe(2);
    expect(keysOf(ok(sm.range({ key: b('\0'), rangeEnd: b('\0') })).kvs)).toEqual(['a']);
  });

  it('already deleted keys are not deleted again', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['b', '2']]);
    ok(sm.deleteRange({ key: b('a') }));
    expect(ok(sm.deleteRange({ key: b('a'), rangeEnd: b('c'), prevKv: true })).deleted).toBe(1);
  });

  it('an empty key is refused', () => {
    expect(err(new MvccStateMachine().deleteRange({ key: b('') })).code).toBe('EMPTY_KEY');
  });
});
