/**
 * Restoring a member's data directory from a saved snapshot, like `etcdctl
 * snapshot restore`: every member of the new cluster is restored from the same
 * file with its own --name and the same --initial-cluster, then all start with
 * `--initial-cluster-state new`.
 *
 * Each restored directory holds one Raft snapshot and no log: at index N (the
 * number of members) and term 1, with every new member a voter, and data that
 * is the saved MVCC state plus the new membership table; the hard state
 * commits it. Every member derives the same snapshot from the same flags, so
 * they agree without talking, and a member starting on it does not bootstrap
 * (it bootstraps only an empty log with no hard state). The member's identity
 * file records its id and the new cluster's id, as a first start would.
 */
import { LevelStorage, mustBeEmptyOrMissing } from '../../raft/storage/level-storage.js';
import type { HardState, Snapshot } from '../../raft/core/types.js';
import type { Member } from '../etcd-server/types.js';
import { parseInitialCluster, type InitialMember } from '../replica/initial-cluster.js';
import { writeIdentity } from '../replica/join.js';
import { clusterId as clusterIdOf } from '../replica/member-id.js';
import { encodeImage } from '../replica/replicated-state.js';
import { ProgressPhase, readBackupFile, type BackupProgress, type VerifiedBackup } from './backup-file.js';
import { RestoreErrorCode, RestoreFlagError } from './errors.js';

/** The term of the restored snapshot and hard state; the first election makes it 2. */
export const RESTORED_TERM = 1;

export interface RestoreMemberOptions {
  readonly file: string;
  readonly dataDir: string;
  /** This member's name in `initialCluster`. */
  readonly name: string;
  /** name=peerURL,... of every member of the new cluster. */
  readonly initialCluster: string;
  /** Must equal the `--cluster-token` the members start with: member ids derive from it. */
  readonly clusterToken: string;
  /** If given, must be this member's URL in `initialCluster` (etcd's --initial-advertise-peer-urls). */
  readonly initialAdvertisePeerUrls?: string;
  readonly onProgress?: BackupProgress;
}

export interface RestoredMember {
  readonly memberId: number;
  readonly clusterId: number;
  readonly members: readonly InitialMember[];
  /** The Raft index the restored members start from. */
  readonly snapshotIndex: number;
  readonly backup: VerifiedBackup;
}

/**
 * Verifies `file` and writes a new data directory from it. Refuses a data
 * directory that is not empty, and writes nothing unless the file is intact.
 */
export async function restoreMember(o: RestoreMemberOptions): Promise<RestoredMember> {
  const members = parseInitialCluster(o.initialCluster, o.clusterToken);
  const self = mustFindSelf(members, o);
  // Before reading what may be gigabytes: the same check runs again before writing.
  await mustBeEmptyOrMissing(o.dataDir);
  const backup = await readBackupFile(o.file, o.onProgress);
  const snapshot = restoredSnapshot(backup.mvcc, members);
  const hardState: HardState = { term: RESTORED_TERM, vote: 0, commit: snapshot.metadata.index };
  const onProgress = o.onProgress;
  const onWriteProgress = onProgress && ((done: number, total: number) => onProgress(ProgressPhase.Write, done, total));
  await LevelStorage.restoreFrom(o.dataDir, snapshot, hardState, { onWriteProgress });
  const clusterId = clusterIdOf(o.clusterToken);
  // Pins the member to the new cluster: started with another --cluster-token, it
  // refuses to start instead of deriving an id that is not among the voters.
  await writeIdentity(o.dataDir, { memberId: self.id, clusterId, name: self.name });
  return { memberId: self.id, clusterId, members, snapshotIndex: snapshot.metadata.index, backup };
}

function mustFindSelf(members: readonly InitialMember[], o: RestoreMemberOptions): InitialMember {
  const self = members.find((m) => m.name === o.name);
  if (self === undefined) {
    throw new RestoreFlagError(
      RestoreErrorCode.MemberNotInCluster,
      `--name "${o.name}" is not one of the --initial-cluster members (${members.map((m) => m.name).join(', ')})`,
    );
  }
  const advertised = o.initialAdvertisePeerUrls?.replace(/\/$/, '');
  if (advertised !== undefined && advertised !== self.peerUrl) {
    throw new RestoreFlagError(
      RestoreErrorCode.PeerUrlMismatch,
      `--initial-advertise-peer-urls ${advertised} differs from ${self.peerUrl}, the URL --initial-cluster gives member "${self.name}"`,
    );
  }
  return self;
}

/**
 * The Raft snapshot every restored member starts from: the same on each, given
 * the same MVCC state and members.
 */
export function restoredSnapshot(mvcc: Uint8Array, members: readonly InitialMember[]): Snapshot {
  const table: Member[] = members
    .map((m) => ({ id: m.id, name: m.name, peerUrls: [m.peerUrl], clientUrls: [], isLearner: false }))
    .sort((a, b) => a.id - b.id);
  return {
    metadata: { index: members.length, term: RESTORED_TERM, confState: { voters: members.map((m) => m.id), learners: [] } },
    data: encodeImage({ mvcc, members: table }),
  };
}
