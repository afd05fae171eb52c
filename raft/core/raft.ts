/**
 * The Raft state machine (after etcd-io/raft): one entry point, `step(m)`; local
 * events are messages too; the role is a swap of the `stepRole` and `tickRole`
 * handlers. Output accumulates in `msgs` and `readStates`, and in the log's
 * unstable part, until the RawNode hands it out as a Ready.
 *
 * Synchronous and deterministic: no I/O, clock or global randomness.
 */
import { assert, assertNever } from './assert.js';
import { coalesceInto } from './coalesce.js';
import { ConfLog } from './conf-log.js';
import type { ResolvedConfig } from './config.js';
import { resolveConfig, type RaftConfig } from './config.js';
import { NotLeaderError } from './errors.js';
import { afterLeaderCommit, bcastAppend, stepLeader } from './leader.js';
import { RaftLog } from './log.js';
import { ProgressTracker, VoteResult } from './progress-tracker.js';
import { ReadOnly } from './read-only.js';
import type { Entry, Message, ReadState, Snapshot } from './types.js';
import { CAMPAIGN_TRANSFER, EntryType, MessageType, NONE, StateRole, payloadBytes } from './types.js';

const CampaignType = {
  PreElection: 'PreElection',
  Election: 'Election',
  Transfer: 'Transfer',
} as const;
type CampaignType = (typeof CampaignType)[keyof typeof CampaignType];

/** A message being sent: `from` defaults to this node (forwarded requests keep theirs), `term` to the current term. */
export type OutgoingMessage = Omit<Message, 'from' | 'term'> & { readonly from?: number; readonly term?: number };

export class Raft {
  readonly id: number;
  readonly config: ResolvedConfig;
  term = 0;
  vote = NONE;
  lead = NONE;
  role: StateRole = StateRole.Follower;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  readonly confLog: ConfLog;
  readonly readOnly = new ReadOnly();
  /** Messages to send; handed out by the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Target of an ongoing leadership transfer, or NONE. */
  leadTransferee = NONE;
  /** Leader: index of its first entry of this term (the no-op). Conf changes wait until it commits. */
  leaderFirstIndex = 0;
  /** Leader: bytes of payload appended but not yet committed and handed out. */
  uncommittedBytes = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Leader: reads waiting for the first commit of its term. */
  pendingReadIndexMessages: Message[] = [];
  private stepRole: (m: Message) => void = (m) => this.stepFollower(m);
  private tickRole: () => void = () => this.tickElection();

