/**
 * `strake kv watch`: prints events as etcdctl does (type, then the previous
 * pair with --prev-kv, then the key and value) until Ctrl-C, or until
 * --max-events events have been printed.
 */
import type { Command } from 'commander';
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { parseIntegerOption } from '../options.js';
import { KV_EXIT_CODE, KvError, KvErrorCode } from './errors.js';
import { eventJson, headerJson, intAlways, toJson, type JsonValue } from './json.js';
import { REVISION_MAX, keyRange } from './kv-requests.js';
import { kvLines, stdoutClosed, writeLines, type Line, type OutputFormat } from './output.js';
import { globalFlags, kvAction, mustNotBeTable, withSession } from './session.js';

/** A test or a script that wants more than a million events wants a different tool. */
export const WATCH_MAX_EVENTS_LIMIT = 1_000_000;

interface WatchFlags {
  prefix: boolean;
  rev: number;
  prevKv: boolean;
  maxEvents?: number;
}

export function registerWatchCommand(kv: Command, setExitCode: ExitCodeSink): void {
  kv.command('watch')
    .description('watch the key or range [key, range_end) and print events until Ctrl-C (or --max-events)')
    .argument('<key>')
    .argument('[range_end]')
    .option('--prefix', 'watch on a prefix', false)
    .option('--rev <revision>', 'revision to start watching from (0 = now)', (v) => parseIntegerOption('--rev', v, 0, REVISION_MAX), 0)
    .option('--prev-kv', 'get the previous key-value pair before the event happens', false)
    .option('--max-events <n>', 'exit 0 after printing this many events', (v) => parseIntegerOption('--max-events', v, 1, WATCH_MAX_EVENTS_LIMIT))
    .action(kvAction(setExitCode, (key: string, end: string | undefined, f: WatchFlags, cmd: Command) => runWatch(key, end, f, cmd)));
}

async function runWatch(key: string, rangeEnd: string | undefined, f: WatchFlags, cmd: Command): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  const range = keyRange('watch', key, rangeEnd, { prefix: f.prefix, fromKey: false });
  return withSession(g, async (s) => {
    const stream = await s.client.watchClient.watch();
    stream.write({ create_request: { ...range, start_revision: f.rev, prev_kv: f.prevKv } });
    return followWatch(stream, s.format, f.maxEvents);
  });
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/** Resolves 0 on Ctrl-C / SIGTERM, a closed stdout, or after `maxEvents`; rejects when the server cancels or ends the watch. */
function followWatch(stream: WatchStream, format: OutputFormat, maxEvents: number | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let printed = 0;
    let finished = false;
    const finish = (settle: () => void): void => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stdoutClosed.removeEventListener('abort', onSignal);
      stream.cancel();
      settle();
    };
    const onSignal = (): void => finish(() => resolve(KV_EXIT_CODE.ok));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    stdoutClosed.addEventListener('abort', onSignal);
    stream.on('data', (res) => {
      if (finished) return;
      const cancelReason = watchCancelReason(res);
      if (cancelReason !== undefined) {
        process.stderr.write(`watch was canceled (${cancelReason})\n`);
        finish(() => reject(new KvError(KvErrorCode.WatchCanceled, 'watch is canceled by the server')));
        return;
      }
      const events = maxEvents === undefined ? (res.events ?? []) : (res.events ?? []).slice(0, maxEvents - printed);
      if (events.length === 0) return;
      printed += events.length;
      writeLines(format === 'json' ? [toJson(watchResponseJson(res, events))] : events.flatMap(eventLines));
      if (maxEvents !== undefined && printed >= maxEvents) finish(() => resolve(KV_EXIT_CODE.ok));
    });
    stream.on('error', (err) => finish(() => reject(err)));
    stream.on('end', () => finish(() => reject(new KvError(KvErrorCode.WatchCanceled, 'watch stream was closed by the server'))));
  });
}

/** clientv3's WatchResponse.Err(): compaction, the server's reason, or (no reason) a future start revision. */
function watchCancelReason(res: IWatchResponse): string | undefined {
  if (BigInt(res.compact_revision || '0') !== 0n) return 'etcdserver: mvcc: required revision has been compacted';
  if (!res.canceled) return undefined;
  return res.cancel_reason ? res.cancel_reason : 'etcdserver: mvcc: required revision is a future revision';
}

export function eventLines(e: IEvent): Line[] {
  const lines: Line[] = [e.type === 'Delete' ? 'DELETE' : 'PUT'];
  if (e.prev_kv) lines.push(...kvLines(e.prev_kv, false));
  if (e.kv) lines.push(...kvLines(e.kv, false));
  return lines;
}

/** clientv3.WatchResponse has no json tags: Go's field names, and every field printed. */
function watchResponseJson(res: IWatchResponse, events: readonly IEvent[]): JsonValue {
  return {
    Header: headerJson(res.header) ?? {},
    Events: events.map(eventJson),
    CompactRevision: intAlways(res.compact_revision),
    Canceled: res.canceled,
    Created: res.created,
  };
}
