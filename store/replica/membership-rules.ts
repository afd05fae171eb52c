/**
 * etcd's rules for changing the membership (etcd 3.4 with --strict-reconfig-check,
 * its default: server.go mayAddMember / mayRemoveMember / mayPromoteMember and
 * membership/cluster.go IsReadyTo*), as pure functions of the membership table
 * and, on the leader, of which peers it heard from lately. Each throws the
 * typed etcd error a user of etcdctl expects, with a detail that names the
 * member, the value and the limit.
 *
 * A member is "started" once it has published its name (etcd: IsStarted).
 *
 * One rule is stricter than etcd's: etcd lets a single started member add a
 * second voter, because its membership changes take effect when committed. Here
 * a change takes effect when appended (raft/core/conf-change.ts), so that entry
 * itself would need the new, not yet started, member to commit: the cluster
 * would stop, and the new member could not even learn its id. A voter is added
 * only when the started voters make the quorum with it; a learner always can be.
 */
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type { Member } from '../etcd-server/types.js';
import { formatId } from './member-id.js';

/** etcd 3.4's maxLearners: one learner at a time keeps a slow catch-up from hiding behind another. */
export const MAX_LEARNERS = 1;
/** etcd's readyPercent: a learner is promoted only once it holds this share of the leader's log. */
export const LEARNER_READY_FRACTION = 0.9;
/** etcd's HealthInterval: a peer heard from within this long counts as active. */
export const PEER_ACTIVE_WINDOW_MS = 5_000;

export interface ClusterView {
  readonly members: readonly Member[];
  readonly selfId: number;
  /**
   * Leader only: whether voter `id` was heard from within PEER_ACTIVE_WINDOW_MS
   * (this member counts as active). Absent where it cannot be known; the
   * quorum-protecting checks are then skipped, as the leader repeats them.
   */
  readonly isActive?: (id: number) => boolean;
}

const isStarted = (m: Member): boolean => m.name.length > 0;
const voters = (v: ClusterView): Member[] => v.members.filter((m) => !m.isLearner);
const quorumOf = (n: number): number => Math.floor(n / 2) + 1;

function mustFind(v: ClusterView, id: number): Member {
  const m = v.members.find((x) => x.id === id);
  if (m === undefined) throw etcdError(EtcdErrorCode.MemberNotFound, `member ${formatId(id)} is not in the cluster`);
  return m;
}

function mustNotUsePeerUrls(v: ClusterView, peerUrls: readonly string[], exceptId = 0): void {
  for (const m of v.members) {
    if (m.id === exceptId) continue;
    const taken = m.peerUrls.find((u) => peerUrls.includes(u));
    if (taken !== undefined) throw etcdError(EtcdErrorCode.PeerUrlExists, `peer URL ${taken} is already member ${formatId(m.id)}'s`);
  }
}

/** Adding a member: unique peer URLs, at most MAX_LEARNERS learners, and a quorum that stays reachable. */
export function checkAdd(v: ClusterView, req: { readonly peerUrls: readonly string[]; readonly isLearner: boolean }): void {
  mustNotUsePeerUrls(v, req.peerUrls);
  if (req.isLearner) {
    const learners = v.members.filter((m) => m.isLearner);
    if (learners.length >= MAX_LEARNERS) {
      const ids = learners.map((m) => formatId(m.id)).join(', ');
      throw etcdError(EtcdErrorCode.TooManyLearners, `the cluster has ${learners.length} learner(s) (${ids}); the limit is ${MAX_LEARNERS}: promote or remove it first`);
    }
  } else {
    const all = voters(v);
    const started = all.filter(isStarted).length;
    const members = all.length + 1;
    if (started < quorumOf(members)) {
      throw etcdError(
        EtcdErrorCode.MemberNotEnoughStarted,
        `${started} of ${all.length} voters are started; with one more voter the quorum is ${quorumOf(members)}: add it with --learner, start it, then promote it`,
      );
    }
  }
  const isActive = v.isActive;
  if (isActive === undefined) return;
  const silent = voters(v).find((m) => m.id !== v.selfId && !isActive(m.id));
  if (silent !== undefined) {
    throw etcdError(EtcdErrorCode.Unhealthy, `voter ${formatId(silent.id)} was not heard from within ${PEER_ACTIVE_WINDOW_MS} ms; a new member could cost the cluster its quorum`);
  }
}

/** Removing a member: a learner always; a voter only if the rest can still reach a quorum. */
export function checkRemove(v: ClusterView, id: number): void {
  const target = mustFind(v, id);
  if (target.isLearner) return;
  const rest = voters(v).filter((m) => m.id !== id);
  const started = rest.filter(isStarted).length;
  if (rest.length === 0) {
    throw etcdError(EtcdErrorCode.MemberNotEnoughStarted, `member ${formatId(id)} is the last voter; removing it would leave the cluster without one`);
  }
  if (started < quorumOf(rest.length)) {
    throw etcdError(EtcdErrorCode.MemberNotEnoughStarted, `only ${started} of the ${rest.length} remaining voters are started; their quorum is ${quorumOf(rest.length)}`);
  }
  const isActive = v.isActive;
  // A member that is down is not part of the active quorum: removing it is safe.
  if (isActive === undefined || (id !== v.selfId && !isActive(id))) return;
  const all = voters(v);
  const active = all.filter((m) => m.id === v.selfId || isActive(m.id)).length;
  if (active - 1 < quorumOf(all.length - 1)) {
    throw etcdError(EtcdErrorCode.Unhealthy, `${active} of ${all.length} voters are active; without member ${formatId(id)} the cluster needs ${quorumOf(all.length - 1)}`);
  }
}

/**
 * Promoting a learner: it must be one, hold LEARNER_READY_FRACTION of the
 * leader's log (`readiness`, known on the leader only), and the started voters
 * plus it must make a quorum.
 */
export function checkPromote(v: ClusterView, id: number, readiness?: { readonly learnerMatch: number; readonly leaderMatch: number }): void {
  const target = mustFind(v, id);
  if (!target.isLearner) throw etcdError(EtcdErrorCode.MemberNotLearner, `member ${formatId(id)} is a voter already`);
  if (readiness !== undefined && readiness.learnerMatch < readiness.leaderMatch * LEARNER_READY_FRACTION) {
    throw etcdError(
      EtcdErrorCode.LearnerNotReady,
      `learner ${formatId(id)} holds the log up to index ${readiness.learnerMatch} of the leader's ${readiness.leaderMatch}; it needs ${LEARNER_READY_FRACTION * 100}%`,
    );
  }
  const isActive = v.isActive;
  if (isActive !== undefined && !isActive(id)) {
    throw etcdError(EtcdErrorCode.LearnerNotReady, `learner ${formatId(id)} was not heard from within ${PEER_ACTIVE_WINDOW_MS} ms; as a voter it would count toward the quorum`);
  }
  const all = voters(v);
  const started = all.filter(isStarted).length + 1; // the learner counts as started
  if (started < quorumOf(all.length + 1)) {
    throw etcdError(EtcdErrorCode.MemberNotEnoughStarted, `${started - 1} of ${all.length} voters are started; with the learner the quorum is ${quorumOf(all.length + 1)}`);
  }
}

/** Changing a member's peer URLs: it must exist, and no other member may use them. */
export function checkUpdate(v: ClusterView, id: number, peerUrls: readonly string[]): void {
  mustFind(v, id);
  mustNotUsePeerUrls(v, peerUrls, id);
}
