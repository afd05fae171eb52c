/**
 * Revision and version bookkeeping (etcd v3 mvcc semantics, api_guarantees.md and
 * mvcc/mvccpb/kv.proto): one global revision per write request, shared by all
 * writes of a txn; create/mod revision and version per key.
 */
import { describe, expect, it } from 'vitest';
import { MvccStateMachine } from '../../store/mvcc/index.js';
import { b, eventViews, events, getOne, ok, putAll } from './helpers.js';

describe('revisions', () => {
  it('a fresh store is at revision 1 and the first write gets revision 2, like etcd', () => {
    const sm = new MvccStateMachine();
    expect(sm.currentRevision).toBe(1);
    expect(ok(sm.range({ key: b('a') })).revision).toBe(1);
    expect(ok(sm.put({ key: b('a'), value: b('1') })).revision).toBe(2);
    expect(sm.currentRevision).toBe(2);
  });

  it('each put increments the revision once; create stays, mod and version advance', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['b', '1'], ['a', '2'], ['a', '3']]);
    expect(getOne(sm, 'a')).toEqual({ key: 'a', value: '3', createRevision: 2, modRevision: 5, version: 3, lease: 0 });
    expect(getOne(sm, 'b')).toEqual({ key: 'b', value: '1', createRevision: 3, modRevision: 3, version: 1, lease: 0 });
    expect(sm.currentRevision).toBe(5);
  });

  it('delete resets the key; re-creating it starts a new generation at version 1', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['k', 'v1'], ['k', 'v2']]);
    const del = ok(sm.deleteRange({ key: b('k') }));
    expect(del).toEqual({ revision: 4, deleted: 1, prevKvs: [] });
    expect(getOne(sm, 'k')).toBeUndefined();
    ok(sm.put({ key: b('k'), value: b('v3') }));
    expect(getOne(sm, 'k')).toEqual({ key: 'k', value: 'v3', createRevision: 5, modRevision: 5, version: 1, lease: 0 });
  });

  it('a delete that deletes nothing does not create a revision', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1']]);
    const result = sm.deleteRange({ key: b('zzz') });
    expect(ok(result)).toEqual({ revision: 2, deleted: 0, prevKvs: [] });
    expect(events(result)).toEqual([]);
    expect(sm.currentRevision).toBe(2);
  });

  it('a put of an unchanged value still creates a revision and bumps the version', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', 'same'], ['a', 'same']]);
    expect(getOne(sm, 'a')).toMatchObject({ modRevision: 3, version: 2 });
  });

  it('all writes of one txn share one revision, with events in op order', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['old', 'x']]);
    const result = sm.txn({
      success: [
        { op: 'put', request: { key: b('b'), value: b('1') } },
        { op: 'deleteRange', request: { key: b('old') } },
        { op: 'put', request: { key: b('a'), value: b('2') } },
      ],
    });
    expect(ok(result).revision).toBe(3);
    expect(sm.currentRevision).toBe(3);
    expect(eventViews(events(result))).toEqual([
      { type: 'PUT', key: 'b', value: '1', modRevision: 3 },
      { type: 'DELETE', key: 'old', value: '', modRevision: 3, prev: 'x' },
      { type: 'PUT', key: 'a', value: '2', modRevision: 3 },
    ]);
    expect(getOne(sm, 'a')).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 });
  });

  it('a read-only txn, or one whose writes change nothing, keeps the revision', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1']]);
    expect(ok(sm.txn({ success: [{ op: 'range', request: { key: b('a') } }] })).revision).toBe(2);
    expect(ok(sm.txn({ success: [{ op: 'deleteRange', request: { key: b('nope') } }] })).revision).toBe(2);
    expect(ok(sm.txn({})).revision).toBe(2);
    expect(sm.currentRevision).toBe(2);
  });

  it('reads at a past revision see the state as of that revision', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['a', '2']]);
    ok(sm.deleteRange({ key: b('a') }));
    putAll(sm, [['a', '3']]);
    expect(getOne(sm, 'a', 1)).toBeUndefined();
    expect(getOne(sm, 'a', 2)).toMatchObject({ value: '1', version: 1 });
    expect(getOne(sm, 'a', 3)).toMatchObject({ value: '2', version: 2 });
    expect(getOne(sm, 'a', 4)).toBeUndefined();
    expect(getOne(sm, 'a', 5)).toMatchObject({ value: '3', version: 1, createRevision: 5 });
    // The header revision is the current one, not the one read at.
    expect(ok(sm.range({ key: b('a'), revision: 2 })).revision).toBe(5);
  });

  it('a future revision is refused with etcd\'s ErrFutureRev', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1']]);
    const result = sm.range({ key: b('a'), revision: 3 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('FUTURE_REVISION');
    expect(result.error.message).toBe('mvcc: required revision is a future revision');
    expect(result.error.detail).toContain('revision 3');
  });

  it('a negative revision means "current", like 0', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1']]);
    expect(getOne(sm, 'a', -7)).toMatchObject({ value: '1' });
  });

  it('status counts live keys and grows its size estimate with history', () => {
    const sm = new MvccStateMachine();
    const empty = sm.status();
    expect(empty).toEqual({ revision: 1, compactRevision: -1, dbSizeBytes: 0, keyCount: 0, leaseCount: 0 });
    putAll(sm, [['a', '1'], ['b', '1'], ['a', '2']]);
    ok(sm.deleteRange({ key: b('b') }));
    const status = sm.status();
    expect(status.keyCount).toBe(1);
    expect(status.revision).toBe(5);
    expect(status.dbSizeBytes).toBeGreaterThan(4 * 17);
  });
});
