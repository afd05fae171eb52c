/**
 * The Cluster API's changes (MemberAdd / Remove / Update / Promote) over Raft.
 * The leader checks etcd's rules (membership-rules.ts) against its own view,
 * proposes the conf change, and answers once it has applied it; any other
 * member forwards the request to the leader (leader-forward.ts).
 *
 * Only one change may be uncommitted at a time (raft/core/conf-change.ts), and
 * a new leader takes none until an entry of its term commits; a request that
 * meets either waits for it (bounded by the request's deadline), where etcd
 * would queue it, instead of failing at once.
 */
import { ConfChangePendingError } from '../../raft/core/errors.js';
import { ConfChangeType, type ConfChange } from '../../raft/core/conf-change.js';
import { StateRole } from '../../raft/core/types.js';
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import type { CallOptions } from '../etcd-server/backend.js';
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type * as E from '../etcd-server/types.js';
import { ForwardedMethod, LeaderForwarder, type ForwardedAnswer } from './leader-forward.js';
import { addedMemberId, formatId } from './member-id.js';
import { encodeMemberContext } from './members.js';
import { PEER_ACTIVE_WINDOW_MS, checkAdd, checkPromote, checkRemove, checkUpdate, type ClusterView } from './membership-rules.js';
import type { Proposal } from './proposal.js';
import type { ApplyOutcome, ReplicatedState } from './replicated-state.js';

/** Pause before proposing again while another change is uncommitted; a commit takes about one round trip. */
const CONF_CHANGE_RETRY_MS = 20;
/** Fresh ids tried for a new member; 48-bit hashes clash with an id in use about never. */
const NEW_ID_ATTEMPTS_MAX = 8;

export interface MembershipOpsOptions {
  readonly driver: RaftDriver;
  readonly state: ReplicatedState;
  readonly memberId: number;
  readonly clusterToken: string;
  /** Whether peer `id` was heard from within `withinMs` (the transport knows); absent = unknown. */
  readonly peerHeardWithinMs?: (id: number, withinMs: number) => boolean;
  /** How long a call with `opts` may take. */
  readonly timeoutFor: (opts: CallOptions) => number;
  readonly proposeAndWait: (p: Proposal, opts: CallOptions) => Promise<ApplyOutcome>;
  readonly nextRequestId: () => string;
  /** Raft and driver errors in etcd's vocabulary. */
  readonly mapRaftError: (err: unknown) => unknown;
}

