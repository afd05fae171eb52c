/**
 * Txn semantics as etcd 3.4 applies them (etcdserver/apply.go and the request
 * checks of etcdserver/api/v3rpc/key.go): compares, branches, nesting, atomicity,
 * duplicate-key and op-count limits.
 */
import { describe, expect, it } from 'vitest';
import { MAX_TXN_OPS, MvccStateMachine, type Compare, type RequestOp, type TxnRequest } from '../../store/mvcc/index.js';
import { b, err, eventViews, events, getOne, keysOf, ok, putAll, str } from './helpers.js';

const NOW_MS = 1_700_000_000_000;

function put(key: string, value = 'v', extra: object = {}): RequestOp {
  return { op: 'put', request: { key: b(key), value: b(value), ...extra } };
}
function get(key: string, extra: object = {}): RequestOp {
  return { op: 'range', request: { key: b(key), ...extra } };
}
function del(key: string, rangeEnd?: string): RequestOp {
  return { op: 'deleteRange', request: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) } };
}

/** k: create 2, mod 4, version 2, value "v2", lease 0; other: create/mod 3. */
function store(): MvccStateMachine {
  const sm = new MvccStateMachine();
  putAll(sm, [['k', 'v1'], ['other', 'o'], ['k', 'v2']]);
  return sm;
}

function holds(sm: MvccStateMachine, compare: Compare): boolean {
  return ok(sm.txn({ compare: [compare] })).succeeded;
}

describe('compares', () => {
  it('compare each target with each result', () => {
    const sm = store();
    const k = b('k');
    expect(holds(sm, { key: k, target: 'VERSION', result: 'EQUAL', version: 2 })).toBe(true);
    expect(holds(sm, { key: k, target: 'VERSION', result: 'GREATER', version: 1 })).toBe(true);
    expect(holds(sm, { key: k, target: 'VERSION', result: 'LESS', version: 2 })).toBe(false);
    expect(holds(sm, { key: k, target: 'CREATE', result: 'EQUAL', createRevision: 2 })).toBe(true);
    expect(holds(sm, { key: k, target: 'MOD', result: 'NOT_EQUAL', modRevision: 4 })).toBe(false);
    expect(holds(sm, { key: k, target: 'MOD', result: 'LESS', modRevision: 5 })).toBe(true);
    expect(holds(sm, { key: k, target: 'VALUE', result: 'EQUAL', value: b('v2') })).toBe(true);
    expect(holds(sm, { key: k, target: 'VALUE', result: 'GREATER', value: b('v1') })).toBe(true);
    expect(holds(sm, { key: k, target: 'LEASE', result: 'EQUAL', lease: 0 })).toBe(true);
  });

  it('a missing key compares as zero, except VALUE which always fails', () => {
    const sm = store();
    const missing = b('missing');
    expect(holds(sm, { key: missing, target: 'VERSION', result: 'EQUAL', version: 0 })).toBe(true);
    expect(holds(sm, { key: missing, target: 'CREATE', result: 'EQUAL', createRevision: 0 })).toBe(true);
    expect(holds(sm, { key: missing, target: 'MOD', result: 'LESS', modRevision: 1 })).toBe(true);
    expect(holds(sm, { key: missing, target: 'VALUE', result: 'EQUAL', value: b('') })).toBe(false);
    expect(holds(sm, { key: missing, target: 'VALUE', result: 'NOT_EQUAL', value: b('x') })).toBe(false);
  });

  it('a range compare must hold for every key in the range', () => {
    const sm = store();
    const all = { key: b('a'), rangeEnd: b('z') };
    expect(holds(sm, { ...all, target: 'CREATE', result: 'GREATER', createRevision: 1 })).toBe(true);
    expect(holds(sm, { ...all, target: 'MOD', result: 'LESS', modRevision: 4 })).toBe(false);
    expect(holds(sm, { key: b('x'), rangeEnd: b('y'), target: 'VALUE', result: 'NOT_EQUAL', value: b('') })).toBe(false);
  });

  it('all compares must hold (AND)', () => {
    const sm = store();
    const req: TxnRequest = {
      compare: [
        { key: b('k'), target: 'VERSION', result: 'EQUAL', version: 2 },
        { key: b('other'), target: 'VALUE', result: 'EQUAL', value: b('nope') },
      ],
      success: [put('s')],
      failure: [put('f')],
    };
    const r = ok(sm.txn(req));
    expect(r.succeeded).toBe(false);
    expect(getOne(sm, 'f')).toBeDefined();
    expect(getOne(sm, 's')).toBeUndefined();
  });
});

