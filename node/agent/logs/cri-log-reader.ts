/**
 * Reads a container's CRI log file into a byte stream the way the kubelet
 * serves /containerLogs: optionally only the last lines, only lines since a
 * time, one stream or both, with timestamps, cut at a byte limit, and in
 * follow mode waiting for more until the reader is aborted or the container
 * is gone and its file has ended. Rotated files (renamed and recreated, or
 * truncated) are followed to the new file.
 *
 *   const r = await readContainerLog({ path, out: res, follow: true, timestamps: false,
 *     stream: 'All', signal, containerRunning: () => isRunning(id) });
 */
import type { Writable } from 'node:stream';
import { LogLineJoiner, LogStream, parseCriLogLine, type JoinedLogLine } from './cri-log-line.js';
import { ChangeWaiter, FileChange, LogFileCursor } from './log-file-cursor.js';
import { StreamSelection, type LogReadOptions } from './log-options.js';
import { findTailStart } from './log-tail.js';

/** How often a follower looks at its file when no change notification comes. */
export const FOLLOW_POLL_INTERVAL_MS = 250;
/** How often a follower at the end of its file asks whether the container still runs. */
export const CONTAINER_CHECK_INTERVAL_MS = 1_000;

export interface ReadContainerLogOptions extends LogReadOptions {
  readonly path: string;
  readonly out: Writable;
  /** Ends reading (e.g. the client went away). */
  readonly signal?: AbortSignal;
  /** In follow mode: false ends the read once the file has ended. Absent: follow until aborted. */
  readonly containerRunning?: () => Promise<boolean>;
  readonly pollIntervalMs?: number;
  readonly containerCheckIntervalMs?: number;
  readonly nowMs?: () => number;
  /** Called once the file is open, before anything is written (e.g. to send response headers). */
  readonly onOpened?: () => void;
}

export const LogReadEnd = {
  /** Not following: the whole (selected) log was written. */
  EndOfLog: 'EndOfLog',
  LimitReached: 'LimitReached',
  Aborted: 'Aborted',
  /** Following: the container is gone and its log has ended. */
  ContainerExited: 'ContainerExited',
} as const;
export type LogReadEnd = (typeof LogReadEnd)[keyof typeof LogReadEnd];

export interface LogReadResult {
  readonly end: LogReadEnd;
  readonly bytes: number;
}

/** Opens the file first, so a missing file fails (ENOENT) before anything is written. */
export async function readContainerLog(o: ReadContainerLogOptions): Promise<LogReadResult> {
  const cursor = await LogFileCursor.open(o.path);
  const sink = new LogSink(o);
  try {
    o.onOpened?.();
    if (o.tailLines !== undefined) {
      const start = await findTailStart(cursor.handle, await cursor.size(), { lines: o.tailLines, wanted: (s) => sink.wants(s) });
      cursor.offset = start.offset;
      sink.skipFirst(start.skipLines);
    }
    if (!(await cursor.readAvailable((raw) => sink.line(raw)))) return sink.result();
    if (!o.follow) {
      await sink.finish(cursor.takeUnfinished());
      return sink.result(LogReadEnd.EndOfLog);
    }
    return await follow(cursor, sink, o);
  } finally {
    await cursor.close();
  }
}

