/**
 * Property: for random sequences of put / delete / txn / compact / range-at-revision
 * / history reads, the state machine gives exactly the answers of the naive
 * reference model (test/store/model.ts), and a snapshot taken at the end restores
 * to a state machine that answers the same. fast-check prints the seed and the
 * shrunk counterexample on failure; rerun with { seed, path } to reproduce.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MvccStateMachine,
  prefixRangeEnd,
  type ApplyResult,
  type Compare,
  type KeyValue,
  type RangeRequest,
  type RangeResponse,
  type ReadResult,
  type RequestOp,
  type ResponseOp,
  type WatchEvent,
} from '../../store/mvcc/index.js';
import { b, str } from './helpers.js';
import { Model, type ModelCompare, type ModelEvent, type ModelKv, type ModelOp, type ModelRange, type ModelRangeQuery, type Outcome } from './model.js';

const RUNS = 300;
const KEYS = ['a', 'ab', 'b', 'b\0', 'ba', 'c', '\xff'] as const;
const VALUES = ['', 'x', 'y', 'zz'] as const;

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const range: fc.Arbitrary<ModelRange> = fc.oneof(
  { weight: 1, arbitrary: key.map((k) => ({ kind: 'single', key: k }) as const) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b', '\xff').map((k) => ({ kind: 'prefix', key: k }) as const) },
  { weight: 2, arbitrary: fc.constantFrom('a', 'ab', 'b').map((k) => ({ kind: 'fromKey', key: k }) as const) },
  { weight: 1, arbitrary: fc.tuple(key, fc.constantFrom('b', 'bb', 'c', '\0', '\xff\xff')).map(([k, end]) => ({ kind: 'between', key: k, end }) as const) },
);
/**
 * Revisions are drawn relative to the current one when a step runs (see `absolute`):
 * 0 and -1 mean "current" as in etcd, n > 0 means current + 2 - n, so 1 is a
 * future revision, 2 the current one, and larger values reach back in history.
 */
const relativeRevision = fc.integer({ min: -1, max: 10 });

function absolute(relative: number, current: number): number {
  return relative <= 0 ? relative : current + 2 - relative;
}

const writeOp: fc.Arbitrary<ModelOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, value, prevKv: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), range, prevKv: fc.boolean() }),
  fc.record({ op: fc.constant('range' as const), range, revision: fc.integer({ min: 0, max: 10 }), limit: fc.integer({ min: 0, max: 3 }) }),
);
const compare: fc.Arbitrary<ModelCompare> = fc.oneof(
  fc.record({ key, target: fc.constantFrom('VERSION' as const, 'CREATE' as const, 'MOD' as const), result: fc.constantFrom('EQUAL' as const, 'GREATER' as const, 'LESS' as const, 'NOT_EQUAL' as const), operand: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ key, target: fc.constant('VALUE' as const), result: fc.constantFrom('EQUAL' as const, 'GREATER' as const, 'LESS' as const, 'NOT_EQUAL' as const), operand: value }),
);
const rangeQuery: fc.Arbitrary<ModelRangeQuery> = fc.record({
  range,
  revision: relativeRevision,
  limit: fc.integer({ min: -1, max: 4 }),
  // Weighted toward the plain (unsorted, key-ordered) reads where limit+1 fetching matters.
  sortOrder: fc.constantFrom('NONE' as const, 'NONE' as const, 'ASCEND' as const, 'DESCEND' as const),
  sortTarget: fc.constantFrom('KEY' as const, 'KEY' as const, 'KEY' as const, 'VERSION' as const, 'CREATE' as const, 'MOD' as const, 'VALUE' as const),
  countOnly: fc.constantFrom(false, false, true),
  keysOnly: fc.boolean(),
  minModRevision: fc.constantFrom(0, 0, 3, 8),
});

type Step =
  | { readonly kind: 'put'; readonly key: string; readonly value: string; readonly prevKv: boolean }
  | { readonly kind: 'delete'; readonly range: ModelRange; readonly prevKv: boolean }
  | { readonly kind: 'txn'; readonly compares: ModelCompare[]; readonly success: ModelOp[]; readonly failure: ModelOp[] }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'range'; readonly query: ModelRangeQuery }
  | { readonly kind: 'events'; readonly range: ModelRange; readonly back: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value, prevKv: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), range, prevKv: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('txn' as const), compares: fc.array(compare, { maxLength: 2 }), success: fc.array(writeOp, { maxLength: 3 }), failure: fc.array(writeOp, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 6 })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('range' as const), query: rangeQuery }) },
  // back -2 starts exactly at the compact revision, where compaction's tombstone rule shows.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('events' as const), range, back: fc.integer({ min: -2, max: 8 }) }) },
);

// ---- translation between the model's strings and the store's bytes ----

function toRange(r: ModelRange): { key: Uint8Array; rangeEnd?: Uint8Array } {
  switch (r.kind) {
    case 'single':
      return { key: b(r.key) };
    case 'prefix':
      return { key: b(r.key), rangeEnd: prefixRangeEnd(b(r.key)) };
    case 'fromKey':
      return { key: b(r.key), rangeEnd: b('\0') };
    case 'between':
      return { key: b(r.key), rangeEnd: b(r.end) };
  }
}

function toOp(op: ModelOp): RequestOp {
  switch (op.op) {
    case 'put':
      return { op: 'put', request: { key: b(op.key), value: b(op.value), prevKv: op.prevKv } };
    case 'delete':
      return { op: 'deleteRange', request: { ...toRange(op.range), prevKv: op.prevKv } };
    case 'range':
      return { op: 'range', request: { ...toRange(op.range), revision: op.revision, limit: op.limit } };
  }
}

