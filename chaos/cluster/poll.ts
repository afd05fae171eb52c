/**
 * Bounded waiting on a cluster of real processes: polling for a condition and
 * retrying a call through an election. Every loop here ends at a deadline with
 * an error that says what was awaited and the last failure seen.
 */

/** Pause between two polls; loopback answers in milliseconds, an election takes about a second. */
export const POLL_INTERVAL_MS = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Retries `fn` while it throws, until it returns or `timeoutMs` passes; a returned value is never retried. */
export async function retryOnError<T>(what: string, fn: () => Promise<T>, timeoutMs: number, intervalMs = POLL_INTERVAL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${errorMessage(err)}`);
    }
    await sleep(intervalMs);
  }
}

/** Polls `check` until it returns a value other than undefined, bounded by `timeoutMs`; a throw counts as not yet. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = POLL_INTERVAL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt finished';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
      last = 'condition not met';
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}
