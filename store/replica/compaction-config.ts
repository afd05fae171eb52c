/**
 * The auto-compaction flags of `strake master`, read the way etcd 3.4 reads
 * them (embed/config.go parseCompactionRetention):
 *
 *   --auto-compaction-mode periodic|revision   (default periodic)
 *   --auto-compaction-retention R              (default 0: off)
 *       periodic: a duration ("1h", "30m", "1h30m", "90s"), or a bare integer
 *                 counting hours ("1" = one hour)
 *       revision: a number of revisions to keep
 *   --auto-compaction-interval D               (Strake's own; default 5m)
 *       how often revision mode checks; etcd fixes it at 5 minutes
 */
import { MAX_REVISION } from '../mvcc/limits.js';
import {
  AutoCompactionMode,
  DEFAULT_REVISION_CHECK_INTERVAL_MS,
  PERIODIC_RETENTION_MS_MAX,
  PERIODIC_RETENTION_MS_MIN,
  REVISION_CHECK_INTERVAL_MS_MAX,
  REVISION_CHECK_INTERVAL_MS_MIN,
  formatDurationMs,
  type AutoCompactionConfig,
} from './compaction-schedule.js';

export class AutoCompactionConfigError extends Error {
  readonly code = 'AUTO_COMPACTION_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'AutoCompactionConfigError';
  }
}

export interface AutoCompactionFlags {
  readonly mode: string;
  readonly retention: string;
  /** Revision mode only; undefined = etcd's 5 minutes. */
  readonly interval?: string;
}

const MS_PER_UNIT: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 1e-3, 'µs': 1e-3, ns: 1e-6 };
/** One number and unit of a Go duration; "ms" is tried before "m". */
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;
/** Longer duration strings are not durations anyone types. */
const DURATION_TEXT_CHARS_MAX = 64;

/** Go's time.ParseDuration for unsigned durations, in whole milliseconds; undefined if it is not one. */
export function parseDurationMs(text: string): number | undefined {
  if (text.length === 0 || text.length > DURATION_TEXT_CHARS_MAX) return undefined;
  DURATION_PART.lastIndex = 0;
  let totalMs = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const m = DURATION_PART.exec(text);
    if (m === null) return undefined;
    totalMs += Number(m[1]) * MS_PER_UNIT[m[2]!]!;
  }
  return Math.round(totalMs);
}

/** The auto-compaction config, or undefined when it is off (retention 0); throws AutoCompactionConfigError. */
export function parseAutoCompaction(f: AutoCompactionFlags): AutoCompactionConfig | undefined {
  if (f.mode !== AutoCompactionMode.Periodic && f.mode !== AutoCompactionMode.Revision) {
    throw new AutoCompactionConfigError(`--auto-compaction-mode must be "periodic" or "revision", got "${f.mode}"`);
  }
  const retention = f.retention.trim();
  const count = /^\d+$/.test(retention) ? Number(retention) : undefined;
  if (count === 0) {
    if (f.interval !== undefined) throw new AutoCompactionConfigError('--auto-compaction-interval needs --auto-compaction-retention');
    return undefined;
  }
  if (f.mode === AutoCompactionMode.Revision) return revisionConfig(retention, count, f.interval);
  if (f.interval !== undefined) {
    throw new AutoCompactionConfigError('--auto-compaction-interval is for revision mode; periodic mode compacts every min(retention, 1h)');
  }
  const retentionMs = count !== undefined ? count * 3_600_000 : parseDurationMs(retention);
  if (retentionMs === undefined) {
    throw new AutoCompactionConfigError(`--auto-compaction-retention must be a duration like 1h or 30m, or a number of hours, got "${f.retention}"`);
  }
  mustBeWithin('--auto-compaction-retention', retentionMs, PERIODIC_RETENTION_MS_MIN, PERIODIC_RETENTION_MS_MAX);
  return { mode: AutoCompactionMode.Periodic, retentionMs };
}

function revisionConfig(retention: string, count: number | undefined, interval: string | undefined): AutoCompactionConfig {
  if (count === undefined || !Number.isSafeInteger(count) || count > MAX_REVISION) {
    throw new AutoCompactionConfigError(`--auto-compaction-retention in revision mode is a number of revisions, got "${retention}"`);
  }
  let checkIntervalMs = DEFAULT_REVISION_CHECK_INTERVAL_MS;
  if (interval !== undefined) {
    const ms = parseDurationMs(interval.trim());
    if (ms === undefined) throw new AutoCompactionConfigError(`--auto-compaction-interval must be a duration like 5m or 30s, got "${interval}"`);
    mustBeWithin('--auto-compaction-interval', ms, REVISION_CHECK_INTERVAL_MS_MIN, REVISION_CHECK_INTERVAL_MS_MAX);
    checkIntervalMs = ms;
  }
  return { mode: AutoCompactionMode.Revision, retentionRevisions: count, checkIntervalMs };
}

function mustBeWithin(flag: string, ms: number, minMs: number, maxMs: number): void {
  if (ms < minMs || ms > maxMs) {
    throw new AutoCompactionConfigError(`${flag} must be between ${formatDurationMs(minMs)} and ${formatDurationMs(maxMs)}, got ${formatDurationMs(ms)}`);
  }
}
