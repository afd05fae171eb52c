/**
 * LeaderElector against the in-memory API (FakeApiClient) on a fake clock
 * that fires one timer at a time and lets promise chains settle after each,
 * so every fake instant at which something happens is checked:
 *  - at most one candidate leads;
 *  - a leader leads no longer than renewDeadline after the last write of its
 *    that reached the store (so before others may judge the lease expired);
 *  - a takeover reaches the store no sooner than leaseDuration after the
 *    write it replaces (the holder had let the lease lapse).
 * Faults are per candidate: its requests refused, applied with the answer
 * lost, applied late (held in flight), or answered late.
 *
 * A failing randomized run reports fast-check's seed and path; replay it with
 * `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiStatusError, Resources, type ApiClient } from '../../../control-plane/client/api-client.js';
import type { Clock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { JITTER_FACTOR, LeaderElectionConfigError, LeaderElector, type LeaderElectorOptions } from '../../../control-plane/leader-election/leader-elector.js';
import { formatMicroTime } from '../../../control-plane/leader-election/lease-lock.js';
import type { Lease } from '../../../proto/k8s/coordination-v1.js';
import type { KubeObject } from '../../../proto/k8s/meta.js';

const LEASE_DURATION_MS = 15_000;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_PERIOD_MS = 2_000;
const NAMESPACE = 'kube-system';
const LEASE_NAME = 'kube-scheduler';
const START_MS = Date.UTC(2026, 10, 23, 16, 0, 0);
/** Longest wait between a candidate's acquire attempts. */
const ACQUIRE_WAIT_MAX_MS = RETRY_PERIOD_MS * (1 + JITTER_FACTOR);
/** A request held "forever": longer than any test runs. */
const HANG_MS = 1e9;

/** A clock that moves only in advance(), one timer at a time, settling promise chains after each. */
class SteppingClock implements Clock {
  private now = START_MS;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  nowMs(): number {
    return this.now;
  }

  after(ms: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + Math.max(0, ms), fn });
    return () => void this.timers.delete(id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Moves `ms` forward; `onStep` runs at every instant something happened (and at the end). */
  async advance(ms: number, onStep: () => void): Promise<void> {
    const end = this.now + ms;
    await settle();
    onStep();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].fn();
      await settle();
      onStep();
    }
    this.now = end;
    await settle();
    onStep();
  }
}

/** Lets every promise chain that can move without time do so (microtasks drain before the next macrotask). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const FaultMode = { Ok: 'ok', Refuse: 'refuse', LoseAnswer: 'lose-answer', ApplyLate: 'apply-late', AnswerLate: 'answer-late' } as const;
type FaultMode = (typeof FaultMode)[keyof typeof FaultMode];
interface Fault {
  readonly mode: FaultMode;
  readonly delayMs: number;
}

/** A write of the lease that reached the store. */
interface AppliedWrite {
  readonly atMs: number;
  readonly by: string;
  readonly holder: string;
}

interface Candidate {
  readonly identity: string;
  readonly elector: LeaderElector;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  readonly started: number[];
  readonly stopped: number[];
}

function unavailable(): ApiStatusError {
  return new ApiStatusError(503, 'ServiceUnavailable', 'injected fault');
}

/** The candidates, the API they share, the faults, and the invariants checked at every step. */
class World {
  readonly clock = new SteppingClock();
  readonly api = new FakeApiClient(this.clock);
  readonly faults = new Map<string, Fault>();
  readonly writes: AppliedWrite[] = [];
  readonly candidates: Candidate[] = [];
  /** Broken invariants seen inside the fake API, where a throw would only look like a failed request to the elector. */
  readonly violations: string[] = [];
  private rngState: number;

  constructor(seed = 1) {
    this.rngState = seed >>> 0;
  }

