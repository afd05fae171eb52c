/** `strake kv put | get | del | compact`: etcdctl's key-value commands and their output. */
import type { Command } from 'commander';
import type { IDeleteRangeResponse, IPutResponse, IRangeResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { parseIntegerOption } from '../options.js';
import { KV_EXIT_CODE, KvErrorCode, KvUsageError } from './errors.js';
import { deleteJson, headerJson, putJson, rangeJson, toJson } from './json.js';
import {
  REVISION_MAX,
  addDelFlags,
  addGetFlags,
  addPutFlags,
  buildDeleteRequest,
  buildPutRequest,
  buildRangeRequest,
  type DelFlags,
  type GetFlags,
  type PutFlags,
} from './kv-requests.js';
import { kvLines, writeLines, type Line } from './output.js';
import { globalFlags, kvAction, mustNotBeTable, readStdin, withSession } from './session.js';

/** etcd's default --max-request-bytes (1.5 MiB): a larger value would be refused by the server anyway. */
export const PUT_VALUE_BYTES_MAX = 1.5 * 1024 * 1024;

export function registerKvRequestCommands(kv: Command, setExitCode: ExitCodeSink): void {
  addPutFlags(kv.command('put').description('put the given key into the store (the value is read from stdin when omitted)'))
    .argument('<key>')
    .argument('[value]')
    .action(
      kvAction(setExitCode, (key: string, value: string | undefined, flags: PutFlags, cmd: Command) => runPut(key, value, flags, cmd)),
    );
  addGetFlags(kv.command('get').description('get the key or a range of keys [key, range_end)'))
    .argument('<key>')
    .argument('[range_end]')
    .action(kvAction(setExitCode, (key: string, end: string | undefined, flags: GetFlags, cmd: Command) => runGet(key, end, flags, cmd)));
  addDelFlags(kv.command('del').description('remove the key or a range of keys [key, range_end) and print how many were removed'))
    .argument('<key>')
    .argument('[range_end]')
    .action(kvAction(setExitCode, (key: string, end: string | undefined, flags: DelFlags, cmd: Command) => runDel(key, end, flags, cmd)));
  kv.command('compact')
    .description('discard all revisions older than the given one')
    .argument('<revision>', 'revision to compact up to', (v) => parseIntegerOption('revision', v, 1, REVISION_MAX))
    .option('--physical', 'wait until the compaction is physically applied', false)
    .action(kvAction(setExitCode, (rev: number, flags: { physical: boolean }, cmd: Command) => runCompact(rev, flags, cmd)));
}

async function runPut(key: string, valueArg: string | undefined, f: PutFlags, cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  const value =
    valueArg !== undefined ? Buffer.from(valueArg) : f.ignoreValue ? undefined : await readStdin('the value', PUT_VALUE_BYTES_MAX);
  const req = buildPutRequest(key, value, f);
  return withSession(g, async (s) => {
    const res = await s.client.kv.put(req);
    writeLines(s.format === 'json' ? [toJson(putJson(res))] : putLines(res, false));
    return KV_EXIT_CODE.ok;
  });
}

async function runGet(key: string, rangeEnd: string | undefined, f: GetFlags, cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  if (f.printValueOnly && g.writeOut !== 'simple') {
    throw new KvUsageError(KvErrorCode.BadFlag, '--print-value-only is only for `--write-out=simple`');
  }
  const req = buildRangeRequest(key, rangeEnd, f);
  return withSession(g, async (s) => {
    const res = await s.client.kv.range(req);
    writeLines(s.format === 'json' ? [toJson(rangeJson(res))] : rangeLines(res, { valueOnly: f.printValueOnly, countOnly: f.countOnly }));
    return KV_EXIT_CODE.ok;
  });
}

async function runDel(key: string, rangeEnd: string | undefined, f: DelFlags, cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  const req = buildDeleteRequest(key, rangeEnd, f);
  return withSession(g, async (s) => {
    const res = await s.client.kv.deleteRange(req);
    writeLines(s.format === 'json' ? [toJson(deleteJson(res))] : deleteLines(res, false));
    return KV_EXIT_CODE.ok;
  });
}

async function runCompact(revision: number, f: { physical: boolean }, cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  return withSession(g, async (s) => {
    const res = await s.client.kv.compact({ revision, physical: f.physical });
    writeLines(s.format === 'json' ? [toJson({ header: headerJson(res.header) })] : [`compacted revision ${revision}`]);
    return KV_EXIT_CODE.ok;
  });
}

/** etcdctl: "OK", then the previous pair when --prev-kv found one. */
export function putLines(res: IPutResponse, valueOnly: boolean): Line[] {
  return ['OK', ...(res.prev_kv ? kvLines(res.prev_kv, valueOnly) : [])];
}

/** etcdctl: key and value lines per pair; with --count-only (which etcdctl 3.4 lacks) the count alone. */
export function rangeLines(res: IRangeResponse, opts: { valueOnly: boolean; countOnly: boolean }): Line[] {
  if (opts.countOnly) return [BigInt(res.count).toString()];
  return (res.kvs ?? []).flatMap((kv) => kvLines(kv, opts.valueOnly));
}

/** etcdctl: the number deleted, then the deleted pairs when --prev-kv was given. */
export function deleteLines(res: IDeleteRangeResponse, valueOnly: boolean): Line[] {
  return [BigInt(res.deleted).toString(), ...(res.prev_kvs ?? []).flatMap((kv) => kvLines(kv, valueOnly))];
}
