/**
 * Property: the watch hub keeps its invariant — a watcher receives every event
 * of its range with revision >= its start, in revision order, each once, whole
 * revisions at a time, prev_kv when asked for — under random sequences of
 * writes (put, delete, multi-key txn), compactions, watchers starting in the
 * past, now or in the future, cancellations, a follower lagging behind the log,
 * snapshot restores of the follower's own state and installs of the leader's
 * (newer, possibly further compacted) snapshot, interleaved with turns of the
 * event loop that let catch-up steps run. A watcher whose next revision was
 * compacted away must be cancelled with the compact revision, and hear nothing
 * after. The expected streams come from the naive model (model.ts); the checks
 * are in watch-harness.ts.
 *
 * fast-check prints the seed and the shrunk step list on failure; rerun with
 * fc.assert(..., { seed, path }) to replay it. Planted broken hubs at the end
 * prove the property catches a lost event, a repeated revision and an early start.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WatchHandle, WatchSink } from '../../store/etcd-server/backend.js';
import type { WatchRequest } from '../../store/etcd-server/types.js';
import { MvccStateMachine, type Command, type RequestOp, type WatchEvent } from '../../store/mvcc/index.js';
import { WatchHub } from '../../store/replica/watch-hub.js';
import { b } from './helpers.js';
import { Model, type ModelEvent, type ModelOp, type ModelRange } from './model.js';
import { hubReplica, replicatedStateReplica, WatchChecker, watchRequest, type WatchedReplica } from './watch-harness.js';

const RUNS = 300;
/** Planted bugs must be found within this many runs of a fixed seed. */
const PLANTED_RUNS = 300;
const PLANTED_SEED = 20_240_917;
/** Long enough for watchers to outlive compactions, restores and a lagging follower. */
const STEPS_MIN = 10;
const STEPS_MAX = 80;
/** A catch-up step this small makes every catch-up take several turns of the event loop. */
const TINY_CATCH_UP_EVENTS = 2;
/** Bound on the event-loop turns the final settle may take (each catch-up step is one turn). */
const SETTLE_TURNS_MAX = 5_000;

const KEYS = ['a', 'a/1', 'a/2', 'ab', 'b', 'b/1'] as const;
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom('x', 'y', 'zz');
const watchRange: fc.Arbitrary<ModelRange> = fc.oneof(
  key.map((k) => ({ kind: 'single', key: k }) as const),
  fc.constantFrom('a', 'a/', 'b').map((k) => ({ kind: 'prefix', key: k }) as const),
  fc.constantFrom('a/2', 'b').map((k) => ({ kind: 'fromKey', key: k }) as const),
);
const deleteRange: fc.Arbitrary<ModelRange> = fc.oneof(
  key.map((k) => ({ kind: 'single', key: k }) as const),
  fc.constantFrom('a', 'a/', 'b').map((k) => ({ kind: 'prefix', key: k }) as const),
);
const txnOp: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('put' as const), key, value, prevKv: fc.constant(false) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), range: deleteRange, prevKv: fc.constant(false) }) },
);

/** Where a new watcher starts, relative to the follower's revision when it is created. */
type Start = { readonly kind: 'past'; readonly back: number } | { readonly kind: 'now' } | { readonly kind: 'next' } | { readonly kind: 'future'; readonly ahead: number };

type Step =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly range: ModelRange }
  | { readonly kind: 'txn'; readonly ops: readonly ModelOp[] }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'watch'; readonly range: ModelRange; readonly start: Start; readonly prevKv: boolean }
  | { readonly kind: 'cancel'; readonly pick: number }
  | { readonly kind: 'follow'; readonly entries: number }
  | { readonly kind: 'restoreOwn' }
  | { readonly kind: 'installLeader' }
  | { readonly kind: 'turns'; readonly count: number };

