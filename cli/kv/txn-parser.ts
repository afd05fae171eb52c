/**
 * etcdctl's txn script: compares, a blank line, success requests, a blank
 * line, failure requests (ended by a blank line or the end of input).
 *
 *   value("k") = "v"            version("k") > "0"     (also: create, mod, lease)
 *                                                      (ops: = == != < >)
 *   put k v [--lease ID] [--prev-kv] ...    get k [end] [--prefix] ...    del k [end] [--prefix] ...
 *
 * Request lines take the same flags as the commands (kv-requests.ts).
 * Departures from etcdctl 3.4, all lenient: the last blank line may be left
 * out, numbers may be written without quotes, and `lease("k") = "ID"` works
 * (hex, as lease ids are printed) where etcdctl 3.4 panics.
 */
import { Command, CommanderError } from 'commander';
import { CompareResult, CompareTarget, type ICompare, type IRequestOp, type ITxnRequest } from 'etcd3';
import { KvErrorCode, KvUsageError } from './errors.js';
import {
  addDelFlags,
  addGetFlags,
  addPutFlags,
  buildDeleteRequest,
  buildPutRequest,
  buildRangeRequest,
  parseLeaseId,
  type DelFlags,
  type GetFlags,
  type PutFlags,
} from './kv-requests.js';

interface ScriptLine {
  readonly text: string;
  /** 1-based, for error messages. */
  readonly lineNo: number;
}

export function parseTxn(script: string): ITxnRequest {
  const lines = script.split(/\r?\n/);
  let next = 0;
  const section = (): ScriptLine[] => {
    const out: ScriptLine[] = [];
    for (; next < lines.length; next++) {
      const text = lines[next]!.trim();
      if (text.length === 0) {
        next++;
        break;
      }
      out.push({ text, lineNo: next + 1 });
    }
    return out;
  };
  const compare = section().map(parseCompareLine);
  const success = section().map(parseRequestLine);
  const failure = section().map(parseRequestLine);
  const extra = lines.findIndex((l, i) => i >= next && l.trim().length > 0);
  if (extra >= 0) {
    throw syntaxError(extra + 1, `unexpected input after the failure requests: ${lines[extra]!.trim()}`);
  }
  return { compare, success, failure };
}

function syntaxError(lineNo: number, message: string): KvUsageError {
  return new KvUsageError(KvErrorCode.BadTxnInput, `txn input line ${lineNo}: ${message}`);
}

const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
const COMPARE_LINE = new RegExp(String.raw`^([A-Za-z]+)\(\s*(${QUOTED})\s*\)\s*(==|=|!=|<|>)\s*(${QUOTED}|\S+)$`);

const COMPARE_RESULTS: Readonly<Record<string, CompareResult>> = {
  '=': CompareResult.Equal,
  '==': CompareResult.Equal,
  '!=': CompareResult.NotEqual,
  '<': CompareResult.Less,
  '>': CompareResult.Greater,
};

export function parseCompareLine({ text, lineNo }: ScriptLine): ICompare {
  const m = COMPARE_LINE.exec(text);
  if (!m) throw syntaxError(lineNo, `malformed comparison: ${text}`);
  const [, target = '', quotedKey = '', op = '', rawValue = ''] = m;
  const key = Buffer.from(unquote(quotedKey, lineNo));
  const value = rawValue.startsWith('"') ? unquote(rawValue, lineNo) : rawValue;
  const result = COMPARE_RESULTS[op];
  if (result === undefined) throw syntaxError(lineNo, `malformed comparison: ${text} (unknown operator ${op})`);
  const int64 = (): string => {
    if (!/^-?\d{1,19}$/.test(value)) throw syntaxError(lineNo, `invalid txn compare request: ${text} (expected an integer, got "${value}")`);
    return value;
  };
  switch (target) {
    case 'ver':
    case 'version':
      return { key, result, target: CompareTarget.Version, version: int64() };
    case 'c':
    case 'create':
      return { key, result, target: CompareTarget.Create, create_revision: int64() };
    case 'm':
    case 'mod':
      return { key, result, target: CompareTarget.Mod, mod_revision: int64() };
    case 'val':
    case 'value':
      return { key, result, target: CompareTarget.Value, value: Buffer.from(value) };
    case 'lease':
      return { key, result, target: CompareTarget.Lease, lease: leaseInScript(value, lineNo).toString() };
    default:
      throw syntaxError(lineNo, `malformed comparison: ${text} (unknown target ${target})`);
  }
}

function leaseInScript(value: string, lineNo: number): bigint {
  try {
    return parseLeaseId(value);
  } catch (err) {
    throw err instanceof KvUsageError ? syntaxError(lineNo, err.message) : err;
  }
}

/** A double-quoted string with Go/JSON escapes. */
function unquote(quoted: string, lineNo: number): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw syntaxError(lineNo, `bad quoted string ${quoted}`);
  }
}

/** Splits a request line like a shell would for these simple cases: "double" (with escapes), 'single', or bare words. */
export function argify(text: string, lineNo: number): string[] {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|'[^']*'|\S+/g) ?? [];
  return tokens.map((t) => (t.startsWith('"') && t.length >= 2 ? unquote(t, lineNo) : t.startsWith("'") && t.length >= 2 ? t.slice(1, -1) : t));
}

const SILENT = { writeOut: (): void => undefined, writeErr: (): void => undefined };

export function parseRequestLine({ text, lineNo }: ScriptLine): IRequestOp {
  const [verb = '', ...args] = argify(text, lineNo);
  let op: IRequestOp | undefined;
  const cmd = new Command(verb).exitOverride().configureOutput(SILENT).helpOption(false);
  switch (verb) {
    case 'get':
      addGetFlags(cmd).argument('<key>').argument('[range_end]');
      cmd.action((key: string, end: string | undefined, f: GetFlags) => void (op = { request_range: buildRangeRequest(key, end, f) }));
      break;
    case 'put':
      addPutFlags(cmd).argument('<key>').argument('[value]');
      cmd.action((key: string, value: string | undefined, f: PutFlags) => {
        op = { request_put: buildPutRequest(key, value === undefined ? undefined : Buffer.from(value), f) };
      });
      break;
    case 'del':
      addDelFlags(cmd).argument('<key>').argument('[range_end]');
      cmd.action((key: string, end: string | undefined, f: DelFlags) => void (op = { request_delete_range: buildDeleteRequest(key, end, f) }));
      break;
    default:
      throw syntaxError(lineNo, `invalid txn request: ${text} (expected get, put or del)`);
  }
  try {
    cmd.parse(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError || err instanceof KvUsageError) {
      throw syntaxError(lineNo, `invalid txn request: ${text} (${err.message.replace(/^error: /, '')})`);
    }
    throw err;
  }
  if (op === undefined) throw syntaxError(lineNo, `invalid txn request: ${text}`);
  return op;
}