async function follow(cursor: LogFileCursor, sink: LogSink, o: ReadContainerLogOptions): Promise<LogReadResult> {
  const nowMs = o.nowMs ?? Date.now;
  const checkEveryMs = o.containerCheckIntervalMs ?? CONTAINER_CHECK_INTERVAL_MS;
  let waiter = new ChangeWaiter(cursor.path);
  // The first check comes at once: following a container that has already ended returns at the end of its file.
  let checkedAtMs = Number.NEGATIVE_INFINITY;
  try {
    for (;;) {
      if (o.signal?.aborted === true) return sink.result(LogReadEnd.Aborted);
      const change = await cursor.change();
      if (change === FileChange.Truncated || change === FileChange.Replaced) {
        // Lines written to the old file between the last read and the rotation come first.
        if (change === FileChange.Replaced && !(await cursor.readAvailable((raw) => sink.line(raw)))) return sink.result();
        await cursor.reopen();
        waiter.close();
        waiter = new ChangeWaiter(cursor.path);
      } else if (o.containerRunning !== undefined && nowMs() - checkedAtMs >= checkEveryMs) {
        checkedAtMs = nowMs();
        if (!(await o.containerRunning())) {
          // Its last lines may have landed since the last read.
          if (!(await cursor.readAvailable((raw) => sink.line(raw)))) return sink.result();
          await sink.finish(cursor.takeUnfinished());
          return sink.result(LogReadEnd.ContainerExited);
        }
        await waiter.wait(o.pollIntervalMs ?? FOLLOW_POLL_INTERVAL_MS, o.signal);
      } else {
        await waiter.wait(o.pollIntervalMs ?? FOLLOW_POLL_INTERVAL_MS, o.signal);
      }
      if (!(await cursor.readAvailable((raw) => sink.line(raw)))) return sink.result();
    }
  } finally {
    waiter.close();
  }
}

/** Turns raw lines into output: parse, select the stream, join partial lines, filter by time, format, limit. */
class LogSink {
  private readonly joiner = new LogLineJoiner();
  private bytes = 0;
  private stopped: LogReadEnd | undefined;
  private readonly skip = new Map<LogStream, number>();

  constructor(private readonly o: ReadContainerLogOptions) {}

  wants(stream: LogStream): boolean {
    const s = this.o.stream;
    return s === StreamSelection.All || (s === StreamSelection.Stdout ? stream === LogStream.Stdout : stream === LogStream.Stderr);
  }

  /** Drops the first n lines of each stream (older lines inside a tail's byte range). */
  skipFirst(lines: ReadonlyMap<LogStream, number>): void {
    for (const [stream, n] of lines) this.skip.set(stream, n);
  }

  /** Handles one raw line; false once output must stop. Lines that are not CRI lines are skipped. */
  async line(raw: Buffer): Promise<boolean> {
    if (this.o.signal?.aborted === true) this.stopped = LogReadEnd.Aborted;
    if (this.stopped !== undefined) return false;
    const parsed = parseCriLogLine(raw);
    if (parsed === undefined || !this.wants(parsed.stream)) return true;
    const joined = this.joiner.push(parsed);
    return joined === undefined ? true : this.emit(joined);
  }

  /** At the end of the log: an unfinished last raw line, then partial lines still waiting for their end. */
  async finish(unfinished: Buffer | undefined): Promise<void> {
    if (unfinished !== undefined && !(await this.line(unfinished))) return;
    for (const j of this.joiner.flush()) if (!(await this.emit(j))) return;
  }

  result(end?: LogReadEnd): LogReadResult {
    return { end: this.stopped ?? end ?? LogReadEnd.Aborted, bytes: this.bytes };
  }

  private async emit(j: JoinedLogLine): Promise<boolean> {
    const skip = this.skip.get(j.stream) ?? 0;
    if (skip > 0) {
      this.skip.set(j.stream, skip - 1);
      return true;
    }
    if (this.o.sinceMs !== undefined && j.timeMs < this.o.sinceMs) return true;
    const parts = [j.content];
    if (this.o.timestamps) parts.unshift(Buffer.from(`${j.timestamp} `, 'latin1'));
    if (j.complete) parts.push(Buffer.from('\n'));
    let chunk = Buffer.concat(parts);
    const limit = this.o.limitBytes;
    if (limit !== undefined && this.bytes + chunk.length >= limit) {
      chunk = chunk.subarray(0, limit - this.bytes);
      this.stopped = LogReadEnd.LimitReached;
    }
    this.bytes += chunk.length;
    if (chunk.length > 0 && !(await writeWithBackpressure(this.o.out, chunk, this.o.signal))) this.stopped = LogReadEnd.Aborted;
    return this.stopped === undefined;
  }
}

/** Writes, then waits for 'drain' if the stream's buffer is full; false when the stream is gone or reading was aborted. */
async function writeWithBackpressure(out: Writable, chunk: Buffer, signal: AbortSignal | undefined): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (out.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    signal?.addEventListener('abort', done, { once: true });
  });
  return !(out.destroyed || signal?.aborted === true);
}
