/**
 * When the leader compacts on its own (etcd 3.4's --auto-compaction-mode and
 * --auto-compaction-retention), as pure schedules: fed the clock and the
 * current revision at every tick, they answer "compact to revision R now" or
 * nothing. No timers here, so a test drives them with a fake clock; the
 * AutoCompactor (auto-compactor.ts) ticks them and proposes the compaction.
 *
 * - periodic: keep `retention` of history. The revision is sampled every
 *   min(retention, 1 h) / 10; the first compaction comes one retention after
 *   the start, then one every min(retention, 1 h), each to the oldest sample,
 *   taken about one retention ago (etcd v3compactor/periodic.go).
 * - revision: keep the last `retention` revisions. Every check interval (etcd:
 *   5 minutes; here --auto-compaction-interval, same default) the leader
 *   compacts to current - retention, unless that is where it compacted last
 *   (etcd v3compactor/revision.go).
 */

export const AutoCompactionMode = { Periodic: 'periodic', Revision: 'revision' } as const;
export type AutoCompactionMode = (typeof AutoCompactionMode)[keyof typeof AutoCompactionMode];

export type AutoCompactionConfig =
  | { readonly mode: 'periodic'; readonly retentionMs: number }
  | { readonly mode: 'revision'; readonly retentionRevisions: number; readonly checkIntervalMs: number };

/** etcd compacts at most this far apart in periodic mode, however long the retention. */
export const PERIODIC_COMPACT_INTERVAL_MS_MAX = 3_600_000;
/** etcd samples the revision this many times per periodic compaction interval (its retryDivisor). */
export const PERIODIC_SAMPLES_PER_INTERVAL = 10;
/** Below this the leader would sample and propose compactions several times a second. */
export const PERIODIC_RETENTION_MS_MIN = 1_000;
/** A year: longer retentions are typos, and each retention costs up to 10 samples per hour of it. */
export const PERIODIC_RETENTION_MS_MAX = 365 * 24 * 3_600_000;
/** etcd's revision-mode check interval (revInterval). */
export const DEFAULT_REVISION_CHECK_INTERVAL_MS = 300_000;
/** Shortest revision-mode check interval: one compaction proposal per 100 ms is plenty even for tests. */
export const REVISION_CHECK_INTERVAL_MS_MIN = 100;
/** A day: a longer interval is a typo; history would grow unchecked meanwhile. */
export const REVISION_CHECK_INTERVAL_MS_MAX = 24 * 3_600_000;

export interface CompactionSchedule {
  /** How often the AutoCompactor calls `tick`. */
  readonly tickIntervalMs: number;
  /** The retention as configured, for logs ("1h", "1000 revisions"). */
  readonly retention: string;
  /** Called once, when the compactor starts. */
  start(nowMs: number, currentRevision: number): void;
  /**
   * Called every tickIntervalMs. `canCompact` is false when this member does not
   * lead (or a compaction is still in flight): the schedule only keeps its
   * bookkeeping then. Returns the revision to compact to now, if any.
   */
  tick(nowMs: number, currentRevision: number, canCompact: boolean): number | undefined;
  /** The outcome of the compaction `tick` asked for; ok also when it was compacted already. */
  done(nowMs: number, revision: number, ok: boolean): void;
}

export class PeriodicSchedule implements CompactionSchedule {
  readonly tickIntervalMs: number;
  readonly retention: string;
  private readonly compactIntervalMs: number;
  /** Samples kept: one retention's worth, plus the one that starts it. */
  private readonly samplesMax: number;
  /** Revisions sampled every tick, oldest first; at most samplesMax. */
  private samples: number[] = [];
  private lastSuccessMs = 0;
  /** One retention before the first compaction, then the compaction interval. */
  private waitMs: number;

  constructor(retentionMs: number) {
    if (!(retentionMs >= PERIODIC_RETENTION_MS_MIN && retentionMs <= PERIODIC_RETENTION_MS_MAX)) {
      throw new RangeError(`periodic retention ${retentionMs} ms is outside ${PERIODIC_RETENTION_MS_MIN}..${PERIODIC_RETENTION_MS_MAX} ms`);
    }
    this.compactIntervalMs = Math.min(retentionMs, PERIODIC_COMPACT_INTERVAL_MS_MAX);
    this.tickIntervalMs = Math.floor(this.compactIntervalMs / PERIODIC_SAMPLES_PER_INTERVAL);
    this.samplesMax = Math.floor(retentionMs / this.tickIntervalMs) + 1;
    this.waitMs = retentionMs;
    this.retention = formatDurationMs(retentionMs);
  }

  start(nowMs: number, currentRevision: number): void {
    this.lastSuccessMs = nowMs;
    this.samples = [currentRevision];
  }

  tick(nowMs: number, currentRevision: number, canCompact: boolean): number | undefined {
    let target: number | undefined;
    if (canCompact && nowMs - this.lastSuccessMs >= this.waitMs) {
      this.waitMs = this.compactIntervalMs;
      target = this.samples[0];
    }
    // Sampled after the check, as etcd does: the oldest sample is a retention old when it is used.
    this.samples.push(currentRevision);
    if (this.samples.length > this.samplesMax) this.samples.shift();
    return target;
  }

  done(nowMs: number, _revision: number, ok: boolean): void {
    if (ok) this.lastSuccessMs = nowMs;
  }
}

export class RevisionSchedule implements CompactionSchedule {
  readonly retention: string;
  /** The revision of the last compaction this schedule asked for and got; 0 = none. */
  private previous = 0;

  constructor(
    private readonly retentionRevisions: number,
    readonly tickIntervalMs: number,
  ) {
    if (!Number.isSafeInteger(retentionRevisions) || retentionRevisions < 1) {
      throw new RangeError(`revision retention ${retentionRevisions} must be a positive integer`);
    }
    this.retention = `${retentionRevisions} revisions`;
  }

  start(): void {}

  tick(_nowMs: number, currentRevision: number, canCompact: boolean): number | undefined {
    if (!canCompact) return undefined;
    const target = currentRevision - this.retentionRevisions;
    return target <= 0 || target === this.previous ? undefined : target;
  }

  done(_nowMs: number, revision: number, ok: boolean): void {
    if (ok) this.previous = revision;
  }
}

export function scheduleFor(config: AutoCompactionConfig): CompactionSchedule {
  return config.mode === AutoCompactionMode.Periodic
    ? new PeriodicSchedule(config.retentionMs)
    : new RevisionSchedule(config.retentionRevisions, config.checkIntervalMs);
}

/** "1h30m", "2m", "1.5s", "500ms": how logs and errors show a duration. */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const parts: string[] = [];
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1_000;
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (seconds > 0) parts.push(`${seconds}s`);
  return parts.join('');
}
