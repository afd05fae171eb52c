/**
 * Property: lease expiry stays safe and live across leader changes.
 *
 * Three replicas apply the same log of real MVCC lease commands (lease-sim.ts):
 * clocks skewed by up to CLOCK_SKEW_MAX_MS, apply lags, commit latencies per
 * term, leaders changing at random times (their uncommitted entries dropped or
 * carried over), and clients sending keep-alives at random gaps around their
 * TTL until they stop. Each member's keeper decision is the real
 * `decideLeaseCommands` (store/replica/lease-keeper.ts).
 *
 * Safety: no lease is revoked before its TTL has passed since the sending of
 * the last keep-alive (or grant) that succeeded, in real time.
 * Liveness: with one leader since its election E, a lease whose keep-alives
 * stopped is revoked by max(last keep-alive + TTL, P + election timeout + TTL)
 * + one check interval + one commit latency, where P, the promote, is proposed
 * at the first check after the leader's no-op commits (E + latency + one check
 * interval at most).
 *
 * fast-check prints the seed and the shrunk plan on failure. Planted broken
 * keepers at the end prove both properties can fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideLeaseCommands, type LeaseCheckInput, type LeaseKeeperCommand, type LeaseKeeperMemory } from '../../store/replica/lease-keeper.js';
import { LEASE_EXPIRY_CHECK_MS } from '../../store/replica/limits.js';
import { LeaseSim, REPLICAS, TICK_MS, type Decide, type LeaderChange, type LeasePlan, type LeaseSimConfig } from './lease-sim.js';

const RUNS = 300;
const PLANTED_RUNS = 300;
const PLANTED_SEED = 20_240_918;
/** Far beyond NTP's usual error: the design must not depend on synchronized clocks at all. */
const CLOCK_SKEW_MAX_MS = 3_000;
const APPLY_LAG_MAX_MS = 200;
const COMMIT_LATENCY_MAX_MS = 400;
/** Longer than the liveness bound for the largest TTL: 5 s + 1 s extension + 2 checks + 2 latencies + lag. */
const STABLE_TAIL_MS = 10_000;
const TTL_SECONDS_MAX = 5;

const ticks = (minMs: number, maxMs: number): fc.Arbitrary<number> =>
  fc.integer({ min: minMs / TICK_MS, max: maxMs / TICK_MS }).map((n) => n * TICK_MS);

const leasePlan: fc.Arbitrary<LeasePlan> = fc.record({
  ttlSeconds: fc.integer({ min: 2, max: TTL_SECONDS_MAX }),
  grantAtMs: ticks(0, 4_000),
  // Mostly well inside the TTL, sometimes just short of it (a keep-alive racing
  // the expiry check), sometimes past it (a legitimate expiry).
  member: fc.nat(REPLICAS - 1),
  keepAliveGapsPct: fc.array(fc.oneof(fc.integer({ min: 20, max: 60 }), fc.integer({ min: 85, max: 100 }), fc.integer({ min: 101, max: 120 })), { maxLength: 10, size: 'max' }),
});

const leaderChange: fc.Arbitrary<LeaderChange> = fc.record({
  afterMs: ticks(200, 6_000),
  gapMs: ticks(0, 2_500),
  next: fc.nat(REPLICAS - 1),
  keepPending: fc.boolean(),
  latencyMs: ticks(TICK_MS, COMMIT_LATENCY_MAX_MS),
  refusesFirstProposal: fc.boolean(),
});

const perReplica = (a: fc.Arbitrary<number>): fc.Arbitrary<number[]> => fc.array(a, { minLength: REPLICAS, maxLength: REPLICAS });

const config: fc.Arbitrary<LeaseSimConfig> = fc.record({
  skewsMs: perReplica(ticks(-CLOCK_SKEW_MAX_MS, CLOCK_SKEW_MAX_MS)),
  checkPhasesMs: perReplica(ticks(0, LEASE_EXPIRY_CHECK_MS - TICK_MS)),
  applyLagsMs: perReplica(ticks(0, APPLY_LAG_MAX_MS)),
  firstLatencyMs: ticks(TICK_MS, COMMIT_LATENCY_MAX_MS),
  leases: fc.array(leasePlan, { minLength: 1, maxLength: 4, size: 'max' }),
  changes: fc.array(leaderChange, { maxLength: 6, size: 'max' }),
  stableTailMs: fc.constant(STABLE_TAIL_MS),
});

