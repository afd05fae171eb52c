/**
 * `strake kv alarm list | disarm` and `strake kv defrag`: etcdctl's space
 * maintenance commands. Alarms print as etcdctl prints them (Go's compact text
 * form of AlarmMember, trailing space included); defrag also reports each
 * member's size before and after, read from Status around the Defragment call.
 */
import type { Command } from 'commander';
import { AlarmAction, AlarmType, type IAlarmMember, type IAlarmResponse, type IStatusResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { askEndpoint, targetEndpoints } from './cluster-commands.js';
import { KV_EXIT_CODE, KvError, KvErrorCode, describeError } from './errors.js';
import { headerJson, int, list, toJson, type JsonValue } from './json.js';
import { humanBytes, renderTable, writeLines, type Line } from './output.js';
import { globalFlags, kvAction, withSession, type KvGlobalFlags, type KvSession } from './session.js';

/**
 * Alarms one disarm clears. A cluster raises at most one per member and alarm
 * type; a longer list is not a cluster's answer, and disarming it one request
 * at a time would not end.
 */
export const ALARMS_PER_DISARM_MAX = 1024;

/** etcd's AlarmType names and wire numbers, by the etcd3 client's enum key. */
const ALARM_NAMES: Readonly<Record<keyof typeof AlarmType, { name: string; number: bigint }>> = {
  None: { name: 'NONE', number: 0n },
  Nospace: { name: 'NOSPACE', number: 1n },
  Corrupt: { name: 'CORRUPT', number: 2n },
};

export function registerMaintenanceCommands(kv: Command, setExitCode: ExitCodeSink): void {
  const alarm = kv.command('alarm').description('alarm related commands');
  alarm
    .command('list')
    .description('list all alarms raised in the cluster')
    .action(kvAction(setExitCode, (_f: object, cmd: Command) => alarmList(globalFlags(cmd))));
  alarm
    .command('disarm')
    .description('disarm all alarms (once space is back: compact, defrag, then disarm)')
    .action(kvAction(setExitCode, (_f: object, cmd: Command) => alarmDisarm(globalFlags(cmd))));
  kv.command('defrag')
    .description('defragment the storage of each endpoint (or, with --cluster, of every member) and report its size before and after')
    .option('--cluster', 'use all endpoints from the cluster member list', false)
    .action(kvAction(setExitCode, (f: { cluster: boolean }, cmd: Command) => defrag(globalFlags(cmd), f.cluster)));
}

/** etcdctl's line for an alarm: `memberID:<decimal> alarm:NOSPACE ` (with the trailing space). */
export function alarmLine(a: IAlarmMember): string {
  return `memberID:${BigInt(a.memberID).toString()} alarm:${ALARM_NAMES[a.alarm].name} `;
}

function alarmJson(a: IAlarmMember): JsonValue {
  return { memberID: int(a.memberID), alarm: ALARM_NAMES[a.alarm].number || undefined };
}

function writeAlarms(s: KvSession, header: IAlarmResponse['header'] | undefined, alarms: readonly IAlarmMember[]): void {
  if (s.format === 'json') writeLines([toJson({ header: headerJson(header), alarms: list(alarms, alarmJson) })]);
  else writeLines(alarms.map(alarmLine)); // etcdctl has no alarm table: -w table prints the simple lines
}

function listAlarms(s: KvSession): Promise<IAlarmResponse> {
  return s.client.maintenance.alarm({ action: AlarmAction.Get, memberID: 0, alarm: AlarmType.None });
}

async function alarmList(g: KvGlobalFlags): Promise<number> {
  return withSession(g, async (s) => {
    const res = await listAlarms(s);
    writeAlarms(s, res.header, res.alarms ?? []);
    return KV_EXIT_CODE.ok;
  });
}

/** As clientv3's AlarmDisarm with no member and no type: list, then deactivate each; prints what was cleared. */
async function alarmDisarm(g: KvGlobalFlags): Promise<number> {
  return withSession(g, async (s) => {
    const raised = (await listAlarms(s)).alarms ?? [];
    if (raised.length > ALARMS_PER_DISARM_MAX) {
      throw new KvError(KvErrorCode.RequestFailed, `the cluster lists ${raised.length} alarms; at most ${ALARMS_PER_DISARM_MAX} are disarmed at once`);
    }
    const disarmed: IAlarmMember[] = [];
    for (const a of raised) {
      const res = await s.client.maintenance.alarm({ action: AlarmAction.Deactivate, memberID: a.memberID, alarm: a.alarm });
      disarmed.push(...(res.alarms ?? []));
    }
    writeAlarms(s, undefined, disarmed); // the combined response has no header, as in clientv3
    return KV_EXIT_CODE.ok;
  });
}

interface DefragResult {
  readonly endpoint: string;
  readonly before: IStatusResponse;
  readonly after: IStatusResponse;
}

/** One member at a time, as etcdctl does: defragmenting blocks the member while it runs. */
async function defrag(g: KvGlobalFlags, cluster: boolean): Promise<number> {
  const endpoints = await targetEndpoints(g, cluster);
  const done: DefragResult[] = [];
  for (const endpoint of endpoints) {
    try {
      done.push(await askEndpoint(endpoint, g, async (c) => {
        const before = await c.maintenance.status();
        await c.maintenance.defragment();
        return { endpoint, before, after: await c.maintenance.status() };
      }));
    } catch (err) {
      process.stderr.write(`Failed to defragment etcd member[${endpoint}] (${describeError(err)})\n`);
    }
  }
  writeLines(defragLines(g, done));
  if (done.length < endpoints.length) {
    throw new KvError(KvErrorCode.EndpointFailed, `${endpoints.length - done.length} of ${endpoints.length} endpoints were not defragmented`);
  }
  return KV_EXIT_CODE.ok;
}

function defragLines(g: KvGlobalFlags, done: readonly DefragResult[]): Line[] {
  const bytes = (s: IStatusResponse, field: 'dbSize' | 'dbSizeInUse'): number => Number(s[field]);
  if (g.writeOut === 'json') {
    const rows = done.map((d) => ({
      endpoint: d.endpoint,
      dbSizeBefore: BigInt(d.before.dbSize),
      dbSizeAfter: BigInt(d.after.dbSize),
      dbSizeInUse: BigInt(d.after.dbSizeInUse),
    }));
    return [toJson(rows)];
  }
  if (g.writeOut === 'table') {
    const headers = ['ENDPOINT', 'DB SIZE BEFORE', 'DB SIZE AFTER', 'DB SIZE IN USE'];
    const cells = (d: DefragResult): string[] => [d.endpoint, humanBytes(bytes(d.before, 'dbSize')), humanBytes(bytes(d.after, 'dbSize')), humanBytes(bytes(d.after, 'dbSizeInUse'))];
    return renderTable(headers, done.map(cells));
  }
  return done.map(
    (d) =>
      `Finished defragmenting etcd member[${d.endpoint}] (db size ${humanBytes(bytes(d.before, 'dbSize'))} -> ` +
      `${humanBytes(bytes(d.after, 'dbSize'))}, ${humanBytes(bytes(d.after, 'dbSizeInUse'))} in use)`,
  );
}
