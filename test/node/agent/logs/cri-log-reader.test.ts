/**
 * Reading CRI log files as the node server serves them: tail (bounded memory,
 * backwards in chunks, partial lines counted as one), since, limitBytes,
 * stream selection, timestamps, and follow with appends, rotation and the
 * container's end.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCriLogLine, type LogStream } from '../../../../node/agent/logs/cri-log-line.js';
import { LogReadEnd, readContainerLog, type ReadContainerLogOptions } from '../../../../node/agent/logs/cri-log-reader.js';
import { findTailStart } from '../../../../node/agent/logs/log-tail.js';
import { LogOptionsError, parseContainerLogQuery } from '../../../../node/agent/logs/log-options.js';

let dir: string;
let fileNo = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strake-cri-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2024-05-01T10:00:00Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString().replace('Z', '123456Z');
const entry = (s: number, stream: LogStream, content: string, partial = false): Buffer => formatCriLogLine({ time: at(s), stream, partial, content });

function logFile(...lines: Buffer[]): string {
  const path = join(dir, `c${fileNo++}.log`);
  writeFileSync(path, Buffer.concat(lines));
  return path;
}

class Collect extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

async function read(path: string, o: Partial<ReadContainerLogOptions> = {}): Promise<{ text: string; end: LogReadEnd }> {
  const out = new Collect();
  const r = await readContainerLog({ path, out, follow: false, timestamps: false, stream: 'All', ...o });
  return { text: out.text, end: r.end };
}

/** Five stdout lines, stderr interleaved, one stdout line in three parts. */
const MIXED = [
  entry(1, 'stdout', 'one'),
  entry(2, 'stderr', 'err-a'),
  entry(3, 'stdout', 'tw', true),
  entry(3, 'stderr', 'err-b'),
  entry(4, 'stdout', 'o-', true),
  entry(5, 'stdout', 'two'),
  entry(6, 'stdout', 'three'),
  entry(7, 'stderr', 'err-c'),
];

describe('readContainerLog', () => {
  it('writes every line, partial lines joined, streams interleaved in file order', async () => {
    expect((await read(logFile(...MIXED))).text).toBe('one\nerr-a\nerr-b\ntwo-two\nthree\nerr-c\n');
  });

  it('selects one stream', async () => {
    const path = logFile(...MIXED);
    expect((await read(path, { stream: 'Stdout' })).text).toBe('one\ntwo-two\nthree\n');
    expect((await read(path, { stream: 'Stderr' })).text).toBe('err-a\nerr-b\nerr-c\n');
  });

  it('tails the last N lines, a line in parts counting once, per selected stream', async () => {
    const path = logFile(...MIXED);
    expect((await read(path, { tailLines: 0 })).text).toBe('');
    expect((await read(path, { tailLines: 1 })).text).toBe('err-c\n');
    expect((await read(path, { tailLines: 3 })).text).toBe('two-two\nthree\nerr-c\n');
    expect((await read(path, { tailLines: 2, stream: 'Stdout' })).text).toBe('two-two\nthree\n');
    expect((await read(path, { tailLines: 2, stream: 'Stderr' })).text).toBe('err-b\nerr-c\n');
    expect((await read(path, { tailLines: 100 })).text).toBe('one\nerr-a\nerr-b\ntwo-two\nthree\nerr-c\n');
  });

  it('finds the tail start reading backwards in small chunks, over lines longer than a chunk', async () => {
    const long = 'x'.repeat(50);
    const lines = Array.from({ length: 30 }, (_, i) => entry(i, i % 3 === 0 ? 'stderr' : 'stdout', `${i}:${long}`));
    const path = logFile(...lines);
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      for (const n of [0, 1, 7, 29, 30, 31]) {
        const start = await findTailStart(file, size, { lines: n, wanted: () => true, chunkBytes: 16 });
        const expected = Buffer.concat(lines.slice(Math.max(0, 30 - n))).length;
        expect(size - start.offset, `tail ${n}`).toBe(expected);
        expect([...start.skipLines.values()].every((v) => v === 0)).toBe(true);
      }
    } finally {
      await file.close();
    }
  });

  it('tails a file much larger than its read chunk, and skips junk lines', async () => {
    const many = Array.from({ length: 20_000 }, (_, i) => entry(i, 'stdout', `line ${i}`));
    const path = logFile(Buffer.from('not a log line\n'), ...many, Buffer.from('garbage\n'));
    expect((await read(path, { tailLines: 3 })).text).toBe('line 19997\nline 19998\nline 19999\n');
  });

  it('prefixes timestamps, and keeps only lines since a time', async () => {
    const path = logFile(...MIXED);
    expect((await read(path, { timestamps: true, tailLines: 1 })).text).toBe(`${at(7)} err-c\n`);
    // The joined line carries its first part's time (3 s), so since 4 s leaves it out.
    expect((await read(path, { sinceMs: T0 + 4_000 })).text).toBe('three\nerr-c\n');
    expect((await read(path, { sinceMs: T0 + 3_000 })).text).toBe('err-b\ntwo-two\nthree\nerr-c\n');
  });

  it('stops at limitBytes, in the middle of a line if need be', async () => {
    const r = await read(logFile(...MIXED), { limitBytes: 7 });
    expect(r.text).toBe('one\nerr');
    expect(r.end).toBe(LogReadEnd.LimitReached);
  });

  it('lets out an unfinished last line and a partial run at the end of a finished log', async () => {
    const path = logFile(entry(1, 'stdout', 'a'), entry(2, 'stdout', 'dangling', true), Buffer.from(`${at(3)} stderr F no newline`));
    // The stderr line is complete; the stdout line in parts never got its end, so it comes last, without a newline.
    expect((await read(path)).text).toBe('a\nno newline\ndangling');
  });

  it('fails with ENOENT for a missing file, before writing anything', async () => {
    const out = new Collect();
    await expect(readContainerLog({ path: join(dir, 'missing.log'), out, follow: false, timestamps: false, stream: 'All' })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(out.chunks).toEqual([]);
  });
});