describe('branches and responses', () => {
  it('Kubernetes-style optimistic update: If(mod == expected) Then Put Else Get', () => {
    const sm = store();
    const update = (expected: number) =>
      ok(sm.txn({
        compare: [{ key: b('k'), target: 'MOD', result: 'EQUAL', modRevision: expected }],
        success: [put('k', 'new', { prevKv: true })],
        failure: [get('k')],
      }));
    const stale = update(3);
    expect(stale.succeeded).toBe(false);
    expect(stale.revision).toBe(4);
    const [fail] = stale.responses;
    expect(fail?.op === 'range' && str(fail.response.kvs[0]!.value)).toBe('v2');
    const fresh = update(4);
    expect(fresh.succeeded).toBe(true);
    expect(fresh.revision).toBe(5);
    const [done] = fresh.responses;
    expect(done?.op === 'put' && done.response).toMatchObject({ revision: 5 });
    expect(done?.op === 'put' && str(done.response.prevKv!.value)).toBe('v2');
  });

  it('a range inside a txn sees the txn\'s earlier writes, at the txn\'s revision', () => {
    const sm = store();
    const r = ok(sm.txn({ success: [get('k'), put('k', 'v3'), get('k'), del('other'), get('other')] }));
    const [before, , after, deleted, gone] = r.responses;
    expect(before?.op === 'range' && [before.response.revision, str(before.response.kvs[0]!.value)]).toEqual([4, 'v2']);
    expect(after?.op === 'range' && [after.response.revision, str(after.response.kvs[0]!.value)]).toEqual([5, 'v3']);
    expect(deleted?.op === 'deleteRange' && deleted.response).toEqual({ revision: 5, deleted: 1, prevKvs: [] });
    expect(gone?.op === 'range' && gone.response.kvs).toEqual([]);
    expect(r.revision).toBe(5);
  });

  it('a range inside a txn may read a past revision', () => {
    const sm = store();
    const r = ok(sm.txn({ success: [put('k', 'v3'), get('k', { revision: 2 })] }));
    const past = r.responses[1];
    expect(past?.op === 'range' && str(past.response.kvs[0]!.value)).toBe('v1');
  });

  it('a delete in a txn after a write reports the txn revision even when it deletes nothing', () => {
    const r = ok(store().txn({ success: [put('x'), del('nothing')] }));
    expect(r.responses[1]).toEqual({ op: 'deleteRange', response: { revision: 5, deleted: 0, prevKvs: [] } });
  });
});

describe('nested txns', () => {
  it('nested compares see the state before the outer txn; writes share its revision', () => {
    const sm = store();
    const r = ok(sm.txn({
      success: [
        put('k', 'changed'),
        {
          op: 'txn',
          request: {
            compare: [{ key: b('k'), target: 'VALUE', result: 'EQUAL', value: b('v2') }],
            success: [put('inner', 'yes'), get('k')],
            failure: [put('inner', 'no')],
          },
        },
      ],
    }));
    expect(getOne(sm, 'inner')).toMatchObject({ value: 'yes', modRevision: 5 });
    expect(getOne(sm, 'k')).toMatchObject({ value: 'changed', modRevision: 5 });
    const nested = r.responses[1];
    expect(nested?.op).toBe('txn');
    if (nested?.op !== 'txn') return;
    expect(nested.response.revision).toBe(0); // etcd leaves a nested header empty
    expect(nested.response.succeeded).toBe(true);
    const innerGet = nested.response.responses[1];
    expect(innerGet?.op === 'range' && str(innerGet.response.kvs[0]!.value)).toBe('changed');
  });

  it('the same key may be put in both branches of a nested txn', () => {
    const sm = store();
    const r = sm.txn({ success: [{ op: 'txn', request: { success: [put('x', '1')], failure: [put('x', '2')] } }] });
    expect(ok(r).succeeded).toBe(true);
    expect(getOne(sm, 'x')).toMatchObject({ value: '1' });
  });
});

describe('atomicity', () => {
  it('a put to a missing lease anywhere on the path fails the whole txn with no writes', () => {
    const sm = store();
    const r = sm.txn({ success: [put('a'), { op: 'txn', request: { success: [put('b', 'v', { lease: 99 })] } }] });
    expect(err(r).message).toBe('etcdserver: requested lease not found');
    expect(sm.currentRevision).toBe(4);
    expect(getOne(sm, 'a')).toBeUndefined();
  });

  it('ignore_value of a missing key fails the txn with no writes', () => {
    const sm = store();
    expect(err(sm.txn({ success: [put('a'), put('missing', '', { ignoreValue: true })] })).message).toBe('etcdserver: key not found');
    expect(getOne(sm, 'a')).toBeUndefined();
  });

  it('ops on the branch not taken are not checked', () => {
    const sm = store();
    expect(ok(sm.txn({ success: [put('a')], failure: [put('b', 'v', { lease: 99 })] })).succeeded).toBe(true);
  });

  it('puts are checked before ranges (a bad lease wins over a future revision)', () => {
    const sm = store();
    expect(err(sm.txn({ success: [get('k', { revision: 100 }), put('b', 'v', { lease: 99 })] })).code).toBe('LEASE_NOT_FOUND');
    expect(err(sm.txn({ success: [get('k', { revision: 100 }), put('b')] })).code).toBe('FUTURE_REVISION');
  });

  it('a range at a compacted revision fails the txn', () => {
    const sm = store();
    ok(sm.compact({ revision: 3 }));
    expect(err(sm.txn({ success: [put('a'), get('k', { revision: 2 })] })).code).toBe('COMPACTED');
    expect(getOne(sm, 'a')).toBeUndefined();
  });

  it('a lease granted in an earlier entry can be used; keys attach to it', () => {
    const sm = store();
    ok(sm.leaseGrant({ id: 5, ttlSeconds: 10, nowMs: NOW_MS }));
    ok(sm.txn({ success: [put('a', 'v', { lease: 5 })] }));
    expect(ok(sm.leaseTimeToLive({ id: 5, keys: true, nowMs: NOW_MS })).keys.map(str)).toEqual(['a']);
  });
});

