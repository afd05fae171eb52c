/**
 * The flags of `get`, `put` and `del` and how they become etcd requests. Both
 * the commands and the txn script use these, so that `get k --prefix` means
 * the same on the command line and inside a txn, as in etcdctl.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SortOrder, SortTarget, type IDeleteRangeRequest, type IPutRequest, type IRangeRequest } from 'etcd3';
import { KvErrorCode, KvUsageError } from './errors.js';
import { parseIntegerOption } from '../options.js';

/** etcd revisions are int64; past 2^53 - 1 they would not round-trip through a JS number. */
export const REVISION_MAX = Number.MAX_SAFE_INTEGER;
/** The largest lease id etcdctl accepts: a positive int64. */
export const LEASE_ID_MAX = 0x7fff_ffff_ffff_ffffn;

export interface GetFlags {
  prefix: boolean;
  fromKey: boolean;
  rev: number;
  limit: number;
  keysOnly: boolean;
  countOnly: boolean;
  printValueOnly: boolean;
  sortBy?: string;
  order?: string;
  consistency: string;
}

export interface PutFlags {
  lease?: string;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface DelFlags {
  prefix: boolean;
  fromKey: boolean;
  prevKv: boolean;
}

const nonNegativeArg = (flag: string) => (v: string) => parseIntegerOption(flag, v, 0, REVISION_MAX);

export function addGetFlags(cmd: Command): Command {
  return cmd
    .option('--prefix', 'get keys with matching prefix', false)
    .option('--from-key', 'get keys that are greater than or equal to the given key using byte compare', false)
    .option('--rev <revision>', 'specify the kv revision (0 = latest)', nonNegativeArg('--rev'), 0)
    .option('--limit <n>', 'maximum number of results (0 = no limit)', nonNegativeArg('--limit'), 0)
    .option('--keys-only', 'get only the keys', false)
    .option('--count-only', 'get only the count', false)
    .option('--print-value-only', 'only write values when using the "simple" output format', false)
    .option('--sort-by <target>', 'sort target; CREATE, KEY, MODIFY, VALUE, or VERSION')
    .option('--order <order>', 'order of results; ASCEND or DESCEND (ASCEND by default)')
    .addOption(new Option('--consistency <l|s>', 'linearizable (l) or serializable (s)').default('l'));
}

export function addPutFlags(cmd: Command): Command {
  return cmd
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key')
    .option('--prev-kv', 'return the previous key-value pair before modification', false)
    .option('--ignore-value', 'update the key using its current value', false)
    .option('--ignore-lease', 'update the key using its current lease', false);
}

export function addDelFlags(cmd: Command): Command {
  return cmd
    .option('--prefix', 'delete keys with matching prefix', false)
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare', false)
    .option('--prev-kv', 'return deleted key-value pairs', false);
}

/** `[key, rangeEnd)` for the key, the optional range end and --prefix / --from-key, as etcdctl computes it. */
export function keyRange(
  command: string,
  key: string,
  rangeEnd: string | undefined,
  f: { prefix: boolean; fromKey: boolean },
): { key: Buffer; range_end?: Buffer } {
  if (f.prefix && f.fromKey) {
    throw new KvUsageError(KvErrorCode.BadFlag, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  }
  if (rangeEnd !== undefined && (f.prefix || f.fromKey)) {
    throw new KvUsageError(KvErrorCode.BadArgument, `${command}: a range end cannot be given with \`--prefix\` or \`--from-key\``);
  }
  const k = Buffer.from(key);
  if (rangeEnd !== undefined) return { key: k, range_end: Buffer.from(rangeEnd) };
  // An empty key with --prefix or --from-key means every key: etcd's "\0" .. "\0".
  if ((f.prefix || f.fromKey) && k.length === 0) return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
  if (f.fromKey) return { key: k, range_end: Buffer.from([0]) };
  if (f.prefix) return { key: k, range_end: prefixEnd(k) };
  return { key: k };
}

/** The first key after every key starting with `prefix`; "\0" (no end) when the prefix is all 0xff. */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i]!;
    if (b < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = b + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

const SORT_TARGETS: Readonly<Record<string, SortTarget>> = {
  KEY: SortTarget.Key,
  VERSION: SortTarget.Version,
  CREATE: SortTarget.Create,
  MODIFY: SortTarget.Mod,
  VALUE: SortTarget.Value,
};

export function buildRangeRequest(key: string, rangeEnd: string | undefined, f: GetFlags): IRangeRequest {
  if (f.keysOnly && f.countOnly) {
    throw new KvUsageError(KvErrorCode.BadFlag, '`--keys-only` and `--count-only` cannot be set at the same time, choose one');
  }
  const order = (f.order ?? '').toUpperCase();
  if (order !== '' && order !== 'ASCEND' && order !== 'DESCEND') throw new KvUsageError(KvErrorCode.BadFlag, `bad sort order ${f.order}`);
  const targetName = (f.sortBy ?? 'KEY').toUpperCase();
  const target = SORT_TARGETS[targetName];
  if (target === undefined) throw new KvUsageError(KvErrorCode.BadFlag, `bad sort target ${f.sortBy}`);
  if (f.consistency !== 'l' && f.consistency !== 's') throw new KvUsageError(KvErrorCode.BadFlag, `unknown consistency flag "${f.consistency}"`);
  let sortOrder = order === 'DESCEND' ? SortOrder.Descend : order === 'ASCEND' ? SortOrder.Ascend : SortOrder.None;
  // As clientv3's WithSort: ascending by key is what the server does anyway.
  if (target === SortTarget.Key && sortOrder === SortOrder.Ascend) sortOrder = SortOrder.None;
  return {
    ...keyRange('get', key, rangeEnd, f),
    limit: f.limit,
    revision: f.rev,
    sort_order: sortOrder,
    sort_target: target,
    serializable: f.consistency === 's',
    keys_only: f.keysOnly,
    count_only: f.countOnly,
  };
}

export function buildPutRequest(key: string, value: Buffer | undefined, f: PutFlags): IPutRequest {
  if (f.ignoreValue && value !== undefined) {
    throw new KvUsageError(KvErrorCode.BadArgument, "put command needs only 1 argument when 'ignore-value' is set");
  }
  if (!f.ignoreValue && value === undefined) {
    throw new KvUsageError(KvErrorCode.BadArgument, 'put command needs 1 argument and input from stdin or 2 arguments');
  }
  return {
    key: Buffer.from(key),
    value: value ?? Buffer.alloc(0),
    lease: f.lease === undefined ? 0 : parseLeaseId(f.lease).toString(),
    prev_kv: f.prevKv,
    ignore_value: f.ignoreValue,
    ignore_lease: f.ignoreLease,
  };
}

export function buildDeleteRequest(key: string, rangeEnd: string | undefined, f: DelFlags): IDeleteRangeRequest {
  return { ...keyRange('del', key, rangeEnd, f), prev_kv: f.prevKv };
}

/** Lease ids are hex on etcdctl's command line, as it prints them. */
export function parseLeaseId(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text) || BigInt(`0x${text}`) > LEASE_ID_MAX) {
    throw new KvUsageError(KvErrorCode.BadArgument, `bad lease ID "${text}", expecting ID in hex (at most ${LEASE_ID_MAX.toString(16)})`);
  }
  return BigInt(`0x${text}`);
}

/** parseLeaseId for commander arguments, so that a bad id is reported as a bad argument (exit code 2). */
export function leaseIdArgument(text: string): bigint {
  try {
    return parseLeaseId(text);
  } catch (err) {
    throw err instanceof KvUsageError ? new InvalidArgumentError(err.message) : err;
  }
}
