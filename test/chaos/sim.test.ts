/**
 * The deterministic simulator over many seeds: crashes with lost unsynced
 * writes, a lossy, duplicating, reordering, partitioned network, membership
 * changes and leadership transfers — and every invariant checked after every
 * step. A failing seed is printed with its trace and replays with
 * `strake sim --seed S --replicas N`.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaCount } from '../../chaos/sim/profile.js';
import type { SeedResult } from '../../chaos/sim/simulator.js';
import { formatFailure, runSeed } from '../../chaos/sim/simulator.js';

/** 150 + 150 seeds (3 and 5 replicas) plus a few 7-replica ones: the 300-seed floor, in well under two minutes. */
const SEEDS_PER_SIZE = 150;
const SEVEN_REPLICA_SEEDS = 20;

function runRange(from: number, count: number, replicas: ReplicaCount): { failures: SeedResult[]; committed: number } {
  const failures: SeedResult[] = [];
  let committed = 0;
  for (let seed = from; seed < from + count; seed++) {
    const r = runSeed({ seed, replicas });
    committed += r.committed;
    if (r.failure !== undefined) failures.push(r);
  }
  return { failures, committed };
}

function report(failures: readonly SeedResult[]): string {
  return failures.map((r) => formatFailure(r).join('\n')).join('\n\n');
}

describe('deterministic simulation', () => {
  it.each([3, 5] as const)(`${SEEDS_PER_SIZE} seeds with %i replicas: no violations, always live`, (replicas) => {
    const { failures, committed } = runRange(1, SEEDS_PER_SIZE, replicas);
    expect(failures, report(failures)).toEqual([]);
    // The load really ran: a couple of hundred entries per seed on average.
    expect(committed).toBeGreaterThan(SEEDS_PER_SIZE * 100);
  });

  it(`${SEVEN_REPLICA_SEEDS} seeds with 7 replicas`, () => {
    const { failures } = runRange(1, SEVEN_REPLICA_SEEDS, 7);
    expect(failures, report(failures)).toEqual([]);
  });

  it('replays a seed exactly: same result, same trace', () => {
    const traceOf = (seed: number): { result: SeedResult; lines: string[] } => {
      const lines: string[] = [];
      const result = runSeed({ seed, replicas: 5, echo: (l) => lines.push(l) });
      return { result, lines };
    };
    const a = traceOf(42);
    const b = traceOf(42);
    expect(b.result).toEqual(a.result);
    expect(b.lines).toEqual(a.lines);
    expect(a.lines.length).toBeGreaterThan(1000);
    expect(traceOf(43).lines).not.toEqual(a.lines);
  });
});
