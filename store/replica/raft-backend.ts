/**
 * EtcdBackend over this member's Raft driver and replicated state: writes are
 * proposed (a follower's proposal is forwarded to the leader by Raft) and
 * answered when this member applies them; linearizable reads wait for a
 * ReadIndex round, serializable reads are served from local state. Lease
 * grants, keep-alives and time-to-live reads are served by the leader, whose
 * clock decides expiry; any other member forwards them (lease-forwarding.ts).
 */
import { NotLeaderError, ProposalDroppedError, RaftError, UncommittedLimitError } from '../../raft/core/errors.js';
import { StateRole } from '../../raft/core/types.js';
import { DriverStoppedError, ReadTimeoutError } from '../../raft/driver/errors.js';
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import { encodeBackupHeader } from '../backup/frame.js';
import type { CallOptions, EtcdBackend, RangeOptions, WatchHandle, WatchSink } from '../etcd-server/backend.js';
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type * as E from '../etcd-server/types.js';
import { encodeCommand, type Command, type ResponseOf } from '../mvcc/commands.js';
import { MvccError } from '../mvcc/errors.js';
import type { ReadResult } from '../mvcc/state-machine.js';
import type { ApplyOutcome, ReplicatedState } from './replicated-state.js';
import { isRaisedAlarmType, type AlarmChange } from './alarms.js';
import { LeaseForwarder, type ForwardTarget } from './lease-forwarding.js';
import { formatId } from './member-id.js';
import { MembershipOps } from './membership-ops.js';
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
  /** Whether peer `id` was heard from within `withinMs` (the transport knows); guards membership changes. */
  readonly peerHeardWithinMs?: (id: number, withinMs: number) => boolean;
  /** The space quota carried by this member's write proposals (quota.ts); undefined = none. */
  readonly quotaBytes?: number;
  /** The member's files, for status (dbSize) and defragment; without it both use the logical size and do nothing. */
  readonly disk?: MemberDisk;
}

/** What status and defragment need of the member's storage (LevelStorage has both). */
export interface MemberDisk {
  /** Bytes of the raft LevelDB directory and the snapshot files. */
  diskUsageBytes(): Promise<number>;
  /** Compacts the LevelDB files over the whole key space. */
  compactFiles(): Promise<void>;
}

interface Waiter {
  resolve(outcome: ApplyOutcome): void;
  reject(err: unknown): void;
}

/** Proposals waiting for their apply; bounded so a member without a leader pushes back. */
export const MAX_PENDING_PROPOSALS = 16_384;

/** How often a lease call on a new leader checks whether the leases are taken over. */
const LEASE_PRIMARY_POLL_MS = 20;

export class RaftBackend implements EtcdBackend {
  private readonly waiters = new Map<string, Waiter>();
  private readonly membership: MembershipOps;
  private readonly leaseForwarder = new LeaseForwarder();
  private requestCounter = 0;
  /** An activation of this member's NOSPACE alarm is proposed and not yet answered. */
  private raisingNoSpace = false;
  /** The defragmentation running now; concurrent requests wait for it instead of starting another. */
  private defragmenting: Promise<void> | undefined;

  constructor(private readonly o: RaftBackendOptions) {
    this.membership = new MembershipOps({
      driver: o.driver,
      state: o.state,
      memberId: o.memberId,
      clusterToken: o.clusterToken,
      ...(o.peerHeardWithinMs === undefined ? {} : { peerHeardWithinMs: o.peerHeardWithinMs }),
      timeoutFor: (opts) => this.timeoutFor(opts),
      proposeAndWait: (p, opts) => this.proposeAndWait(p, opts),
      nextRequestId: () => this.nextRequestId(),
      mapRaftError,
    });
  }

  // ---- hooks from the replicated state -----------------------------------

  onResult(requestId: string, outcome: ApplyOutcome): void {
    const w = this.waiters.get(requestId);
    if (w === undefined) return;
    this.waiters.delete(requestId);
    w.resolve(outcome);
  }

  onMembersChanged(): void {
    this.membership.onMembersChanged();
  }

  /** Fails every waiting request and closes the client to the leader (the member is stopping). */
  failAll(err: unknown): void {
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    this.membership.close();
    this.leaseForwarder.close();
  }

  header(): E.ResponseHeader {
    return {
      clusterId: this.o.clusterId,
      memberId: this.o.memberId,
      revision: this.o.state.mvcc.currentRevision,
      raftTerm: this.o.driver.node.raft.term,
    };
  }

