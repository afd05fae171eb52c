/**
 * Kubernetes' slowStartBatch: runs `count` calls of `fn` in batches of 1, 2,
 * 4, … (each batch in parallel), and stops before the next batch once any
 * call of a batch fails. A controller that cannot create (quota, admission,
 * a missing service account) then fails after a handful of requests instead
 * of sending hundreds that would all be refused.
 */

/** The first batch: a single call tells whether creating works at all. */
export const SLOW_START_INITIAL_BATCH = 1;

export interface SlowStartResult {
  /** Calls that succeeded. The rest either failed or were never made. */
  readonly succeeded: number;
  /** The first failure of the batch that stopped the run, if any. */
  readonly error: unknown;
  readonly failed: boolean;
}

export async function slowStartBatch(count: number, initialBatch: number, fn: () => Promise<void>): Promise<SlowStartResult> {
  let remaining = count;
  let succeeded = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    succeeded += batch - failures.length;
    const first = failures[0];
    if (first !== undefined) return { succeeded, error: first.reason, failed: true };
    remaining -= batch;
  }
  return { succeeded, error: undefined, failed: false };
}
