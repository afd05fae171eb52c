/**
 * Where the last N lines of a CRI log file start, found by reading the file
 * backwards in fixed-size chunks: memory stays bounded by one chunk plus one
 * raw line, whatever the size of the file.
 *
 * N counts lines as users see them: a run of partial (`P`) lines and the full
 * (`F`) line ending it is one line, and only lines of the selected streams
 * count. A run of partial lines at the very end, still waiting for its end,
 * counts as a line too.
 */
import type { FileHandle } from 'node:fs/promises';
import { parseCriLogLine, type CriLogLine, type LogStream } from './cri-log-line.js';

/** Bytes read per step, backwards and forwards. */
export const LOG_CHUNK_BYTES = 64 * 1024;
/**
 * A raw line longer than this is not a CRI log line (runtimes split lines at
 * 16 KiB); readers skip it instead of holding it in memory.
 */
export const RAW_LINE_BYTES_MAX = 1024 * 1024;

const NEWLINE = 0x0a;

export interface TailOptions {
  readonly lines: number;
  readonly wanted: (stream: LogStream) => boolean;
  readonly chunkBytes?: number;
}

/**
 * Where to start reading so that the last `lines` lines of [0, endOffset)
 * come out: the first byte, and per stream how many whole lines to drop
 * first. (A counted line may begin with partial lines written before older
 * lines of the other stream, which are then inside the range but not wanted.)
 */
export interface TailStart {
  readonly offset: number;
  readonly skipLines: ReadonlyMap<LogStream, number>;
}

export async function findTailStart(file: FileHandle, endOffset: number, o: TailOptions): Promise<TailStart> {
  const counter = new TailCounter(o.lines, o.wanted, endOffset);
  if (counter.done()) return counter.result();
  const chunkBytes = o.chunkBytes ?? LOG_CHUNK_BYTES;
  let pos = endOffset;
  let carry: Buffer = Buffer.alloc(0);
  // The line running into the chunks already read is too long to be a log line: skip it.
  let skippingLongLine = false;
  while (pos > 0) {
    const n = Math.min(chunkBytes, pos);
    pos -= n;
    const buf = Buffer.alloc(n);
    await readFully(file, buf, pos);
    const data: Buffer = skippingLongLine ? buf : Buffer.concat([buf, carry]);
    let lineEnd: number = data.length;
    let first = true;
    for (let i = lastNewline(data, lineEnd); i >= 0; i = lastNewline(data, i)) {
      if (!(first && skippingLongLine)) {
        if (counter.feed(parsed(data.subarray(i + 1, lineEnd)), pos + i + 1)) return counter.result();
      }
      first = false;
      lineEnd = i;
    }
    if (first && skippingLongLine) continue;
    skippingLongLine = lineEnd > RAW_LINE_BYTES_MAX;
    carry = skippingLongLine ? Buffer.alloc(0) : Buffer.from(data.subarray(0, lineEnd));
  }
  if (!skippingLongLine) counter.feed(parsed(carry), 0);
  return counter.result();
}

/** The index of the last newline before `end`, or -1. */
function lastNewline(data: Buffer, end: number): number {
  // Buffer.lastIndexOf reads a negative offset as counted from the end: never pass one.
  return end <= 0 ? -1 : data.lastIndexOf(NEWLINE, end - 1);
}

function parsed(raw: Buffer): CriLogLine | undefined {
  return raw.length === 0 ? undefined : parseCriLogLine(raw);
}

/**
 * Counts lines fed from the end of a log backwards. A partial line belongs to
 * the logical line ended by the next full line of its stream, so after the
 * quota is reached the scan goes on until every stream's counted line has
 * found its beginning.
 */
export class TailCounter {
  private counted = 0;
  /** Per stream: whether the logical line that earlier partial lines of the stream belong to is counted. */
  private readonly open = new Map<LogStream, boolean>();
  private start: number;
  /** Wanted lines left uncounted since `start` last moved back: inside the range if it moves again. */
  private readonly uncountedSinceStart = new Map<LogStream, number>();
  private readonly skip = new Map<LogStream, number>();

  constructor(
    private readonly want: number,
    private readonly wanted: (stream: LogStream) => boolean,
    endOffset: number,
  ) {
    this.start = endOffset;
  }

  /** Feeds the line starting at `offset` (undefined: not a log line); true once the start is final. */
  feed(line: CriLogLine | undefined, offset: number): boolean {
    if (line === undefined) return this.done();
    const counts = this.open.get(line.stream);
    if (!line.partial || counts === undefined) {
      const wanted = this.wanted(line.stream);
      const take = wanted && this.counted < this.want;
      if (take) {
        this.counted++;
        this.moveStart(offset);
      } else if (wanted) {
        this.uncountedSinceStart.set(line.stream, (this.uncountedSinceStart.get(line.stream) ?? 0) + 1);
      }
      this.open.set(line.stream, take);
    } else if (counts) {
      this.moveStart(offset);
    }
    return this.done();
  }

  private moveStart(offset: number): void {
    this.start = offset;
    for (const [stream, n] of this.uncountedSinceStart) this.skip.set(stream, (this.skip.get(stream) ?? 0) + n);
    this.uncountedSinceStart.clear();
  }

  result(): TailStart {
    return { offset: this.start, skipLines: new Map(this.skip) };
  }

  done(): boolean {
    if (this.counted < this.want) return false;
    for (const counts of this.open.values()) if (counts) return false;
    return true;
  }
}

/** Reads buf.length bytes at `position` (the file may not shrink meanwhile: a short read is an error). */
export async function readFully(file: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await file.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`log file ended at byte ${position + done} while reading ${buf.length} bytes at ${position}`);
    done += bytesRead;
  }
}
