/**
 * Leases as etcd 3.4's lessor keeps them (lease/lessor.go), with time passed in
 * explicitly: grant, revoke (keys deleted atomically, in one revision), renew,
 * checkpoint and promote, time-to-live, listing, and the leader's expiry scan.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LEASE_TTL_SECONDS, MvccStateMachine } from '../../store/mvcc/index.js';
import { b, err, eventViews, events, getOne, ok, str } from './helpers.js';

const T0_MS = 1_700_000_000_000;

describe('grant', () => {
  it('grants with a chosen id and reports the current revision', () => {
    const sm = new MvccStateMachine();
    expect(ok(sm.leaseGrant({ id: 0x694d, ttlSeconds: 60, nowMs: T0_MS }))).toEqual({ revision: 1, id: 0x694d, ttlSeconds: 60 });
  });

  it('id 0 lets the store choose, deterministically and never reusing an id', () => {
    const pick = () => {
      const sm = new MvccStateMachine();
      ok(sm.leaseGrant({ id: 2, ttlSeconds: 10, nowMs: T0_MS }));
      const ids = [0, 0, 0].map(() => ok(sm.leaseGrant({ id: 0, ttlSeconds: 10, nowMs: T0_MS })).id);
      ok(sm.leaseRevoke({ id: ids[2]! }));
      ids.push(ok(sm.leaseGrant({ id: 0, ttlSeconds: 10, nowMs: T0_MS })).id);
      return ids;
    };
    const ids = pick();
    expect(ids).toEqual(pick());
    expect(ids).toEqual([1, 3, 4, 5]);
  });

  it('a TTL below the minimum is raised to it (2 s by default, like etcd)', () => {
    expect(ok(new MvccStateMachine().leaseGrant({ id: 1, ttlSeconds: 1, nowMs: T0_MS })).ttlSeconds).toBe(2);
    expect(ok(new MvccStateMachine({ minLeaseTtlSeconds: 5 }).leaseGrant({ id: 1, ttlSeconds: 3, nowMs: T0_MS })).ttlSeconds).toBe(5);
  });

  it('an existing id is "etcdserver: lease already exists"', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 9, ttlSeconds: 10, nowMs: T0_MS }));
    const error = err(sm.leaseGrant({ id: 9, ttlSeconds: 10, nowMs: T0_MS }));
    expect(error.code).toBe('LEASE_EXISTS');
    expect(error.message).toBe('etcdserver: lease already exists');
  });

  it('a TTL above the maximum is "etcdserver: too large lease TTL"', () => {
    const error = err(new MvccStateMachine().leaseGrant({ id: 1, ttlSeconds: MAX_LEASE_TTL_SECONDS + 1, nowMs: T0_MS }));
    expect(error.message).toBe('etcdserver: too large lease TTL');
  });
});

describe('revoke', () => {
  it('deletes every attached key in one revision, in key order, and forgets the lease', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 1, ttlSeconds: 30, nowMs: T0_MS }));
    for (const key of ['z', 'a', 'm']) ok(sm.put({ key: b(key), value: b('v'), lease: 1 }));
    ok(sm.put({ key: b('free'), value: b('v') }));
    const result = sm.leaseRevoke({ id: 1 });
    expect(ok(result)).toEqual({ revision: 6 });
    expect(eventViews(events(result))).toEqual([
      { type: 'DELETE', key: 'a', value: '', modRevision: 6, prev: 'v' },
      { type: 'DELETE', key: 'm', value: '', modRevision: 6, prev: 'v' },
      { type: 'DELETE', key: 'z', value: '', modRevision: 6, prev: 'v' },
    ]);
    expect(getOne(sm, 'free')).toBeDefined();
    expect(sm.status()).toMatchObject({ keyCount: 1, leaseCount: 0 });
    expect(err(sm.leaseTimeToLive({ id: 1, nowMs: T0_MS })).code).toBe('LEASE_NOT_FOUND');
  });

  it('revoking a lease with no keys does not create a revision', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 1, ttlSeconds: 30, nowMs: T0_MS }));
    expect(ok(sm.leaseRevoke({ id: 1 }))).toEqual({ revision: 1 });
  });

  it('a missing lease is "etcdserver: requested lease not found"', () => {
    expect(err(new MvccStateMachine().leaseRevoke({ id: 42 })).message).toBe('etcdserver: requested lease not found');
  });

  it('keys that moved to another lease, lost their lease or were deleted are not revoked', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 1, ttlSeconds: 30, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 2, ttlSeconds: 30, nowMs: T0_MS }));
    for (const key of ['moved', 'unleased', 'deleted', 'kept']) ok(sm.put({ key: b(key), value: b('v'), lease: 1 }));
    ok(sm.put({ key: b('moved'), value: b('v'), lease: 2 }));
    ok(sm.put({ key: b('unleased'), value: b('v') }));
    ok(sm.deleteRange({ key: b('deleted') }));
    expect(ok(sm.leaseTimeToLive({ id: 1, keys: true, nowMs: T0_MS })).keys.map(str)).toEqual(['kept']);
    expect(eventViews(events(sm.leaseRevoke({ id: 1 }))).map((e) => e.key)).toEqual(['kept']);
    expect(getOne(sm, 'moved')).toMatchObject({ lease: 2 });
    expect(getOne(sm, 'unleased')).toMatchObject({ lease: 0 });
  });
});

describe('time to live, renew, checkpoint, promote', () => {
  it('time-to-live reports whole remaining seconds, the granted TTL and the keys in byte order', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 3, ttlSeconds: 60, nowMs: T0_MS }));
    ok(sm.put({ key: b('b'), value: b('v'), lease: 3 }));
    ok(sm.put({ key: b('a'), value: b('v'), lease: 3 }));
    const ttl = ok(sm.leaseTimeToLive({ id: 3, keys: true, nowMs: T0_MS + 1_500 }));
    expect(ttl).toEqual({ revision: 3, id: 3, ttlSeconds: 58, grantedTtlSeconds: 60, keys: [b('a'), b('b')] });
    expect(ok(sm.leaseTimeToLive({ id: 3, nowMs: T0_MS })).keys).toEqual([]);
    expect(ok(sm.leaseTimeToLive({ id: 3, nowMs: T0_MS + 60_500 })).ttlSeconds).toBe(0);
    expect(ok(sm.leaseTimeToLive({ id: 3, nowMs: T0_MS + 62_000 })).ttlSeconds).toBe(-2);
  });

  it('renew restarts the TTL from the given time', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 3, ttlSeconds: 10, nowMs: T0_MS }));
    expect(ok(sm.leaseRenew({ id: 3, nowMs: T0_MS + 9_000 }))).toEqual({ revision: 1, id: 3, ttlSeconds: 10 });
    expect(ok(sm.leaseTimeToLive({ id: 3, nowMs: T0_MS + 9_000 })).ttlSeconds).toBe(10);
  });

  it('renewing a missing or already expired lease is "requested lease not found"', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 3, ttlSeconds: 10, nowMs: T0_MS }));
    expect(err(sm.leaseRenew({ id: 4, nowMs: T0_MS })).code).toBe('LEASE_NOT_FOUND');
    expect(err(sm.leaseRenew({ id: 3, nowMs: T0_MS + 10_000 })).code).toBe('LEASE_NOT_FOUND');
  });

  it('an expiry revoke does nothing to a lease renewed after the leader found it expired', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 3, ttlSeconds: 10, nowMs: T0_MS }));
    ok(sm.put({ key: b('k'), value: b('v'), lease: 3 }));
    // The leader finds the lease expired at T0+10s; a keep-alive sent at T0+9.9s commits first.
    ok(sm.leaseRenew({ id: 3, nowMs: T0_MS + 9_900 }));
    expect(events(sm.leaseRevoke({ id: 3, ifExpiredAtMs: T0_MS + 10_000 }))).toEqual([]);
    expect(getOne(sm, 'k')?.value).toBe('v');
    // Still expired when it applies: revoked with its keys, like a client's revoke.
    const revoked = events(sm.leaseRevoke({ id: 3, ifExpiredAtMs: T0_MS + 19_900 }));
    expect(eventViews(revoked)).toEqual([{ type: 'DELETE', key: 'k', value: '', modRevision: 3, prev: 'v' }]);
    expect(err(sm.leaseRenew({ id: 3, nowMs: T0_MS + 19_900 })).code).toBe('LEASE_NOT_FOUND');
  });

  it('promote restarts expiries from the checkpointed remaining TTL, or the full TTL, plus the grace period', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 1, ttlSeconds: 60, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 2, ttlSeconds: 60, nowMs: T0_MS }));
    ok(sm.leaseCheckpoint({ checkpoints: [{ id: 1, remainingTtlSeconds: 20 }, { id: 99, remainingTtlSeconds: 5 }] }));
    const later = T0_MS + 100_000;
    ok(sm.leasePromote({ nowMs: later, extendMs: 1_000 }));
    expect(ok(sm.leaseTimeToLive({ id: 1, nowMs: later })).ttlSeconds).toBe(21);
    expect(ok(sm.leaseTimeToLive({ id: 2, nowMs: later })).ttlSeconds).toBe(61);
    // A renew clears the checkpoint.
    ok(sm.leaseRenew({ id: 1, nowMs: later }));
    ok(sm.leasePromote({ nowMs: later, extendMs: 0 }));
    expect(ok(sm.leaseTimeToLive({ id: 1, nowMs: later })).ttlSeconds).toBe(60);
  });
});

describe('listing and expiry', () => {
  it('lists leases by expiry, then id', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 5, ttlSeconds: 30, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 9, ttlSeconds: 10, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 7, ttlSeconds: 30, nowMs: T0_MS }));
    expect(ok(sm.leaseLeases())).toEqual({ revision: 1, leases: [{ id: 9 }, { id: 5 }, { id: 7 }] });
  });

  it('the expiry scan returns leases due at the given time, soonest first, bounded', () => {
    const sm = new MvccStateMachine();
    ok(sm.leaseGrant({ id: 1, ttlSeconds: 30, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 2, ttlSeconds: 10, nowMs: T0_MS }));
    ok(sm.leaseGrant({ id: 3, ttlSeconds: 20, nowMs: T0_MS }));
    expect(sm.expiredLeases(T0_MS + 9_999)).toEqual([]);
    expect(sm.expiredLeases(T0_MS + 20_000)).toEqual([2, 3]);
    expect(sm.expiredLeases(T0_MS + 60_000, 1)).toEqual([2]);
  });
});