export class MembershipOps {
  private readonly forwarder = new LeaderForwarder();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly o: MembershipOpsOptions) {}

  /** The replicated membership changed: wake the requests waiting for their change to apply. */
  onMembersChanged(): void {
    for (const l of [...this.listeners]) l();
  }

  close(): void {
    this.forwarder.close();
  }

  async add(req: E.MemberAddRequest, opts: CallOptions): Promise<E.MemberAddResponse> {
    if (!this.isLeader()) {
      const a = await this.forward(ForwardedMethod.MemberAdd, { peerURLs: req.peerUrls, isLearner: req.isLearner }, opts);
      if (a.member === undefined) throw etcdError(EtcdErrorCode.InvalidRequest, 'the leader answered MemberAdd without the member');
      return { member: a.member, members: a.members };
    }
    const id = this.newMemberId(req.peerUrls);
    const context = encodeMemberContext({ name: '', peerUrls: req.peerUrls, clientUrls: [] });
    const type = req.isLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter;
    await this.change(() => checkAdd(this.view(), req), { type, nodeId: id, context }, () => this.o.state.members.get(id) !== undefined, opts);
    return { member: this.o.state.members.get(id)!, members: this.o.state.members.list() };
  }

  async remove(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    if (!this.isLeader()) return this.forward(ForwardedMethod.MemberRemove, { ID: id }, opts);
    const cc = { type: ConfChangeType.RemoveNode, nodeId: id };
    await this.change(() => checkRemove(this.view(), id), cc, () => this.o.state.members.get(id) === undefined, opts);
    return { members: this.o.state.members.list() };
  }

  async promote(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    if (!this.isLeader()) return this.forward(ForwardedMethod.MemberPromote, { ID: id }, opts);
    const check = (): void => checkPromote(this.view(), id, this.readiness(id));
    const cc = { type: ConfChangeType.AddVoter, nodeId: id };
    await this.change(check, cc, () => this.o.state.members.get(id)?.isLearner === false, opts);
    return { members: this.o.state.members.list() };
  }

  async update(id: number, peerUrls: readonly string[], opts: CallOptions): Promise<E.MembersResponse> {
    if (!this.isLeader()) return this.forward(ForwardedMethod.MemberUpdate, { ID: id, peerURLs: peerUrls }, opts);
    checkUpdate(this.view(), id, peerUrls);
    const p: Proposal = { requestId: this.o.nextRequestId(), kind: 'memberAttributes', memberId: id, attributes: { peerUrls } };
    const outcome = await this.o.proposeAndWait(p, opts);
    if (!outcome.ok) throw outcome.error;
    return { members: this.o.state.members.list() };
  }

  private isLeader(): boolean {
    return this.o.driver.node.raft.role === StateRole.Leader;
  }

  private view(): ClusterView {
    const heard = this.o.peerHeardWithinMs;
    const self = this.o.memberId;
    const base = { members: this.o.state.members.list(), selfId: self };
    return heard === undefined ? base : { ...base, isActive: (id: number) => id === self || heard(id, PEER_ACTIVE_WINDOW_MS) };
  }

  /** The leader's replication progress of `id` against its own, as etcd's isLearnerReady compares them. */
  private readiness(id: number): { learnerMatch: number; leaderMatch: number } | undefined {
    const progress = this.o.driver.status().progress;
    const learner = progress?.get(id);
    const leader = progress?.get(this.o.memberId);
    return learner === undefined || leader === undefined ? undefined : { learnerMatch: learner.match, leaderMatch: leader.match };
  }

  private newMemberId(peerUrls: readonly string[]): number {
    const members = this.o.state.members;
    for (let salt = 0; salt < NEW_ID_ATTEMPTS_MAX; salt++) {
      const id = addedMemberId({ peerUrls, clusterToken: this.o.clusterToken, nowMs: Date.now(), salt });
      if (members.get(id) === undefined && !members.isRemoved(id)) return id;
    }
    throw etcdError(EtcdErrorCode.MemberExists, `${NEW_ID_ATTEMPTS_MAX} fresh member ids were all taken`);
  }

  /** Sends the request to the leader's client URL, with this call's remaining time. */
  private async forward(method: ForwardedMethod, req: object, opts: CallOptions): Promise<ForwardedAnswer> {
    const lead = this.o.driver.node.raft.lead;
    if (lead === 0) throw etcdError(EtcdErrorCode.NoLeader);
    const clientUrl = this.o.state.members.get(lead)?.clientUrls[0];
    if (clientUrl === undefined) throw etcdError(EtcdErrorCode.NoLeader, `the leader ${formatId(lead)} has not published its client URL yet`);
    return this.forwarder.forward(clientUrl, method, req, Date.now() + this.o.timeoutFor(opts), opts.signal);
  }

  /**
   * Checks and proposes `cc` (again while another change is uncommitted or not
   * yet applied here, so the check always sees the latest membership), then
   * waits until `done()` holds for this member's applied membership.
   */
  private async change(check: () => void, cc: ConfChange, done: () => boolean, opts: CallOptions): Promise<void> {
    const deadline = Date.now() + this.o.timeoutFor(opts);
    for (;;) {
      if (opts.signal.aborted) throw opts.signal.reason;
      // A follower would forward the proposal through Raft, where a refusal is lost: the client retries instead.
      if (!this.isLeader()) throw etcdError(EtcdErrorCode.LeaderChanged, 'this member stopped leading before it could propose the change');
      const pending = this.pendingChange();
      if (pending === undefined) {
        check();
        try {
          this.o.driver.proposeConfChange(cc);
          break;
        } catch (err) {
          if (!(err instanceof ConfChangePendingError)) throw this.o.mapRaftError(err);
        }
      }
      if (Date.now() + CONF_CHANGE_RETRY_MS > deadline) {
        throw etcdError(EtcdErrorCode.Timeout, `another membership change is still in progress: ${pending ?? 'the leader has not committed an entry of its term'}`);
      }
      await new Promise((r) => setTimeout(r, CONF_CHANGE_RETRY_MS));
    }
    await this.waitFor(done, deadline, opts);
  }

  /**
   * Why a change cannot be proposed yet: Raft's membership (which includes an
   * appended change) differs from the table this member has applied, so a check
   * would look at stale data. Undefined when they agree.
   */
  private pendingChange(): string | undefined {
    const conf = this.o.driver.node.raft.trk.confState();
    const members = this.o.state.members.list();
    const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((id) => b.includes(id));
    const voters = members.filter((m) => !m.isLearner).map((m) => m.id);
    const learners = members.filter((m) => m.isLearner).map((m) => m.id);
    if (same(conf.voters, voters) && same(conf.learners, learners)) return undefined;
    return `the last change is not applied yet (Raft has voters ${conf.voters.map(formatId).join(',')} and learners ${conf.learners.map(formatId).join(',') || 'none'})`;
  }

  private waitFor(done: () => boolean, deadline: number, opts: CallOptions): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        opts.signal.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const check = (): void => {
        if (done()) finish();
      };
      const onAbort = (): void => finish(opts.signal.reason);
      const timer = setTimeout(() => finish(etcdError(EtcdErrorCode.Timeout)), Math.max(0, deadline - Date.now()));
      opts.signal.addEventListener('abort', onAbort, { once: true });
      this.listeners.add(check);
      check();
    });
  }
}
