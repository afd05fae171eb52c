/**
 * The CRI container log format, the one the kubelet and `kubectl logs` read:
 *
 *   2016-10-06T00:17:09.669794202Z stdout F a full line
 *   2016-10-06T00:17:09.669794202Z stderr P the first 16 KiB of a long line
 *
 * `F` ends a line, `P` is a part of a line that continues in the next record (a
 * line longer than `lineBytesMax`, or text without a final newline when the
 * stream ends — as containerd writes it). `CriLineSplitter` is the pure encoder;
 * `CriLogWriter` pumps a container's stdout and stderr into one file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished, type Readable } from 'node:stream';

export type LogStream = 'stdout' | 'stderr';

/** containerd's default max container log line size: longer lines are split into P records. */
export const LOG_LINE_BYTES_MAX = 16 * 1024;

/** RFC 3339 with nine fraction digits, UTC (containerd's timestamp layout). */
export function criTimestamp(epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2016-10-06T00:17:09.669Z
  const frac = (epochNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** One CRI log record (with its newline). */
export function criLogLine(o: { timeNs: bigint; stream: LogStream; partial: boolean; content: Buffer }): Buffer {
  const head = Buffer.from(`${criTimestamp(o.timeNs)} ${o.stream} ${o.partial ? 'P' : 'F'} `);
  return Buffer.concat([head, o.content, Buffer.from('\n')]);
}

/** Wall-clock nanoseconds: Date's milliseconds plus a monotonic sub-millisecond part, so records within a millisecond still order. */
export function nowNs(): bigint {
  const ms = BigInt(Date.now());
  const sub = process.hrtime.bigint() % 1_000_000n;
  return ms * 1_000_000n + sub;
}

/**
 * Splits a byte stream into CRI records. Holds at most `lineBytesMax` bytes of an
 * unfinished line; `end()` flushes what is left as a partial record.
 */
export class CriLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly stream: LogStream,
    private readonly emit: (record: Buffer) => void,
    private readonly clock: () => bigint = nowNs,
    private readonly lineBytesMax = LOG_LINE_BYTES_MAX,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      let piece = chunk.subarray(start, end);
      // Fill the pending line up to the bound; each full bound is one P record.
      while (this.pendingBytes + piece.length > this.lineBytesMax) {
        const room = this.lineBytesMax - this.pendingBytes;
        this.pending.push(piece.subarray(0, room));
        this.pendingBytes += room;
        this.flush(true);
        piece = piece.subarray(room);
      }
      if (piece.length > 0) {
        this.pending.push(piece);
        this.pendingBytes += piece.length;
      }
      if (nl < 0) break;
      this.flush(false);
      start = nl + 1;
    }
  }

  /** The stream ended: text after the last newline is a partial record. */
  end(): void {
    if (this.pendingBytes > 0) this.flush(true);
  }

  private flush(partial: boolean): void {
    const content = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.emit(criLogLine({ timeNs: this.clock(), stream: this.stream, partial, content }));
  }
}

/**
 * Appends a container's stdout and stderr to its CRI log file. Each record is one
 * write, so the two streams interleave by whole records. A slow disk pauses the
 * source streams (backpressure) instead of buffering without bound.
 */
export class CriLogWriter {
  private readonly out: WriteStream;
  private open = 0;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path, { flags: 'a' });
    this.out.on('error', () => undefined);
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Copies `source` until it ends. */
  attach(stream: LogStream, source: Readable): void {
    this.open++;
    const splitter = new CriLineSplitter(stream, (rec) => {
      if (!this.out.write(rec)) {
        source.pause();
        this.out.once('drain', () => source.resume());
      }
    });
    let ended = false;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      splitter.end();
      if (--this.open === 0) this.out.end(() => this.resolveDone());
    };
    source.on('data', (d: Buffer) => splitter.push(d));
    // finished() also fires for a source that ended before we got it (a container with no output that exited at once).
    finished(source, finish);
  }

  /** Resolves once every attached stream ended and the file is flushed. */
  closed(): Promise<void> {
    if (this.open === 0) this.out.end(() => this.resolveDone());
    return this.done;
  }
}
