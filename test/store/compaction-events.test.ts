/**
 * Compaction (etcd 3.4.45 keyIndex.compact) and the event history watches read:
 * events per applied write, history reads from a past revision, prev_kv, and the
 * compacted-revision errors.
 */
import { describe, expect, it } from 'vitest';
import { MvccStateMachine, prefixRangeEnd, type ReadEventsRequest } from '../../store/mvcc/index.js';
import { b, err, eventViews, events, getOne, ok, putAll } from './helpers.js';

/** a@2 b@3 a@4 (del b)@5 c@6 a@7 */
function store(): MvccStateMachine {
  const sm = new MvccStateMachine();
  putAll(sm, [['a', '1'], ['b', '1'], ['a', '2']]);
  ok(sm.deleteRange({ key: b('b') }));
  putAll(sm, [['c', '1'], ['a', '3']]);
  return sm;
}

const ALL = { key: b('\0'), rangeEnd: b('\0') } as const;

function history(sm: MvccStateMachine, startRevision: number, maxEvents = 100, range: Omit<ReadEventsRequest, 'startRevision' | 'maxEvents'> = ALL) {
  return ok(sm.readEvents({ ...range, startRevision, maxEvents }));
}

describe('compaction', () => {
  it('keeps the newest version of every key at the compact revision and everything after', () => {
    const sm = store();
    ok(sm.compact({ revision: 5 }));
    expect(getOne(sm, 'a', 5)).toMatchObject({ value: '2', modRevision: 4 });
    expect(getOne(sm, 'b', 5)).toBeUndefined();
    expect(getOne(sm, 'a', 6)).toMatchObject({ value: '2' });
    expect(getOne(sm, 'a')).toMatchObject({ value: '3', modRevision: 7, createRevision: 2, version: 3 });
    expect(sm.status()).toMatchObject({ compactRevision: 5, revision: 7, keyCount: 2 });
  });

  it('reading below the compact revision is "mvcc: required revision has been compacted"', () => {
    const sm = store();
    ok(sm.compact({ revision: 5 }));
    const error = err(sm.range({ key: b('a'), revision: 4 }));
    expect(error.code).toBe('COMPACTED');
    expect(error.message).toBe('mvcc: required revision has been compacted');
  });

  it('compacting at or below the compact revision again is ErrCompacted; above current is ErrFutureRev', () => {
    const sm = store();
    ok(sm.compact({ revision: 4 }));
    expect(err(sm.compact({ revision: 4 })).code).toBe('COMPACTED');
    expect(err(sm.compact({ revision: 3 })).code).toBe('COMPACTED');
    expect(err(sm.compact({ revision: 8 })).code).toBe('FUTURE_REVISION');
    expect(ok(sm.compact({ revision: 7 }))).toEqual({ revision: 7 });
  });

  it('compaction does not change the revision or the current state', () => {
    const sm = store();
    const before = ok(sm.range(ALL));
    ok(sm.compact({ revision: 7 }));
    expect(sm.currentRevision).toBe(7);
    expect(ok(sm.range(ALL))).toEqual(before);
  });

  it('a key deleted before the compact revision disappears from history entirely', () => {
    const sm = store();
    const sizeBefore = sm.status().dbSizeBytes;
    ok(sm.compact({ revision: 6 }));
    expect(history(sm, 6).events.map((e) => e.kv.modRevision)).toEqual([6, 7]);
    expect(sm.status().dbSizeBytes).toBeLessThan(sizeBefore);
  });

  it('a tombstone exactly at the compact revision is kept, so a watch from there sees the delete', () => {
    const sm = store();
    ok(sm.compact({ revision: 5 }));
    expect(eventViews(history(sm, 5).events)).toEqual([
      { type: 'DELETE', key: 'b', value: '', modRevision: 5 },
      { type: 'PUT', key: 'c', value: '1', modRevision: 6 },
      { type: 'PUT', key: 'a', value: '3', modRevision: 7, prev: '2' },
    ]);
    // A later compaction past it drops the tombstone.
    ok(sm.compact({ revision: 6 }));
    expect(history(sm, 6).events.map((e) => e.type)).toEqual(['PUT', 'PUT']);
  });

  it('compacting everything keeps the current values and allows new writes', () => {
    const sm = store();
    ok(sm.compact({ revision: 7 }));
    putAll(sm, [['a', '4']]);
    expect(getOne(sm, 'a')).toMatchObject({ version: 4, createRevision: 2, modRevision: 8 });
  });
});

