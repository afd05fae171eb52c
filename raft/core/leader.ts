/**
 * The leader's side of the protocol: replication (appends, snapshots,
 * heartbeats), commitment, proposals, ReadIndex, check-quorum and leadership
 * transfer. Functions over the Raft state; `stepLeader` is the leader's step
 * handler.
 */
import { assert } from './assert.js';
import { decodeConfChange, validateConfChange } from './conf-change.js';
import {
  CompactedError,
  ConfChangePendingError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
  UncommittedLimitError,
  UnavailableError,
} from './errors.js';
import { ProgressState } from './progress.js';
import { VoteResult } from './progress-tracker.js';
import type { Raft } from './raft.js';
import { MAX_PENDING_READ_INDEX_REQUESTS } from './read-only.js';
import type { Entry, Message, Snapshot } from './types.js';
import { EntryType, MessageType, NONE, StateRole, entriesBytes, payloadBytes } from './types.js';

/** Reads that arrive before the leader has committed an entry of its term wait here; bounded. */
const MAX_PENDING_READS_BEFORE_COMMIT = MAX_PENDING_READ_INDEX_REQUESTS;

/** Sends an append (or a snapshot) to `to` if its progress allows. Returns true if something was sent. */
export function maybeSendAppend(r: Raft, to: number, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.raftLog.term(prevIndex);
  let ents: Entry[] | undefined;
  if (prevTerm !== undefined) {
    try {
      ents = r.raftLog.entries(pr.next, r.config.maxSizePerMsgBytes);
    } catch (err) {
      if (!(err instanceof CompactedError || err instanceof UnavailableError)) throw err;
    }
  }
  if (prevTerm === undefined || ents === undefined) return maybeSendSnapshot(r, to);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: MessageType.App,
    to,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.raftLog.committed,
  });
  pr.sentEntries(ents.length, entriesBytes(ents));
  return true;
}

function maybeSendSnapshot(r: Raft, to: number): boolean {
  const pr = r.trk.progress.get(to)!;
  // A peer not heard from recently is probably down; don't ship it a snapshot.
  if (!pr.recentActive) return false;
  let snapshot: Snapshot;
  try {
    snapshot = r.raftLog.snapshot();
  } catch (err) {
    if (err instanceof SnapshotTemporarilyUnavailableError) return false;
    throw err;
  }
  assert(snapshot.metadata.index !== 0, 'need a non-empty snapshot to catch up a follower');
  pr.becomeSnapshot(snapshot.metadata.index);
  r.send({ type: MessageType.Snap, to, snapshot });
  return true;
}

function sendHeartbeat(r: Raft, to: number, ctx: string | undefined): void {
  const pr = r.trk.progress.get(to);
  // Never tell a follower to commit beyond what it is known to hold.
  const commit = Math.min(pr?.match ?? 0, r.raftLog.committed);
  r.send({ type: MessageType.Heartbeat, to, commit, ...(ctx === undefined ? {} : { context: ctx }) });
}

export function bcastAppend(r: Raft): void {
  for (const id of r.trk.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, true);
}

function bcastHeartbeat(r: Raft, ctx: string | undefined): void {
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, ctx);
}


export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r, r.readOnly.lastPendingRequestCtx());
      return;
    case MessageType.CheckQuorum:
      checkQuorum(r);
      return;
    case MessageType.Prop:
      handleProposal(r, m);
      return;
    case MessageType.ReadIndex:
      handleReadIndexOnLeader(r, m);
      return;
    default:
      stepLeaderFromPeer(r, m);
  }
}

function checkQuorum(r: Raft): void {
  const self = r.trk.progress.get(r.id);
  if (self !== undefined) self.recentActive = true;
  if (!r.trk.quorumActive()) {
    r.becomeFollower(r.term, NONE);
    return;
  }
  for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
}

function handleProposal(r: Raft, m: Message): void {
  const entries = m.entries ?? [];
  assert(entries.length > 0, 'proposal without entries');
  if (r.leadTransferee !== NONE) {
    throw new ProposalDroppedError(`leadership transfer to node ${r.leadTransferee} is in progress`);
  }
  for (const e of entries) if (e.type === EntryType.ConfChange) checkConfChangeAllowed(r, e);
  const bytes = payloadBytes(entries);
  const limit = r.config.maxUncommittedEntriesBytes;
  // One proposal is always let through when nothing is uncommitted, so large entries still progress.
  if (limit > 0 && r.uncommittedBytes > 0 && bytes > 0 && r.uncommittedBytes + bytes > limit) {
    throw new UncommittedLimitError(r.uncommittedBytes, bytes, limit);
  }
  r.uncommittedBytes += bytes;
  r.appendEntries(entries);
  bcastAppend(r);
}

function checkConfChangeAllowed(r: Raft, e: Entry): void {
  const committed = r.raftLog.committed;
  if (r.confLog.lastChangeIndex() > committed) {
    throw new ConfChangePendingError(
      `the change at index ${r.confLog.lastChangeIndex()} is not committed yet (committed ${committed})`,
    );
  }
  if (committed < r.leaderFirstIndex) {
    throw new ConfChangePendingError(
      `leader of term ${r.term} has not committed an entry of its term yet (needs index ${r.leaderFirstIndex}, committed ${committed})`,
    );
  }
  validateConfChange(r.confLog.current(), decodeConfChange(e.data));
}