describe('readContainerLog, following', () => {
  it('streams appended lines, a partial line once complete, until aborted', async () => {
    const path = logFile(entry(1, 'stdout', 'first'));
    const out = new PassThrough();
    const got: string[] = [];
    out.on('data', (d: Buffer) => got.push(d.toString()));
    const abort = new AbortController();
    const done = readContainerLog({ path, out, follow: true, timestamps: false, stream: 'All', signal: abort.signal, pollIntervalMs: 50 });
    await until(() => got.join('') === 'first\n');
    appendFileSync(path, entry(2, 'stdout', 'sec', true));
    appendFileSync(path, Buffer.from(`${at(2)} stdout F ond\n${at(3)} std`));
    await until(() => got.join('') === 'first\nsecond\n');
    appendFileSync(path, 'err F third\n');
    await until(() => got.join('') === 'first\nsecond\nthird\n');
    abort.abort();
    expect((await done).end).toBe(LogReadEnd.Aborted);
  });

  it('follows a rotated file (renamed, then recreated) and a truncated one', async () => {
    const path = logFile(entry(1, 'stdout', 'old-1'));
    const out = new PassThrough();
    const got: string[] = [];
    out.on('data', (d: Buffer) => got.push(d.toString()));
    const abort = new AbortController();
    const done = readContainerLog({ path, out, follow: true, timestamps: false, stream: 'All', signal: abort.signal, pollIntervalMs: 50 });
    await until(() => got.join('').includes('old-1'));
    appendFileSync(path, entry(2, 'stdout', 'old-2'));
    renameSync(path, `${path}.1`);
    writeFileSync(path, entry(3, 'stdout', 'new-1'));
    await until(() => got.join('') === 'old-1\nold-2\nnew-1\n');
    truncateSync(path, 0);
    // A truncation is seen only while the file is shorter than what was read: let the follower look first.
    await new Promise((r) => setTimeout(r, 500));
    appendFileSync(path, entry(4, 'stdout', 'after-truncate'));
    await until(() => got.join('').endsWith('after-truncate\n'));
    abort.abort();
    await done;
  });

  it('ends once the container is gone and its file has ended, with the lines written last', async () => {
    const path = logFile(entry(1, 'stdout', 'a'));
    let running = true;
    const out = new Collect();
    const done = readContainerLog({ path, out, follow: true, timestamps: false, stream: 'All', pollIntervalMs: 30, containerCheckIntervalMs: 30, containerRunning: async () => running });
    await until(() => out.text === 'a\n');
    appendFileSync(path, entry(2, 'stdout', 'last words'));
    running = false;
    const r = await done;
    expect(r.end).toBe(LogReadEnd.ContainerExited);
    expect(out.text).toBe('a\nlast words\n');
  });

  it('returns at once for a container that has already ended', async () => {
    const path = logFile(entry(1, 'stdout', 'only'));
    const out = new Collect();
    const started = Date.now();
    const r = await readContainerLog({ path, out, follow: true, timestamps: false, stream: 'All', containerRunning: async () => false });
    expect(r.end).toBe(LogReadEnd.ContainerExited);
    expect(out.text).toBe('only\n');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops following at limitBytes', async () => {
    const path = logFile(entry(1, 'stdout', '12345'));
    const out = new Collect();
    const done = readContainerLog({ path, out, follow: true, timestamps: false, stream: 'All', limitBytes: 10, pollIntervalMs: 30 });
    await until(() => out.text === '12345\n');
    appendFileSync(path, entry(2, 'stdout', '67890'));
    expect((await done).end).toBe(LogReadEnd.LimitReached);
    expect(out.text).toBe('12345\n6789');
  });
});

describe('parseContainerLogQuery', () => {
  const q = (s: string) => parseContainerLogQuery(new URLSearchParams(s), T0);
  it('reads the kubelet\'s options', () => {
    expect(q('follow=true&tailLines=10&timestamps=1&limitBytes=5&previous=false&stream=Stderr')).toEqual({
      follow: true, previous: false, timestamps: true, tailLines: 10, limitBytes: 5, stream: 'Stderr',
    });
    expect(q('sinceSeconds=60').sinceMs).toBe(T0 - 60_000);
    expect(q('sinceTime=2024-05-01T09:00:00Z').sinceMs).toBe(T0 - 3_600_000);
    expect(q('')).toEqual({ follow: false, previous: false, timestamps: false, stream: 'All' });
  });
  it('refuses bad values with Kubernetes\' messages', () => {
    expect(() => q('tailLines=-1')).toThrow('tailLines: Invalid value: -1: must be greater than or equal to 0');
    expect(() => q('limitBytes=0')).toThrow('limitBytes: Invalid value: 0: must be greater than 0');
    expect(() => q('sinceSeconds=5&sinceTime=2024-05-01T09:00:00Z')).toThrow('at most one of `sinceTime` or `sinceSeconds` may be specified');
    expect(() => q('follow=maybe')).toThrow(LogOptionsError);
    expect(() => q('stream=both')).toThrow('supported values');
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
