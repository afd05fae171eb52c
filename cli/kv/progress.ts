/**
 * A progress bar on stderr for long file work: reading and verifying a large
 * snapshot, writing a restored member. On a terminal it redraws one line; on
 * anything else (a log file, a CI job) it prints a line per step, so the log
 * shows progress without a flood of carriage returns.
 */
import { humanBytes } from './output.js';

/** Files below this are read in well under a second; a bar would only flicker. */
export const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;
/** A terminal line is redrawn at most this often: smooth to the eye, cheap to draw. */
const REDRAW_INTERVAL_MS = 100;
/** Off a terminal, one line each time progress crosses a multiple of this. */
export const PROGRESS_LINE_STEP_PERCENT = 25;
const BAR_WIDTH_CHARS = 30;
/** Erases the rest of a terminal line (ANSI "erase in line"). */
const ERASE_TO_END_OF_LINE = '\x1b[K';

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

function fractionOf(doneBytes: number, totalBytes: number): number {
  return totalBytes <= 0 ? 1 : Math.min(1, Math.max(0, doneBytes / totalBytes));
}

/** "verifying [##########....................]  33% 89 MB / 268 MB" */
export function formatProgress(label: string, doneBytes: number, totalBytes: number): string {
  const fraction = fractionOf(doneBytes, totalBytes);
  const filled = Math.floor(fraction * BAR_WIDTH_CHARS);
  const percent = String(Math.floor(fraction * 100)).padStart(3);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH_CHARS - filled)}] ${percent}% ${humanBytes(doneBytes)} / ${humanBytes(totalBytes)}`;
}

export class ProgressBar {
  private label: string | undefined;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private lastStep = -1;
  /** A terminal line is drawn and not yet ended. */
  private lineOpen = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly nowMs: () => number = Date.now,
  ) {}

  update(label: string, doneBytes: number, totalBytes: number): void {
    const newLabel = label !== this.label;
    if (newLabel) {
      this.finish();
      this.label = label;
      this.lastStep = -1;
    }
    const fraction = fractionOf(doneBytes, totalBytes);
    if (this.out.isTTY === true) {
      const now = this.nowMs();
      if (!newLabel && fraction < 1 && now - this.lastDrawMs < REDRAW_INTERVAL_MS) return;
      this.lastDrawMs = now;
      this.out.write(`\r${formatProgress(label, doneBytes, totalBytes)}${ERASE_TO_END_OF_LINE}`);
      this.lineOpen = true;
      return;
    }
    const step = Math.floor((fraction * 100) / PROGRESS_LINE_STEP_PERCENT);
    if (step === this.lastStep) return;
    this.lastStep = step;
    this.out.write(`${formatProgress(label, doneBytes, totalBytes)}\n`);
  }

  /** Ends the terminal line, so that what follows starts on a line of its own. */
  finish(): void {
    if (!this.lineOpen) return;
    this.out.write('\n');
    this.lineOpen = false;
  }
}
