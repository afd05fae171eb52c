/**
 * `strake sim`: runs the deterministic simulator over a range of seeds (or
 * replays one), shows progress on stderr and ends with exactly one JSON line
 * on stdout. Exit code 0 when every seed passed, 1 when any failed, 2 for bad
 * flags.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import type { ReplicaCount } from './profile.js';
import { REPLICA_COUNTS } from './profile.js';
import type { BatchSummary } from './run-seeds.js';
import { addResult, emptySummary, runSeeds } from './run-seeds.js';
import { formatFailure, runSeed } from './simulator.js';
import { TRACE_EVENTS_DEFAULT } from './trace.js';

/** More seeds than this in one run is a typo, not a plan (10^7 seeds is days of CPU). */
export const SEEDS_MAX = 10_000_000;
/** Worker threads beyond the core count only add contention. */
export const WORKERS_MAX = 64;
/** Events kept per failure trace, at most. */
export const TRACE_EVENTS_MAX = 100_000;
/** Failing seeds printed with their full trace; further ones get one line each. */
export const FAILURES_PRINTED_MAX = 5;
/** How often progress is written to stderr. */
export const PROGRESS_INTERVAL_MS = 2_000;
/** Seeds per worker below which a worker thread is not worth starting. */
const SEEDS_PER_WORKER_MIN = 50;

interface RawFlags {
  readonly seeds?: string;
  readonly from?: string;
  readonly seed?: string;
  readonly replicas?: string;
  readonly workers?: string;
  readonly traceEvents?: string;
  readonly verbose?: boolean;
}

interface SimFlags {
  readonly seeds: number;
  readonly from: number;
  readonly seed: number | undefined;
  readonly replicas: ReplicaCount;
  readonly workers: number | undefined;
  readonly traceEvents: number;
  readonly verbose: boolean;
}

/** A flag the user got wrong; the message names the flag, the value and what is allowed. */
export class SimFlagError extends Error {
  readonly code = 'SIM_BAD_FLAG';
}

export function registerSimCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('sim')
    .description('run the deterministic Raft simulator (faults, crash-restart, invariant checks) over many seeds')
    .option('--seeds <n>', 'number of seeds to run', '100')
    .option('--from <seed>', 'first seed of the range', '1')
    .option('--seed <seed>', 'replay exactly this one seed; prints its trace on failure')
    .option('--replicas <n>', 'replicas per cluster: 3, 5 or 7', '3')
    .option('--workers <n>', 'worker threads (default: one per core)')
    .option('--trace-events <n>', 'events shown in a failure trace', String(TRACE_EVENTS_DEFAULT))
    .option('--verbose', 'with --seed: print every event as it happens')
    .exitOverride(usageErrorsExitWith2)
    .action(async (raw: RawFlags) => {
      let flags: SimFlags;
      try {
        flags = parseFlags(raw);
      } catch (err) {
        if (!(err instanceof SimFlagError)) throw err;
        process.stderr.write(`strake sim: ${err.message}\n`);
        setExitCode(2);
        return;
      }
      const summary = flags.seed !== undefined ? replayOne(flags) : await runRange(flags);
      process.stdout.write(`${summaryLine(summary)}\n`);
      setExitCode(summary.violations + summary.livenessFailures > 0 ? 1 : 0);
    });
}

/** Unknown options and missing values are usage errors, like bad values: exit code 2. Help stays 0. */
function usageErrorsExitWith2(err: CommanderError): never {
  if (err.exitCode === 0) throw err;
  throw new CommanderError(2, err.code, err.message);
}

