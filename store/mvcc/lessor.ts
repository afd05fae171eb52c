/**
 * Leases: id, granted TTL, expiry and attached keys. The lessor has no clock:
 * every time it needs arrives as an argument that was fixed when the command was
 * proposed (the leader's clock), so replicas agree. Deciding that a lease has
 * expired is the leader's job; it reads `expired(nowMs)` and proposes a revoke.
 *
 * Like etcd's lessor, a lease also remembers the remaining TTL of its last
 * checkpoint; a new leader's promote uses it (instead of the full TTL) so that
 * a leader change does not extend every lease to its full TTL.
 */
import { assert } from './assert.js';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError, type MvccError } from './errors.js';
import type { KeyId } from './key-range.js';
import type { LeaseAttachments } from './kv-store.js';
import { MAX_LEASE_TTL_SECONDS } from './limits.js';

const MS_PER_SECOND = 1000;

/** Rough bytes etcd keeps per lease: 8-byte id key plus leasepb.Lease {ID, TTL, RemainingTTL}. */
const LEASE_STORED_BYTES_ESTIMATE = 30;

export interface Lease {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Remaining TTL at the last checkpoint; 0 when none (or cleared by a renew). */
  readonly remainingTtlSeconds: number;
  readonly expiryMs: number;
  readonly keys: ReadonlySet<KeyId>;
}

interface MutableLease {
  readonly id: number;
  readonly ttlSeconds: number;
  remainingTtlSeconds: number;
  expiryMs: number;
  readonly keys: Set<KeyId>;
}

/** What a snapshot keeps of a lease; keys are rebuilt from the key space. */
export type LeaseSnapshot = readonly [id: number, ttlSeconds: number, remainingTtlSeconds: number, expiryMs: number];

function byExpiryThenId(a: Lease, b: Lease): number {
  return a.expiryMs - b.expiryMs || a.id - b.id;
}

export class Lessor implements LeaseAttachments {
  private readonly leases = new Map<number, MutableLease>();
  /** Next id to try when a grant leaves the choice to the store. Only grows. */
  private nextAutoId = 1;

  constructor(readonly minTtlSeconds: number) {
    assert(Number.isSafeInteger(minTtlSeconds) && minTtlSeconds >= 1, () => `minimum lease TTL must be a positive integer, got ${minTtlSeconds}`);
  }

  get size(): number {
    return this.leases.size;
  }

  get storedBytes(): number {
    return this.leases.size * LEASE_STORED_BYTES_ESTIMATE;
  }

  get(id: number): Lease | undefined {
    return this.leases.get(id);
  }

  /** etcd's Grant: TTL checked first, then the id; a TTL below the minimum is raised. */
  grant(id: number, ttlSeconds: number, nowMs: number): Lease | MvccError {
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) return new LeaseTtlTooLargeError(ttlSeconds, MAX_LEASE_TTL_SECONDS);
    const leaseId = id === 0 ? this.chooseId() : id;
    if (this.leases.has(leaseId)) return new LeaseExistsError(leaseId);
    const ttl = Math.max(ttlSeconds, this.minTtlSeconds);
    const lease: MutableLease = { id: leaseId, ttlSeconds: ttl, remainingTtlSeconds: 0, expiryMs: nowMs + ttl * MS_PER_SECOND, keys: new Set() };
    this.leases.set(leaseId, lease);
    return lease;
  }

  /** Forgets a lease; its keys must already be deleted. */
  remove(id: number): void {
    const lease = this.leases.get(id);
    assert(lease !== undefined && lease.keys.size === 0, () => `removing lease ${id} that is missing or still holds keys`);
    this.leases.delete(id);
  }

  /** A keep-alive at `nowMs`. An expired lease is as good as revoked (etcd answers the same). */
  renew(id: number, nowMs: number): number | MvccError {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.expiryMs <= nowMs) return new LeaseNotFoundError(id);
    lease.remainingTtlSeconds = 0;
    lease.expiryMs = nowMs + lease.ttlSeconds * MS_PER_SECOND;
    return lease.ttlSeconds;
  }

  /** Records a checkpointed remaining TTL; unknown leases are ignored, as in etcd. */
  checkpoint(id: number, remainingTtlSeconds: number): void {
    const lease = this.leases.get(id);
    if (lease !== undefined) lease.remainingTtlSeconds = remainingTtlSeconds;
  }

  /** A new leader restarts every lease's clock: remaining (or full) TTL plus a grace period. */
  promote(nowMs: number, extendMs: number): void {
    for (const lease of this.leases.values()) {
      const seconds = lease.remainingTtlSeconds > 0 ? lease.remainingTtlSeconds : lease.ttlSeconds;
      lease.expiryMs = nowMs + extendMs + seconds * MS_PER_SECOND;
    }
  }

  /** Whole seconds left at `nowMs`, truncated toward zero like Go's int64(d.Seconds()). */
  remainingSeconds(lease: Lease, nowMs: number): number {
    const seconds = Math.trunc((lease.expiryMs - nowMs) / MS_PER_SECOND);
    return seconds === 0 ? 0 : seconds; // no -0 for a lease a fraction of a second past expiry
  }

  /** All leases, ordered by expiry, then id. */
  list(): Lease[] {
    return [...this.leases.values()].sort(byExpiryThenId);
  }

  isExpired(lease: Lease, nowMs: number): boolean {
    return lease.expiryMs <= nowMs;
  }

  /** Leases whose expiry is at or before `nowMs`, soonest first, at most `max`. */
  expired(nowMs: number, max: number): number[] {
    return this.list()
      .filter((lease) => this.isExpired(lease, nowMs))
      .slice(0, max)
      .map((lease) => lease.id);
  }

  attach(leaseId: number, keyId: KeyId): void {
    const lease = this.leases.get(leaseId);
    assert(lease !== undefined, () => `attaching a key to missing lease ${leaseId}`);
    lease.keys.add(keyId);
  }

  detach(leaseId: number, keyId: KeyId): void {
    const lease = this.leases.get(leaseId);
    assert(lease !== undefined && lease.keys.delete(keyId), () => `detaching a key lease ${leaseId} does not hold`);
  }

  snapshot(): { leases: LeaseSnapshot[]; nextAutoId: number } {
    const leases = [...this.leases.values()]
      .sort((a, b) => a.id - b.id)
      .map((l): LeaseSnapshot => [l.id, l.ttlSeconds, l.remainingTtlSeconds, l.expiryMs]);
    return { leases, nextAutoId: this.nextAutoId };
  }

  load(state: { leases: readonly LeaseSnapshot[]; nextAutoId: number }): void {
    assert(this.leases.size === 0, 'load into a fresh lessor');
    for (const [id, ttlSeconds, remainingTtlSeconds, expiryMs] of state.leases) {
      this.leases.set(id, { id, ttlSeconds, remainingTtlSeconds, expiryMs, keys: new Set() });
    }
    this.nextAutoId = state.nextAutoId;
  }

  /**
   * Deterministic id choice: the next unused id of a counter that never goes back,
   * so a revoked lease's id is not handed out again. Terminates within size + 1 steps.
   */
  private chooseId(): number {
    while (this.leases.has(this.nextAutoId)) this.nextAutoId++;
    return this.nextAutoId++;
  }
}
