/** The CRI log line format: parsing, and joining partial lines per stream. */
import { describe, expect, it } from 'vitest';
import { formatCriLogLine, LogLineJoiner, parseCriLogLine, parseRfc3339Ms, type CriLogLine } from '../../../../node/agent/logs/cri-log-line.js';

const line = (text: string): CriLogLine => {
  const parsed = parseCriLogLine(Buffer.from(text));
  if (parsed === undefined) throw new Error(`not a CRI line: ${text}`);
  return parsed;
};

describe('parseCriLogLine', () => {
  it('reads timestamp, stream, tag and content, keeping spaces in the content', () => {
    const l = line('2016-10-06T00:17:09.669794202Z stdout F  two  spaces ');
    expect(l.timestamp).toBe('2016-10-06T00:17:09.669794202Z');
    expect(l.timeMs).toBe(Date.parse('2016-10-06T00:17:09.669Z'));
    expect(l.stream).toBe('stdout');
    expect(l.partial).toBe(false);
    expect(l.content.toString()).toBe(' two  spaces ');
  });

  it('reads partial lines, empty content, a time zone offset and extra tags', () => {
    expect(line('2024-01-02T03:04:05.5+02:00 stderr P part').partial).toBe(true);
    expect(line('2024-01-02T03:04:05.5+02:00 stderr P part').timeMs).toBe(Date.parse('2024-01-02T01:04:05.500Z'));
    expect(line('2024-01-02T03:04:05Z stdout F').content.length).toBe(0);
    expect(line('2024-01-02T03:04:05Z stdout F ').content.length).toBe(0);
    expect(line('2024-01-02T03:04:05Z stdout F:x y').content.toString()).toBe('y');
  });

  it('refuses what is not a CRI line', () => {
    for (const bad of ['', 'hello', 'notatime stdout F x', '2024-01-02T03:04:05Z stdin F x', '2024-01-02T03:04:05Z stdout X x', '2024-01-02T03:04:05Z stdout']) {
      expect(parseCriLogLine(Buffer.from(bad)), bad).toBeUndefined();
    }
  });

  it('keeps content bytes as they are (not UTF-8 decoded)', () => {
    const raw = Buffer.concat([Buffer.from('2024-01-02T03:04:05Z stdout P '), Buffer.from([0xe2, 0x82])]);
    expect(parseCriLogLine(raw)?.content).toEqual(Buffer.from([0xe2, 0x82]));
  });

  it('round-trips formatCriLogLine', () => {
    const raw = formatCriLogLine({ time: '2024-01-02T03:04:05.123456789Z', stream: 'stderr', partial: true, content: 'abc' });
    expect(raw.toString()).toBe('2024-01-02T03:04:05.123456789Z stderr P abc\n');
    expect(parseCriLogLine(raw.subarray(0, raw.length - 1))?.content.toString()).toBe('abc');
  });

  it('parses RFC 3339 times with 0 to 9 fraction digits', () => {
    expect(parseRfc3339Ms('2024-01-02T03:04:05Z')).toBe(Date.parse('2024-01-02T03:04:05Z'));
    expect(parseRfc3339Ms('2024-01-02T03:04:05.1Z')).toBe(Date.parse('2024-01-02T03:04:05.100Z'));
    expect(parseRfc3339Ms('2024-01-02T03:04:05.999999999Z')).toBe(Date.parse('2024-01-02T03:04:05.999Z'));
    expect(parseRfc3339Ms('2024-01-02 03:04:05Z')).toBeUndefined();
  });
});

describe('LogLineJoiner', () => {
  it('joins P lines with the F line that ends them, per stream, with the first part\'s timestamp', () => {
    const j = new LogLineJoiner();
    expect(j.push(line('2024-01-01T00:00:01Z stdout P hel'))).toBeUndefined();
    const err = j.push(line('2024-01-01T00:00:02Z stderr F oops'));
    expect(err?.content.toString()).toBe('oops');
    expect(j.push(line('2024-01-01T00:00:03Z stdout P lo '))).toBeUndefined();
    const out = j.push(line('2024-01-01T00:00:04Z stdout F world'));
    expect(out).toMatchObject({ timestamp: '2024-01-01T00:00:01Z', stream: 'stdout', complete: true });
    expect(out?.content.toString()).toBe('hello world');
    expect(j.flush()).toEqual([]);
  });

  it('lets a partial run out as an incomplete piece at its byte bound, and on flush', () => {
    const j = new LogLineJoiner(8);
    expect(j.push(line('2024-01-01T00:00:01Z stdout P 1234'))).toBeUndefined();
    const cut = j.push(line('2024-01-01T00:00:02Z stdout P 5678'));
    expect(cut).toMatchObject({ complete: false });
    expect(cut?.content.toString()).toBe('12345678');
    j.push(line('2024-01-01T00:00:03Z stderr P tail'));
    const flushed = j.flush();
    expect(flushed.map((f) => [f.content.toString(), f.complete])).toEqual([['tail', false]]);
  });
});