describe('request checks', () => {
  it('a key written twice is "etcdserver: duplicate key given in txn request"', () => {
    const sm = store();
    const cases: TxnRequest[] = [
      { success: [put('a'), put('a')] },
      { failure: [put('a'), del('a')] },
      { success: [del('a', 'c'), put('b')] },
      { success: [put('a'), { op: 'txn', request: { success: [put('a')] } }] },
      { success: [del('a'), { op: 'txn', request: { failure: [put('a')] } }] },
      { success: [{ op: 'txn', request: { success: [del('a')] } }, { op: 'txn', request: { success: [put('a')] } }] },
    ];
    for (const req of cases) {
      const error = err(sm.txn(req));
      expect(error.code).toBe('DUPLICATE_KEY');
      expect(error.message).toBe('etcdserver: duplicate key given in txn request');
    }
    expect(sm.currentRevision).toBe(4);
  });

  it('non-overlapping writes and reads of written keys are fine', () => {
    const sm = store();
    expect(ok(sm.txn({ success: [put('a'), del('b', 'c'), get('a'), put('c')] })).succeeded).toBe(true);
  });

  it('a from-key delete does not conflict with puts (etcd compares the "\\0" end literally)', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1'], ['b', '2']]);
    const r = sm.txn({ success: [del('a', '\0'), put('b', 'new')] });
    expect(eventViews(events(r)).map((e) => `${e.type} ${e.key}`)).toEqual(['DELETE a', 'DELETE b', 'PUT b']);
    expect(getOne(sm, 'b')).toMatchObject({ value: 'new', version: 1, createRevision: 4 });
  });

  it('an ignore_value put of a key a from-key delete removed earlier in the txn is refused up front', () => {
    const sm = new MvccStateMachine();
    putAll(sm, [['a', '1']]);
    expect(err(sm.txn({ success: [del('a', '\0'), put('a', '', { ignoreValue: true })] })).code).toBe('KEY_NOT_FOUND');
    expect(getOne(sm, 'a')).toMatchObject({ value: '1' });
  });

  it(`more than ${MAX_TXN_OPS} ops in one list is "etcdserver: too many operations in txn request"`, () => {
    const sm = new MvccStateMachine();
    const ops = (n: number) => Array.from({ length: n }, (_, i) => put(`k${i}`));
    expect(ok(sm.txn({ success: ops(MAX_TXN_OPS) })).revision).toBe(2);
    expect(err(sm.txn({ failure: ops(MAX_TXN_OPS + 1) })).message).toBe('etcdserver: too many operations in txn request');
    const compares = Array.from({ length: MAX_TXN_OPS + 1 }, (): Compare => ({ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 0 }));
    expect(err(sm.txn({ compare: compares })).code).toBe('TOO_MANY_OPS');
  });

  it('a nested txn gets the budget its parent left', () => {
    const sm = new MvccStateMachine();
    const ops = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => put(`${prefix}${i}`));
    const nested = (n: number): RequestOp => ({ op: 'txn', request: { success: ops('n', n) } });
    const outer = ops('o', 99);
    expect(ok(sm.txn({ success: [...outer, nested(MAX_TXN_OPS - 100)] })).succeeded).toBe(true);
    expect(err(sm.txn({ success: [...outer, nested(MAX_TXN_OPS - 99)] })).code).toBe('TOO_MANY_OPS');
  });

  it('an empty key in a compare or an op is refused', () => {
    const sm = store();
    expect(err(sm.txn({ compare: [{ key: b(''), target: 'VERSION', result: 'EQUAL', version: 0 }] })).code).toBe('EMPTY_KEY');
    expect(err(sm.txn({ success: [get('')] })).code).toBe('EMPTY_KEY');
    expect(err(sm.txn({ failure: [put('k', 'x', { ignoreValue: true })] })).code).toBe('VALUE_PROVIDED');
  });

  it('reads in a txn return the same kvs as a standalone range', () => {
    const sm = store();
    const r = ok(sm.txn({ success: [{ op: 'range', request: { key: b('a'), rangeEnd: b('z'), limit: 1 } }] }));
    const inner = r.responses[0];
    expect(inner?.op === 'range' && keysOf(inner.response.kvs)).toEqual(['k']);
    expect(inner?.op === 'range' && inner.response).toMatchObject({ more: true, count: 2 });
  });
});
