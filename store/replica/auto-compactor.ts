/**
 * Automatic compaction, proposed by the leader alone (like the lease keeper):
 * every member ticks its schedule (compaction-schedule.ts) so that a periodic
 * schedule keeps sampling revisions while the member follows, but only the
 * leader proposes; etcd pauses its compactor the same way on followers. The
 * compaction is an ordinary "compact" command, so every member applies it at
 * the same log index and the MVCC state stays deterministic.
 */
import { MvccErrorCode } from '../mvcc/errors.js';
import type { CompactionSchedule } from './compaction-schedule.js';
import { formatDurationMs } from './compaction-schedule.js';

export interface AutoCompactorOptions {
  readonly schedule: CompactionSchedule;
  /** Whether this member leads right now. */
  isLeader(): boolean;
  currentRevision(): number;
  compactRevision(): number;
  /** Proposes a compaction to `revision`; resolves once applied, rejects with its error. */
  compact(revision: number): Promise<void>;
  log(line: string): void;
  /** The clock; Date.now by default. */
  readonly nowMs?: () => number;
}

export class AutoCompactor {
  private timer: NodeJS.Timeout | undefined;
  /** A compaction is proposed and not yet answered: at most one at a time, as etcd's loop. */
  private inFlight = false;
  private readonly now: () => number;

  constructor(private readonly o: AutoCompactorOptions) {
    this.now = o.nowMs ?? Date.now;
  }

  start(): void {
    this.o.schedule.start(this.now(), this.o.currentRevision());
    this.timer = setInterval(() => void this.tick(), this.o.schedule.tickIntervalMs);
    this.timer.unref();
    this.o.log(`auto compaction: keeping ${this.o.schedule.retention} of history, checked every ${formatDurationMs(this.o.schedule.tickIntervalMs)}`);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One step of the schedule; resolves when the compaction it started (if any) is answered. */
  async tick(): Promise<void> {
    const { schedule } = this.o;
    const target = schedule.tick(this.now(), this.o.currentRevision(), !this.inFlight && this.o.isLeader());
    if (target === undefined) return;
    if (target <= this.o.compactRevision()) {
      schedule.done(this.now(), target, true); // etcd counts "already compacted" as done
      return;
    }
    this.inFlight = true;
    this.o.log(`auto compaction: compacting at revision ${target} (retention: ${schedule.retention})`);
    try {
      await this.o.compact(target);
      schedule.done(this.now(), target, true);
      this.o.log(`auto compaction: compacted at revision ${target}`);
    } catch (err) {
      const compacted = (err as { code?: unknown }).code === MvccErrorCode.Compacted;
      schedule.done(this.now(), target, compacted);
      if (!compacted) this.o.log(`auto compaction: failed at revision ${target} (${err instanceof Error ? err.message : String(err)}); retrying`);
    } finally {
      this.inFlight = false;
    }
  }
}
