/**
 * `strake kv member list`, `endpoint status`, `endpoint health`: etcdctl's
 * cluster views. The endpoint commands ask every endpoint on its own (or,
 * with --cluster, every member's client URL) and report each one.
 */
import type { Command } from 'commander';
import { AlarmAction, AlarmType, EtcdPermissionDeniedError, type IMember, type IStatusResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { KV_EXIT_CODE, KvError, KvErrorCode, describeError } from './errors.js';
import { flag, headerJson, int, list, toJson, type JsonValue } from './json.js';
import { goDuration, humanBytes, memberIdHex, renderTable, writeLines } from './output.js';
import { registerMemberChangeCommands } from './member-commands.js';
import { globalFlags, kvAction, newClient, parseEndpoints, withSession, type KvGlobalFlags } from './session.js';

export function registerClusterCommands(kv: Command, setExitCode: ExitCodeSink): void {
  const member = kv.command('member').description('membership related commands');
  registerMemberChangeCommands(member, setExitCode);
  member
    .command('list')
    .description('list all members in the cluster')
    .action(kvAction(setExitCode, (_f: object, cmd: Command) => memberList(globalFlags(cmd))));
  const endpoint = kv.command('endpoint').description('endpoint related commands');
  endpoint
    .command('status')
    .description('print the status of each endpoint in --endpoints (or, with --cluster, of every member)')
    .option('--cluster', 'use all endpoints from the cluster member list', false)
    .action(kvAction(setExitCode, (f: { cluster: boolean }, cmd: Command) => endpointStatus(globalFlags(cmd), f.cluster)));
  endpoint
    .command('health')
    .description('check the health of each endpoint (like etcdctl, simple output goes to stderr)')
    .option('--cluster', 'use all endpoints from the cluster member list', false)
    .action(kvAction(setExitCode, (f: { cluster: boolean }, cmd: Command) => endpointHealth(globalFlags(cmd), f.cluster)));
}

async function memberList(g: KvGlobalFlags): Promise<number> {
  return withSession(g, async (s) => {
    const res = await s.client.cluster.memberList({});
    const members = res.members ?? [];
    if (s.format === 'json') {
      writeLines([toJson({ header: headerJson(res.header), members: list(members, memberJson) })]);
    } else if (s.format === 'table') {
      const headers = ['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'];
      writeLines(renderTable(headers, members.map(memberRow)));
    } else {
      writeLines(members.map((m) => memberRow(m).join(', ')));
    }
    return KV_EXIT_CODE.ok;
  });
}

function memberRow(m: IMember): string[] {
  const started = m.name.length > 0 ? 'started' : 'unstarted';
  return [memberIdHex(m.ID), started, m.name, m.peerURLs.join(','), m.clientURLs.join(','), String(m.isLearner)];
}

function memberJson(m: IMember): JsonValue {
  return {
    ID: int(m.ID),
    name: m.name || undefined,
    peerURLs: list(m.peerURLs, (u) => u),
    clientURLs: list(m.clientURLs, (u) => u),
    isLearner: flag(m.isLearner),
  };
}

/** The endpoints to ask: --endpoints as given, or every member's client URLs. */
export async function targetEndpoints(g: KvGlobalFlags, cluster: boolean): Promise<string[]> {
  if (!cluster) return parseEndpoints(g.endpoints);
  const members = await withSession(g, async (s) => (await s.client.cluster.memberList({})).members ?? []);
  return parseEndpoints(members.flatMap((m) => m.clientURLs).join(','));
}

/** One endpoint's client, bounded by the dial and the command timeouts together (there is no separate dial here). */
export async function askEndpoint<T>(endpoint: string, g: KvGlobalFlags, ask: (client: ReturnType<typeof newClient>) => Promise<T>): Promise<T> {
  const client = newClient([endpoint], g.dialTimeout + g.commandTimeout);
  try {
    return await ask(client);
  } finally {
    client.close();
  }
}

async function endpointStatus(g: KvGlobalFlags, cluster: boolean): Promise<number> {
  const endpoints = await targetEndpoints(g, cluster);
  const results = await Promise.allSettled(endpoints.map((ep) => askEndpoint(ep, g, (c) => c.maintenance.status())));
  const ok: Array<{ endpoint: string; status: IStatusResponse }> = [];
  results.forEach((r, i) => {
    const endpoint = endpoints[i]!;
    if (r.status === 'fulfilled') ok.push({ endpoint, status: r.value });
    else process.stderr.write(`Failed to get the status of endpoint ${endpoint} (${describeError(r.reason)})\n`);
  });
  if (g.writeOut === 'json') {
    writeLines([toJson(ok.map(({ endpoint, status }) => ({ Endpoint: endpoint, Status: statusJson(status) })))]);
  } else if (g.writeOut === 'table') {
    const headers = ['ENDPOINT', 'ID', 'VERSION', 'DB SIZE', 'IS LEADER', 'IS LEARNER', 'RAFT TERM', 'RAFT INDEX', 'RAFT APPLIED INDEX', 'ERRORS'];
    writeLines(renderTable(headers, ok.map(({ endpoint, status }) => statusRow(endpoint, status))));
  } else {
    writeLines(ok.map(({ endpoint, status }) => statusRow(endpoint, status).join(', ')));
  }
  if (ok.length < endpoints.length) {
    throw new KvError(KvErrorCode.EndpointFailed, `${endpoints.length - ok.length} of ${endpoints.length} endpoints did not report their status`);
  }
  return KV_EXIT_CODE.ok;
}

function statusRow(endpoint: string, s: IStatusResponse): string[] {
  const isLeader = BigInt(s.leader) !== 0n && BigInt(s.leader) === BigInt(s.header.member_id);
  return [
    endpoint,
    memberIdHex(s.header.member_id),
    s.version,
    humanBytes(Number(s.dbSize)),
    String(isLeader),
    String(s.isLearner),
    BigInt(s.raftTerm).toString(),
    BigInt(s.raftIndex).toString(),
    BigInt(s.raftAppliedIndex).toString(),
    (s.errors ?? []).join(', '),
  ];
}

function statusJson(s: IStatusResponse): JsonValue {
  return {
    header: headerJson(s.header),
    version: s.version || undefined,
    dbSize: int(s.dbSize),
    leader: int(s.leader),
    raftIndex: int(s.raftIndex),
    raftTerm: int(s.raftTerm),
    raftAppliedIndex: int(s.raftAppliedIndex),
    errors: list(s.errors, (e) => e),
    dbSizeInUse: int(s.dbSizeInUse),
    isLearner: flag(s.isLearner),
  };
}

interface EndpointHealth {
  readonly endpoint: string;
  readonly health: boolean;
  readonly took: string;
  readonly error: string;
}

/** As etcdctl: a linearizable get must succeed (permission denied counts: it went through consensus) and no alarm be raised. */
async function checkHealth(endpoint: string, g: KvGlobalFlags): Promise<EndpointHealth> {
  return askEndpoint(endpoint, g, async (client) => {
    const start = process.hrtime.bigint();
    let error = '';
    try {
      await client.kv.range({ key: Buffer.from('health') });
    } catch (err) {
      if (!(err instanceof EtcdPermissionDeniedError)) error = describeError(err);
    }
    const took = goDuration(process.hrtime.bigint() - start);
    if (error !== '') return { endpoint, health: false, took, error };
    try {
      const { alarms } = await client.maintenance.alarm({ action: AlarmAction.Get, memberID: 0, alarm: AlarmType.None });
      if (alarms.length === 0) return { endpoint, health: true, took, error: '' };
      const names = alarms.map((a) => (a.alarm === 'Nospace' ? 'NOSPACE' : a.alarm === 'Corrupt' ? 'CORRUPT' : 'UNKNOWN'));
      return { endpoint, health: false, took, error: `Active Alarm(s): ${names.join(' ')} ` };
    } catch {
      return { endpoint, health: false, took, error: 'Unable to fetch the alarm list' };
    }
  });
}

async function endpointHealth(g: KvGlobalFlags, cluster: boolean): Promise<number> {
  const endpoints = await targetEndpoints(g, cluster);
  const results = await Promise.all(endpoints.map((ep) => checkHealth(ep, g)));
  if (g.writeOut === 'json') {
    const json = results.map((h) => ({ endpoint: h.endpoint, health: h.health, took: h.took, error: h.error || undefined }));
    writeLines([toJson(json)]);
  } else if (g.writeOut === 'table') {
    writeLines(renderTable(['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'], results.map((h) => [h.endpoint, String(h.health), h.took, h.error])));
  } else {
    const lines = results.map((h) =>
      h.health
        ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}`
        : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}`,
    );
    writeLines(lines, process.stderr);
  }
  if (results.some((h) => !h.health)) throw new KvError(KvErrorCode.UnhealthyCluster, 'unhealthy cluster');
  return KV_EXIT_CODE.ok;
}