  constructor(c: RaftConfig) {
    this.config = resolveConfig(c);
    this.id = this.config.id;
    const storage = this.config.storage;
    this.raftLog = new RaftLog(storage, this.config.maxCommittedSizePerReadyBytes);
    this.trk = new ProgressTracker(this.config.maxInflightMsgs, this.config.maxInflightBytes);
    const { hardState, confState } = storage.initialState();
    this.confLog = new ConfLog(confState);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    if (last >= first) this.confLog.appendFrom(storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER));
    this.trk.applyConf(this.confLog.current(), this.raftLog.lastIndex() + 1);
    if (hardState.term !== 0 || hardState.commit !== 0) {
      this.term = hardState.term;
      this.vote = hardState.vote;
      this.raftLog.commitTo(hardState.commit);
    }
    if (this.config.appliedIndex > 0) this.raftLog.appliedTo(this.config.appliedIndex);
    this.becomeFollower(this.term, NONE);
  }

  // ---- membership -------------------------------------------------------

  isVoter(): boolean {
    return this.trk.isVoter(this.id);
  }

  /**
   * Re-reads the membership from the log. Members removed by a change that has
   * not committed yet stay in the tracker (outside every quorum) so they still
   * receive the entry that removes them.
   */
  private onMembershipChanged(): void {
    const committed = this.confLog.committedConf();
    this.trk.applyConf(this.confLog.current(), this.raftLog.lastIndex() + 1, [...committed.voters, ...committed.learners]);
    const self = this.trk.progress.get(this.id);
    if (self !== undefined && this.role === StateRole.Leader) self.maybeUpdate(this.raftLog.stableLastIndex());
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
  }

  // ---- roles --------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.becomeProbe();
      // The leader counts only what is on its own disk (see onStablePersisted).
      pr.match = id === this.id ? this.raftLog.stableLastIndex() : 0;
      pr.next = lastIndex + 1;
      pr.recentActive = id === this.id;
    }
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.stepRole = (m) => this.stepFollower(m);
    this.tickRole = () => this.tickElection();
    this.lead = lead;
    this.role = StateRole.Follower;
  }

  private becomeCandidate(): void {
    assert(this.role !== StateRole.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  /** Pre-vote: campaign without touching term or vote, so a partitioned node cannot disrupt (§9.6). */
  private becomePreCandidate(): void {
    assert(this.role !== StateRole.Leader, 'invalid transition [leader -> pre-candidate]');
    this.stepRole = (m) => this.stepCandidate(m);
    this.tickRole = () => this.tickElection();
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = StateRole.PreCandidate;
  }

  private becomeLeader(): void {
    assert(this.role !== StateRole.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.stepRole = (m) => stepLeader(this, m);
    this.tickRole = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = StateRole.Leader;
    this.trk.progress.get(this.id)?.becomeReplicate();
    this.leaderFirstIndex = this.raftLog.lastIndex() + 1;
    // The no-op lets the leader commit, and so learn the commit index of, its predecessors' entries (§5.4.2, §8).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array() }]);
  }

  private resetRandomizedElectionTimeout(): void {
    const base = this.config.electionTicks;
    this.randomizedElectionTimeout = base + this.config.rng.nextInt(base);
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  // ---- ticks --------------------------------------------------------------

  tick(): void {
    this.tickRole();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isVoter() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step({ type: MessageType.Hup, from: this.id, to: this.id, term: 0 });
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        this.step({ type: MessageType.CheckQuorum, from: this.id, to: this.id, term: 0 });
      }
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.role === StateRole.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step({ type: MessageType.Beat, from: this.id, to: this.id, term: 0 });
    }
  }

  // ---- sending ------------------------------------------------------------

  /** Queues a message; internal to the core (leader.ts sends through it). */
  send(m: OutgoingMessage): void {
    const isVoteType =
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp;
    let term: number;
    if (isVoteType) {
      assert(m.term !== undefined && m.term !== 0, () => `${m.type} must carry a term`);
      term = m.term;
    } else if (m.type === MessageType.Prop || m.type === MessageType.ReadIndex) {
      // Forwarded requests carry no term: the leader treats them as local.
      term = 0;
    } else {
      term = m.term ?? this.term;
    }
    const out: Message = { ...m, from: m.from === undefined || m.from === NONE ? this.id : m.from, term };
    if (!coalesceInto(this.msgs, out, this.config.maxSizePerMsgBytes)) this.msgs.push(out);
  }
  // ---- log ----------------------------------------------------------------

  /** Leader: appends proposals at the end of its log with the current term. */
  appendEntries(es: readonly Entry[]): void {
    let index = this.raftLog.lastIndex();
    const stamped = es.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }));
    this.raftLog.append(stamped);
    if (this.confLog.appendFrom(stamped)) this.onMembershipChanged();
    // No self-acknowledgement here: the leader counts its own copy toward a quorum
    // only once it is durable (onStablePersisted), which lets the driver send the
    // appends to followers while the leader's own write is still in flight (§10.2.1).
  }

  /**
   * The driver made the log durable up to `index` (an entry of `term`). A leader
   * now counts its own copy, which may commit entries.
   */
  onStablePersisted(index: number, term: number): void {
    if (this.role !== StateRole.Leader || term !== this.term) return;
    const self = this.trk.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(index)) return;
    if (this.maybeCommit()) afterLeaderCommit(this);
  }

  /**
   * Leader: advances the commit index to what a quorum holds. Only entries of the
   * current term are committed by counting replicas (§5.4.2); earlier ones commit
   * indirectly. Returns true when the commit index moved.
   */
  maybeCommit(): boolean {
    const anyTerm = this.config.plantedBugs.commitPreviousTermByCount === true;
    if (!this.raftLog.maybeCommit(this.trk.committed(), this.term, anyTerm)) return false;
    this.compactConfLog();
    return true;
  }

  /** Called once committed entries were handed to the application: they no longer count as uncommitted. */
  reduceUncommittedBytes(entries: readonly Entry[]): void {
    if (this.role !== StateRole.Leader) return;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(entries));
  }

  /** Commits the membership history up to the commit index; outgoing members are then forgotten. */
  private compactConfLog(): void {
    if (this.confLog.compactTo(this.raftLog.committed)) this.onMembershipChanged();
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---- step ---------------------------------------------------------------

  /** The single entry point. Throws typed RaftErrors for refused local requests. */
  step(m: Message): void {
    if (m.term !== 0 && m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term !== 0 && m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.config.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      default:
        this.stepRole(m);
    }
  }

  /** Returns false when the message must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      const force = m.context === CAMPAIGN_TRANSFER;
      const inLease =
        this.config.checkQuorum && this.lead !== NONE && this.electionElapsed < this.config.electionTicks;
      // Leader lease (§4.2.3): a node that heard from a leader recently ignores elections.
      if (!force && inLease) return false;
    }
    if (m.type === MessageType.PreVote) return true; // a pre-vote never changes our term
    if (m.type === MessageType.PreVoteResp && m.reject !== true) return true; // term bumps when the pre-vote wins
    const leaderMessage = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
    this.becomeFollower(m.term, leaderMessage ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.config.checkQuorum || this.config.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
      // A stale leader (e.g. after a partition) learns our term from this and steps down;
      // otherwise, with pre-vote, nobody would ever tell it.
      this.send({ type: MessageType.AppResp, to: m.from });
    } else if (m.type === MessageType.PreVote) {
      this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
    }
    // Anything else from an older term is ignored.
  }

  private handleVoteRequest(m: Message): void {
    const isPreVote = m.type === MessageType.PreVote;
    const respType = isPreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (isPreVote && m.term > this.term);
    const skipLogCheck = this.config.plantedBugs.voteWithoutLogCheck === true;
    const upToDate = skipLogCheck || this.raftLog.isUpToDate(m.index ?? 0, m.logTerm ?? 0);
    if (canVote && upToDate) {
      // A granted pre-vote answers with the term it was asked for, so the candidate can count it.
      this.send({ type: respType, to: m.from, term: m.term });
      if (!isPreVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  private hup(type: CampaignType): void {
    if (this.role === StateRole.Leader || !this.isVoter()) return;
    this.campaign(type);
  }

  private campaign(type: CampaignType): void {
    let voteMsg: MessageType;
    let term: number;
    if (type === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1; // the term we would campaign in
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // Single-voter cluster: won at once.
      if (type === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of [...this.trk.voters].sort((a, b) => a - b)) {
      if (id === this.id) continue;
      this.send({
        type: voteMsg,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        ...(type === CampaignType.Transfer ? { context: CAMPAIGN_TRANSFER } : {}),
      });
    }
  }

  private poll(id: number, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- candidate ----------------------------------------------------------

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new NotLeaderError(this.id, NONE);
      case MessageType.ReadIndex:
        throw new NotLeaderError(this.id, NONE);
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const result = this.poll(m.from, m.reject !== true);
        switch (result) {
          case VoteResult.Won:
            if (this.role === StateRole.PreCandidate) {
              this.campaign(CampaignType.Election);
            } else {
              this.becomeLeader();
              bcastAppend(this);
            }
            return;
          case VoteResult.Lost:
            // A pre-candidate's term never changed, so this returns it to plain follower.
            this.becomeFollower(this.term, NONE);
            return;
          case VoteResult.Pending:
            return;
          default:
            assertNever(result, 'vote result');
        }
        return;
      }
      default:
        return; // TimeoutNow and others are ignored by candidates
    }
  }

  // ---- follower -----------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) throw new NotLeaderError(this.id, NONE);
        if (this.config.disableProposalForwarding) throw new NotLeaderError(this.id, this.lead);
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) return;
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.TimeoutNow:
        // Leadership transfer: campaign at once, past any leader lease (§3.10).
        this.hup(CampaignType.Transfer);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE) throw new NotLeaderError(this.id, NONE);
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index ?? 0, requestCtx: m.context ?? '' });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    const index = m.index ?? 0;
    if (index < this.raftLog.committed) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const entries = m.entries ?? [];
    const result = this.raftLog.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, entries);
    if (result !== undefined) {
      if (result.conflictIndex !== 0) {
        const truncated = this.confLog.truncateFrom(result.conflictIndex);
        const appended = this.confLog.appendFrom(entries.slice(result.conflictIndex - (index + 1)));
        if (truncated || appended) this.onMembershipChanged();
      }
      this.compactConfLog();
      this.send({ type: MessageType.AppResp, to: m.from, index: result.lastNewIndex });
      return;
    }
    // Reject with a hint: the largest index <= the probe whose term is <= the leader's term there.
    const hintIndex = Math.min(index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm ?? 0);
    this.send({
      type: MessageType.AppResp,
      to: m.from,
      index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit ?? 0);
    this.compactConfLog();
    this.send({ type: MessageType.HeartbeatResp, to: m.from, ...(m.context === undefined ? {} : { context: m.context }) });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  /** Installs a snapshot; returns false when it is stale or our log already contains it. */
  private restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.raftLog.matchTerm(index, term)) {
      // Our log already holds the snapshot's last entry: just move the commit index.
      this.raftLog.commitTo(index);
      this.compactConfLog();
      return false;
    }
    this.raftLog.restore(s);
    this.confLog.reset(confState);
    this.onMembershipChanged();
    return true;
  }
}