function handleReadIndexOnLeader(r: Raft, m: Message): void {
  if (r.trk.voters.size === 1 && r.isVoter()) {
    respondToReadIndex(r, m, r.raftLog.committed);
    return;
  }
  // A new leader does not know the commit index until an entry of its term commits (§6.4).
  if (!r.committedEntryInCurrentTerm()) {
    if (r.pendingReadIndexMessages.length >= MAX_PENDING_READS_BEFORE_COMMIT) {
      throw new ProposalDroppedError(`${MAX_PENDING_READS_BEFORE_COMMIT} reads already wait for the first commit of term ${r.term}`);
    }
    r.pendingReadIndexMessages.push(m);
    return;
  }
  startReadIndex(r, m);
}

function startReadIndex(r: Raft, m: Message): void {
  if (r.readOnly.size >= MAX_PENDING_READ_INDEX_REQUESTS) {
    throw new ProposalDroppedError(`${MAX_PENDING_READ_INDEX_REQUESTS} reads already wait for a heartbeat quorum`);
  }
  const ctx = m.context ?? '';
  if (!r.readOnly.addRequest(r.raftLog.committed, m)) return;
  if (r.isVoter()) r.readOnly.recvAck(r.id, ctx);
  bcastHeartbeat(r, ctx);
}

function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of pending) startReadIndex(r, m);
}

function respondToReadIndex(r: Raft, req: Message, index: number): void {
  const ctx = req.context ?? '';
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: ctx });
  } else {
    r.send({ type: MessageType.ReadIndexResp, to: req.from, index, context: ctx });
  }
}

function stepLeaderFromPeer(r: Raft, m: Message): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.AppResp:
      pr.recentActive = true;
      if (m.reject === true) handleAppendRejection(r, m);
      else handleAppendSuccess(r, m);
      return;
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m);
      return;
    case MessageType.SnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      // Either way, wait for the follower to answer before sending more.
      if (m.reject === true) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      pr.msgAppFlowPaused = true;
      return;
    case MessageType.Unreachable:
      // Optimistic appends were probably lost; probe again.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader:
      handleTransferLeader(r, m.from);
      return;
    default:
      return; // stale or misdirected: VoteResp, PreVoteResp, TimeoutNow, ...
  }
}

function handleAppendRejection(r: Raft, m: Message): void {
  const pr = r.trk.progress.get(m.from)!;
  let nextProbeIndex = m.rejectHint ?? 0;
  // Fast backtracking: skip every entry of ours whose term the follower cannot have.
  if ((m.logTerm ?? 0) > 0) nextProbeIndex = r.raftLog.findConflictByTerm(nextProbeIndex, m.logTerm!).index;
  if (pr.maybeDecrTo(m.index ?? 0, nextProbeIndex)) {
    if (pr.state === ProgressState.Replicate) pr.becomeProbe();
    maybeSendAppend(r, m.from, true);
  }
}

function handleAppendSuccess(r: Raft, m: Message): void {
  const pr = r.trk.progress.get(m.from)!;
  const index = m.index ?? 0;
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(index) && !(pr.match === index && pr.state === ProgressState.Probe)) return;
  switch (pr.state) {
    case ProgressState.Probe:
      pr.becomeReplicate();
      break;
    case ProgressState.Snapshot:
      // The follower caught up some other way (or got the snapshot); resume appends.
      if (pr.match + 1 >= r.raftLog.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case ProgressState.Replicate:
      pr.inflights.freeLE(index);
      break;
  }
  if (r.maybeCommit()) {
    afterLeaderCommit(r);
    if (r.role !== StateRole.Leader) return;
  } else if (wasPaused) {
    maybeSendAppend(r, m.from, true);
  }
  // Fill the pipeline: keep sending while entries remain and the window allows.
  for (let i = 0; i < r.config.maxInflightMsgs && maybeSendAppend(r, m.from, false); i++);
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, m.from);
}

/** The commit index moved: release waiting reads, tell the followers, and step down if removed. */
export function afterLeaderCommit(r: Raft): void {
  releasePendingReadIndexMessages(r);
  bcastAppend(r);
  maybeStepDownAfterRemoval(r);
}

/** §6 / thesis §4.2.2: a leader outside the configuration steps down once that configuration commits. */
function maybeStepDownAfterRemoval(r: Raft): void {
  if (r.isVoter() || r.confLog.lastChangeIndex() > r.raftLog.committed) return;
  r.becomeFollower(r.term, NONE);
}

function handleHeartbeatResponse(r: Raft, m: Message): void {
  const pr = r.trk.progress.get(m.from)!;
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A full window with a responsive follower means appends were lost: let one through.
  if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.raftLog.lastIndex()) maybeSendAppend(r, m.from, true);
  if (m.context === undefined) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || r.trk.voteResult(acks) !== VoteResult.Won) return;
  for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
}

function handleTransferLeader(r: Raft, transferee: number): void {
  const pr = r.trk.progress.get(transferee);
  if (pr === undefined || pr.isLearner) return;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return; // already under way
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return; // already the leader
  // The transfer must finish within one election timeout.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
  else maybeSendAppend(r, transferee, true);
}

function sendTimeoutNow(r: Raft, to: number): void {
  r.send({ type: MessageType.TimeoutNow, to });
}