  /**
   * etcd's IsMemberExist(self) && IsLearner(): read from the applied membership
   * table, so a promotion counts from the moment this member applies it, and a
   * member that has not yet applied its own addition is not refused anything.
   */
  isLearner(): boolean {
    return this.o.state.members.get(this.o.memberId)?.isLearner === true;
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
    const quota = this.o.quotaBytes === undefined ? {} : { quotaBytes: this.o.quotaBytes };
    const outcome = await this.proposeAndWait({ requestId: this.nextRequestId(), kind: 'kv', command: encodeCommand(cmd), ...quota }, opts);
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

  async leaseGrant(req: E.LeaseGrantRequest, opts: CallOptions): Promise<E.LeaseGrantResponse> {
    if (!this.isLeader()) return this.leaseForwarder.grant(this.leaderTarget(opts), req);
    return this.command({ op: 'leaseGrant', request: { id: req.id, ttlSeconds: req.ttlSeconds, nowMs: Date.now() } }, opts);
  }

  leaseRevoke(id: number, opts: CallOptions): Promise<E.LeaseRevokeResponse> {
    return this.command({ op: 'leaseRevoke', request: { id } }, opts);
  }

  async leaseKeepAlive(id: number, opts: CallOptions): Promise<number> {
    if (!this.isLeader()) return this.leaseForwarder.keepAlive(this.leaderTarget(opts), id);
    await this.untilLeasePrimary(opts);
    const r = await this.command({ op: 'leaseRenew', request: { id, nowMs: Date.now() } }, opts);
    return r.ttlSeconds;
  }

  async leaseTimeToLive(id: number, opts: CallOptions & { readonly keys: boolean }): Promise<E.LeaseTimeToLiveResponse> {
    if (!this.isLeader()) return this.leaseForwarder.timeToLive(this.leaderTarget(opts), id, opts.keys);
    await this.untilLeasePrimary(opts);
    await this.linearizableBarrier(opts);
    return unwrap(this.o.state.mvcc.leaseTimeToLive({ id, keys: opts.keys, nowMs: Date.now() }));
  }

  /**
   * Set by the member once its lease keeper exists: whether the lease expiries
   * are in this leader's clock yet (LeaseKeeper.isPrimary).
   */
  leasePrimary: () => boolean = () => true;

  /**
   * A new leader judges renewals and TTLs only after its promote applied:
   * before, expiries are still in the old leader's clock (etcd answers
   * ErrNotPrimary and retries the same way). Waits up to the call's deadline.
   */
  private async untilLeasePrimary(opts: CallOptions): Promise<void> {
    const deadline = Date.now() + this.timeoutFor(opts);
    while (!this.leasePrimary()) {
      if (opts.signal.aborted || Date.now() >= deadline) throw etcdError(EtcdErrorCode.Timeout, 'the new leader has not taken over the leases yet');
      await new Promise((r) => setTimeout(r, LEASE_PRIMARY_POLL_MS));
    }
  }

  private isLeader(): boolean {
    return this.o.driver.node.raft.role === StateRole.Leader;
  }

  /**
   * The leader's etcd endpoint and this call's remaining time. Without a known
   * leader the call fails at once with NO_LEADER, as a proposal does.
   */
  private leaderTarget(opts: CallOptions): ForwardTarget {
    const lead = this.o.driver.node.raft.lead;
    if (lead === 0) throw etcdError(EtcdErrorCode.NoLeader);
    const clientUrl = this.o.state.members.get(lead)?.clientUrls[0];
    if (clientUrl === undefined) throw etcdError(EtcdErrorCode.NoLeader, `the leader ${formatId(lead)} has not published its client URL yet`);
    return { clientUrl, deadlineEpochMs: Date.now() + this.timeoutFor(opts), signal: opts.signal };
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

  memberAdd(req: E.MemberAddRequest, opts: CallOptions): Promise<E.MemberAddResponse> {
    return this.membership.add(req, opts);
  }

  memberRemove(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    return this.membership.remove(id, opts);
  }

  memberUpdate(id: number, peerUrls: readonly string[], opts: CallOptions): Promise<E.MembersResponse> {
    return this.membership.update(id, peerUrls, opts);
  }

  memberPromote(id: number, opts: CallOptions): Promise<E.MembersResponse> {
    return this.membership.promote(id, opts);
  }

  // ---- Maintenance -------------------------------------------------------------

  /**
   * dbSize is physical: the bytes of this member's raft LevelDB and snapshot
   * files, which `defrag` shrinks. dbSizeInUse is logical: the MVCC store's
   * retained revisions and leases, which compaction shrinks at once; the
   * space quota counts this one.
   */
  async status(_opts: CallOptions): Promise<E.StatusResponse> {
    const s = this.o.driver.status();
    const mvcc = this.o.state.mvcc.status();
    const physicalBytes = this.o.disk === undefined ? mvcc.dbSizeBytes : await this.o.disk.diskUsageBytes();
    return {
      version: VERSION_STRING,
      dbSizeBytes: physicalBytes,
      dbSizeInUseBytes: mvcc.dbSizeBytes,
      leader: s.lead,
      raftIndex: s.commit,
      raftTerm: s.term,
      raftAppliedIndex: s.applied,
      isLearner: this.isLearner(),
      alarms: this.o.state.alarms.list(),
    };
  }

  /** GET reads the replicated alarm table after a ReadIndex; ACTIVATE and DEACTIVATE go through the log, as in etcd. */
  async alarm(req: E.AlarmRequest, opts: CallOptions): Promise<readonly E.AlarmMember[]> {
    if (req.action === 'GET') {
      await this.linearizableBarrier(opts);
      return this.o.state.alarms.list(req.alarm);
    }
    if (!isRaisedAlarmType(req.alarm)) return []; // etcd: NONE is no alarm to raise or clear
    const change: AlarmChange = { action: req.action, memberId: req.memberId, alarm: req.alarm };
    const outcome = await this.proposeAndWait({ requestId: this.nextRequestId(), kind: 'alarm', change }, opts);
    if (!outcome.ok) throw outcome.error;
    return outcome.value as E.AlarmMember[];
  }

  /**
   * Raises NOSPACE for this member through the log, after a write was refused
   * for the quota (ReplicatedState's onNoSpace). Deferred out of the apply
   * that noticed it; at most one raise in flight. If it fails (no leader), the
   * next refused write tries again. Returns whether a raise was started.
   */
  raiseNoSpaceAlarm(): boolean {
    if (this.raisingNoSpace || this.o.state.alarms.hasFor(this.o.memberId, 'NOSPACE')) return false;
    this.raisingNoSpace = true;
    const change: AlarmChange = { action: 'ACTIVATE', memberId: this.o.memberId, alarm: 'NOSPACE' };
    setImmediate(() => {
      this.proposeAndWait({ requestId: this.nextRequestId(), kind: 'alarm', change }, { signal: new AbortController().signal })
        .catch(() => undefined)
        .finally(() => (this.raisingNoSpace = false));
    });
    return true;
  }

  /** Compacts this member's LevelDB files (not replicated: etcdctl defrag asks each member). */
  async defragment(_opts: CallOptions): Promise<void> {
    if (this.o.disk === undefined) return;
    this.defragmenting ??= this.o.disk.compactFiles().finally(() => (this.defragmenting = undefined));
    await this.defragmenting;
  }

  async hashKV(revision: number, _opts: CallOptions): Promise<E.HashKvResponse> {
    return unwrap(this.o.state.mvcc.hashKv(revision));
  }

  /** The backup stream: a header that gives the image's length, then the image (store/backup/frame.ts). */
  async snapshot(_opts: CallOptions): Promise<E.Snapshot> {
    const image = this.o.state.snapshotStream(SNAPSHOT_STREAM_CHUNK_BYTES);
    const revision = this.o.state.mvcc.currentRevision;
    const header = encodeBackupHeader(image.byteLength);
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield header;
      yield* image.chunks;
    }
    return { revision, totalBytes: header.byteLength + image.byteLength, chunks: chunks() };
  }

  async moveLeader(targetId: number, opts: CallOptions): Promise<void> {
    const s = this.o.driver.status();
    if (s.role !== StateRole.Leader) throw etcdError(EtcdErrorCode.NotLeader);
    if (!s.confState.voters.includes(targetId)) {
      const what = s.confState.learners.includes(targetId) ? 'is a learner' : 'is not a member';
      throw etcdError(EtcdErrorCode.BadLeaderTransferee, `member ${targetId.toString(16)} ${what}; only a voter can lead`);
    }
    if (targetId === this.o.memberId) return; // already the leader, as etcd answers
    this.o.driver.transferLeadership(targetId);
    const deadline = Date.now() + this.timeoutFor(opts);
    while (Date.now() < deadline && !opts.signal.aborted) {
      if (this.o.driver.node.raft.lead === targetId) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw etcdError(EtcdErrorCode.TimeoutDueToLeaderFail);
  }
}

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
