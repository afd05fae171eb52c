/**
 * What the benchmarks share: percentiles of a sorted sample, the median of runs, and a bounded wait
 * for a condition (every wait in a benchmark has a deadline).
 */
import { eventually } from '../chaos/cluster/poll.js';

/** Nearest-rank percentile of an ascending sample; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The middle of the runs' figures (the upper middle for an even count); NaN when there are none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Resolves once `check` holds; throws naming `what` when it has not within `deadlineMs` (the chaos harness's poll). */
export async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs: number): Promise<void> {
  await eventually(what, async () => ((await check()) ? true : undefined), deadlineMs);
}
