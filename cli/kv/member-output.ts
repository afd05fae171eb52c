/**
 * What `strake kv member add | remove | promote | update` and `move-leader`
 * print: etcdctl 3.4's lines (ids with Go's `%16x`, space-padded), and after
 * `member add` the ETCD_* lines etcdctl prints plus the `strake master` command
 * line that starts the new member. Pure, so the shapes are tested without a
 * cluster.
 */
import type { IMember } from 'etcd3';
import { memberIdHex } from './output.js';

/** Go's `%16x`: hex, right-aligned in 16 columns with spaces. */
export function goHex16(id: string | bigint): string {
  return memberIdHex(id).padStart(16, ' ');
}

/** etcdctl 3.4 says the same for a learner (3.5 adds " as learner"). */
export function memberAddedLine(memberId: string, clusterId: string): string {
  return `Member ${goHex16(memberId)} added to cluster ${goHex16(clusterId)}`;
}

export function memberRemovedLine(memberId: bigint, clusterId: string): string {
  return `Member ${goHex16(memberId)} removed from cluster ${goHex16(clusterId)}`;
}

export function memberPromotedLine(memberId: bigint, clusterId: string): string {
  return `Member ${goHex16(memberId)} promoted in cluster ${goHex16(clusterId)}`;
}

export function memberUpdatedLine(memberId: bigint, clusterId: string): string {
  return `Member ${goHex16(memberId)} updated in cluster ${goHex16(clusterId)}`;
}

/** etcdctl prints ids with Go's types.ID String(): bare hex. */
export function leadershipTransferredLine(fromId: string | bigint, toId: bigint): string {
  return `Leadership transferred from ${memberIdHex(fromId)} to ${memberIdHex(toId)}`;
}

export interface NewMemberStart {
  readonly name: string;
  readonly newId: string;
  readonly peerUrls: readonly string[];
  readonly members: readonly IMember[];
  readonly dataDir: string;
  readonly listenClient: string;
  /** undefined: the default token ("strake"), left out of the command line. */
  readonly clusterToken: string | undefined;
}

/** etcdctl's name=URL list: every member's peer URLs, the new one under its new name. */
export function initialClusterOf(members: readonly IMember[], newId: string, newName: string, unnamed: (m: IMember) => string): string {
  const sameId = (m: IMember): boolean => BigInt(m.ID) === BigInt(newId);
  return members.flatMap((m) => (m.peerURLs ?? []).map((u) => `${sameId(m) ? newName : m.name || unnamed(m)}=${u}`)).join(',');
}

/** The lines after etcdctl's "Member ... added" line: its ETCD_* lines, then how to start the member with strake. */
export function newMemberLines(s: NewMemberStart): string[] {
  const etcdCluster = initialClusterOf(s.members, s.newId, s.name, () => '');
  // strake master needs a name for every entry; a member that never started has none yet.
  const strakeCluster = initialClusterOf(s.members, s.newId, s.name, (m) => `member-${memberIdHex(m.ID)}`);
  const args = [
    'strake', 'master',
    '--name', s.name,
    '--data-dir', s.dataDir,
    '--listen-peer', s.peerUrls[0] ?? '',
    '--listen-client', s.listenClient,
    '--initial-cluster', strakeCluster,
    '--initial-cluster-state', 'existing',
    ...(s.clusterToken === undefined ? [] : ['--cluster-token', s.clusterToken]),
  ];
  return [
    '',
    `ETCD_NAME=${goQuote(s.name)}`,
    `ETCD_INITIAL_CLUSTER=${goQuote(etcdCluster)}`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(s.peerUrls.join(','))}`,
    'ETCD_INITIAL_CLUSTER_STATE="existing"',
    '',
    '# start the new member with:',
    args.map(shellQuote).join(' '),
  ];
}

/** Go's %q for the printable ASCII these values hold. */
function goQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The DESIGN.md port contract: a master's client port is its peer port + 1, on the same host. */
export function defaultListenClient(peerUrl: string): string {
  const url = new URL(peerUrl);
  return `${url.hostname}:${Number(url.port) + 1}`;
}
