/**
 * Who a starting member is. The first start of a data dir settles the member's
 * id and records it in <data-dir>/member.json; every later start reads it back,
 * whatever --initial-cluster-state says (etcd, too, ignores the initial flags
 * once its data dir exists).
 *
 * - `new`: the id derives from --name, the peer URL and the cluster token
 *   (member-id.ts), the same on every member of the new cluster.
 * - `existing`: the member was added to a running cluster with `member add`,
 *   which chose its id. It asks the members named in --initial-cluster for the
 *   membership (grpc-transport.ts Members) and takes the id of the member with
 *   its own peer URL, as etcd fetches /members from its peers. It never
 *   bootstraps: its log arrives from the leader, as entries or as a snapshot.
 *
 * A data dir without member.json that already holds a log predates the file:
 * its member was bootstrapped, so the `new` rule gives its id.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { fetchPeerMembership } from '../../raft/transport/peer-service.js';
import type { Member } from '../etcd-server/types.js';
import type { InitialMember } from './initial-cluster.js';
import { formatId } from './member-id.js';

export const JoinErrorCode = {
  /** The cluster's members answered, and none of them lists this member's peer URL. */
  NotAdded: 'MEMBER_NOT_ADDED',
  /** The member with this peer URL has started before, on another data dir. */
  AlreadyBootstrapped: 'MEMBER_ALREADY_BOOTSTRAPPED',
  /** No member named in --initial-cluster answered within the bound. */
  PeersUnreachable: 'PEERS_UNREACHABLE',
  /** The data dir or a peer belongs to another cluster (another --cluster-token). */
  ClusterMismatch: 'CLUSTER_MISMATCH',
  /** member.json cannot be read. */
  IdentityCorrupt: 'MEMBER_IDENTITY_CORRUPT',
} as const;
export type JoinErrorCode = (typeof JoinErrorCode)[keyof typeof JoinErrorCode];