interface Totals {
  revokes: number;
  livenessChecked: number;
}

function leasesStaySafeAndLive(decide: Decide, totals?: Totals, receiverStamps = false): fc.IPropertyWithHooks<[LeaseSimConfig]> {
  return fc.property(config, (c) => {
    const r = new LeaseSim({ ...c, receiverStamps }, decide).run();
    if (totals !== undefined) {
      totals.revokes += r.revokes;
      totals.livenessChecked += r.livenessChecked;
    }
    if (r.violations.length > 0) throw new Error(r.violations.join('\n'));
  });
}

/**
 * Planted bug (the keeper as it was): counts its promote as done once proposed,
 * so a refused promote is never retried and the term runs on the old leader's
 * clock readings.
 */
const trustsItsPromoteOnceProposed: Decide = (memory, input) => {
  const commands = decideLeaseCommands(memory, input);
  if (commands.some((c) => c.op === 'leasePromote')) memory.promoteApplied = true;
  return commands;
};

/** Planted bug (the revokes as they were): unconditional, so a keep-alive committed meanwhile is overruled. */
const revokesUnconditionally: Decide = (memory, input) =>
  decideLeaseCommands(memory, input).map((c) => (c.op === 'leaseRevoke' ? { op: c.op, request: { id: c.request.id } } : c));

/** Planted bug: no promote; a new leader judges the old leader's expiries by its own clock. */
const neverPromotes: Decide = (memory, input) => {
  if (input.isLeader && memory.term !== input.term) {
    decideLeaseCommands(memory, input);
    memory.promoteApplied = true;
    return [];
  }
  return decideLeaseCommands(memory, input);
};

/** Planted bug: a leader that revoked nothing in its first check stops looking (a liveness bug). */
function givesUpAfterFirstCheck(): Decide {
  const quiet = new WeakSet<LeaseKeeperMemory>();
  return (memory: LeaseKeeperMemory, input: LeaseCheckInput): LeaseKeeperCommand[] => {
    if (quiet.has(memory) && memory.term === input.term) return [];
    const commands = decideLeaseCommands(memory, input);
    if (memory.promoteApplied && commands.length === 0) quiet.add(memory);
    else quiet.delete(memory);
    return commands;
  };
}

describe('leases across leader changes (model with real lessors and the real keeper decision)', () => {
  it('revokes no lease early and every abandoned lease in time', () => {
    const totals: Totals = { revokes: 0, livenessChecked: 0 };
    fc.assert(leasesStaySafeAndLive(decideLeaseCommands, totals), { numRuns: RUNS });
    // The runs must exercise both properties, not pass vacuously.
    expect(totals.revokes).toBeGreaterThan(RUNS);
    expect(totals.livenessChecked).toBeGreaterThan(RUNS);
  });
});

describe('lease failover property: catches planted bugs', () => {
  const planted: readonly [string, () => Decide][] = [
    ['a keeper that trusts its promote once proposed', () => trustsItsPromoteOnceProposed],
    ['a keeper whose revokes overrule a keep-alive committed meanwhile', () => revokesUnconditionally],
    ['a keeper that never promotes', () => neverPromotes],
    ['a keeper that stops checking', givesUpAfterFirstCheck],
  ];
  for (const [name, decide] of planted) {
    it(`catches ${name}`, () => {
      const details = fc.check(leasesStaySafeAndLive(decide()), { numRuns: PLANTED_RUNS, seed: PLANTED_SEED });
      expect(details.failed, `no counterexample in ${PLANTED_RUNS} runs of seed ${PLANTED_SEED}`).toBe(true);
    });
  }

  // RaftBackend.leaseGrant/leaseKeepAlive stamp nowMs with the clock of the member
  // that received the call, a follower as often as not; the leader then judges
  // that expiry by its own clock. With skewed clocks a lease dies early.
  it('catches keep-alives stamped with the receiving member\'s clock instead of the leader\'s', () => {
    const details = fc.check(leasesStaySafeAndLive(decideLeaseCommands, undefined, true), { numRuns: PLANTED_RUNS, seed: PLANTED_SEED });
    expect(details.failed, `no counterexample in ${PLANTED_RUNS} runs of seed ${PLANTED_SEED}`).toBe(true);
    expect(String(details.errorInstance)).toMatch(/revoked at .* must live until/);
  });
});
