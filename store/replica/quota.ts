/**
 * The space quota and what raised alarms do to writes, decided when an entry
 * is applied (etcd's quota, capped and corrupt appliers).
 *
 * Deterministic: the decision depends only on the replicated state (the MVCC
 * store's logical size, the alarm table) and on the entry, which carries the
 * proposing member's --quota-backend-bytes. Every member therefore refuses the
 * same writes, even if members were started with different quotas; etcd
 * instead applies such a write and answers NOSPACE anyway (its quota applier
 * checks each member's own file size), which this design has no need to copy.
 *
 * Rules, in etcd's order:
 *  1. A CORRUPT alarm refuses put, delete, txn, compaction, lease grant and revoke.
 *  2. A NOSPACE alarm refuses put, lease grant and any txn that is not read-only;
 *     reads, deletes, compaction, lease revokes and renewals still work.
 *  3. A put, lease grant or writing txn is refused with NOSPACE when the store's
 *     logical size plus the request's cost would reach the quota, and the members
 *     then raise the NOSPACE alarm (through the log, see ReplicatedState).
 */
import { EtcdErrorCode, etcdError } from '../etcd-server/errors.js';
import type { Command } from '../mvcc/commands.js';
import type { PutRequest, RequestOp, TxnRequest } from '../mvcc/types.js';
import { AlarmType } from '../etcd-server/types.js';
import type { AlarmTable } from './alarms.js';

/** etcd's default --quota-backend-bytes (2 GiB), used when the flag is 0. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** etcd warns above this ("exceeds maximum recommended quota"); here the whole state is also held in memory. */
export const QUOTA_BACKEND_BYTES_RECOMMENDED_MAX = 8 * 1024 * 1024 * 1024;
/** etcd's kvOverhead: estimated bytes of a key's metadata, added to key and value bytes per put. */
export const QUOTA_KV_OVERHEAD_BYTES = 256;
/** etcd's leaseOverhead: estimated bytes of a stored lease. */
export const QUOTA_LEASE_OVERHEAD_BYTES = 64;

/**
 * The quota a member proposes with, from its --quota-backend-bytes as etcd
 * reads it: 0 = the 2 GiB default, negative = no quota (with a warning), above
 * 8 GiB accepted with a warning.
 */
export function resolveQuotaBytes(flagBytes: number | undefined, warn: (line: string) => void): number | undefined {
  if (flagBytes === undefined || flagBytes === 0) return DEFAULT_QUOTA_BACKEND_BYTES;
  if (flagBytes < 0) {
    warn('warning: --quota-backend-bytes is negative: the space quota is disabled');
    return undefined;
  }
  if (flagBytes > QUOTA_BACKEND_BYTES_RECOMMENDED_MAX) {
    warn(`warning: --quota-backend-bytes ${flagBytes} exceeds the recommended maximum of ${QUOTA_BACKEND_BYTES_RECOMMENDED_MAX} bytes`);
  }
  return flagBytes;
}

export const NoSpaceReason = {
  /** The write would take the store to its quota; the alarm is raised because of it. */
  QuotaReached: 'QUOTA_REACHED',
  /** The NOSPACE alarm is raised: writes stay refused until it is disarmed. */
  AlarmActive: 'ALARM_ACTIVE',
} as const;
export type NoSpaceReason = (typeof NoSpaceReason)[keyof typeof NoSpaceReason];

/** etcd's ErrNoSpace; the edge sends it as RESOURCE_EXHAUSTED "etcdserver: mvcc: database space exceeded". */
export class NoSpaceError extends Error {
  readonly code = EtcdErrorCode.NoSpace;
  constructor(
    readonly reason: NoSpaceReason,
    /** Names the sizes involved, for logs and the edge's detail trailer. */
    readonly detail: string,
  ) {
    super('mvcc: database space exceeded');
    this.name = 'NoSpaceError';
  }
}

export interface QuotaState {
  readonly alarms: AlarmTable;
  /** The MVCC store's logical size (MvccStatus.dbSizeBytes). */
  readonly usedBytes: number;
  /** The proposer's quota; undefined = no quota (an internal command, or the quota is disabled). */
  readonly quotaBytes: number | undefined;
}

export type Admission =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly error: Error;
      /** The refusal is the quota's and no NOSPACE alarm is raised yet: members should raise it. */
      readonly raiseNoSpace: boolean;
    };

const ADMITTED: Admission = { ok: true };

/** Whether the committed command may be applied, and if not, the error its proposer gets. */
export function admit(cmd: Command, s: QuotaState): Admission {
  if (s.alarms.has(AlarmType.Corrupt) && refusedWhenCorrupt(cmd)) {
    return { ok: false, error: etcdError(EtcdErrorCode.Corrupt, `a CORRUPT alarm is raised; ${cmd.op} is refused`), raiseNoSpace: false };
  }
  if (!growsStore(cmd)) return ADMITTED;
  if (s.alarms.has(AlarmType.NoSpace)) {
    const error = new NoSpaceError(NoSpaceReason.AlarmActive, `the NOSPACE alarm is raised; ${cmd.op} is refused until it is disarmed`);
    return { ok: false, error, raiseNoSpace: false };
  }
  if (s.quotaBytes === undefined) return ADMITTED;
  const costBytes = quotaCostBytes(cmd);
  if (s.usedBytes + costBytes < s.quotaBytes) return ADMITTED;
  const detail = `${cmd.op} needs ${costBytes} bytes; the store holds ${s.usedBytes} bytes of its ${s.quotaBytes}-byte quota`;
  return { ok: false, error: new NoSpaceError(NoSpaceReason.QuotaReached, detail), raiseNoSpace: true };
}

/** Commands that add to the store and so are capped by NOSPACE and counted against the quota. */
export function growsStore(cmd: Command): boolean {
  switch (cmd.op) {
    case 'put':
    case 'leaseGrant':
      return true;
    case 'txn':
      return !isTxnReadOnly(cmd.request);
    default:
      return false;
  }
}

function refusedWhenCorrupt(cmd: Command): boolean {
  return ['put', 'deleteRange', 'txn', 'compact', 'leaseGrant', 'leaseRevoke'].includes(cmd.op);
}

/** etcd's isTxnReadonly: every request of both branches is a range (a nested txn counts as a write). */
export function isTxnReadOnly(req: TxnRequest): boolean {
  const ops = [...(req.success ?? []), ...(req.failure ?? [])];
  return ops.every((op) => op.op === 'range');
}

/** etcd's quota cost: what the request may add to the store, in bytes. */
export function quotaCostBytes(cmd: Command): number {
  switch (cmd.op) {
    case 'put':
      return putCostBytes(cmd.request);
    case 'txn':
      return txnCostBytes(cmd.request);
    case 'leaseGrant':
      return QUOTA_LEASE_OVERHEAD_BYTES;
    default:
      return 0;
  }
}

function putCostBytes(req: PutRequest): number {
  return QUOTA_KV_OVERHEAD_BYTES + req.key.byteLength + (req.value?.byteLength ?? 0);
}

/**
 * The costlier branch, as etcd counts it. etcd counts the puts of nested txns
 * as nothing; here they count, so a nested txn cannot slip past the quota.
 */
function txnCostBytes(req: TxnRequest): number {
  const branch = (ops: readonly RequestOp[] | undefined): number => (ops ?? []).reduce((sum, op) => sum + opCostBytes(op), 0);
  return Math.max(branch(req.success), branch(req.failure));
}

function opCostBytes(op: RequestOp): number {
  if (op.op === 'put') return putCostBytes(op.request);
  if (op.op === 'txn') return txnCostBytes(op.request);
  return 0;
}
