import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TOKEN_FILE_BYTES_MAX,
  TOKEN_FILE_ENTRIES_MAX,
  TokenFileError,
  TokenFileErrorCode,
  loadTokenFile,
  parseTokenFile,
  splitCsvRecord,
} from '../../../control-plane/auth/token-file.js';

function parseError(text: string): TokenFileError {
  try {
    parseTokenFile(text);
  } catch (err) {
    if (err instanceof TokenFileError) return err;
    throw err;
  }
  throw new Error('expected a TokenFileError');
}

describe('parseTokenFile: the --token-auth-file format', () => {
  const table = parseTokenFile(
    [
      'admin-token,admin,1,"system:masters,ops"',
      '',
      'deploy-token,deployer,2',
      '  ',
      'ci-token,ci,,"builders"',
      'empty-groups,nobody,4,""',
      'spaced,"a user",5," team-a , team-b ,"',
      'quoted-quote,"say ""hi""",6',
      '',
    ].join('\n'),
  );

  it('reads every non-blank line', () => {
    expect(table.size).toBe(6);
  });

  it('splits the quoted groups column on commas', () => {
    expect(table.lookup('admin-token')).toEqual({ name: 'admin', uid: '1', groups: ['system:masters', 'ops'] });
  });

  it('treats the groups column as optional, and an empty one as no groups', () => {
    expect(table.lookup('deploy-token')).toEqual({ name: 'deployer', uid: '2', groups: [] });
    expect(table.lookup('empty-groups')?.groups).toEqual([]);
  });

  it('leaves the uid out when the column is empty', () => {
    const user = table.lookup('ci-token');
    expect(user).toEqual({ name: 'ci', groups: ['builders'] });
    expect(user && 'uid' in user).toBe(false);
  });

  it('trims group names and drops empty ones; keeps quoted user names and doubled quotes', () => {
    expect(table.lookup('spaced')).toEqual({ name: 'a user', uid: '5', groups: ['team-a', 'team-b'] });
    expect(table.lookup('quoted-quote')?.name).toBe('say "hi"');
  });

  it('accepts CRLF line ends and a byte-order mark', () => {
    const crlf = parseTokenFile('\uFEFFt1,u1,1\r\nt2,u2,2,"g"\r\n');
    expect(crlf.lookup('t1')?.name).toBe('u1');
    expect(crlf.lookup('t2')?.groups).toEqual(['g']);
  });

  it('returns undefined for unknown tokens, prefixes and extensions of known ones', () => {
    expect(table.lookup('nope')).toBeUndefined();
    expect(table.lookup('')).toBeUndefined();
    expect(table.lookup('admin-toke')).toBeUndefined();
    expect(table.lookup('admin-token ')).toBeUndefined();
    expect(table.lookup('ADMIN-TOKEN')).toBeUndefined();
  });

  it('accepts an empty file', () => {
    expect(parseTokenFile('').size).toBe(0);
    expect(parseTokenFile('\n\n').lookup('x')).toBeUndefined();
  });
});

describe('parseTokenFile: malformed lines name their line number', () => {
  it.each([
    ['too few columns', 'good,u,1\n\nbad,u\n', 3, /line 3: expected 3 or 4 columns .* found 2/],
    ['an unquoted groups column', 't,u,1,g1,g2', 1, /line 1: .*found 5; quote the groups column/],
    ['an empty token', 'good,u,1\n,u,2', 2, /line 2: the token is empty/],
    ['whitespace in the token', 't x,u,1', 1, /line 1: the token contains whitespace/],
    ['an empty user name', 't,,1', 1, /line 1: the user name is empty/],
    ['an unterminated quote', 'a,b,c\nt,u,1,"g1,g2', 2, /line 2: unterminated quoted field starting at column 7/],
    ['text after a closing quote', 't,u,1,"g"x', 1, /line 1: unexpected character after the closing quote at column 10/],
    ['a bare quote', 't,u"x,1', 1, /line 1: a quote inside an unquoted field at column 4/],
  ])('%s', (_what, text, line, message) => {
    const err = parseError(text);
    expect(err.code).toBe(TokenFileErrorCode.Malformed);
    expect(err.line).toBe(line);
    expect(err.message).toMatch(message);
  });

  it('refuses a duplicate token, naming both lines but not the token', () => {
    const err = parseError('secret-1,alice,1\nother,bob,2\nsecret-1,mallory,3\n');
    expect(err.code).toBe(TokenFileErrorCode.DuplicateToken);
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/line 3: .*line 1/);
    expect(err.message).not.toContain('secret-1');
  });

  it('never puts a token into a message', () => {
    expect(parseError('sekrit,u').message).not.toContain('sekrit');
    expect(parseError('sek rit,u,1').message).not.toContain('sek rit');
  });

  it('refuses more than TOKEN_FILE_ENTRIES_MAX tokens, at the first line past it', () => {
    const lines = Array.from({ length: TOKEN_FILE_ENTRIES_MAX + 1 }, (_, i) => `t${i},u${i},${i}`);
    expect(parseTokenFile(lines.slice(0, -1).join('\n')).size).toBe(TOKEN_FILE_ENTRIES_MAX);
    const err = parseError(lines.join('\n'));
    expect(err.code).toBe(TokenFileErrorCode.TooLarge);
    expect(err.line).toBe(TOKEN_FILE_ENTRIES_MAX + 1);
  });

  it('refuses text past TOKEN_FILE_BYTES_MAX', () => {
    const err = parseError('x'.repeat(TOKEN_FILE_BYTES_MAX + 1));
    expect(err.code).toBe(TokenFileErrorCode.TooLarge);
  });
});

describe('splitCsvRecord', () => {
  it('splits like RFC 4180', () => {
    expect(splitCsvRecord('a,b,c')).toEqual(['a', 'b', 'c']);
    expect(splitCsvRecord('a,,')).toEqual(['a', '', '']);
    expect(splitCsvRecord('"a,b",""""')).toEqual(['a,b', '"']);
    expect(splitCsvRecord('"",x')).toEqual(['', 'x']);
  });
});

describe('loadTokenFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strake-token-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and names it in errors', async () => {
    const good = join(dir, 'tokens.csv');
    await writeFile(good, 'tok,alice,1,"dev"\n');
    expect((await loadTokenFile(good)).lookup('tok')).toEqual({ name: 'alice', uid: '1', groups: ['dev'] });

    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'tok,alice,1\nbroken\n');
    await expect(loadTokenFile(bad)).rejects.toMatchObject({
      code: TokenFileErrorCode.Malformed,
      line: 2,
      message: expect.stringContaining('bad.csv'),
    });
  });

  it('reports a missing file as UNREADABLE', async () => {
    await expect(loadTokenFile(join(dir, 'absent.csv'))).rejects.toMatchObject({ code: TokenFileErrorCode.Unreadable });
  });

  it('refuses an oversized file before reading it', async () => {
    const big = join(dir, 'big.csv');
    await writeFile(big, Buffer.alloc(TOKEN_FILE_BYTES_MAX + 1, 0x61));
    await expect(loadTokenFile(big)).rejects.toMatchObject({ code: TokenFileErrorCode.TooLarge });
  });
});
