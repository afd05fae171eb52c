/**
 * EtcdBackend over this member's Raft driver and replicated state: writes are
 * proposed (a follower's proposal is forwarded to the leader by Raft) and
 * answered when this member applies them; linearizable reads wait for a
 * ReadIndex round, serializable reads are served from local state.
 */
import { ConfChangeType } from '../../raft/core/conf-change.js';
import { NotLeaderError, ProposalDroppedError, RaftError, UncommittedLimitError } from '../../raft/core/errors.js';
import { StateRole } from '../../raft/core/types.js';
import { DriverStoppedError, ReadTimeoutError } from '../../raft/driver/errors.js';
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import type { CallOptions, EtcdBackend, RangeOptions, WatchHandle, WatchSink } from '../etcd-server/backend.js';
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type * as E from '../etcd-server/types.js';
import { encodeCommand, type Command, type ResponseOf } from '../mvcc/commands.js';
import { MvccError } from '../mvcc/errors.js';
import type { ReadResult } from '../mvcc/state-machine.js';
import type { ApplyOutcome, ReplicatedState } from './replicated-state.js';
import { encodeMemberContext } from './members.js';
import { memberId } from './member-id.js';
import { encodeProposal, type Proposal } from './proposal.js';
import { SNAPSHOT_STREAM_CHUNK_BYTES, VERSION_STRING } from './limits.js';

export interface RaftBackendOptions {
  readonly driver: RaftDriver;
  readonly state: ReplicatedState;
  readonly memberId: number;
  readonly clusterId: number;
  readonly clusterToken: string;
  /** How long a write or a linearizable read may wait for Raft. etcd: 5 s + 2 election timeouts. */
  readonly requestTimeoutMs: number;
}

interface Waiter {
  resolve(outcome: ApplyOutcome): void;
  reject(err: unknown): void;
}

/** Proposals waiting for their apply; bounded so a member without a leader pushes back. */
export const MAX_PENDING_PROPOSALS = 16_384;

export class RaftBackend implements EtcdBackend {
  private readonly waiters = new Map<string, Waiter>();
  private readonly membershipListeners = new Set<() => void>();
  private requestCounter = 0;

  constructor(private readonly o: RaftBackendOptions) {}

  // ---- hooks from the replicated state -----------------------------------

  onResult(requestId: string, outcome: ApplyOutcome): void {
    const w = this.waiters.get(requestId);
    if (w === undefined) return;
    this.waiters.delete(requestId);
    w.resolve(outcome);
  }

  onMembersChanged(): void {
    for (const l of [...this.membershipListeners]) l();
  }

  /** Fails every waiting request (the member is stopping). */
  failAll(err: unknown): void {
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }

  header(): E.ResponseHeader {
    return {
      clusterId: this.o.clusterId,
      memberId: this.o.memberId,
      revision: this.o.state.mvcc.currentRevision,
      raftTerm: this.o.driver.node.raft.term,
    };
  }

  // ---- proposing -----------------------------------------------------------

  nextRequestId(): string {
    return `${this.o.memberId.toString(16)}-${++this.requestCounter}`;
  }

