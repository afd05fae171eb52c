/**
 * One line of a container log file in the CRI format, which every CRI runtime
 * writes (containerd, CRI-O, and ours):
 *
 *   2016-10-06T00:17:09.669794202Z stdout F The content of the log entry 1
 *   2016-10-06T00:17:10.113242941Z stderr P First part of a long line,
 *   2016-10-06T00:17:10.113242941Z stderr F  and its end
 *
 * Timestamp (RFC 3339 with nanoseconds), stream, tag (`F` a full line, `P` a
 * partial one continued by the next line of the same stream), one space, the
 * content without its newline. Content is kept as bytes: containers may write
 * anything, and a UTF-8 character may be split across two partial lines.
 */

export const LogStream = { Stdout: 'stdout', Stderr: 'stderr' } as const;
export type LogStream = (typeof LogStream)[keyof typeof LogStream];

export const LogTag = { Full: 'F', Partial: 'P' } as const;
export type LogTag = (typeof LogTag)[keyof typeof LogTag];

export interface CriLogLine {
  /** As written in the file, e.g. `2016-10-06T00:17:09.669794202Z`. */
  readonly timestamp: string;
  /** The timestamp in milliseconds since the epoch (nanoseconds cut off). */
  readonly timeMs: number;
  readonly stream: LogStream;
  readonly partial: boolean;
  readonly content: Buffer;
}

const SPACE = 0x20;
const TAG_DELIMITER = ':';
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** The line (without its newline), or undefined when it is not a CRI log line. */
export function parseCriLogLine(line: Buffer): CriLogLine | undefined {
  const timeEnd = line.indexOf(SPACE);
  if (timeEnd <= 0) return undefined;
  const timestamp = line.toString('latin1', 0, timeEnd);
  const timeMs = parseRfc3339Ms(timestamp);
  if (timeMs === undefined) return undefined;
  const streamEnd = line.indexOf(SPACE, timeEnd + 1);
  if (streamEnd < 0) return undefined;
  const stream = line.toString('latin1', timeEnd + 1, streamEnd);
  if (stream !== LogStream.Stdout && stream !== LogStream.Stderr) return undefined;
  // The tag field may carry more tags after ':' in the future; the first one is the F/P tag.
  const tagEnd = line.indexOf(SPACE, streamEnd + 1);
  const tagField = line.toString('latin1', streamEnd + 1, tagEnd < 0 ? line.length : tagEnd);
  const tag = tagField.split(TAG_DELIMITER)[0];
  if (tag !== LogTag.Full && tag !== LogTag.Partial) return undefined;
  const content = tagEnd < 0 ? Buffer.alloc(0) : line.subarray(tagEnd + 1);
  return { timestamp, timeMs, stream, partial: tag === LogTag.Partial, content };
}

/** Milliseconds since the epoch of an RFC 3339 time with up to nine fraction digits. */
export function parseRfc3339Ms(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const fraction = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  const ms = Date.parse(`${m[1]}.${fraction}${m[3]}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A CRI log line as a runtime writes it (with its newline): tests and writers use it. */
export function formatCriLogLine(o: { time: Date | string; stream: LogStream; partial?: boolean; content: string | Buffer }): Buffer {
  const time = typeof o.time === 'string' ? o.time : o.time.toISOString();
  const head = Buffer.from(`${time} ${o.stream} ${o.partial === true ? LogTag.Partial : LogTag.Full} `, 'latin1');
  const content = typeof o.content === 'string' ? Buffer.from(o.content) : o.content;
  return Buffer.concat([head, content, Buffer.from('\n')]);
}

/** A log line as users see it: partial lines joined. */
export interface JoinedLogLine {
  /** Timestamp of the line's first part. */
  readonly timestamp: string;
  readonly timeMs: number;
  readonly stream: LogStream;
  readonly content: Buffer;
  /** False for a piece cut off at JOINED_LINE_BYTES_MAX or at the end of a log that stopped mid-line. */
  readonly complete: boolean;
}

/**
 * The longest line the joiner holds back while waiting for the end of a run of
 * partial lines; beyond it the piece so far is let out as is. A runtime splits
 * lines at 16 KiB, so this allows 64 parts, and bounds what one reader holds.
 */
export const JOINED_LINE_BYTES_MAX = 1024 * 1024;

/** Joins runs of `P` lines with the `F` line that ends them, per stream (the two streams interleave). */
export class LogLineJoiner {
  private readonly pending = new Map<LogStream, { first: CriLogLine; parts: Buffer[]; bytes: number }>();

  constructor(private readonly lineBytesMax = JOINED_LINE_BYTES_MAX) {}

  /** The line this one completes, or undefined while a partial line waits for its end. */
  push(line: CriLogLine): JoinedLogLine | undefined {
    const run = this.pending.get(line.stream);
    if (run === undefined && !line.partial) return { ...fields(line), content: line.content, complete: true };
    const current = run ?? { first: line, parts: [], bytes: 0 };
    current.parts.push(line.content);
    current.bytes += line.content.length;
    if (!line.partial) {
      this.pending.delete(line.stream);
      return { ...fields(current.first), content: Buffer.concat(current.parts), complete: true };
    }
    if (current.bytes >= this.lineBytesMax) {
      this.pending.delete(line.stream);
      return { ...fields(current.first), content: Buffer.concat(current.parts), complete: false };
    }
    this.pending.set(line.stream, current);
    return undefined;
  }

  /** What partial lines are still waiting (the log ended mid-line), oldest first. */
  flush(): JoinedLogLine[] {
    const out = [...this.pending.values()]
      .sort((a, b) => a.first.timeMs - b.first.timeMs)
      .map((run) => ({ ...fields(run.first), content: Buffer.concat(run.parts), complete: false }));
    this.pending.clear();
    return out;
  }
}

function fields(line: CriLogLine): Pick<JoinedLogLine, 'timestamp' | 'timeMs' | 'stream'> {
  return { timestamp: line.timestamp, timeMs: line.timeMs, stream: line.stream };
}
