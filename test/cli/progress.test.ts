/**
 * The progress bar `strake kv snapshot status|restore` draws on stderr for
 * large files: one redrawn line on a terminal (throttled), a line per step
 * elsewhere, and a line end before anything else is printed.
 */
import { describe, expect, it } from 'vitest';
import { formatProgress, PROGRESS_LINE_STEP_PERCENT, ProgressBar } from '../../cli/kv/progress.js';

function sink(isTTY: boolean): { writes: string[]; out: { write(s: string): void; isTTY: boolean } } {
  const writes: string[] = [];
  return { writes, out: { write: (s: string) => void writes.push(s), isTTY } };
}

describe('formatProgress', () => {
  it('shows a bar, the percentage and the bytes done of the total', () => {
    expect(formatProgress('verifying', 50_000_000, 200_000_000)).toBe('verifying [#######.......................]  25% 50 MB / 200 MB');
    expect(formatProgress('writing  ', 200_000_000, 200_000_000)).toBe(`writing   [${'#'.repeat(30)}] 100% 200 MB / 200 MB`);
    expect(formatProgress('x', 5, 0)).toContain('100%');
  });
});

describe('ProgressBar', () => {
  it('on a terminal, redraws one line at most every 100 ms, always the last update, and ends the line', () => {
    const { writes, out } = sink(true);
    let now = 0;
    const bar = new ProgressBar(out, () => now);
    bar.update('verifying', 1, 100);
    now = 50;
    bar.update('verifying', 2, 100); // too soon: skipped
    now = 150;
    bar.update('verifying', 3, 100);
    now = 160;
    bar.update('verifying', 100, 100); // complete: always drawn
    bar.finish();
    expect(writes.map((w) => w.replace(/\x1b\[K$/, ''))).toEqual([
      `\r${formatProgress('verifying', 1, 100)}`,
      `\r${formatProgress('verifying', 3, 100)}`,
      `\r${formatProgress('verifying', 100, 100)}`,
      '\n',
    ]);
  });

  it('off a terminal, prints a line per step and starts a new phase on its own line', () => {
    const { writes, out } = sink(false);
    const bar = new ProgressBar(out, () => 0);
    for (let done = 0; done <= 1000; done += 10) bar.update('verifying', done, 1000);
    bar.update('writing  ', 0, 10);
    bar.finish();
    const steps = 100 / PROGRESS_LINE_STEP_PERCENT + 1;
    expect(writes).toHaveLength(steps + 1);
    expect(writes[0]).toBe(`${formatProgress('verifying', 0, 1000)}\n`);
    expect(writes[steps - 1]).toBe(`${formatProgress('verifying', 1000, 1000)}\n`);
    expect(writes[steps]).toBe(`${formatProgress('writing  ', 0, 10)}\n`);
  });
});
