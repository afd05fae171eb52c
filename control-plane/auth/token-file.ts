/**
 * Static bearer tokens from a file in Kubernetes' `--token-auth-file` format, so
 * a file written for kube-apiserver works unchanged:
 *
 *     token,user,uid,"group1,group2"
 *
 * One CSV record per line; the groups column is optional and, holding commas,
 * quoted. Blank lines are skipped (as Go's CSV reader does). Unlike Kubernetes,
 * which logs and goes on, a malformed line, an empty token or a duplicate token
 * fails the whole load with the line number: a credentials file that is half
 * read grants or refuses access in ways nobody intended.
 *
 * Error messages never contain a token: they end up in logs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { UserInfo } from './user.js';

/**
 * Largest token file read. A static token file lists a handful of administrators
 * and bootstrap identities; 1 MiB is some ten thousand lines, far past any real
 * file, and stops a wrong path (a log, a binary) from being read whole.
 */
export const TOKEN_FILE_BYTES_MAX = 1024 * 1024;

/**
 * Most tokens in one file. A lookup compares the presented token with every
 * entry (so its duration does not depend on which one matched, or how early),
 * so the table size is the per-request cost of token authentication.
 */
export const TOKEN_FILE_ENTRIES_MAX = 10_000;

/** Columns: token, user name, uid, then the optional groups. */
const COLUMNS_MIN = 3;
const COLUMNS_MAX = 4;

export const TokenFileErrorCode = {
  /** A line is not `token,user,uid[,"groups"]`. */
  Malformed: 'TOKEN_FILE_MALFORMED',
  /** Two lines carry the same token. */
  DuplicateToken: 'TOKEN_FILE_DUPLICATE_TOKEN',
  /** Past TOKEN_FILE_BYTES_MAX or TOKEN_FILE_ENTRIES_MAX. */
  TooLarge: 'TOKEN_FILE_TOO_LARGE',
  /** The file could not be read at all. */
  Unreadable: 'TOKEN_FILE_UNREADABLE',
} as const;
export type TokenFileErrorCode = (typeof TokenFileErrorCode)[keyof typeof TokenFileErrorCode];