  start(identity: string, work?: (signal: AbortSignal) => Promise<void>, extra: Partial<LeaderElectorOptions> = {}): Candidate {
    const started: number[] = [];
    const stopped: number[] = [];
    const elector = new LeaderElector({
      client: this.clientFor(identity),
      namespace: NAMESPACE,
      name: LEASE_NAME,
      identity,
      clock: this.clock,
      random: () => this.random(),
      onStartedLeading: (signal) => {
        started.push(this.clock.nowMs());
        return (work ?? untilAborted)(signal);
      },
      onStoppedLeading: () => void stopped.push(this.clock.nowMs()),
      ...extra,
    });
    const stop = new AbortController();
    const c: Candidate = { identity, elector, stop, done: elector.run(stop.signal), started, stopped };
    this.candidates.push(c);
    return c;
  }

  advance(ms: number): Promise<void> {
    return this.clock.advance(ms, () => this.check());
  }

  leaders(): Candidate[] {
    return this.candidates.filter((c) => c.elector.isLeader());
  }

  lease(): Lease {
    return this.api.all(Resources.Leases, NAMESPACE)[0] as Lease;
  }

  lastWriteBy(identity: string): AppliedWrite | undefined {
    return [...this.writes].reverse().find((w) => w.by === identity && w.holder === identity);
  }

  /** The invariants, at this instant. */
  check(): void {
    const now = this.clock.nowMs();
    if (this.violations.length > 0) throw new Error(this.violations[0]);
    const leaders = this.leaders();
    if (leaders.length > 1) throw new Error(`at ${now - START_MS} ms: ${leaders.map((c) => c.identity).join(' and ')} lead at once`);
    for (const l of leaders) {
      const last = this.lastWriteBy(l.identity);
      if (last === undefined || now > last.atMs + RENEW_DEADLINE_MS) {
        throw new Error(`at ${now - START_MS} ms: ${l.identity} still leads though its last write reached the store at ${last === undefined ? 'never' : last.atMs - START_MS} ms`);
      }
    }
  }

  async shutdown(): Promise<void> {
    for (const c of this.candidates) c.stop.abort();
    await this.advance(RENEW_DEADLINE_MS * 2);
    await Promise.all(this.candidates.map((c) => c.done));
  }

