/**
 * A starting member's id, settled once per data dir (join.ts says how), and
 * the first log of a new cluster: a member of a `new` cluster with an empty log
 * writes the bootstrap entries; a member joining an `existing` one never does.
 */
import { bootstrapEntries } from '../../raft/core/conf-change.js';
import type { LevelStorage } from '../../raft/storage/level-storage.js';
import type { InitialMember } from './initial-cluster.js';
import { lookupJoiningMember, mustBeSameCluster, readIdentity, writeIdentity } from './join.js';
import { formatId } from './member-id.js';
import { encodeMemberContext } from './members.js';

export interface IdentityOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly storage: LevelStorage;
  readonly initial: readonly InitialMember[];
  readonly self: InitialMember;
  readonly initialClusterState: 'new' | 'existing';
  readonly clusterId: number;
  readonly log: (line: string) => void;
}

export interface SettledIdentity {
  readonly id: number;
  /** Whom to dial until this member has applied a membership of its own. */
  readonly fallbackPeers: ReadonlyArray<{ readonly id: number; readonly peerUrl: string }>;
}

/** This member's id (recorded, derived or looked up) and, for a new cluster's empty log, the bootstrap. */
export async function settleIdentity(o: IdentityOptions): Promise<SettledIdentity> {
  const initialPeers = o.initial.filter((m) => m !== o.self).map((m) => ({ id: m.id, peerUrl: m.peerUrl }));
  const recorded = await readIdentity(o.dataDir);
  if (recorded !== undefined) {
    mustBeSameCluster(recorded, o.clusterId, o.dataDir);
    return { id: recorded.memberId, fallbackPeers: initialPeers.filter((p) => p.id !== recorded.memberId) };
  }
  const { hardState } = o.storage.initialState();
  // A snapshot's index is at most the last index, so a last index of 0 means no snapshot either.
  const empty = o.storage.lastIndex() === 0 && hardState.term === 0;
  if (o.initialClusterState === 'existing' && empty) {
    const found = await lookupJoiningMember({ self: o.self, peers: o.initial.filter((m) => m !== o.self), clusterId: o.clusterId, log: o.log });
    await writeIdentity(o.dataDir, { memberId: found.id, clusterId: o.clusterId, name: o.name });
    const peers = found.members.filter((m) => m.id !== found.id && m.peerUrls[0] !== undefined).map((m) => ({ id: m.id, peerUrl: m.peerUrls[0]! }));
    o.log(`member ${formatId(found.id)} waits for the leader to send it the log (--initial-cluster-state existing never bootstraps)`);
    return { id: found.id, fallbackPeers: peers };
  }
  await writeIdentity(o.dataDir, { memberId: o.self.id, clusterId: o.clusterId, name: o.name });
  if (o.initialClusterState === 'new' && empty) await bootstrap(o);
  return { id: o.self.id, fallbackPeers: initialPeers };
}

async function bootstrap(o: IdentityOptions): Promise<void> {
  const contexts = new Map(o.initial.map((m) => [m.id, encodeMemberContext({ name: m.name, peerUrls: [m.peerUrl], clientUrls: [] })]));
  const entries = bootstrapEntries(o.initial.map((m) => m.id), contexts);
  await o.storage.persist({ entries, hardState: { term: 1, vote: 0, commit: entries.length }, readStates: [], committedEntries: [], messages: [], mustSync: true });
  o.log(`bootstrapped a new cluster of ${o.initial.length} members`);
}
