/**
 * The chaos test of the durable store: concurrent clients against three real
 * master processes while the leader is SIGKILLed and restarted repeatedly. The
 * history must be linearizable and no acknowledged write may be lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NemesisFault, runKvChaos } from '../../chaos/kv/kv-chaos.js';

/** Ports 26000-26099 belong to this file. */
const BASE_PORT = 26_000;
const FAULT_PHASE_MS = 20_000;

describe('kv chaos: leader kills', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps the history linearizable and loses no acknowledged write while leaders are killed', async () => {
    const seed = Number(process.env['STRAKE_CHAOS_SEED'] ?? Date.now() % 1_000_000);
    console.log(`kv chaos seed ${seed} (replay the schedule with STRAKE_CHAOS_SEED=${seed})`);
    const dir = await mkdtemp(join(tmpdir(), 'strake-kv-chaos-'));
    dirs.push(dir);
    const r = await runKvChaos({ dir, basePort: BASE_PORT, seed, durationMs: FAULT_PHASE_MS, killEveryMs: 4000, downMs: 1000 });
    const summary = { seed, operations: r.operations, kills: r.kills, acked: r.ackedUniqueWrites, lost: r.lostWrites.length, check: r.check.result, stats: r.check.stats };
    console.log(`kv chaos result ${JSON.stringify(summary)}`);
    if (r.check.result !== 'ok' || r.lostWrites.length > 0) console.log(r.logTails);
    expect(r.kills).toBeGreaterThanOrEqual(2);
    expect(r.operations.ok).toBeGreaterThan(100);
    expect(r.ackedUniqueWrites).toBeGreaterThan(10);
    expect(r.lostWrites).toEqual([]);
    expect(r.check.result).toBe('ok');
  }, 180_000);

  it('keeps the history linearizable and loses no acknowledged write while the leader is isolated and the cluster split 2/1', async () => {
    const seed = Number(process.env['STRAKE_CHAOS_SEED'] ?? (Date.now() + 1) % 1_000_000);
    console.log(`kv chaos (partitions) seed ${seed} (replay the schedule with STRAKE_CHAOS_SEED=${seed})`);
    const dir = await mkdtemp(join(tmpdir(), 'strake-kv-chaos-'));
    dirs.push(dir);
    const r = await runKvChaos({ dir, basePort: BASE_PORT + 50, seed, durationMs: FAULT_PHASE_MS, killEveryMs: 4000, downMs: 2500, faults: [NemesisFault.IsolateLeader, NemesisFault.Split] });
    const summary = { seed, operations: r.operations, faults: r.faults, acked: r.ackedUniqueWrites, lost: r.lostWrites.length, check: r.check.result, stats: r.check.stats };
    console.log(`kv chaos result ${JSON.stringify(summary)}`);
    if (r.check.result !== 'ok' || r.lostWrites.length > 0) console.log(r.logTails);
    expect(r.faults['isolate-leader'] + r.faults.split).toBeGreaterThanOrEqual(2);
    expect(r.operations.ok).toBeGreaterThan(100);
    expect(r.ackedUniqueWrites).toBeGreaterThan(10);
    expect(r.lostWrites).toEqual([]);
    expect(r.check.result).toBe('ok');
  }, 180_000);
});
