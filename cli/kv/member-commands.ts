/**
 * `strake kv member add | remove | promote | update` and `strake kv move-leader`:
 * etcdctl 3.4's membership commands with its output. `member add` also prints
 * the `strake master` command that starts the new member. `move-leader` must
 * reach the leader (etcd answers "not leader" elsewhere); like etcdctl it asks
 * each endpoint for its status to find the leader among --endpoints, and when
 * none of them leads it looks the leader's client URL up in the member list.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { IMember, IResponseHeader } from 'etcd3';
import { clusterId as clusterIdOf } from '../../store/replica/member-id.js';
import type { ExitCodeSink } from '../main.js';
import { KV_EXIT_CODE, KvError, KvErrorCode, KvUsageError, describeError } from './errors.js';
import { flag, headerJson, int, list, toJson, type JsonValue } from './json.js';
import {
  defaultListenClient,
  leadershipTransferredLine,
  memberAddedLine,
  memberPromotedLine,
  memberRemovedLine,
  memberUpdatedLine,
  newMemberLines,
} from './member-output.js';
import { memberIdHex, writeLines } from './output.js';
import { globalFlags, kvAction, mustNotBeTable, newClient, parseEndpoints, withSession, type KvGlobalFlags, type KvSession } from './session.js';

/** The cluster token `strake master` uses unless told otherwise. */
const DEFAULT_CLUSTER_TOKEN = 'strake';
/** Peer URLs of one member: etcd members have one or two (cluster-service.ts has the server's bound). */
const PEER_URLS_MAX = 16;
/** Member ids are unsigned 64-bit numbers, written in hex as etcdctl prints them. */
const MEMBER_ID_MAX = 2n ** 64n - 1n;

interface AddFlags {
  peerUrls?: string;
  learner: boolean;
  dataDir?: string;
  listenClient?: string;
  clusterToken?: string;
}

export function registerMemberChangeCommands(member: Command, setExitCode: ExitCodeSink): void {
  member
    .command('add')
    .description('add a member (started afterwards with the printed `strake master` command)')
    .argument('<name>', 'name of the new member')
    .option('--peer-urls <urls>', 'comma-separated peer URLs of the new member')
    .option('--learner', 'add it as a learner (a non-voting member until promoted)', false)
    .option('--data-dir <dir>', 'data dir for the printed command (default: <name>.strake)')
    .option('--listen-client <host:port>', 'client endpoint for the printed command (default: peer port + 1)')
    .option('--cluster-token <token>', `the cluster's --cluster-token, for the printed command (default: ${DEFAULT_CLUSTER_TOKEN})`)
    .action(kvAction(setExitCode, (name: string, f: AddFlags, cmd: Command) => memberAdd(globalFlags(cmd), name, f)));
  member
    .command('remove')
    .description('remove a member from the cluster')
    .argument('<memberID>', 'member id in hex', memberIdArgument)
    .action(kvAction(setExitCode, (id: bigint, _f: object, cmd: Command) => memberRemove(globalFlags(cmd), id)));
  member
    .command('promote')
    .description('promote a learner that has caught up with the leader to a voting member')
    .argument('<memberID>', 'member id in hex', memberIdArgument)
    .action(kvAction(setExitCode, (id: bigint, _f: object, cmd: Command) => memberPromote(globalFlags(cmd), id)));
  member
    .command('update')
    .description("change a member's peer URLs")
    .argument('<memberID>', 'member id in hex', memberIdArgument)
    .option('--peer-urls <urls>', 'comma-separated new peer URLs')
    .action(kvAction(setExitCode, (id: bigint, f: { peerUrls?: string }, cmd: Command) => memberUpdate(globalFlags(cmd), id, f.peerUrls)));
}

export function registerMoveLeaderCommand(kv: Command, setExitCode: ExitCodeSink): void {
  kv.command('move-leader')
    .description('transfer leadership to another voting member')
    .argument('<transfereeID>', 'member id in hex', memberIdArgument)
    .action(kvAction(setExitCode, (id: bigint, _f: object, cmd: Command) => moveLeader(globalFlags(cmd), id)));
}

/** A member id as etcdctl reads it: hex, at most 64 bits. */
export function parseMemberId(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text) || BigInt(`0x${text}`) > MEMBER_ID_MAX) {
    throw new KvUsageError(KvErrorCode.BadArgument, `bad member ID arg "${text}", expecting ID in hex`);
  }
  return BigInt(`0x${text}`);
}

function memberIdArgument(text: string): bigint {
  try {
    return parseMemberId(text);
  } catch (err) {
    throw err instanceof KvUsageError ? new InvalidArgumentError(err.message) : err;
  }
}

