/**
 * Runs a range of seeds, in this thread or across worker threads, and sums
 * the results. Totals do not depend on the number of workers: each seed's
 * result depends on the seed alone.
 */
import { Worker } from 'node:worker_threads';
import { assert } from '../../raft/core/assert.js';
import type { ReplicaCount } from './profile.js';
import type { SeedResult } from './simulator.js';
import { runSeed } from './simulator.js';

/** Seeds handed to a worker at once: large enough to amortize messaging, small enough to balance load. */
export const SEEDS_PER_JOB = 20;
/** Failing seeds whose full results are kept for printing; the rest are only counted. */
export const FAILURES_KEPT_MAX = 20;

export interface BatchOptions {
  readonly from: number;
  readonly count: number;
  readonly replicas: ReplicaCount;
  /** 1 runs in this thread; more spawns that many worker threads (compiled build only). */
  readonly workers: number;
  readonly traceEvents?: number;
  /** Called after each finished seed (in-thread) or job (workers), with seeds done so far. */
  readonly onProgress?: (done: number, summary: BatchSummary) => void;
}

export interface BatchSummary {
  seeds: number;
  violations: number;
  livenessFailures: number;
  elections: number;
  committed: number;
  ticks: number;
  /** The first FAILURES_KEPT_MAX failing seeds, in seed order. */
  failures: SeedResult[];
}

export interface WorkerJob {
  readonly seeds: readonly number[];
  readonly replicas: ReplicaCount;
  readonly traceEvents?: number;
}

export function emptySummary(): BatchSummary {
  return { seeds: 0, violations: 0, livenessFailures: 0, elections: 0, committed: 0, ticks: 0, failures: [] };
}

export function addResult(s: BatchSummary, r: SeedResult): void {
  s.seeds++;
  s.elections += r.elections;
  s.committed += r.committed;
  s.ticks += r.ticks;
  if (r.failure === undefined) return;
  if (r.failure.invariant === 'liveness') s.livenessFailures++;
  else s.violations++;
  s.failures.push(r);
  s.failures.sort((a, b) => a.seed - b.seed);
  if (s.failures.length > FAILURES_KEPT_MAX) s.failures.length = FAILURES_KEPT_MAX;
}

export async function runSeeds(o: BatchOptions): Promise<BatchSummary> {
  assert(o.workers >= 1 && Number.isInteger(o.workers), () => `workers must be a positive integer, got ${o.workers}`);
  return o.workers === 1 ? runInThread(o) : runInWorkers(o);
}

function runInThread(o: BatchOptions): BatchSummary {
  const summary = emptySummary();
  for (let k = 0; k < o.count; k++) {
    const options = { seed: o.from + k, replicas: o.replicas };
    addResult(summary, runSeed(o.traceEvents === undefined ? options : { ...options, traceEvents: o.traceEvents }));
    o.onProgress?.(summary.seeds, summary);
  }
  return summary;
}

async function runInWorkers(o: BatchOptions): Promise<BatchSummary> {
  const summary = emptySummary();
  let nextSeed = o.from;
  const end = o.from + o.count;
  const takeJob = (): WorkerJob | undefined => {
    if (nextSeed >= end) return undefined;
    const seeds: number[] = [];
    for (; seeds.length < SEEDS_PER_JOB && nextSeed < end; nextSeed++) seeds.push(nextSeed);
    return { seeds, replicas: o.replicas, ...(o.traceEvents === undefined ? {} : { traceEvents: o.traceEvents }) };
  };
  const workerCount = Math.min(o.workers, Math.ceil(o.count / SEEDS_PER_JOB));
  const url = new URL('./sim-worker.js', import.meta.url);
  const runOne = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(url);
      const feed = (): void => {
        const job = takeJob();
        if (job === undefined) {
          void worker.terminate().then(() => resolve(), reject);
          return;
        }
        worker.postMessage(job);
      };
      worker.on('message', (results: SeedResult[]) => {
        for (const r of results) addResult(summary, r);
        o.onProgress?.(summary.seeds, summary);
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: workerCount }, runOne));
  return summary;
}
