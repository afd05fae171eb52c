/**
 * One pending wake-up per key: `at(key, dueMs)` re-queues the key at the
 * earliest time asked for. (WorkQueue.addAfter keeps an earlier-scheduled
 * LATER delay over a new sooner one, so a pod whose toleration ends first
 * could wait for another pod's longer one; this keeps the soonest.)
 *
 * Bound: one timer per key; keys are nodes.
 */
import type { Clock } from '../../client/clock.js';

export class Wakeups {
  private readonly pending = new Map<string, { dueMs: number; cancel: () => void }>();

  constructor(
    private readonly clock: Clock,
    private readonly wake: (key: string) => void,
  ) {}

  at(key: string, dueMs: number): void {
    const old = this.pending.get(key);
    if (old !== undefined && old.dueMs <= dueMs) return;
    old?.cancel();
    const cancel = this.clock.after(Math.max(0, dueMs - this.clock.nowMs()), () => {
      this.pending.delete(key);
      this.wake(key);
    });
    this.pending.set(key, { dueMs, cancel });
  }

  cancel(key: string): void {
    this.pending.get(key)?.cancel();
    this.pending.delete(key);
  }

  cancelAll(): void {
    for (const w of this.pending.values()) w.cancel();
    this.pending.clear();
  }
}
