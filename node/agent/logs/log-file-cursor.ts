/**
 * A forward reader of one log file that a runtime keeps appending to: reads
 * whole lines from an offset to the current end in fixed-size chunks, keeps
 * an unfinished last line for the next read, and tells whether the file at
 * its path was truncated or replaced (log rotation) since it was opened.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { LOG_CHUNK_BYTES, RAW_LINE_BYTES_MAX } from './log-tail.js';

const NEWLINE = 0x0a;

export const FileChange = {
  /** Same file, not shorter than what was read. */
  None: 'None',
  /** Same file, cut shorter (copy-and-truncate rotation): start again from 0. */
  Truncated: 'Truncated',
  /** Another file is at the path now (rename-and-create rotation). */
  Replaced: 'Replaced',
  /** Nothing is at the path (renamed away, new file not created yet). */
  Gone: 'Gone',
} as const;
export type FileChange = (typeof FileChange)[keyof typeof FileChange];

/** Called with each whole raw line (without its newline); false stops reading. */
export type LineHandler = (raw: Buffer) => Promise<boolean>;

export class LogFileCursor {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The unfinished line is longer than RAW_LINE_BYTES_MAX: drop bytes up to the next newline. */
  private skipping = false;

  private constructor(
    readonly path: string,
    private file: FileHandle,
    private ino: number,
    /** Next byte to read. */
    public offset: number,
    private readonly chunkBytes: number,
  ) {}

  /** Opens the file, positioned at its start (ENOENT etc. are thrown as is). */
  static async open(path: string, chunkBytes = LOG_CHUNK_BYTES): Promise<LogFileCursor> {
    const file = await open(path, 'r');
    const s = await file.stat();
    return new LogFileCursor(path, file, s.ino, 0, chunkBytes);
  }

  get handle(): FileHandle {
    return this.file;
  }

  async size(): Promise<number> {
    return (await this.file.stat()).size;
  }

  /** Reads whole lines up to the file's current end; false when the handler stopped it. */
  async readAvailable(onLine: LineHandler): Promise<boolean> {
    const buf = Buffer.alloc(this.chunkBytes);
    for (;;) {
      const { bytesRead } = await this.file.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) return true;
      this.offset += bytesRead;
      if (!(await this.split(buf.subarray(0, bytesRead), onLine))) return false;
    }
  }

  private async split(chunk: Buffer, onLine: LineHandler): Promise<boolean> {
    let from = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, from)) {
      const piece = chunk.subarray(from, nl);
      from = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      const line = this.pendingBytes === 0 ? Buffer.from(piece) : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      if (!(await onLine(line))) return false;
    }
    if (from < chunk.length && !this.skipping) {
      this.pending.push(Buffer.from(chunk.subarray(from)));
      this.pendingBytes += chunk.length - from;
      if (this.pendingBytes > RAW_LINE_BYTES_MAX) {
        this.pending = [];
        this.pendingBytes = 0;
        this.skipping = true;
      }
    }
    return true;
  }

  /** The bytes after the last newline (a line being written, or the last line of a file without a final newline). */
  takeUnfinished(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }

  async change(): Promise<FileChange> {
    const s = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (s === undefined) return FileChange.Gone;
    if (s.ino !== this.ino) return FileChange.Replaced;
    return s.size < this.offset ? FileChange.Truncated : FileChange.None;
  }

  /** Starts over at offset 0 of the file now at the path (after Truncated or Replaced). */
  async reopen(): Promise<void> {
    const file = await open(this.path, 'r');
    const s = await file.stat();
    await this.file.close();
    this.file = file;
    this.ino = s.ino;
    this.offset = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/**
 * Wakes a follower when its file changes: inotify through fs.watch where it
 * works, and a poll interval in any case (watches can be unavailable, e.g.
 * out of inotify instances, and do not follow a path to a new file).
 */
export class ChangeWaiter {
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;

  constructor(path: string) {
    try {
      this.watcher = watch(path, { persistent: false }, () => this.notify());
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  private notify(): void {
    this.changed = true;
    this.wake?.();
  }

  /** Resolves on a change, after `pollIntervalMs`, or on abort, whichever comes first. */
  wait(pollIntervalMs: number, signal?: AbortSignal): Promise<void> {
    if (this.changed || signal?.aborted === true) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      const timer = setTimeout(done, pollIntervalMs);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
