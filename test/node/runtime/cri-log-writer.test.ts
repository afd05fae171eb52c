/** The CRI log encoding (pure) and the writer over streams. */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CriLineSplitter, CriLogWriter, criLogLine, criTimestamp } from '../../../node/runtime/cri-log-writer.js';

const T = 1_475_713_029_669_794_202n; // 2016-10-06T00:17:09.669794202Z

function split(chunks: string[], max = 8): string[] {
  const out: string[] = [];
  const s = new CriLineSplitter('stdout', (r) => out.push(r.toString()), () => T, max);
  for (const c of chunks) s.push(Buffer.from(c));
  s.end();
  return out;
}

describe('CRI log encoding', () => {
  it('formats RFC 3339 timestamps with nine fraction digits', () => {
    expect(criTimestamp(T)).toBe('2016-10-06T00:17:09.669794202Z');
    expect(criTimestamp(1_000_000_000n)).toBe('1970-01-01T00:00:01.000000000Z');
  });
  it('writes one record per line with stream and tag', () => {
    expect(criLogLine({ timeNs: T, stream: 'stderr', partial: false, content: Buffer.from('boom') }).toString()).toBe('2016-10-06T00:17:09.669794202Z stderr F boom\n');
  });
  it('joins lines split across chunks and splits many lines in one chunk', () => {
    expect(split(['ab', 'c\nde', 'f\ng\n'])).toEqual([
      '2016-10-06T00:17:09.669794202Z stdout F abc\n',
      '2016-10-06T00:17:09.669794202Z stdout F def\n',
      '2016-10-06T00:17:09.669794202Z stdout F g\n',
    ]);
  });
  it('splits a line longer than the bound into P records ending with an F', () => {
    const recs = split(['0123456789abcdefXYZ\n']).map((r) => r.split(' ').slice(2).join(' '));
    expect(recs).toEqual(['P 01234567\n', 'P 89abcdef\n', 'F XYZ\n']);
  });
  it('flushes text without a final newline as a P record at the end', () => {
    expect(split(['done\nhalf']).map((r) => r.split(' ')[2])).toEqual(['F', 'P']);
  });
  it('keeps empty lines', () => {
    expect(split(['\n\n']).map((r) => r.split(' ').slice(2).join(' '))).toEqual(['F \n', 'F \n']);
  });
});

describe('CriLogWriter', () => {
  it('appends both streams to one file and resolves closed() once both ended, also for a stream that ended before attach', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strake-log-'));
    try {
      const w = new CriLogWriter(join(dir, 'c', '0.log'));
      const early = new PassThrough();
      early.end();
      early.resume();
      await new Promise((r) => early.once('end', r));
      const out = new PassThrough();
      w.attach('stderr', early);
      w.attach('stdout', out);
      out.end('one\ntwo\n');
      await w.closed();
      const lines = (await readFile(join(dir, 'c', '0.log'), 'utf8')).trim().split('\n');
      expect(lines.map((l) => l.split(' ').slice(1).join(' '))).toEqual(['stdout F one', 'stdout F two']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
