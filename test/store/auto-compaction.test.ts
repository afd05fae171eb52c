/**
 * Automatic compaction with a fake clock: the schedules of etcd 3.4's periodic
 * and revision modes (store/replica/compaction-schedule.ts), the compactor that
 * only proposes while its member leads (auto-compactor.ts), and how the
 * `strake master` flags are read (compaction-config.ts).
 */
import { describe, expect, it } from 'vitest';
import { CompactedError } from '../../store/mvcc/errors.js';
import { AutoCompactor } from '../../store/replica/auto-compactor.js';
import { AutoCompactionConfigError, parseAutoCompaction, parseDurationMs } from '../../store/replica/compaction-config.js';
import { PeriodicSchedule, RevisionSchedule, type CompactionSchedule } from '../../store/replica/compaction-schedule.js';

const SECOND_MS = 1_000;
const HOUR_MS = 3_600_000;

/**
 * Runs a schedule on a fake clock: one write per second (revision = 1 + elapsed
 * seconds), a tick every tickIntervalMs, every requested compaction succeeding.
 * Returns [time, revision compacted to] for each compaction.
 */
function run(schedule: CompactionSchedule, untilMs: number, leading: (nowMs: number) => boolean = () => true): Array<[number, number]> {
  const revisionAt = (ms: number): number => 1 + Math.floor(ms / SECOND_MS);
  const compactions: Array<[number, number]> = [];
  schedule.start(0, revisionAt(0));
  for (let now = schedule.tickIntervalMs; now <= untilMs; now += schedule.tickIntervalMs) {
    const target = schedule.tick(now, revisionAt(now), leading(now));
    if (target === undefined) continue;
    compactions.push([now, target]);
    schedule.done(now, target, true);
  }
  return compactions;
}

describe('periodic mode (etcd v3compactor/periodic.go)', () => {
  it('samples every retention/10, compacts first after one retention, then every retention, keeping at least a retention of history', () => {
    const s = new PeriodicSchedule(10 * SECOND_MS);
    expect(s.tickIntervalMs).toBe(SECOND_MS);
    const compactions = run(s, 40 * SECOND_MS);
    expect(compactions.map(([t]) => t)).toEqual([10, 20, 30, 40].map((x) => x * SECOND_MS));
    // The first compacts to the revision at the start; later ones to the one sampled ~11 s before.
    expect(compactions.map(([, rev]) => rev)).toEqual([1, 10, 20, 30]);
    for (const [t, rev] of compactions) expect(rev).toBeLessThanOrEqual(1 + (t - 10 * SECOND_MS) / SECOND_MS);
  });

  it('above an hour of retention samples every 6 minutes and compacts hourly, to the revision a retention ago', () => {
    const s = new PeriodicSchedule(2 * HOUR_MS);
    expect(s.tickIntervalMs).toBe(6 * 60_000);
    const compactions = run(s, 5 * HOUR_MS);
    expect(compactions.map(([t]) => t / HOUR_MS)).toEqual([2, 3, 4, 5]);
    const revisionAt = (ms: number): number => 1 + Math.floor(ms / SECOND_MS);
    for (const [t, rev] of compactions) {
      expect(rev).toBeLessThanOrEqual(revisionAt(t - 2 * HOUR_MS));
      expect(rev).toBeGreaterThanOrEqual(revisionAt(t - 2 * HOUR_MS - s.tickIntervalMs));
    }
  });

  it('keeps sampling while its member follows, so a new leader compacts to a revision a retention old at once', () => {
    const s = new PeriodicSchedule(10 * SECOND_MS);
    const compactions = run(s, 30 * SECOND_MS, (now) => now >= 25 * SECOND_MS);
    expect(compactions).toEqual([[25 * SECOND_MS, 15]]);
  });

  it('retries every tick after a failed compaction, and waits a full interval after a success', () => {
    const s = new PeriodicSchedule(10 * SECOND_MS);
    s.start(0, 1);
    for (let t = 1; t < 10; t++) expect(s.tick(t * SECOND_MS, 1 + t, true)).toBeUndefined();
    expect(s.tick(10 * SECOND_MS, 11, true)).toBe(1);
    s.done(10 * SECOND_MS, 1, false);
    expect(s.tick(11 * SECOND_MS, 12, true)).toBe(1); // the oldest sample is still the start's
    s.done(11 * SECOND_MS, 1, true);
    for (let t = 12; t < 21; t++) expect(s.tick(t * SECOND_MS, 1 + t, true)).toBeUndefined();
    expect(s.tick(21 * SECOND_MS, 22, true)).toBeDefined();
  });

  it('refuses a retention below a second', () => {
    expect(() => new PeriodicSchedule(999)).toThrow(RangeError);
  });
});

describe('revision mode (etcd v3compactor/revision.go)', () => {
  it('compacts to current - retention each check, unless that is where it compacted last', () => {
    const s = new RevisionSchedule(5, 1_000);
    s.start();
    expect(s.tick(0, 5, true)).toBeUndefined(); // nothing older than 5 revisions yet
    expect(s.tick(0, 20, true)).toBe(15);
    s.done(0, 15, true);
    expect(s.tick(0, 20, true)).toBeUndefined(); // idle cluster: no repeated compaction
    expect(s.tick(0, 21, true)).toBe(16);
    s.done(0, 16, false);
    expect(s.tick(0, 21, true)).toBe(16); // failed: asked again
  });

  it('proposes nothing while its member follows', () => {
    const s = new RevisionSchedule(5, 1_000);
    expect(s.tick(0, 100, false)).toBeUndefined();
    expect(s.tick(0, 100, true)).toBe(95);
  });
});