describe('events of applied writes', () => {
  it('a put reports PUT with prev_kv; a create has no prev_kv', () => {
    const sm = new MvccStateMachine();
    expect(eventViews(events(sm.put({ key: b('k'), value: b('1') })))).toEqual([{ type: 'PUT', key: 'k', value: '1', modRevision: 2 }]);
    expect(eventViews(events(sm.put({ key: b('k'), value: b('2') })))).toEqual([
      { type: 'PUT', key: 'k', value: '2', modRevision: 3, prev: '1' },
    ]);
  });

  it('a delete reports DELETE with only key and mod revision, and the deleted value as prev_kv', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['k', '1']]);
    const [event] = events(sm.deleteRange({ key: b('k') }));
    expect(event?.type).toBe('DELETE');
    expect(event?.kv).toEqual({ key: b('k'), createRevision: 0, modRevision: 3, version: 0, value: new Uint8Array(0), lease: 0 });
    expect(event?.prevKv).toMatchObject({ modRevision: 2, version: 1 });
  });

  it('failed and no-op writes report no events', () => {
    const sm = new MvccStateMachine();
    expect(sm.put({ key: b('k'), ignoreValue: true }).ok).toBe(false);
    expect(events(sm.deleteRange({ key: b('k') }))).toEqual([]);
    expect(events(sm.compact({ revision: 1 }))).toEqual([]);
  });
});

describe('history reads', () => {
  it('returns events of the range from the start revision, in revision order', () => {
    const sm = store();
    expect(eventViews(history(sm, 3).events)).toEqual([
      { type: 'PUT', key: 'b', value: '1', modRevision: 3 },
      { type: 'PUT', key: 'a', value: '2', modRevision: 4, prev: '1' },
      { type: 'DELETE', key: 'b', value: '', modRevision: 5, prev: '1' },
      { type: 'PUT', key: 'c', value: '1', modRevision: 6 },
      { type: 'PUT', key: 'a', value: '3', modRevision: 7, prev: '2' },
    ]);
    expect(history(sm, 3).nextRevision).toBe(8);
    expect(eventViews(history(sm, 1, 100, { key: b('a') }).events).map((e) => e.modRevision)).toEqual([2, 4, 7]);
  });

  it('a start after the current revision returns nothing and continues from there', () => {
    const sm = store();
    expect(history(sm, 8)).toEqual({ events: [], nextRevision: 8 });
    expect(history(sm, 20)).toEqual({ events: [], nextRevision: 20 });
    expect(history(sm, 0)).toEqual({ events: [], nextRevision: 8 });
  });

  it('maxEvents bounds a read without splitting a revision', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['x', '0']]);
    ok(sm.txn({ success: [0, 1, 2].map((i) => ({ op: 'put' as const, request: { key: b(`t${i}`), value: b('v') } })) }));
    putAll(sm, [['y', '0']]);
    const first = history(sm, 1, 2);
    expect(first.events.map((e) => e.kv.modRevision)).toEqual([2, 3, 3, 3]);
    expect(first.nextRevision).toBe(4);
    const rest = history(sm, first.nextRevision, 2);
    expect(eventViews(rest.events).map((e) => e.key)).toEqual(['y']);
    expect(rest.nextRevision).toBe(5);
  });

  it('a start below the compact revision is ErrCompacted, naming the compact revision', () => {
    const sm = store();
    ok(sm.compact({ revision: 5 }));
    const error = err(sm.readEvents({ ...ALL, startRevision: 4, maxEvents: 10 }));
    expect(error.code).toBe('COMPACTED');
    expect(error).toMatchObject({ compactRevision: 5, requestedRevision: 4 });
  });

  it('prev_kv is omitted when the revision before the event is compacted', () => {
    const sm = store();
    ok(sm.compact({ revision: 7 }));
    const [event] = history(sm, 7).events;
    expect(event?.prevKv).toBeUndefined();
  });

  it('prefix watches see only their keys', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['p/1', 'a'], ['q', 'b'], ['p/2', 'c']]);
    const r = history(sm, 1, 100, { key: b('p/'), rangeEnd: prefixRangeEnd(b('p/')) });
    expect(eventViews(r.events).map((e) => e.key)).toEqual(['p/1', 'p/2']);
  });
});