export class JoinError extends Error {
  constructor(
    readonly code: JoinErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

/** How long a joining member keeps asking its peers: long enough to start a member before the others. */
export const JOIN_LOOKUP_TIMEOUT_MS = 60_000;
/** Bound on one Members request; loopback and LAN peers answer in milliseconds. */
export const PEER_ASK_DEADLINE_MS = 2_000;
/** Pause between two rounds of asking. */
const JOIN_RETRY_MS = 500;
/**
 * Rounds in which peers answered without this member before giving up: a peer
 * may not have applied the addition yet, but a few rounds cover that.
 */
const NOT_LISTED_ROUNDS_MAX = 10;
/** member.json holds three short fields; anything larger is not ours. */
const IDENTITY_FILE_BYTES_MAX = 4096;

const IDENTITY_FILE = 'member.json';

export interface MemberIdentity {
  readonly memberId: number;
  readonly clusterId: number;
  readonly name: string;
}

/** The identity recorded in `dataDir`, or undefined when there is none yet. */
export async function readIdentity(dataDir: string): Promise<MemberIdentity | undefined> {
  const file = join(dataDir, IDENTITY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const o = (text.length <= IDENTITY_FILE_BYTES_MAX ? safeJson(text) : undefined) as Record<string, unknown> | undefined;
  const memberId = typeof o?.['memberId'] === 'string' ? parseInt(o['memberId'], 16) : NaN;
  const clusterId = typeof o?.['clusterId'] === 'string' ? parseInt(o['clusterId'], 16) : NaN;
  if (!Number.isSafeInteger(memberId) || memberId <= 0 || !Number.isSafeInteger(clusterId) || clusterId <= 0) {
    throw new JoinError(JoinErrorCode.IdentityCorrupt, `${file} does not hold a member id and cluster id: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { memberId, clusterId, name: typeof o?.['name'] === 'string' ? o['name'] : '' };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Records `identity` in `dataDir` durably: temp file, fsync, rename, fsync of the directory. */
export async function writeIdentity(dataDir: string, identity: MemberIdentity): Promise<void> {
  const file = join(dataDir, IDENTITY_FILE);
  const tmp = `${file}.tmp`;
  const body = `${JSON.stringify({ memberId: formatId(identity.memberId), clusterId: formatId(identity.clusterId), name: identity.name })}\n`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Fails unless the recorded identity is of the cluster this member was started for. */
export function mustBeSameCluster(identity: MemberIdentity, clusterId: number, dataDir: string): void {
  if (identity.clusterId === clusterId) return;
  throw new JoinError(
    JoinErrorCode.ClusterMismatch,
    `data dir ${dataDir} belongs to cluster ${formatId(identity.clusterId)}, but --cluster-token gives cluster ${formatId(clusterId)}`,
  );
}

export interface JoinLookup {
  readonly self: InitialMember;
  /** The other members named in --initial-cluster. */
  readonly peers: readonly InitialMember[];
  readonly clusterId: number;
  readonly log: (line: string) => void;
  /** Default JOIN_LOOKUP_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

/** Asks the peers for the membership until one lists this member's peer URL; resolves with its id and the membership. */
export async function lookupJoiningMember(o: JoinLookup): Promise<{ id: number; members: Member[] }> {
  if (o.peers.length === 0) {
    throw new JoinError(JoinErrorCode.PeersUnreachable, '--initial-cluster names no other member to join through; list the running members too');
  }
  const timeoutMs = o.timeoutMs ?? JOIN_LOOKUP_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const failures = new Map<string, string>();
  for (let notListedRounds = 0; ; ) {
    let answered = false;
    for (const peer of o.peers) {
      const members = await askPeer(peer, o.clusterId, failures);
      if (members === undefined) continue;
      answered = true;
      const me = members.find((m) => m.peerUrls.some((u) => u.replace(/\/$/, '') === o.self.peerUrl));
      if (me === undefined) continue;
      if (me.clientUrls.length > 0) {
        throw new JoinError(
          JoinErrorCode.AlreadyBootstrapped,
          `member ${formatId(me.id)} (${o.self.peerUrl}) has already been started with another data dir; to give it an empty one, remove it and add it again`,
        );
      }
      o.log(`joining the cluster as member ${formatId(me.id)}, learned from ${peer.name} (${peer.peerUrl})`);
      return { id: me.id, members };
    }
    if (answered && ++notListedRounds >= NOT_LISTED_ROUNDS_MAX) {
      throw new JoinError(
        JoinErrorCode.NotAdded,
        `no member lists peer URL ${o.self.peerUrl}; add this member first: strake kv member add ${o.self.name} --peer-urls ${o.self.peerUrl}`,
      );
    }
    if (Date.now() >= deadline) {
      const why = [...failures].map(([url, e]) => `${url}: ${e}`).join('; ');
      throw new JoinError(JoinErrorCode.PeersUnreachable, `no member of --initial-cluster answered within ${timeoutMs} ms (${why})`);
    }
    await new Promise((r) => setTimeout(r, JOIN_RETRY_MS));
  }
}

/** One peer's membership, or undefined (recorded in `failures`) when it did not answer. */
async function askPeer(peer: InitialMember, clusterId: number, failures: Map<string, string>): Promise<Member[] | undefined> {
  try {
    return decodeMembership(await fetchPeerMembership(peer.peerUrl, formatId(clusterId), PEER_ASK_DEADLINE_MS));
  } catch (err) {
    const status = err as Partial<grpc.ServiceError>;
    if (typeof status.details === 'string' && status.details.startsWith('this is cluster ')) {
      throw new JoinError(JoinErrorCode.ClusterMismatch, `${peer.name} (${peer.peerUrl}) says: ${status.details}; start this member with that cluster's --cluster-token`);
    }
    failures.set(peer.peerUrl, status.details ?? (err instanceof Error ? err.message : String(err)));
    return undefined;
  }
}

function decodeMembership(v: unknown): Member[] {
  if (!Array.isArray(v)) return [];
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((u): u is string => typeof u === 'string') : []);
  return v.flatMap((x: unknown): Member[] => {
    if (typeof x !== 'object' || x === null) return [];
    const o = x as Record<string, unknown>;
    if (!Number.isSafeInteger(o['id'])) return [];
    const name = typeof o['name'] === 'string' ? o['name'] : '';
    return [{ id: o['id'] as number, name, peerUrls: strings(o['peerUrls']), clientUrls: strings(o['clientUrls']), isLearner: o['isLearner'] === true }];
  });
}
