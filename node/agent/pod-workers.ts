/**
 * The per-pod workers: one serialized worker per pod uid (a uid is never
 * synced twice at once; an event arriving during a sync queues one more
 * sync after it), at most `concurrency` pods synced at once, delayed
 * requeues (back-off expiry, probes) and failed syncs retried with their own
 * back-off. Built on the controllers' WorkQueue, whose per-key guarantees are
 * exactly the kubelet's podWorkers'.
 */
import type { Clock } from '../../control-plane/client/clock.js';
import { WorkQueue } from '../../control-plane/client/work-queue.js';

/** Pods synced at once: enough to start many pods in parallel, few enough not to flood a runtime. */
export const POD_WORKERS_DEFAULT = 8;
/** A failed sync is retried after 500 ms doubling to 10 s (then every resync period keeps trying too). */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 10_000;

export class PodWorkers {
  private readonly queue: WorkQueue;
  private readonly failures = new Map<string, number>();
  private loops: Promise<void> | undefined;

  constructor(
    private readonly o: {
      readonly clock: Clock;
      readonly concurrency: number;
      readonly sync: (uid: string) => Promise<void>;
      readonly onError: (uid: string, err: unknown) => void;
    },
  ) {
    this.queue = new WorkQueue(o.clock);
  }

  enqueue(uid: string, delayMs = 0): void {
    if (delayMs > 0) this.queue.addAfter(uid, delayMs);
    else this.queue.add(uid);
  }

  start(): void {
    if (this.loops !== undefined) return;
    const loop = async (): Promise<void> => {
      for (;;) {
        const uid = await this.queue.get();
        if (uid === undefined) return;
        try {
          await this.o.sync(uid);
          this.failures.delete(uid);
        } catch (err) {
          const n = (this.failures.get(uid) ?? 0) + 1;
          this.failures.set(uid, n);
          this.o.onError(uid, err);
          this.queue.addAfter(uid, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (n - 1)));
        } finally {
          this.queue.done(uid);
        }
      }
    };
    this.loops = Promise.all(Array.from({ length: this.o.concurrency }, loop)).then(() => undefined);
  }

  /** Stops taking work; resolves once the syncs in flight have finished. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.loops;
  }

  /** Forgets a pod's failure count (it is gone). */
  forget(uid: string): void {
    this.failures.delete(uid);
  }
}