function peerUrlsOf(spec: string | undefined): string[] {
  const urls = (spec ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new KvUsageError(KvErrorCode.BadFlag, 'member peer urls not provided (--peer-urls)');
  if (urls.length > PEER_URLS_MAX) throw new KvUsageError(KvErrorCode.BadFlag, `--peer-urls: ${urls.length} URLs given; at most ${PEER_URLS_MAX} are accepted`);
  return urls;
}

async function memberAdd(g: KvGlobalFlags, name: string, f: AddFlags): Promise<number> {
  mustNotBeTable(g.writeOut);
  const peerUrls = peerUrlsOf(f.peerUrls);
  const listenClient = f.listenClient ?? defaultListenClientOrUsage(peerUrls[0]!);
  return withSession(g, async (s) => {
    const res = await s.client.cluster.memberAdd({ peerURLs: peerUrls, isLearner: f.learner });
    if (s.format === 'json') {
      writeLines([toJson({ header: headerJson(res.header), member: res.member === undefined ? undefined : memberJson(res.member), members: list(res.members, memberJson) })]);
      return KV_EXIT_CODE.ok;
    }
    const clusterToken = tokenForCommand(f.clusterToken, res.header);
    writeLines([
      memberAddedLine(res.member.ID, res.header.cluster_id),
      ...newMemberLines({ name, newId: res.member.ID, peerUrls, members: res.members ?? [], dataDir: f.dataDir ?? `${name}.strake`, listenClient, clusterToken }),
    ]);
    return KV_EXIT_CODE.ok;
  });
}

function defaultListenClientOrUsage(peerUrl: string): string {
  try {
    return defaultListenClient(peerUrl);
  } catch {
    throw new KvUsageError(KvErrorCode.BadFlag, `--peer-urls: "${peerUrl}" is not a URL like http://host:port`);
  }
}

/**
 * The --cluster-token for the printed command: left out when it is the default,
 * and checked against the cluster's id (which derives from it), since a member
 * started with another token can never join.
 */
function tokenForCommand(given: string | undefined, header: IResponseHeader): string | undefined {
  const token = given ?? DEFAULT_CLUSTER_TOKEN;
  if (BigInt(clusterIdOf(token)) !== BigInt(header.cluster_id)) {
    process.stderr.write(
      `warning: cluster ${memberIdHex(header.cluster_id)} was not started with --cluster-token "${token}"; ` +
        'replace <cluster-token> below with its token (or pass it to member add with --cluster-token)\n',
    );
    return '<cluster-token>';
  }
  return token === DEFAULT_CLUSTER_TOKEN ? undefined : token;
}

function memberJson(m: IMember): JsonValue {
  return { ID: int(m.ID), name: m.name || undefined, peerURLs: list(m.peerURLs, (u) => u), clientURLs: list(m.clientURLs, (u) => u), isLearner: flag(m.isLearner) };
}

/** The simple line or the JSON of a response that carries the header and the member list. */
function membersChanged(s: KvSession, res: { header: IResponseHeader; members: IMember[] }, line: string): number {
  writeLines([s.format === 'json' ? toJson({ header: headerJson(res.header), members: list(res.members, memberJson) }) : line]);
  return KV_EXIT_CODE.ok;
}

async function memberRemove(g: KvGlobalFlags, id: bigint): Promise<number> {
  mustNotBeTable(g.writeOut);
  return withSession(g, async (s) => {
    const res = await s.client.cluster.memberRemove({ ID: id.toString() });
    return membersChanged(s, res, memberRemovedLine(id, res.header.cluster_id));
  });
}

async function memberPromote(g: KvGlobalFlags, id: bigint): Promise<number> {
  mustNotBeTable(g.writeOut);
  return withSession(g, async (s) => {
    const res = await s.client.cluster.memberPromote({ ID: id.toString() });
    return membersChanged(s, res, memberPromotedLine(id, res.header.cluster_id));
  });
}

async function memberUpdate(g: KvGlobalFlags, id: bigint, spec: string | undefined): Promise<number> {
  mustNotBeTable(g.writeOut);
  const peerUrls = peerUrlsOf(spec);
  return withSession(g, async (s) => {
    const res = await s.client.cluster.memberUpdate({ ID: id.toString(), peerURLs: peerUrls });
    return membersChanged(s, res, memberUpdatedLine(id, res.header.cluster_id));
  });
}

async function moveLeader(g: KvGlobalFlags, target: bigint): Promise<number> {
  mustNotBeTable(g.writeOut);
  const leader = await findLeader(g);
  const client = newClient([leader.endpoint], g.dialTimeout + g.commandTimeout);
  try {
    const res = await client.maintenance.moveLeader({ targetID: target.toString() });
    writeLines([g.writeOut === 'json' ? toJson({ header: headerJson(res.header) }) : leadershipTransferredLine(leader.id, target)]);
    return KV_EXIT_CODE.ok;
  } finally {
    client.close();
  }
}

/** The leader's endpoint: one of --endpoints that says it leads, else the leader's client URL from the member list. */
async function findLeader(g: KvGlobalFlags): Promise<{ endpoint: string; id: string }> {
  const endpoints = parseEndpoints(g.endpoints);
  const failures: string[] = [];
  let leaderId: string | undefined;
  for (const endpoint of endpoints) {
    const client = newClient([endpoint], g.dialTimeout + g.commandTimeout);
    try {
      const status = await client.maintenance.status();
      if (BigInt(status.leader) !== 0n && BigInt(status.leader) === BigInt(status.header.member_id)) return { endpoint, id: status.leader };
      if (BigInt(status.leader) !== 0n) leaderId = status.leader;
    } catch (err) {
      failures.push(`${endpoint}: ${describeError(err)}`);
    } finally {
      client.close();
    }
  }
  if (leaderId !== undefined) {
    const id = leaderId;
    const members = await withSession(g, async (s) => (await s.client.cluster.memberList({})).members ?? []);
    const url = members.find((m) => BigInt(m.ID) === BigInt(id))?.clientURLs[0];
    if (url !== undefined) return { endpoint: parseEndpoints(url)[0]!, id };
  }
  const why = failures.length > 0 ? ` (${failures.join('; ')})` : '';
  throw new KvError(KvErrorCode.RequestFailed, `no leader endpoint given at [${endpoints.join(' ')}]${why}`);
}
