/**
 * What the benchmarks share: percentiles of a sorted sample, and a bounded wait
 * for a condition (every wait in a benchmark has a deadline).
 */
import { eventually } from '../chaos/cluster/poll.js';

/** Nearest-rank percentile of an ascending sample; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Resolves once `check` holds; throws naming `what` when it has not within `deadlineMs` (the chaos harness's poll). */
export async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs: number): Promise<void> {
  await eventually(what, async () => ((await check()) ? true : undefined), deadlineMs);
}
