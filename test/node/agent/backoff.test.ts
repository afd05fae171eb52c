import { describe, expect, it } from 'vitest';
import { Backoff, goDuration } from '../../../node/agent/backoff.js';

const T0 = 1_700_000_000_000;

describe('Backoff (crash-loop)', () => {
  it('restarts at once after the first exit, then waits 10 s doubling to 300 s since each exit', () => {
    const b = new Backoff();
    const key = 'uid/app';
    let now = T0;
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const exitMs = now;
      waits.push(b.remainingMs(key, exitMs, now));
      now += waits[waits.length - 1]!;
      b.next(key, exitMs, now);
      now += 1_000; // runs one second, then exits again
    }
    expect(waits).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(b.durationMs(key)).toBe(300_000);
  });

  it('starts over at 10 s after a run longer than 10 minutes (twice the maximum)', () => {
    const b = new Backoff();
    b.next('k', T0, T0);
    b.next('k', T0 + 1_000, T0 + 11_000);
    expect(b.durationMs('k')).toBe(20_000);
    const exitAfterLongRun = T0 + 11_000 + 600_001;
    expect(b.remainingMs('k', exitAfterLongRun, exitAfterLongRun)).toBe(0);
    b.next('k', exitAfterLongRun, exitAfterLongRun);
    expect(b.durationMs('k')).toBe(10_000);
  });

  it('keys are independent; reset, resetPrefix and gc forget them', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000 });
    b.next('u1/a', T0, T0);
    b.next('u1/b', T0, T0);
    b.next('u2/a', T0, T0);
    expect(b.remainingMs('u1/a', T0, T0 + 50)).toBe(50);
    b.reset('u1/a');
    expect(b.remainingMs('u1/a', T0, T0 + 50)).toBe(0);
    b.resetPrefix('u1/');
    expect(b.size).toBe(1);
    b.gc(T0 + 2_001);
    expect(b.size).toBe(0);
  });

  it('image pulls wait from the failure itself', () => {
    const b = new Backoff();
    b.next('img', T0, T0);
    expect(b.remainingSinceUpdateMs('img', T0 + 4_000)).toBe(6_000);
    expect(b.remainingSinceUpdateMs('img', T0 + 10_000)).toBe(0);
  });

  it('rejects settings that cannot work', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });

  it('prints durations as Go does', () => {
    expect([10_000, 20_000, 80_000, 160_000, 300_000, 3_600_000, 1_500, 250, 0].map(goDuration)).toEqual(['10s', '20s', '1m20s', '2m40s', '5m0s', '1h0m0s', '1.5s', '250ms', '0s']);
  });
});
