/**
 * The controllers' keyed work queue, with client-go's guarantees:
 *  - a key is in the queue at most once (adding it again while queued does nothing);
 *  - a key is never handed to two workers at once: added while being
 *    processed, it is queued again only after `done(key)`;
 *  - `addRateLimited` delays a key exponentially per failure (5 ms doubling up
 *    to 1000 s, client-go's default item back-off) until `forget(key)`.
 *
 * Bound: keys are deduplicated, so the queue never holds more entries than
 * there are objects; every timer belongs to one key, cancelled on shutdown.
 */
import { realClock, type Clock } from './clock.js';

/** client-go's DefaultItemBasedRateLimiter bounds. */
export const RETRY_BASE_MS = 5;
export const RETRY_MAX_MS = 1_000_000;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added while processing: requeue at done(). */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { readonly atMs: number; readonly cancel: () => void }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shutting = false;

  constructor(private readonly clock: Clock = realClock) {}

  add(key: string): void {
    if (this.shutting) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  /** Adds `key` after `ms`; of two pending delays for one key, the sooner wins. */
  addAfter(key: string, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) return this.add(key);
    const atMs = this.clock.nowMs() + ms;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.atMs <= atMs) return;
      pending.cancel();
    }
    const cancel = this.clock.after(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { atMs, cancel });
  }

  /** Adds `key` after its back-off, which doubles with each call until `forget`. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** n));
  }

  /** Clears the key's back-off (after a successful sync). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; undefined once the queue is shut down. Call `done(key)` after. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shutting) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` processed; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shutting = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}

/**
 * Runs `workers` loops taking keys from `queue` and calling `sync(key)`: success
 * forgets the key's back-off, failure re-adds it rate-limited. Resolves when the
 * queue shuts down.
 */
export async function runWorkers(queue: WorkQueue, workers: number, sync: (key: string) => Promise<void>, onError: (key: string, err: unknown) => void): Promise<void> {
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (err) {
        onError(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