  /** Proposes and waits for this member to apply it; resolves with the apply outcome. */
  async proposeAndWait(p: Proposal, opts: CallOptions): Promise<ApplyOutcome> {
    if (this.waiters.size >= MAX_PENDING_PROPOSALS) {
      throw etcdError(EtcdErrorCode.TooManyRequests, `${MAX_PENDING_PROPOSALS} proposals are already waiting`);
    }
    const timeoutMs = this.timeoutFor(opts);
    return new Promise<ApplyOutcome>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        this.waiters.delete(p.requestId);
      };
      const timer = setTimeout(() => {
        finish();
        reject(etcdError(EtcdErrorCode.Timeout));
      }, timeoutMs);
      const onAbort = (): void => {
        finish();
        reject(opts.signal.reason ?? new Error('aborted'));
      };
      opts.signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(p.requestId, {
        resolve: (o) => {
          finish();
          resolve(o);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
      });
      try {
        this.o.driver.propose(encodeProposal(p));
      } catch (err) {
        finish();
        reject(mapRaftError(err));
      }
    });
  }

  private async command<C extends Command>(cmd: C, opts: CallOptions): Promise<ResponseOf<C>> {
    const outcome = await this.proposeAndWait({ requestId: this.nextRequestId(), kind: 'kv', command: encodeCommand(cmd) }, opts);
    if (!outcome.ok) throw outcome.error;
    return outcome.value as ResponseOf<C>;
  }

  private timeoutFor(opts: CallOptions): number {
    const own = this.o.requestTimeoutMs;
    return opts.deadlineEpochMs === undefined ? own : Math.max(1, Math.min(own, opts.deadlineEpochMs - Date.now()));
  }

  /** Waits until local state reflects every write committed before this call (ReadIndex). */
  async linearizableBarrier(opts: CallOptions): Promise<void> {
    if (this.o.driver.node.raft.lead === 0) throw etcdError(EtcdErrorCode.NoLeader);
    try {
      await this.o.driver.readBarrier(this.timeoutFor(opts));
    } catch (err) {
      throw mapRaftError(err);
    }
  }

  // ---- KV --------------------------------------------------------------------

  async range(req: E.RangeRequest, opts: RangeOptions): Promise<E.RangeResponse> {
    if (!opts.serializable) await this.linearizableBarrier(opts);
    return unwrap(this.o.state.mvcc.range(req));
  }

  put(req: E.PutRequest, opts: CallOptions): Promise<E.PutResponse> {
    return this.command({ op: 'put', request: req }, opts);
  }

  deleteRange(req: E.DeleteRangeRequest, opts: CallOptions): Promise<E.DeleteRangeResponse> {
    return this.command({ op: 'deleteRange', request: req }, opts);
  }

  async txn(req: E.TxnRequest, opts: CallOptions): Promise<E.TxnResponse> {
    // A read-only txn needs no log entry in etcd, but a linearizable one still needs
    // a ReadIndex; proposing it keeps one code path and the same guarantee.
    return this.command({ op: 'txn', request: req }, opts);
  }

  compact(revision: number, opts: CallOptions & { readonly physical: boolean }): Promise<E.CompactionResponse> {
    return this.command({ op: 'compact', request: { revision, physical: opts.physical } }, opts);
  }

  async watch(req: E.WatchRequest, sink: WatchSink, _opts: CallOptions): Promise<WatchHandle> {
    const handle = this.o.state.watchHub.register(req, sink);
    if (handle === undefined) throw etcdError(EtcdErrorCode.TooManyRequests, 'too many watchers on this member');
    return handle;
  }

  // ---- Lease -----------------------------------------------------------------

  leaseGrant(req: E.LeaseGrantRequest, opts: CallOptions): Promise<E.LeaseGrantResponse> {
    return this.command({ op: 'leaseGrant', request: { id: req.id, ttlSeconds: req.ttlSeconds, nowMs: Date.now() } }, opts);
  }

  leaseRevoke(id: number, opts: CallOptions): Promise<E.LeaseRevokeResponse> {
    return this.command({ op: 'leaseRevoke', request: { id } }, opts);
  }

  async leaseKeepAlive(id: number, opts: CallOptions): Promise<number> {
    const r = await this.command({ op: 'leaseRenew', request: { id, nowMs: Date.now() } }, opts);
    return r.ttlSeconds;
  }

  async leaseTimeToLive(id: number, opts: CallOptions & { readonly keys: boolean }): Promise<E.LeaseTimeToLiveResponse> {
    await this.linearizableBarrier(opts);
    return unwrap(this.o.state.mvcc.leaseTimeToLive({ id, keys: opts.keys, nowMs: Date.now() }));
  }

  async leaseLeases(opts: CallOptions): Promise<E.LeaseLeasesResponse> {
    await this.linearizableBarrier(opts);
    return unwrap(this.o.state.mvcc.leaseLeases());
  }

  // ---- Cluster ---------------------------------------------------------------

  async memberList(opts: CallOptions): Promise<E.MembersResponse> {
    await this.linearizableBarrier(opts);
    return { members: this.o.state.members.list() };
  }

  async memberAdd(req: E.MemberAddRequest, opts: CallOptions): Promise<E.MemberAddResponse> {
    const members = this.o.state.members.list();
    for (const m of members) {
      if (m.peerUrls.some((u) => req.peerUrls.includes(u))) throw etcdError(EtcdErrorCode.PeerUrlExists);
    }
    const peerUrl = req.peerUrls[0] ?? '';
    const id = memberId({ name: `added-${Date.now()}`, peerUrl, clusterToken: this.o.clusterToken });
    const context = encodeMemberContext({ name: '', peerUrls: req.peerUrls, clientUrls: [] });
    const type = req.isLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter;
    await this.changeMembership(() => this.o.driver.proposeConfChange({ type, nodeId: id, context }), () => this.o.state.members.get(id) !== undefined, opts);
    const member = this.o.state.members.get(id)!;
    return { member, members: this.o.state.members.list() };
  }

  async memberRemove(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    if (this.o.state.members.get(id) === undefined) throw etcdError(EtcdErrorCode.MemberNotFound);
    await this.changeMembership(
      () => this.o.driver.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: id }),
      () => this.o.state.members.get(id) === undefined,
      opts,
    );
    return { members: this.o.state.members.list() };
  }

  async memberUpdate(id: number, peerUrls: readonly string[], opts: CallOptions): Promise<E.MembersResponse> {
    if (this.o.state.members.get(id) === undefined) throw etcdError(EtcdErrorCode.MemberNotFound);
    const outcome = await this.proposeAndWait(
      { requestId: this.nextRequestId(), kind: 'memberAttributes', memberId: id, attributes: { peerUrls } },
      opts,
    );
    if (!outcome.ok) throw outcome.error;
    return { members: this.o.state.members.list() };
  }

  async memberPromote(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    const m = this.o.state.members.get(id);
    if (m === undefined) throw etcdError(EtcdErrorCode.MemberNotFound);
    if (!m.isLearner) throw etcdError(EtcdErrorCode.MemberNotLearner);
    this.checkLearnerReady(id);
    await this.changeMembership(
      () => this.o.driver.proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: id }),
      () => this.o.state.members.get(id)?.isLearner === false,
      opts,
    );
    return { members: this.o.state.members.list() };
  }

  /** etcd promotes a learner only once it holds 90% of the leader's log. */
  private checkLearnerReady(id: number): void {
    const status = this.o.driver.status();
    const pr = status.progress?.get(id);
    if (status.role !== StateRole.Leader || pr === undefined) return; // only the leader can tell; it checks again
    if (pr.match < status.commit * LEARNER_READY_FRACTION) throw etcdError(EtcdErrorCode.LearnerNotReady);
  }

  private async changeMembership(propose: () => void, done: () => boolean, opts: CallOptions): Promise<void> {
    try {
      propose();
    } catch (err) {
      throw mapRaftError(err);
    }
    const timeoutMs = this.timeoutFor(opts);
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(etcdError(EtcdErrorCode.Timeout));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.membershipListeners.delete(check);
      };
      this.membershipListeners.add(check);
      check();
    });
  }

  // ---- Maintenance -------------------------------------------------------------

  async status(_opts: CallOptions): Promise<E.StatusResponse> {
    const s = this.o.driver.status();
    const mvcc = this.o.state.mvcc.status();
    return {
      version: VERSION_STRING,
      dbSizeBytes: mvcc.dbSizeBytes,
      dbSizeInUseBytes: mvcc.dbSizeBytes,
      leader: s.lead,
      raftIndex: s.commit,
      raftTerm: s.term,
      raftAppliedIndex: s.applied,
      isLearner: s.confState.learners.includes(this.o.memberId),
      alarms: [],
    };
  }

  async alarm(_req: E.AlarmRequest, _opts: CallOptions): Promise<readonly E.AlarmMember[]> {
    return []; // no alarms are raised yet (space quotas come with the follow-up work)
  }

  async defragment(_opts: CallOptions): Promise<void> {
    // The state lives in memory and the log in LevelDB, which compacts itself.
  }

  async hashKV(revision: number, _opts: CallOptions): Promise<E.HashKvResponse> {
    return unwrap(this.o.state.mvcc.hashKv(revision));
  }

  async snapshot(_opts: CallOptions): Promise<E.Snapshot> {
    const data = this.o.state.snapshot();
    const revision = this.o.state.mvcc.currentRevision;
    async function* chunks(): AsyncIterable<Uint8Array> {
      for (let off = 0; off < data.byteLength; off += SNAPSHOT_STREAM_CHUNK_BYTES) {
        yield data.subarray(off, off + SNAPSHOT_STREAM_CHUNK_BYTES);
      }
    }
    return { revision, totalBytes: data.byteLength, chunks: chunks() };
  }

  async moveLeader(targetId: number, opts: CallOptions): Promise<void> {
    const s = this.o.driver.status();
    if (s.role !== StateRole.Leader) throw etcdError(EtcdErrorCode.NotLeader);
    if (!s.confState.voters.includes(targetId) || targetId === this.o.memberId) {
      throw etcdError(EtcdErrorCode.BadLeaderTransferee);
    }
    this.o.driver.transferLeadership(targetId);
    const deadline = Date.now() + this.timeoutFor(opts);
    while (Date.now() < deadline && !opts.signal.aborted) {
      if (this.o.driver.node.raft.lead === targetId) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw etcdError(EtcdErrorCode.TimeoutDueToLeaderFail);
  }
}

/** etcd's readyPercent for learner promotion. */
const LEARNER_READY_FRACTION = 0.9;

function unwrap<V>(r: ReadResult<V>): V {
  if (!r.ok) throw r.error;
  return r.value;
}

/** Raft and driver errors in etcd's vocabulary. */
export function mapRaftError(err: unknown): unknown {
  if (err instanceof MvccError) return err;
  if (err instanceof NotLeaderError) return etcdError(EtcdErrorCode.NoLeader);
  if (err instanceof UncommittedLimitError) return etcdError(EtcdErrorCode.TooManyRequests, err.message);
  if (err instanceof ProposalDroppedError) return etcdError(EtcdErrorCode.LeaderChanged);
  if (err instanceof ReadTimeoutError) return etcdError(EtcdErrorCode.Timeout);
  if (err instanceof DriverStoppedError) return etcdError(EtcdErrorCode.Stopped);
  if (err instanceof RaftError) return etcdError(EtcdErrorCode.InvalidRequest, err.message);
  return err;
}
