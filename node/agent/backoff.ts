/**
 * The kubelet's crash-loop back-off (client-go flowcontrol.Backoff as the
 * kubelet configures it): a container that exits is restarted at once the
 * first time, then only after 10 s, 20 s, 40 s … up to 300 s since it
 * exited. An entry whose last restart is more than twice the maximum (10 min)
 * before the exit (the container ran that long) starts over at 10 s.
 *
 * The same rule paces image pulls that failed (ImagePullBackOff).
 *
 * Bound: one entry per key; entries idle for twice the maximum are dropped by
 * `gc()`, which the agent calls on its resync.
 */

export const BACKOFF_INITIAL_MS_DEFAULT = 10_000;
export const BACKOFF_MAX_MS_DEFAULT = 300_000;

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

/** What computePodActions needs to know of the back-off (it never changes it). */
export interface BackoffView {
  /** How long `key` must still wait after an exit at `eventMs`; 0 when it may restart now. */
  remainingMs(key: string, eventMs: number, nowMs: number): number;
  /** The key's current back-off (what CrashLoopBackOff messages name); 0 when it has none. */
  durationMs(key: string): number;
}

interface Entry {
  backoffMs: number;
  lastUpdateMs: number;
}

export class Backoff implements BackoffView {
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly entries = new Map<string, Entry>();

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? BACKOFF_INITIAL_MS_DEFAULT;
    this.maxMs = o.maxMs ?? BACKOFF_MAX_MS_DEFAULT;
    if (!(this.initialMs > 0 && this.maxMs >= this.initialMs)) throw new RangeError(`back-off needs 0 < initialMs <= maxMs, got ${this.initialMs} and ${this.maxMs}`);
  }

  remainingMs(key: string, eventMs: number, nowMs: number): number {
    const e = this.entries.get(key);
    if (e === undefined || this.expired(e, eventMs)) return 0;
    return Math.max(0, eventMs + e.backoffMs - nowMs);
  }

  /** How long `key` must still wait since its last `next` (image pulls: the failure itself is the event). */
  remainingSinceUpdateMs(key: string, nowMs: number): number {
    const e = this.entries.get(key);
    if (e === undefined || this.expired(e, nowMs)) return 0;
    return Math.max(0, e.lastUpdateMs + e.backoffMs - nowMs);
  }

  durationMs(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Records a restart after an exit at `eventMs`: the next exit waits twice as long (up to the max), or the initial back-off after a long run. */
  next(key: string, eventMs: number, nowMs: number): void {
    const e = this.entries.get(key);
    if (e === undefined || this.expired(e, eventMs)) this.entries.set(key, { backoffMs: this.initialMs, lastUpdateMs: nowMs });
    else this.entries.set(key, { backoffMs: Math.min(this.maxMs, e.backoffMs * 2), lastUpdateMs: nowMs });
  }

  /** Forgets `key` (its pod is gone). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries idle for twice the maximum back-off: they would start over anyway. */
  gc(nowMs: number): void {
    for (const [key, e] of this.entries) if (nowMs - e.lastUpdateMs > 2 * this.maxMs) this.entries.delete(key);
  }

  /** Forgets every key of `prefix` (a pod uid + '/'). */
  resetPrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(e: Entry, eventMs: number): boolean {
    return eventMs - e.lastUpdateMs > 2 * this.maxMs;
  }
}

/** A duration as Go prints it (`10s`, `1m20s`, `5m0s`), the form of the kubelet's back-off messages. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const sText = `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sText}`;
  if (m > 0) return `${m}m${sText}`;
  return sText;
}