  /** A deterministic generator (mulberry32), so a seed replays a run exactly. */
  random(): number {
    this.rngState = (this.rngState + 0x6d2b79f5) >>> 0;
    let t = this.rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private clientFor(identity: string): ApiClient {
    const notUsed = (): never => {
      throw new Error('not used by leader election');
    };
    return {
      get: (r, ns, name) => this.call(identity, () => this.api.get(r, ns, name)),
      create: (r, ns, obj) => this.call(identity, () => this.logged(identity, this.api.create(r, ns, obj))),
      update: (r, ns, obj, sub) => this.call(identity, () => this.logged(identity, this.api.update(r, ns, obj, sub))),
      list: notUsed,
      patch: notUsed,
      delete: notUsed,
      createSubresource: notUsed,
      watch: notUsed,
      close: async () => undefined,
    };
  }

  private async logged<T extends KubeObject>(by: string, p: Promise<T>): Promise<T> {
    const stored = await p;
    const w: AppliedWrite = { atMs: this.clock.nowMs(), by, holder: (stored as Lease).spec?.holderIdentity ?? '' };
    const prev = this.writes[this.writes.length - 1];
    this.writes.push(w);
    if (prev !== undefined && prev.holder !== '' && w.holder !== '' && w.holder !== prev.holder && w.atMs < prev.atMs + LEASE_DURATION_MS) {
      this.violations.push(`at ${w.atMs - START_MS} ms: ${w.holder} took the lease over from ${prev.holder}, whose write at ${prev.atMs - START_MS} ms had not expired`);
    }
    return stored;
  }

  private async call<T>(identity: string, fn: () => Promise<T>): Promise<T> {
    const f = this.faults.get(identity) ?? { mode: FaultMode.Ok, delayMs: 0 };
    switch (f.mode) {
      case FaultMode.Ok:
        return fn();
      case FaultMode.Refuse:
        throw unavailable();
      case FaultMode.LoseAnswer:
        await fn();
        throw unavailable();
      case FaultMode.ApplyLate:
        await this.clock.sleep(f.delayMs);
        return fn();
      case FaultMode.AnswerLate: {
        const v = await fn();
        await this.clock.sleep(f.delayMs);
        return v;
      }
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

async function worldWithLeader(seed = 1): Promise<{ w: World; leader: Candidate }> {
  const w = new World(seed);
  for (const id of ['a', 'b', 'c']) w.start(id);
  await w.advance(5_000);
  const leaders = w.leaders();
  expect(leaders).toHaveLength(1);
  return { w, leader: leaders[0]! };
}

describe('LeaderElector', () => {
  it('refuses timings where the leader could outlive its lease', () => {
    const base = { client: new FakeApiClient(), namespace: NAMESPACE, name: LEASE_NAME, identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(LeaderElectionConfigError);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toThrow(/greater than 1.2/);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(LeaderElectionConfigError);
    expect(() => new LeaderElector(base)).not.toThrow();
  });

  it('writes times as MicroTime', () => {
    expect(formatMicroTime(START_MS)).toBe('2026-11-23T16:00:00.000000Z');
    expect(formatMicroTime(START_MS + 1_234.5)).toBe('2026-11-23T16:00:01.234500Z');
  });

  it('elects one of three; the others follow while the lease is renewed', async () => {
    const { w, leader } = await worldWithLeader();
    await w.advance(60_000);
    expect(w.leaders()).toEqual([leader]);
    expect(leader.started).toHaveLength(1);
    expect(leader.stopped).toHaveLength(0);
    for (const c of w.candidates) {
      expect(c.elector.leader()).toBe(leader.identity);
      if (c !== leader) expect(c.started).toEqual([]);
    }
    const spec = w.lease().spec!;
    expect(spec.holderIdentity).toBe(leader.identity);
    expect(spec.leaseDurationSeconds).toBe(LEASE_DURATION_MS / 1000);
    expect(spec.leaseTransitions).toBe(0);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(spec.renewTime!)).toBeGreaterThan(w.clock.nowMs() - 2 * RETRY_PERIOD_MS);
    await w.shutdown();
  });

  it.each([
    ['refused', FaultMode.Refuse],
    ['held in flight', FaultMode.ApplyLate],
  ])('a leader whose renewals are %s stops within renewDeadline; another takes over only after the lease expired', async (_what, mode) => {
    const { w, leader } = await worldWithLeader(2);
    w.faults.set(leader.identity, { mode, delayMs: HANG_MS });
    const lastMs = w.lastWriteBy(leader.identity)!.atMs;
    await w.advance(LEASE_DURATION_MS + 2 * ACQUIRE_WAIT_MAX_MS);
    expect(leader.stopped).toHaveLength(1);
    expect(leader.stopped[0]!).toBeLessThanOrEqual(lastMs + RENEW_DEADLINE_MS);
    const next = w.leaders()[0];
    expect(next).toBeDefined();
    expect(next!.identity).not.toBe(leader.identity);
    expect(next!.started[0]!).toBeGreaterThanOrEqual(lastMs + LEASE_DURATION_MS);
    expect(w.lease().spec?.leaseTransitions).toBe(1);
    w.faults.clear();
    await w.shutdown();
  });

  it('a leader stops at its next renewal when someone else took the lease', async () => {
    const { w, leader } = await worldWithLeader(3);
    const lease = w.lease();
    const takenMs = w.clock.nowMs();
    await w.api.update(Resources.Leases, NAMESPACE, { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(takenMs) } });
    await w.advance(LEASE_DURATION_MS - 1);
    expect(leader.stopped).toHaveLength(1);
    expect(leader.stopped[0]!).toBeLessThanOrEqual(takenMs + RETRY_PERIOD_MS);
    expect(w.leaders()).toEqual([]);
    for (const c of w.candidates) expect(c.elector.leader()).toBe('intruder');
    await w.shutdown();
  });

  it('on abort, releases the lease once the work stopped, and another candidate takes it at once', async () => {
    const w = new World(4);
    const workStopMs = 500;
    const first = w.start('a', (signal) => new Promise((resolve) => signal.addEventListener('abort', () => w.clock.after(workStopMs, resolve))));
    await w.advance(1_000);
    expect(w.leaders()).toEqual([first]);
    const others = ['b', 'c'].map((id) => w.start(id));
    await w.advance(5_000);
    const abortMs = w.clock.nowMs();
    first.stop.abort();
    await w.advance(ACQUIRE_WAIT_MAX_MS + workStopMs + 1);
    await first.done;
    expect(first.stopped).toEqual([abortMs]);
    const release = w.writes.find((x) => x.by === 'a' && x.holder === '');
    expect(release?.atMs).toBeGreaterThanOrEqual(abortMs + workStopMs);
    const next = w.leaders()[0];
    expect(others).toContain(next);
    expect(next!.started[0]!).toBeLessThan(abortMs + LEASE_DURATION_MS);
    await w.shutdown();
  });

  it('the invariant checks catch two leaders, an overlong term and an early takeover', async () => {
    const w = new World();
    const fakeLeader = (identity: string) => ({ identity, elector: { isLeader: () => true } }) as unknown as Candidate;
    w.candidates.push(fakeLeader('x'), fakeLeader('y'));
    expect(() => w.check()).toThrow(/lead at once/);
    w.candidates.splice(1);
    w.writes.push({ atMs: w.clock.nowMs(), by: 'x', holder: 'x' });
    expect(() => w.check()).not.toThrow();
    await w.clock.advance(RENEW_DEADLINE_MS + 1, () => undefined);
    expect(() => w.check()).toThrow(/still leads/);
    // x's write reached the store 10 s ago; z's takeover now comes before x's lease could have expired.
    w.candidates.splice(0);
    const client = (w as unknown as { clientFor(id: string): ApiClient }).clientFor('z');
    await client.create(Resources.Leases, NAMESPACE, { metadata: { name: LEASE_NAME }, spec: { holderIdentity: 'z' } } as Lease);
    expect(() => w.check()).toThrow(/had not expired/);
  });
});

/** One step of a randomized schedule: time passes, or a candidate's requests start (or stop) failing. */
type Step = { readonly kind: 'advance'; readonly ms: number } | { readonly kind: 'fault'; readonly who: number | 'leader'; readonly mode: FaultMode; readonly delayMs: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 8_000 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      who: fc.oneof(fc.constant('leader' as const), fc.integer({ min: 0, max: 2 })),
      mode: fc.constantFrom(...Object.values(FaultMode)),
      // Short delays race other candidates' writes; long ones outlast the renew deadline.
      delayMs: fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 3_000, max: 20_000 })),
    }),
  },
);
/** After the faults heal: held requests land (≤ 20 s), the lease expires (15 s), a candidate's next try (≤ 4.4 s). */
const LIVENESS_MS = 60_000;
const RANDOMIZED_RUNS = 100;

describe('LeaderElector under randomized faults', () => {
  it('never has two leaders at one instant, and elects one once the faults heal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.array(stepArb, { minLength: 5, maxLength: 60, size: 'max' }), async (seed, steps) => {
        const w = new World(seed);
        const ids = ['a', 'b', 'c'];
        for (const id of ids) w.start(id);
        for (const s of steps) {
          if (s.kind === 'advance') await w.advance(s.ms);
          else w.faults.set(s.who === 'leader' ? (w.leaders()[0]?.identity ?? 'a') : ids[s.who]!, { mode: s.mode, delayMs: s.delayMs });
        }
        // Liveness: with every fault healed, one candidate leads and stays leader.
        w.faults.clear();
        await w.advance(LIVENESS_MS);
        const leaders = w.leaders();
        expect(leaders).toHaveLength(1);
        await w.advance(LIVENESS_MS);
        expect(w.leaders()).toEqual(leaders);
        for (const c of w.candidates) expect(c.elector.leader()).toBe(leaders[0]!.identity);
        await w.shutdown();
        expect(w.lease().spec?.holderIdentity).toBe('');
      }),
      { numRuns: RANDOMIZED_RUNS },
    );
  });
});