const start: fc.Arbitrary<Start> = fc.oneof(
  fc.integer({ min: 0, max: 12 }).map((back) => ({ kind: 'past', back }) as const),
  fc.constant({ kind: 'now' } as const),
  fc.constant({ kind: 'next' } as const),
  fc.integer({ min: 1, max: 4 }).map((ahead) => ({ kind: 'future', ahead }) as const),
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), range: deleteRange }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('txn' as const), ops: fc.array(txnOp, { minLength: 2, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('watch' as const), range: watchRange, start, prevKv: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(20) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('follow' as const), entries: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restoreOwn' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'installLeader' } as const) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('turns' as const), count: fc.integer({ min: 1, max: 3 }) }) },
);

function rangeOp(range: ModelRange): { key: Uint8Array; rangeEnd?: Uint8Array } {
  const req = watchRequest(range, 0, false);
  return req.rangeEnd.length === 0 ? { key: req.key } : { key: req.key, rangeEnd: req.rangeEnd };
}

function requestOp(op: ModelOp): RequestOp {
  if (op.op === 'put') return { op: 'put', request: { key: b(op.key), value: b(op.value) } };
  if (op.op === 'delete') return { op: 'deleteRange', request: rangeOp(op.range) };
  throw new Error('no reads in generated txns');
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * One run: a leader applies every write at once (and feeds the model); the
 * follower, whose hub is under test, applies the log when told to, or installs
 * a snapshot. Watchers are on the follower.
 */
class Run {
  readonly model = new Model();
  readonly history: ModelEvent[] = [];
  readonly log: Command[] = [];
  readonly leader: WatchedReplica;
  readonly follower: WatchedReplica;
  followerApplied = 0;
  readonly checker: WatchChecker;

  constructor(makeReplica: () => WatchedReplica) {
    this.leader = makeReplica();
    this.follower = makeReplica();
    this.checker = new WatchChecker(this.history, () => this.follower);
  }

  /** Appends a write the model accepts to the log; the leader applies it and must agree with the model. */
  append(command: Command, modelApply: (m: Model) => { error: string } | { events?: readonly ModelEvent[] }): void {
    const outcome = modelApply(this.model);
    if ('error' in outcome) return;
    this.log.push(command);
    this.leader.apply(this.log.length, command);
    if (this.leader.mvcc.currentRevision !== this.model.revision) {
      throw new Error(`leader at revision ${this.leader.mvcc.currentRevision}, model at ${this.model.revision}`);
    }
    this.history.push(...(outcome.events ?? []));
  }

  follow(entries: number): void {
    const until = Math.min(this.log.length, this.followerApplied + entries);
    for (let i = this.followerApplied; i < until; i++) this.follower.apply(i + 1, this.log[i]!);
    this.followerApplied = until;
  }

  watch(s: Extract<Step, { kind: 'watch' }>): void {
    const current = this.follower.mvcc.currentRevision;
    const startRevision = s.start.kind === 'past' ? Math.max(1, current - s.start.back)
      : s.start.kind === 'now' ? 0
      : s.start.kind === 'next' ? current + 1
      : current + 1 + s.start.ahead;
    this.checker.watch(s.range, startRevision, s.prevKv);
  }
}

async function runStep(run: Run, s: Step): Promise<void> {
  switch (s.kind) {
    case 'put':
      return run.append({ op: 'put', request: { key: b(s.key), value: b(s.value) } }, (m) => m.put(s.key, s.value, false));
    case 'delete':
      return run.append({ op: 'deleteRange', request: rangeOp(s.range) }, (m) => m.delete(s.range, false));
    case 'txn':
      return run.append({ op: 'txn', request: { success: s.ops.map(requestOp) } }, (m) => m.txn([], s.ops, []));
    case 'compact': {
      const revision = run.model.revision - s.back;
      if (revision <= run.model.compactRevision || revision < 1) return;
      return run.append({ op: 'compact', request: { revision } }, (m) => m.compact(revision));
    }
    case 'watch':
      return run.watch(s);
    case 'cancel':
      return run.checker.cancel(s.pick);
    case 'follow':
      return run.follow(s.entries);
    case 'restoreOwn':
      return run.follower.install(run.follower.snapshotImage(), run.followerApplied);
    case 'installLeader':
      run.follower.install(run.leader.snapshotImage(), run.log.length);
      run.followerApplied = run.log.length;
      return;
    case 'turns':
      for (let i = 0; i < s.count; i++) await nextTurn();
      return;
  }
}

async function settle(run: Run): Promise<void> {
  run.follow(run.log.length);
  for (let turn = 0; turn < SETTLE_TURNS_MAX; turn++) {
    if (await run.checker.allCaughtUp()) return;
    await nextTurn();
  }
  run.checker.violations.push(`watchers did not catch up within ${SETTLE_TURNS_MAX} turns`);
}

function hubKeepsItsInvariant(makeReplica: () => WatchedReplica): fc.IAsyncPropertyWithHooks<[Step[]]> {
  return fc.asyncProperty(fc.array(step, { minLength: STEPS_MIN, maxLength: STEPS_MAX, size: 'max' }), async (steps) => {
    const run = new Run(makeReplica);
    try {
      for (const [i, s] of steps.entries()) {
        await runStep(run, s);
        await run.checker.checkProgress();
        if (run.checker.violations.length > 0) throw new Error(`after step ${i} (${JSON.stringify(s)}):\n${run.checker.violations.join('\n')}`);
      }
      await settle(run);
      run.checker.checkComplete();
      if (run.checker.violations.length > 0) throw new Error(`at the end:\n${run.checker.violations.join('\n')}`);
    } finally {
      run.checker.cancelAll();
    }
  });
}

const tinySteps = (state: () => MvccStateMachine): WatchHub => new WatchHub(state, { catchUpEventsPerStep: TINY_CATCH_UP_EVENTS });

/** Planted bug: fan-out loses the last event of every revision that has more than one. */
class DropsAnEventHub extends WatchHub {
  override onApplied(revision: number, events: readonly WatchEvent[]): void {
    super.onApplied(revision, events.length > 1 ? events.slice(0, -1) : events);
  }
}

/** Planted bug: an off-by-one in the start revision, so a past watch also gets the revision before its start. */
class StartsEarlyHub extends WatchHub {
  override register(req: WatchRequest, sink: WatchSink): WatchHandle | undefined {
    return super.register(req.startRevision > 1 ? { ...req, startRevision: req.startRevision - 1 } : req, sink);
  }
}

/** Planted bug: a compacted start is quietly moved up to the compact revision instead of cancelling the watch. */
class ClampsCompactedStartHub extends WatchHub {
  constructor(private readonly current: () => MvccStateMachine) {
    super(current, { catchUpEventsPerStep: TINY_CATCH_UP_EVENTS });
  }

  override register(req: WatchRequest, sink: WatchSink): WatchHandle | undefined {
    const { compactRevision } = this.current();
    return super.register(req.startRevision > 0 && req.startRevision < compactRevision ? { ...req, startRevision: compactRevision } : req, sink);
  }
}

/**
 * Planted bug: the catch-up resume point is one revision short, so the last
 * revision of every catch-up chunk is read and delivered again.
 */
function repeatsARevision(state: () => MvccStateMachine): WatchHub {
  const rewound = (sm: MvccStateMachine): MvccStateMachine =>
    new Proxy(sm, {
      get(target, prop, receiver) {
        if (prop !== 'readEvents') return Reflect.get(target, prop, receiver) as unknown;
        return (req: Parameters<MvccStateMachine['readEvents']>[0]) => {
          const r = target.readEvents(req);
          if (!r.ok || r.value.events.length === 0) return r;
          return { ok: true, value: { ...r.value, nextRevision: r.value.events[r.value.events.length - 1]!.kv.modRevision } };
        };
      },
    });
  return new WatchHub(() => rewound(state()), { catchUpEventsPerStep: TINY_CATCH_UP_EVENTS });
}

describe('watch hub: delivery matches the model', () => {
  it('through ReplicatedState (log entries, snapshot images, the member wiring)', async () => {
    await fc.assert(hubKeepsItsInvariant(replicatedStateReplica), { numRuns: RUNS });
  });

  it(`with catch-up steps of ${TINY_CATCH_UP_EVENTS} events (every catch-up spans several turns)`, async () => {
    await fc.assert(hubKeepsItsInvariant(() => hubReplica(tinySteps)), { numRuns: RUNS });
  });
});

describe('watch hub property: catches planted bugs', () => {
  const planted: readonly [string, () => WatchedReplica][] = [
    ['a hub that drops an event of a multi-key revision', () => hubReplica((s) => new DropsAnEventHub(s, { catchUpEventsPerStep: TINY_CATCH_UP_EVENTS }))],
    ['a hub that delivers a revision twice on catch-up', () => hubReplica(repeatsARevision)],
    ['a hub that resumes a compacted start at the compact revision instead of cancelling', () => hubReplica((s) => new ClampsCompactedStartHub(s))],
    ['a hub that starts one revision early', () => hubReplica((s) => new StartsEarlyHub(s, { catchUpEventsPerStep: TINY_CATCH_UP_EVENTS }))],
  ];
  for (const [name, makeReplica] of planted) {
    it(`catches ${name}`, async () => {
      const details = await fc.check(hubKeepsItsInvariant(makeReplica), { numRuns: PLANTED_RUNS, seed: PLANTED_SEED });
      expect(details.failed, `no counterexample in ${PLANTED_RUNS} runs of seed ${PLANTED_SEED}`).toBe(true);
    });
  }
});