function toCompare(c: ModelCompare): Compare {
  const base = { key: b(c.key), result: c.result };
  switch (c.target) {
    case 'VALUE':
      return { ...base, target: 'VALUE', value: b(c.operand as string) };
    case 'VERSION':
      return { ...base, target: 'VERSION', version: c.operand as number };
    case 'CREATE':
      return { ...base, target: 'CREATE', createRevision: c.operand as number };
    case 'MOD':
      return { ...base, target: 'MOD', modRevision: c.operand as number };
  }
}

function kvOf(kv: KeyValue): ModelKv {
  return { key: str(kv.key), value: str(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

/** Store responses reshaped like the model's: bytes to strings, ResponseOp unwrapped. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return str(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  if ('createRevision' in o && 'lease' in o) return kvOf(o as unknown as KeyValue);
  if ('op' in o && 'response' in o) return normalize((o as unknown as ResponseOp).response);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalize(x)]));
}

function eventOf(e: WatchEvent): ModelEvent {
  return { type: e.type, key: str(e.kv.key), value: str(e.kv.value), modRevision: e.kv.modRevision, ...(e.prevKv ? { prev: str(e.prevKv.value) } : {}) };
}

function outcome(result: ApplyResult<unknown> | ReadResult<unknown>): Outcome {
  if (!result.ok) return { error: result.error.code };
  return 'events' in result ? { value: normalize(result.value), events: result.events.map(eventOf) } : { value: normalize(result.value) };
}

function run(sm: MvccStateMachine, model: Model, s: Step): [Outcome, Outcome] {
  switch (s.kind) {
    case 'put':
      return [outcome(sm.put({ key: b(s.key), value: b(s.value), prevKv: s.prevKv })), model.put(s.key, s.value, s.prevKv)];
    case 'delete':
      return [outcome(sm.deleteRange({ ...toRange(s.range), prevKv: s.prevKv })), model.delete(s.range, s.prevKv)];
    case 'txn': {
      const resolve = (ops: readonly ModelOp[]): ModelOp[] =>
        ops.map((op) => (op.op === 'range' && op.revision !== 0 ? { ...op, revision: Math.max(1, absolute(op.revision, model.revision)) } : op));
      const [success, failure] = [resolve(s.success), resolve(s.failure)];
      const req = { compare: s.compares.map(toCompare), success: success.map(toOp), failure: failure.map(toOp) };
      return [outcome(sm.txn(req)), model.txn(s.compares, success, failure)];
    }
    case 'compact': {
      const rev = model.revision - s.back;
      return [outcome(sm.compact({ revision: rev })), model.compact(rev)];
    }
    case 'range': {
      const q = { ...s.query, revision: absolute(s.query.revision, model.revision) };
      const req = { ...toRange(q.range), revision: q.revision, limit: q.limit, sortOrder: q.sortOrder, sortTarget: q.sortTarget, countOnly: q.countOnly, keysOnly: q.keysOnly, minModRevision: q.minModRevision };
      return [outcome(sm.range(req)), model.range(q)];
    }
    case 'events': {
      const start = s.back === -2 ? Math.max(1, model.compactRevision) : model.revision - s.back;
      const read = sm.readEvents({ ...toRange(s.range), startRevision: start, maxEvents: 1_000 });
      const got: Outcome = read.ok ? { value: read.value.events.map(eventOf) } : { error: read.error.code };
      return [got, start <= 0 ? { value: [] } : model.events(s.range, start)];
    }
  }
}

/** The property, for any state machine class (so a planted bug can be shown to fail it). */
function agreesWithModel(make: () => MvccStateMachine) {
  return fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
    const sm = make();
    const model = new Model();
    for (const [i, s] of steps.entries()) {
      const [got, want] = run(sm, model, s);
      expect(got, `step ${i}: ${JSON.stringify(s)}`).toEqual(want);
      expect(sm.currentRevision).toBe(model.revision);
    }
    // The whole retained history, from the compact revision on, must match too.
    const everything = { kind: 'fromKey', key: '\0' } as const;
    const [got, want] = run(sm, model, { kind: 'events', range: everything, back: -2 });
    expect(got, 'history from the compact revision').toEqual(want);
    const restored = MvccStateMachine.restore(sm.snapshot());
    if (!(restored instanceof MvccStateMachine)) throw restored;
    expect(restored.hashKv()).toEqual(sm.hashKv());
    expect(restored.status()).toEqual(sm.status());
    for (let rev = Math.max(1, sm.compactRevision); rev <= sm.currentRevision; rev++) {
      const all = { key: b('\0'), rangeEnd: b('\0'), revision: rev };
      expect(outcome(restored.range(all))).toEqual(outcome(sm.range(all)));
    }
  });
}

describe('MVCC state machine against the reference model', () => {
  it('answers every request like the model, and a snapshot restores to the same answers', () => {
    fc.assert(agreesWithModel(() => new MvccStateMachine()), { numRuns: RUNS });
  });

  it('the comparison catches a planted bug (a range that loses its last key)', () => {
    class LosesLastKey extends MvccStateMachine {
      override range(req: RangeRequest): ReadResult<RangeResponse> {
        const r = super.range(req);
        return r.ok && r.value.kvs.length > 1 ? { ok: true, value: { ...r.value, kvs: r.value.kvs.slice(0, -1) } } : r;
      }
    }
    const details = fc.check(agreesWithModel(() => new LosesLastKey()), { numRuns: RUNS, seed: 42 });
    expect(details.failed).toBe(true);
  });
});
