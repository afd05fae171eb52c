/** `strake kv txn`: reads etcdctl's txn script from stdin (txn-parser.ts), runs it, prints SUCCESS/FAILURE and each result. */
import type { Command } from 'commander';
import type { ITxnResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { KV_EXIT_CODE, assertNever } from './errors.js';
import { responseKind, toJson, txnJson } from './json.js';
import { deleteLines, putLines, rangeLines } from './kv-commands.js';
import { writeLines, type Line } from './output.js';
import { globalFlags, kvAction, mustNotBeTable, readStdin, withSession } from './session.js';
import { parseTxn } from './txn-parser.js';

/**
 * A txn's requests together stay under etcd's default --max-request-bytes
 * (1.5 MiB); quoting can double the text, so a longer script is a mistake.
 */
export const TXN_SCRIPT_BYTES_MAX = 4 * 1024 * 1024;

export function registerTxnCommand(kv: Command, setExitCode: ExitCodeSink): void {
  kv.command('txn')
    .description(
      'run a transaction read from stdin: compares, blank line, success requests, blank line, failure requests ' +
        '(e.g. value("k") = "v" / version("k") > "0"; put k v / get k / del k)',
    )
    .action(kvAction(setExitCode, (_flags: object, cmd: Command) => runTxn(cmd)));
}

async function runTxn(cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  if (process.stdin.isTTY) {
    process.stderr.write('reading compares, success requests and failure requests from stdin, each ended by a blank line (Ctrl-D to finish)\n');
  }
  const req = parseTxn((await readStdin('the txn script', TXN_SCRIPT_BYTES_MAX)).toString('utf8'));
  return withSession(g, async (s) => {
    const res = await s.client.kv.txn(req);
    writeLines(s.format === 'json' ? [toJson(txnJson(res))] : txnLines(res));
    return KV_EXIT_CODE.ok;
  });
}

/** etcdctl: SUCCESS or FAILURE, then a blank line before each request's own output. */
export function txnLines(res: ITxnResponse): Line[] {
  const lines: Line[] = [res.succeeded ? 'SUCCESS' : 'FAILURE'];
  for (const op of res.responses ?? []) {
    lines.push('');
    const kind = responseKind(op);
    switch (kind) {
      case 'response_range':
        lines.push(...rangeLines(op.response_range, { valueOnly: false, countOnly: false }));
        break;
      case 'response_put':
        lines.push(...putLines(op.response_put, false));
        break;
      case 'response_delete_range':
        lines.push(...deleteLines(op.response_delete_range, false));
        break;
      case 'response_txn':
        lines.push(...txnLines(op.response_txn));
        break;
      default:
        assertNever(kind, 'txn response kind');
    }
  }
  return lines;
}