export function parseFlags(raw: RawFlags): SimFlags {
  const replicas = parseInteger('--replicas', raw.replicas ?? '3', 0, Number.MAX_SAFE_INTEGER);
  if (!(REPLICA_COUNTS as readonly number[]).includes(replicas)) {
    throw new SimFlagError(`--replicas must be 3, 5 or 7, got ${raw.replicas}`);
  }
  const seed = raw.seed === undefined ? undefined : parseInteger('--seed', raw.seed, 0, Number.MAX_SAFE_INTEGER);
  const workers = raw.workers === undefined ? undefined : parseInteger('--workers', raw.workers, 1, WORKERS_MAX);
  const seeds = parseInteger('--seeds', raw.seeds ?? '100', 1, SEEDS_MAX);
  const from = parseInteger('--from', raw.from ?? '1', 0, Number.MAX_SAFE_INTEGER - seeds);
  return {
    seeds,
    from,
    seed,
    replicas: replicas as ReplicaCount,
    workers,
    traceEvents: parseInteger('--trace-events', raw.traceEvents ?? String(TRACE_EVENTS_DEFAULT), 0, TRACE_EVENTS_MAX),
    verbose: raw.verbose === true,
  };
}

function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new SimFlagError(`${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return n;
}

function replayOne(flags: SimFlags): BatchSummary {
  const seed = flags.seed!;
  process.stderr.write(`strake sim: replaying seed ${seed} with ${flags.replicas} replicas\n`);
  const echo = flags.verbose ? (line: string): boolean => process.stderr.write(`  ${line}\n`) : undefined;
  const result = runSeed({
    seed,
    replicas: flags.replicas,
    traceEvents: flags.traceEvents,
    ...(echo === undefined ? {} : { echo }),
  });
  const summary = emptySummary();
  addResult(summary, result);
  for (const line of formatFailure(result)) process.stderr.write(`${line}\n`);
  if (result.failure === undefined) {
    process.stderr.write(
      `seed ${seed} passed: ${result.ticks} ticks, ${result.elections} elections, commit index ${result.committed}, ` +
        `${result.proposalsAcked} proposals acknowledged, ${result.readsServed} reads served\n`,
    );
  }
  return summary;
}

async function runRange(flags: SimFlags): Promise<BatchSummary> {
  const started = Date.now();
  let lastProgress = started;
  const fromSource = import.meta.url.endsWith('.ts'); // workers need the compiled build
  const workers = fromSource
    ? 1
    : (flags.workers ?? Math.max(1, Math.min(availableParallelism(), Math.floor(flags.seeds / SEEDS_PER_WORKER_MIN))));
  const last = flags.from + flags.seeds - 1;
  process.stderr.write(
    `strake sim: seeds ${flags.from}..${last}, ${flags.replicas} replicas, ${workers} worker${workers === 1 ? '' : 's'}\n`,
  );
  const progressLine = (done: number, s: BatchSummary): string =>
    `strake sim: ${done}/${flags.seeds} seeds, ${s.violations} violations, ${s.livenessFailures} liveness failures, ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s\n`;
  const summary = await runSeeds({
    from: flags.from,
    count: flags.seeds,
    replicas: flags.replicas,
    workers,
    traceEvents: flags.traceEvents,
    onProgress: (done, s) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      process.stderr.write(progressLine(done, s));
    },
  });
  process.stderr.write(progressLine(summary.seeds, summary));
  reportFailures(summary);
  return summary;
}

function reportFailures(s: BatchSummary): void {
  s.failures.forEach((r, i) => {
    const lines = formatFailure(r);
    const shown = i < FAILURES_PRINTED_MAX ? lines : lines.slice(0, 2);
    for (const line of shown) process.stderr.write(`${line}\n`);
  });
  const failed = s.violations + s.livenessFailures;
  if (failed > s.failures.length) process.stderr.write(`(${failed - s.failures.length} more failing seeds not listed)\n`);
}

export function summaryLine(s: BatchSummary): string {
  return JSON.stringify({
    seeds: s.seeds,
    violations: s.violations,
    livenessFailures: s.livenessFailures,
    elections: s.elections,
    committed: s.committed,
    ticks: s.ticks,
  });
}
