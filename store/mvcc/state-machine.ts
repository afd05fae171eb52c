/**
 * The MVCC state machine every replica applies committed entries to: the key
 * space plus the lessor, with etcd v3 semantics. Pure and deterministic: no
 * clock, no randomness, no I/O; time arrives inside commands.
 *
 * Writes return ApplyResult (the response and the watch events of the revision
 * they created, or an error value); reads return ReadResult. Neither throws for
 * a bad request: an exception on the apply path would be a bug (an assertion),
 * never a way to report an application error, so replicas cannot diverge.
 */
import { assert } from './assert.js';
import { LeaseNotFoundError, MvccError, SnapshotCorruptError, SnapshotCorruptReason } from './errors.js';
import { hashKv } from './hash.js';
import { latestLive } from './key-index.js';
import { compareBytes, keyOfId, toKeyRange } from './key-range.js';
import { KvStore } from './kv-store.js';
import { Lessor } from './lessor.js';
import { DEFAULT_MIN_LEASE_TTL_SECONDS, MAX_EXPIRED_LEASES_PER_SCAN } from './limits.js';
import { executeRange } from './range.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotStream, type SnapshotContents, type SnapshotStream } from './snapshot.js';
import { checkPlan, executePlan, planTxn } from './txn.js';
import type * as T from './types.js';
import { NO_LEASE } from './types.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from './validate.js';
import { applyDeleteRange, applyPut } from './write-ops.js';

export type ReadResult<V> = { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: MvccError };

export type ApplyResult<V> =
  | { readonly ok: true; readonly value: V; readonly events: readonly T.WatchEvent[] }
  | { readonly ok: false; readonly error: MvccError };

function failed(error: MvccError): { ok: false; error: MvccError } {
  return { ok: false, error };
}

function read<V>(value: V | MvccError): ReadResult<V> {
  return value instanceof MvccError ? failed(value) : { ok: true, value };
}

const NO_EVENTS: readonly T.WatchEvent[] = [];

export interface MvccOptions {
  /** Smaller lease TTLs are raised to this; must be equal on every replica. */
  readonly minLeaseTtlSeconds?: number;
}

export class MvccStateMachine {
  readonly lessor: Lessor;
  readonly kv: KvStore;

  constructor(options: MvccOptions = {}) {
    this.lessor = new Lessor(options.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS);
    this.kv = new KvStore(this.lessor);
  }

  get currentRevision(): number {
    return this.kv.currentRevision;
  }

  get compactRevision(): number {
    return this.kv.compactRevision;
  }

  // ---- writes (applied from the log) ----

  put(req: T.PutRequest): ApplyResult<T.PutResponse> {
    const invalid = validatePut(req);
    if (invalid !== undefined) return failed(invalid);
    const lease = req.lease ?? NO_LEASE;
    if (lease !== NO_LEASE && this.lessor.get(lease) === undefined) return failed(new LeaseNotFoundError(lease));
    const txn = this.kv.beginWrite();
    const response = applyPut(txn, req);
    const events = txn.end();
    return response instanceof MvccError ? failed(response) : { ok: true, value: response, events };
  }

  deleteRange(req: T.DeleteRangeRequest): ApplyResult<T.DeleteRangeResponse> {
    const invalid = validateDeleteRange(req);
    if (invalid !== undefined) return failed(invalid);
    const txn = this.kv.beginWrite();
    const value = applyDeleteRange(this.kv, txn, req);
    return { ok: true, value, events: txn.end() };
  }

  txn(req: T.TxnRequest): ApplyResult<T.TxnResponse> {
    const invalid = validateTxn(req);
    if (invalid !== undefined) return failed(invalid);
    const rev = this.kv.currentRevision;
    const plan = planTxn(this.kv, req, rev);
    const refused = checkPlan(plan, this.kv, this.lessor, rev);
    if (refused !== undefined) return failed(refused);
    const txn = this.kv.beginWrite();
    const responses = executePlan(plan, this.kv, txn);
    const revision = txn.readRevision;
    const events = txn.end();
    return { ok: true, value: { revision, succeeded: plan.succeeded, responses }, events };
  }

  compact(req: T.CompactionRequest): ApplyResult<T.CompactionResponse> {
    const error = this.kv.compact(req.revision);
    if (error !== undefined) return failed(error);
    return { ok: true, value: { revision: this.kv.currentRevision }, events: NO_EVENTS };
  }

  leaseGrant(req: T.LeaseGrantRequest): ApplyResult<T.LeaseGrantResponse> {
    const lease = this.lessor.grant(req.id, req.ttlSeconds, req.nowMs);
    if (lease instanceof MvccError) return failed(lease);
    return { ok: true, value: { revision: this.kv.currentRevision, id: lease.id, ttlSeconds: lease.ttlSeconds }, events: NO_EVENTS };
  }

  /**
   * Deletes the lease's keys in byte order, all in one revision, then the lease.
   * An expiry revoke (ifExpiredAtMs) of a lease renewed since does nothing.
   */
  leaseRevoke(req: T.LeaseRevokeRequest): ApplyResult<T.LeaseRevokeResponse> {
    const lease = this.lessor.get(req.id);
    if (lease === undefined) return failed(new LeaseNotFoundError(req.id));
    if (req.ifExpiredAtMs !== undefined && !this.lessor.isExpired(lease, req.ifExpiredAtMs)) {
      return { ok: true, value: { revision: this.kv.currentRevision }, events: NO_EVENTS };
    }
    const keys = [...lease.keys].sort().map(keyOfId);
    const txn = this.kv.beginWrite();
    for (const key of keys) txn.deleteRange(toKeyRange(key, undefined));
    const events = txn.end();
    this.lessor.remove(req.id);
    return { ok: true, value: { revision: this.kv.currentRevision }, events };
  }