export class TokenFileError extends Error {
  override readonly name = 'TokenFileError';
  constructor(
    readonly code: TokenFileErrorCode,
    message: string,
    /** 1-based line the error is about, when it is about one. */
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Users by bearer token. */
export interface TokenTable {
  /** The user the token belongs to, or undefined. Takes the same time whichever entry matches. */
  lookup(token: string): UserInfo | undefined;
  readonly size: number;
}

interface TokenEntry {
  /** SHA-256 of the token: fixed length, so comparisons need not reveal the token's length. */
  readonly digest: Buffer;
  readonly user: UserInfo;
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

class StaticTokenTable implements TokenTable {
  constructor(private readonly entries: readonly TokenEntry[]) {}

  get size(): number {
    return this.entries.length;
  }

  lookup(token: string): UserInfo | undefined {
    const digest = digestOf(token);
    let found: UserInfo | undefined;
    // No early exit: every entry is compared, so timing reveals neither whether nor where it matched.
    for (const entry of this.entries) {
      const equal = timingSafeEqual(entry.digest, digest);
      if (equal && found === undefined) found = entry.user;
    }
    return found;
  }
}

/**
 * Parses a token file's text. `source` names the file in error messages.
 * Throws TokenFileError (MALFORMED, DUPLICATE_TOKEN, TOO_LARGE).
 */
export function parseTokenFile(text: string, source = 'token file'): TokenTable {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > TOKEN_FILE_BYTES_MAX) {
    throw new TokenFileError(
      TokenFileErrorCode.TooLarge,
      `${source} is ${bytes} bytes; the limit is ${TOKEN_FILE_BYTES_MAX}`,
    );
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: TokenEntry[] = [];
  const lineByDigest = new Map<string, number>();
  for (const [index, line] of lines.entries()) {
    const lineNumber = index + 1;
    if (line.trim() === '') continue;
    const { token, user } = parseTokenLine(line, lineNumber, source);
    const digest = digestOf(token);
    const key = digest.toString('hex');
    const earlier = lineByDigest.get(key);
    if (earlier !== undefined) {
      throw new TokenFileError(
        TokenFileErrorCode.DuplicateToken,
        `${source} line ${lineNumber}: the token is already given to a user on line ${earlier}`,
        lineNumber,
      );
    }
    if (entries.length === TOKEN_FILE_ENTRIES_MAX) {
      throw new TokenFileError(
        TokenFileErrorCode.TooLarge,
        `${source} line ${lineNumber}: more than ${TOKEN_FILE_ENTRIES_MAX} tokens`,
        lineNumber,
      );
    }
    lineByDigest.set(key, lineNumber);
    entries.push({ digest, user });
  }
  return new StaticTokenTable(entries);
}

/** Reads and parses a token file. Throws TokenFileError (UNREADABLE and the parse errors). */
export async function loadTokenFile(path: string): Promise<TokenTable> {
  let text: string;
  try {
    // Size first: a wrong path must not be read into memory whole.
    const { size } = await stat(path);
    if (size > TOKEN_FILE_BYTES_MAX) {
      throw new TokenFileError(
        TokenFileErrorCode.TooLarge,
        `token file ${JSON.stringify(path)} is ${size} bytes; the limit is ${TOKEN_FILE_BYTES_MAX}`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof TokenFileError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new TokenFileError(
      TokenFileErrorCode.Unreadable,
      `cannot read token file ${JSON.stringify(path)}: ${reason}`,
      undefined,
      { cause: err },
    );
  }
  return parseTokenFile(text, `token file ${JSON.stringify(path)}`);
}

function parseTokenLine(line: string, lineNumber: number, source: string): { token: string; user: UserInfo } {
  const malformed = (what: string): TokenFileError =>
    new TokenFileError(TokenFileErrorCode.Malformed, `${source} line ${lineNumber}: ${what}`, lineNumber);
  const fields = splitCsvRecord(line);
  if (typeof fields === 'string') throw malformed(fields);
  // More than four columns is refused rather than ignored (Kubernetes ignores it):
  // it is almost always an unquoted groups column, read as its first group only.
  if (fields.length < COLUMNS_MIN || fields.length > COLUMNS_MAX) {
    throw malformed(
      `expected ${COLUMNS_MIN} or ${COLUMNS_MAX} columns (token,user,uid,"group1,group2"), found ${fields.length}` +
        (fields.length > COLUMNS_MAX ? '; quote the groups column' : ''),
    );
  }
  const [token, name, uid, groupsColumn] = fields as [string, string, string, string | undefined];
  if (token === '') throw malformed('the token is empty');
  // A bearer token travels in one header field after one space; whitespace cannot be sent.
  if (/\s/.test(token)) throw malformed('the token contains whitespace');
  if (name.trim() === '') throw malformed('the user name is empty');
  const groups = (groupsColumn ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  const user: UserInfo = Object.freeze({
    name,
    ...(uid === '' ? {} : { uid }),
    groups: Object.freeze(groups),
  });
  return { token, user };
}

/**
 * Splits one CSV record (RFC 4180, as Go's encoding/csv reads it): fields are
 * comma-separated, a field may be quoted, `""` inside quotes is a quote. Returns
 * the fields, or a description of what is wrong. Quoted fields cannot span lines.
 */
export function splitCsvRecord(line: string): string[] | string {
  const fields: string[] = [];
  let pos = 0;
  for (;;) {
    if (line[pos] === '"') {
      let value = '';
      let i = pos + 1;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) return `unterminated quoted field starting at column ${pos + 1}`;
        value += line.slice(i, close);
        if (line[close + 1] === '"') {
          value += '"';
          i = close + 2;
          continue;
        }
        pos = close + 1;
        break;
      }
      fields.push(value);
      if (pos === line.length) return fields;
      if (line[pos] !== ',') return `unexpected character after the closing quote at column ${pos + 1}`;
      pos += 1;
    } else {
      const comma = line.indexOf(',', pos);
      const end = comma < 0 ? line.length : comma;
      const value = line.slice(pos, end);
      const quote = value.indexOf('"');
      if (quote >= 0) return `a quote inside an unquoted field at column ${pos + quote + 1}`;
      fields.push(value);
      if (comma < 0) return fields;
      pos = comma + 1;
    }
  }
}
