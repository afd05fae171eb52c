/** Operating errors of the Raft core: typed, with a stable code and a message naming the values. */

export const RaftErrorCode = {
  NotLeader: 'NOT_LEADER',
  ProposalDropped: 'PROPOSAL_DROPPED',
  UncommittedLimit: 'UNCOMMITTED_LIMIT',
  ConfChangePending: 'CONF_CHANGE_PENDING',
  InvalidConfChange: 'INVALID_CONF_CHANGE',
  Compacted: 'COMPACTED',
  Unavailable: 'UNAVAILABLE',
  SnapshotTemporarilyUnavailable: 'SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  SnapshotOutOfDate: 'SNAPSHOT_OUT_OF_DATE',
  TransferInProgress: 'TRANSFER_IN_PROGRESS',
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RaftError';
  }
}

/** The proposal or read reached a node that is not the leader and could not forward it. */
export class NotLeaderError extends RaftError {
  constructor(
    readonly nodeId: number,
    /** Best known leader, or 0 when none is known. */
    readonly leaderHint: number,
  ) {
    super(
      RaftErrorCode.NotLeader,
      leaderHint === 0
        ? `node ${nodeId} is not the leader and knows of no leader`
        : `node ${nodeId} is not the leader; the leader is node ${leaderHint}`,
    );
  }
}

/** The proposal was dropped (e.g. a leadership transfer is under way, or the node was removed). */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.ProposalDropped, `proposal dropped: ${reason}`);
  }
}

/** Accepting the proposal would push the uncommitted log past its byte limit. */
export class UncommittedLimitError extends RaftError {
  constructor(
    readonly uncommittedBytes: number,
    readonly proposalBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      RaftErrorCode.UncommittedLimit,
      `proposal of ${proposalBytes} bytes refused: ${uncommittedBytes} bytes are uncommitted and the limit is ${limitBytes}`,
    );
  }
}

/** Only one membership change may be in flight at a time. */
export class ConfChangePendingError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.ConfChangePending, `membership change refused: ${reason}`);
  }
}

export class InvalidConfChangeError extends RaftError {
  constructor(reason: string) {
    super(RaftErrorCode.InvalidConfChange, `invalid membership change: ${reason}`);
  }
}

/** Storage: the requested index precedes the first retained entry. */
export class CompactedError extends RaftError {
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super(RaftErrorCode.Compacted, `log index ${index} is compacted; the first retained index is ${firstIndex}`);
  }
}

/** Storage: the requested index is beyond the last index. */
export class UnavailableError extends RaftError {
  constructor(
    readonly index: number,
    readonly lastIndex: number,
  ) {
    super(RaftErrorCode.Unavailable, `log index ${index} is unavailable; the last index is ${lastIndex}`);
  }
}

/** Storage: a snapshot is being produced; the caller should retry later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super(RaftErrorCode.SnapshotTemporarilyUnavailable, 'snapshot is temporarily unavailable');
  }
}

export class SnapshotOutOfDateError extends RaftError {
  constructor(
    readonly index: number,
    readonly currentIndex: number,
  ) {
    super(
      RaftErrorCode.SnapshotOutOfDate,
      `snapshot at index ${index} is older than the current snapshot at index ${currentIndex}`,
    );
  }
}