  leaseRenew(req: T.LeaseRenewRequest): ApplyResult<T.LeaseRenewResponse> {
    const ttlSeconds = this.lessor.renew(req.id, req.nowMs);
    if (ttlSeconds instanceof MvccError) return failed(ttlSeconds);
    return { ok: true, value: { revision: this.kv.currentRevision, id: req.id, ttlSeconds }, events: NO_EVENTS };
  }

  leaseCheckpoint(req: T.LeaseCheckpointRequest): ApplyResult<T.LeaseCheckpointResponse> {
    for (const c of req.checkpoints) this.lessor.checkpoint(c.id, c.remainingTtlSeconds);
    return { ok: true, value: { revision: this.kv.currentRevision }, events: NO_EVENTS };
  }

  leasePromote(req: T.LeasePromoteRequest): ApplyResult<T.LeasePromoteResponse> {
    this.lessor.promote(req.nowMs, req.extendMs);
    return { ok: true, value: { revision: this.kv.currentRevision }, events: NO_EVENTS };
  }

  // ---- reads (served against the state, not through the log) ----

  range(req: T.RangeRequest): ReadResult<T.RangeResponse> {
    const invalid = validateRange(req);
    if (invalid !== undefined) return failed(invalid);
    return read(executeRange(this.kv, req, this.kv.currentRevision));
  }

  leaseTimeToLive(req: T.LeaseTimeToLiveRequest): ReadResult<T.LeaseTimeToLiveResponse> {
    const lease = this.lessor.get(req.id);
    if (lease === undefined) return failed(new LeaseNotFoundError(req.id));
    const keys = req.keys === true ? [...lease.keys].map(keyOfId).sort(compareBytes) : [];
    return read({
      revision: this.kv.currentRevision,
      id: lease.id,
      ttlSeconds: this.lessor.remainingSeconds(lease, req.nowMs),
      grantedTtlSeconds: lease.ttlSeconds,
      keys,
    });
  }

  leaseLeases(): ReadResult<T.LeaseLeasesResponse> {
    return read({ revision: this.kv.currentRevision, leases: this.lessor.list().map((l) => ({ id: l.id })) });
  }

  /** For the leader: leases due for a revoke at `nowMs`, soonest first. */
  expiredLeases(nowMs: number, max = MAX_EXPIRED_LEASES_PER_SCAN): number[] {
    return this.lessor.expired(nowMs, Math.min(max, MAX_EXPIRED_LEASES_PER_SCAN));
  }

  /** Events for a watch that starts in the past. */
  readEvents(req: T.ReadEventsRequest): ReadResult<T.ReadEventsResponse> {
    return read(this.kv.readEvents(toKeyRange(req.key, req.rangeEnd), req.startRevision, req.maxEvents));
  }

  hashKv(revision = 0): ReadResult<T.HashKvResponse> {
    return read(hashKv(this.kv, revision));
  }

  status(): T.MvccStatus {
    return {
      revision: this.kv.currentRevision,
      compactRevision: this.kv.compactRevision,
      dbSizeBytes: this.kv.storedBytes + this.lessor.storedBytes,
      keyCount: this.kv.liveKeyCount,
      leaseCount: this.lessor.size,
    };
  }

  // ---- snapshots ----

  snapshot(): Uint8Array {
    return encodeSnapshot(this.snapshotContents());
  }

  /**
   * The same bytes as snapshot(), as this moment's state, in chunks encoded as
   * they are read (a backup streams them; see encodeSnapshotStream).
   */
  snapshotStream(chunkBytes: number): SnapshotStream {
    return encodeSnapshotStream(this.snapshotContents(), chunkBytes);
  }

  private snapshotContents(): SnapshotContents {
    const { leases, nextAutoId } = this.lessor.snapshot();
    return {
      currentRevision: this.kv.currentRevision,
      compactRevision: this.kv.compactRevision,
      records: this.kv.records(),
      leases,
      nextAutoLeaseId: nextAutoId,
    };
  }

  /** A state machine equal to the one that took the snapshot, or the reason the bytes are unusable. */
  static restore(bytes: Uint8Array, options: MvccOptions = {}): MvccStateMachine | SnapshotCorruptError {
    const contents = decodeSnapshot(bytes);
    if (contents instanceof SnapshotCorruptError) return contents;
    const sm = new MvccStateMachine(options);
    sm.lessor.load({ leases: contents.leases, nextAutoId: contents.nextAutoLeaseId });
    sm.kv.load(contents);
    let missing: number | undefined;
    sm.kv.index.forEach((history) => {
      const kv = latestLive(history);
      if (kv === undefined || kv.lease === NO_LEASE) return;
      if (sm.lessor.get(kv.lease) === undefined) missing ??= kv.lease;
      else sm.lessor.attach(kv.lease, history.id);
    });
    if (missing !== undefined) {
      return new SnapshotCorruptError(SnapshotCorruptReason.MalformedPayload, `a key is attached to lease ${missing}, which the snapshot lacks`);
    }
    assert(sm.kv.compactRevision === contents.compactRevision, 'restored compact revision');
    return sm;
  }
}