/** An AutoCompactor over a fake member: a settable leader flag, revisions and a recorded compact(). */
function fakeMember(schedule: CompactionSchedule, o: { compactError?: Error } = {}) {
  const m = {
    leader: true,
    revision: 100,
    compactRevision: 0,
    compacted: [] as number[],
    logs: [] as string[],
    pending: undefined as undefined | (() => void),
    holdCompactions: false,
  };
  const compactor = new AutoCompactor({
    schedule,
    isLeader: () => m.leader,
    currentRevision: () => m.revision,
    compactRevision: () => m.compactRevision,
    compact: async (revision) => {
      m.compacted.push(revision);
      if (m.holdCompactions) await new Promise<void>((resolve) => (m.pending = resolve));
      if (o.compactError !== undefined) throw o.compactError;
      m.compactRevision = revision;
    },
    log: (line) => m.logs.push(line),
    nowMs: () => 0,
  });
  return { m, compactor };
}

describe('AutoCompactor', () => {
  it('proposes only while its member leads, and logs the compaction', async () => {
    const { m, compactor } = fakeMember(new RevisionSchedule(10, 1_000));
    m.leader = false;
    await compactor.tick();
    expect(m.compacted).toEqual([]);
    m.leader = true;
    await compactor.tick();
    expect(m.compacted).toEqual([90]);
    expect(m.logs).toEqual(['auto compaction: compacting at revision 90 (retention: 10 revisions)', 'auto compaction: compacted at revision 90']);
  });

  it('has at most one compaction in flight', async () => {
    const { m, compactor } = fakeMember(new RevisionSchedule(10, 1_000));
    m.holdCompactions = true;
    const first = compactor.tick();
    m.revision = 200;
    await compactor.tick();
    expect(m.compacted).toEqual([90]);
    m.pending?.();
    await first;
    m.holdCompactions = false;
    await compactor.tick();
    expect(m.compacted).toEqual([90, 190]);
  });

  it('counts "already compacted" as done, proposing nothing at or below the compact revision', async () => {
    const { m, compactor } = fakeMember(new RevisionSchedule(10, 1_000), { compactError: new CompactedError(90, 95) });
    await compactor.tick();
    expect(m.compacted).toEqual([90]);
    await compactor.tick();
    expect(m.compacted).toEqual([90]); // the schedule took the compacted error as success
    m.compactRevision = 150;
    m.revision = 160;
    await compactor.tick();
    expect(m.compacted).toEqual([90]); // 150 is compacted already: nothing proposed
  });
});

describe('the auto-compaction flags (etcd parseCompactionRetention)', () => {
  it('reads Go durations', () => {
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1.5s')).toBe(1_500);
    expect(parseDurationMs('2m3s')).toBe(123_000);
    for (const bad of ['', '10', '1d', 'h', '1h x', '-1s']) expect(parseDurationMs(bad), bad).toBeUndefined();
  });

  it('is off by default; periodic takes a duration or a number of hours; revision a count and an interval', () => {
    expect(parseAutoCompaction({ mode: 'periodic', retention: '0' })).toBeUndefined();
    expect(parseAutoCompaction({ mode: 'periodic', retention: '1' })).toEqual({ mode: 'periodic', retentionMs: HOUR_MS });
    expect(parseAutoCompaction({ mode: 'periodic', retention: '30m' })).toEqual({ mode: 'periodic', retentionMs: 30 * 60_000 });
    expect(parseAutoCompaction({ mode: 'revision', retention: '1000' })).toEqual({ mode: 'revision', retentionRevisions: 1000, checkIntervalMs: 300_000 });
    expect(parseAutoCompaction({ mode: 'revision', retention: '10', interval: '500ms' })).toEqual({ mode: 'revision', retentionRevisions: 10, checkIntervalMs: 500 });
  });

  it('refuses what etcd would misread, naming the flag and the value', () => {
    const cases: Array<[Parameters<typeof parseAutoCompaction>[0], RegExp]> = [
      [{ mode: 'hourly', retention: '1' }, /--auto-compaction-mode must be "periodic" or "revision", got "hourly"/],
      [{ mode: 'revision', retention: '1h' }, /revision mode is a number of revisions, got "1h"/],
      [{ mode: 'periodic', retention: 'soon' }, /must be a duration like 1h or 30m, or a number of hours, got "soon"/],
      [{ mode: 'periodic', retention: '100ms' }, /--auto-compaction-retention must be between 1s and 8760h, got 100ms/],
      [{ mode: 'periodic', retention: '1h', interval: '1m' }, /--auto-compaction-interval is for revision mode/],
      [{ mode: 'revision', retention: '10', interval: '10ms' }, /--auto-compaction-interval must be between 100ms and 24h, got 10ms/],
    ];
    for (const [flags, message] of cases) {
      expect(() => parseAutoCompaction(flags), JSON.stringify(flags)).toThrow(AutoCompactionConfigError);
      expect(() => parseAutoCompaction(flags)).toThrow(message);
    }
  });
});
