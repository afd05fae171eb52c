/**
 * The space quota and the alarms, as every member applies them: the admission
 * rules (store/replica/quota.ts), the replicated alarm table, and the
 * ReplicatedState that refuses writes, asks to raise NOSPACE, and carries the
 * alarms through its snapshot image. etcd 3.4 is the reference: a write past
 * the quota is refused with "mvcc: database space exceeded" and raises NOSPACE;
 * while NOSPACE is raised only reads, deletes, compaction and lease revokes work.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../raft/core/types.js';
import { EntryType } from '../../raft/core/types.js';
import { EtcdErrorCode } from '../../store/etcd-server/errors.js';
import { encodeCommand, type Command } from '../../store/mvcc/commands.js';
import { AlarmTable, AlarmTableFullError, ALARMS_MAX } from '../../store/replica/alarms.js';
import { decodeProposal, encodeProposal, type Proposal } from '../../store/replica/proposal.js';
import {
  DEFAULT_QUOTA_BACKEND_BYTES,
  NoSpaceError,
  NoSpaceReason,
  QUOTA_KV_OVERHEAD_BYTES,
  QUOTA_LEASE_OVERHEAD_BYTES,
  admit,
  quotaCostBytes,
  type Admission,
  resolveQuotaBytes,
} from '../../store/replica/quota.js';
import { decodeImage, ReplicatedState, type ApplyOutcome } from '../../store/replica/replicated-state.js';
import { b } from './helpers.js';

const MEMBER_A = 0xa1;
const MEMBER_B = 0xb2;

const put = (key: string, valueBytes: number): Command => ({ op: 'put', request: { key: b(key), value: new Uint8Array(valueBytes) } });
const del = (key: string): Command => ({ op: 'deleteRange', request: { key: b(key) } });
const readTxn: Command = { op: 'txn', request: { success: [{ op: 'range', request: { key: b('a') } }] } };
const deleteTxn: Command = { op: 'txn', request: { failure: [{ op: 'deleteRange', request: { key: b('a') } }] } };
const grant: Command = { op: 'leaseGrant', request: { id: 7, ttlSeconds: 60, nowMs: 0 } };

/** The error a refused admission or apply carries (fails the test if it was not refused). */
function refusal(a: Admission | ApplyOutcome): Error {
  if (a.ok) throw new Error(`expected a refusal, got ${JSON.stringify(a)}`);
  return a.error;
}

function noSpace(a: Admission | ApplyOutcome): NoSpaceError {
  const error = refusal(a);
  if (!(error instanceof NoSpaceError)) throw new Error(`expected a NOSPACE refusal, got ${error.name}: ${error.message}`);
  return error;
}

function noAlarms(): AlarmTable {
  return new AlarmTable();
}

function raised(...alarms: Array<['NOSPACE' | 'CORRUPT', number]>): AlarmTable {
  const t = new AlarmTable();
  for (const [alarm, memberId] of alarms) t.activate(memberId, alarm);
  return t;
}

describe('admission: the quota (etcd quota.go)', () => {
  it('costs a put 256 bytes plus key and value, a lease 64, a txn its costlier branch', () => {
    expect(quotaCostBytes(put('k', 100))).toBe(QUOTA_KV_OVERHEAD_BYTES + 1 + 100);
    expect(quotaCostBytes(grant)).toBe(QUOTA_LEASE_OVERHEAD_BYTES);
    const txn: Command = {
      op: 'txn',
      request: {
        success: [{ op: 'put', request: { key: b('a'), value: new Uint8Array(10) } }],
        failure: [
          { op: 'put', request: { key: b('b'), value: new Uint8Array(5) } },
          { op: 'txn', request: { success: [{ op: 'put', request: { key: b('c'), value: new Uint8Array(50) } }] } },
        ],
      },
    };
    // Nested puts count here (etcd counts them as nothing): 2 puts of the failure branch.
    expect(quotaCostBytes(txn)).toBe(2 * QUOTA_KV_OVERHEAD_BYTES + 1 + 5 + 1 + 50);
    expect(quotaCostBytes(del('k'))).toBe(0);
  });

  it('refuses a write that would reach the quota, and only that one (etcd: size + cost < quota)', () => {
    const quotaBytes = 1000;
    const fits = admit(put('k', quotaBytes - QUOTA_KV_OVERHEAD_BYTES - 2), { alarms: noAlarms(), usedBytes: 0, quotaBytes });
    expect(fits.ok).toBe(true);
    const reaches = admit(put('k', quotaBytes - QUOTA_KV_OVERHEAD_BYTES - 1), { alarms: noAlarms(), usedBytes: 0, quotaBytes });
    expect(reaches).toMatchObject({ ok: false, raiseNoSpace: true });
    const error = noSpace(reaches);
    expect([error.code, error.reason, error.message]).toEqual([EtcdErrorCode.NoSpace, NoSpaceReason.QuotaReached, 'mvcc: database space exceeded']);
    expect(error.detail).toBe('put needs 1000 bytes; the store holds 0 bytes of its 1000-byte quota');
  });

  it('lets deletes, compactions, reads and revokes through a full store, and anything through without a quota', () => {
    const full = { alarms: noAlarms(), usedBytes: 5000, quotaBytes: 1000 };
    for (const cmd of [del('k'), readTxn, { op: 'compact', request: { revision: 1 } } as Command, { op: 'leaseRevoke', request: { id: 7 } } as Command]) {
      expect(admit(cmd, full).ok, cmd.op).toBe(true);
    }
    expect(admit(grant, full).ok).toBe(false);
    expect(admit(deleteTxn, full).ok).toBe(false); // a txn that writes, even a delete, is counted (etcd)
    expect(admit(put('k', 1_000_000), { alarms: noAlarms(), usedBytes: 5000, quotaBytes: undefined }).ok).toBe(true);
  });
});

describe('admission: raised alarms (etcd applierV3Capped / applierV3Corrupt)', () => {
  it('NOSPACE refuses puts, lease grants and writing txns, without asking to raise it again', () => {
    const s = { alarms: raised(['NOSPACE', MEMBER_A]), usedBytes: 0, quotaBytes: DEFAULT_QUOTA_BACKEND_BYTES };
    for (const cmd of [put('k', 1), grant, deleteTxn]) {
      const a = admit(cmd, s);
      expect(a, cmd.op).toMatchObject({ ok: false, raiseNoSpace: false });
      expect(noSpace(a).reason).toBe(NoSpaceReason.AlarmActive);
    }
    for (const cmd of [del('k'), readTxn, { op: 'compact', request: { revision: 1 } } as Command, { op: 'leaseRenew', request: { id: 7, nowMs: 0 } } as Command]) {
      expect(admit(cmd, s).ok, cmd.op).toBe(true);
    }
  });

  it('CORRUPT refuses writes, deletes and compaction with etcd\'s corrupt error', () => {
    const s = { alarms: raised(['CORRUPT', MEMBER_B]), usedBytes: 0, quotaBytes: undefined };
    for (const cmd of [put('k', 1), del('k'), readTxn, { op: 'compact', request: { revision: 1 } } as Command]) {
      const a = admit(cmd, s);
      expect((refusal(a) as Error & { code: string }).code, cmd.op).toBe(EtcdErrorCode.Corrupt);
    }
    expect(admit({ op: 'leaseRenew', request: { id: 7, nowMs: 0 } }, s).ok).toBe(true);
  });

  it('reads --quota-backend-bytes as etcd: 0 is the 2 GiB default, negative is no quota', () => {
    const warnings: string[] = [];
    expect(resolveQuotaBytes(0, (l) => warnings.push(l))).toBe(2 * 1024 ** 3);
    expect(resolveQuotaBytes(undefined, (l) => warnings.push(l))).toBe(2 * 1024 ** 3);
    expect(resolveQuotaBytes(65_536, (l) => warnings.push(l))).toBe(65_536);
    expect(warnings).toEqual([]);
    expect(resolveQuotaBytes(-1, (l) => warnings.push(l))).toBeUndefined();
    expect(resolveQuotaBytes(9 * 1024 ** 3, (l) => warnings.push(l))).toBe(9 * 1024 ** 3);
    expect(warnings).toHaveLength(2);
  });
});

describe('the alarm table', () => {
  it('raises each (member, type) once, lists them in member order, filters by type, clears them', () => {
    const t = new AlarmTable();
    expect(t.apply({ action: 'ACTIVATE', memberId: MEMBER_B, alarm: 'NOSPACE' })).toEqual([{ memberId: MEMBER_B, alarm: 'NOSPACE' }]);
    t.apply({ action: 'ACTIVATE', memberId: MEMBER_A, alarm: 'NOSPACE' });
    t.apply({ action: 'ACTIVATE', memberId: MEMBER_A, alarm: 'NOSPACE' });
    t.apply({ action: 'ACTIVATE', memberId: MEMBER_A, alarm: 'CORRUPT' });
    expect(t.list().map((a) => [a.memberId, a.alarm])).toEqual([[MEMBER_A, 'CORRUPT'], [MEMBER_A, 'NOSPACE'], [MEMBER_B, 'NOSPACE']]);
    expect(t.list('NOSPACE')).toHaveLength(2);
    expect(t.apply({ action: 'DEACTIVATE', memberId: MEMBER_A, alarm: 'NOSPACE' })).toEqual([{ memberId: MEMBER_A, alarm: 'NOSPACE' }]);
    expect(t.apply({ action: 'DEACTIVATE', memberId: MEMBER_A, alarm: 'NOSPACE' })).toEqual([]);
    expect(t.has('NOSPACE')).toBe(true); // B's is still raised
  });

  it('refuses a new alarm at its bound but still clears one', () => {
    const t = new AlarmTable();
    for (let id = 1; id <= ALARMS_MAX; id++) t.activate(id, 'NOSPACE');
    expect(t.activate(ALARMS_MAX + 1, 'NOSPACE')).toBeInstanceOf(AlarmTableFullError);
    expect(t.activate(1, 'NOSPACE')).toEqual({ memberId: 1, alarm: 'NOSPACE' });
    expect(t.deactivate(1, 'NOSPACE')).toBeDefined();
    expect(t.size).toBe(ALARMS_MAX - 1);
  });
});

describe('proposals carry the quota and alarm changes', () => {
  it('round-trips a kv proposal with and without a quota, and an alarm change', () => {
    const command = encodeCommand(put('k', 1));
    const withQuota: Proposal = { requestId: 'a-1', kind: 'kv', command, quotaBytes: 65_536 };
    const without: Proposal = { requestId: 'a-2', kind: 'kv', command };
    const alarm: Proposal = { requestId: 'a-3', kind: 'alarm', change: { action: 'ACTIVATE', memberId: MEMBER_A, alarm: 'NOSPACE' } };
    for (const p of [withQuota, without, alarm]) expect(decodeProposal(encodeProposal(p))).toEqual(p);
  });

  it('skips an alarm change it cannot read rather than guessing', () => {
    const bad = encodeProposal({ requestId: 'x', kind: 'alarm', change: { action: 'ACTIVATE', memberId: MEMBER_A, alarm: 'NONE' as 'NOSPACE' } });
    expect(decodeProposal(bad)).toBeUndefined();
  });
});

/** A replica fed log entries, recording every outcome and every request to raise NOSPACE. */
class Replica {
  readonly outcomes = new Map<string, ApplyOutcome>();
  noSpaceRaises = 0;
  readonly state = new ReplicatedState({
    onResult: (id, outcome) => this.outcomes.set(id, outcome),
    onMembersChanged: () => undefined,
    onNoSpace: () => this.noSpaceRaises++,
  });
  private index = 0;

  apply(...proposals: Proposal[]): void {
    const entries: Entry[] = proposals.map((p) => ({ index: ++this.index, term: 1, type: EntryType.Normal, data: encodeProposal(p) }));
    this.state.apply(entries);
  }

  outcome(id: string): ApplyOutcome {
    const o = this.outcomes.get(id);
    if (o === undefined) throw new Error(`no outcome for ${id}`);
    return o;
  }
}

let seq = 0;
const kv = (cmd: Command, quotaBytes?: number): Proposal => ({
  requestId: `r${++seq}`,
  kind: 'kv',
  command: encodeCommand(cmd),
  ...(quotaBytes === undefined ? {} : { quotaBytes }),
});
const alarm = (action: 'ACTIVATE' | 'DEACTIVATE', memberId: number): Proposal => ({
  requestId: `r${++seq}`,
  kind: 'alarm',
  change: { action, memberId, alarm: 'NOSPACE' },
});

const QUOTA_BYTES = 8 * 1024;
const VALUE_BYTES = 1024;

/** Overwrites one key until the quota refuses a put; returns the refused proposal. */
function fillUntilRefused(r: Replica): Proposal {
  for (let i = 0; i < 100; i++) {
    const p = kv(put('k', VALUE_BYTES), QUOTA_BYTES);
    r.apply(p);
    if (!r.outcome(p.requestId).ok) return p;
  }
  throw new Error('the quota never refused a put');
}

describe('ReplicatedState: the quota and NOSPACE through the log', () => {
  it('refuses the put that would reach the quota, leaves the store as it was, and asks to raise NOSPACE', () => {
    const r = new Replica();
    const refused = fillUntilRefused(r);
    expect(noSpace(r.outcome(refused.requestId)).reason).toBe(NoSpaceReason.QuotaReached);
    const revision = r.state.mvcc.currentRevision;
    expect(r.state.mvcc.status().dbSizeBytes).toBeLessThan(QUOTA_BYTES);
    expect(r.noSpaceRaises).toBe(1);
    r.apply(kv(put('k', VALUE_BYTES), QUOTA_BYTES));
    expect(r.state.mvcc.currentRevision).toBe(revision);
    expect(r.noSpaceRaises).toBe(2); // no alarm raised yet: every refusal asks (the member deduplicates)
  });

  it('judges each entry by the quota it carries, so every replica refuses exactly the same entries', () => {
    const first = new Replica();
    fillUntilRefused(first);
    // A proposer with a larger quota gets its put in, on every replica alike.
    const generous = kv(put('k', VALUE_BYTES), 1024 * 1024);
    first.apply(generous);
    expect(first.outcome(generous.requestId).ok).toBe(true);
    const second = new Replica();
    fillUntilRefused(second);
    second.apply({ ...generous });
    expect([...second.outcomes.values()].map((o) => o.ok)).toEqual([...first.outcomes.values()].map((o) => o.ok));
    expect(second.state.mvcc.hashKv()).toEqual(first.state.mvcc.hashKv());
  });

  it('with NOSPACE raised, refuses puts without asking again; deletes and compaction work; disarm lets writes in', () => {
    const r = new Replica();
    fillUntilRefused(r);
    const raises = r.noSpaceRaises;
    const activate = alarm('ACTIVATE', MEMBER_A);
    r.apply(activate);
    expect(r.outcome(activate.requestId)).toEqual({ ok: true, value: [{ memberId: MEMBER_A, alarm: 'NOSPACE' }], events: [] });
    const small = kv(put('other', 1), QUOTA_BYTES);
    const deleting = kv(del('nothing-here'), QUOTA_BYTES);
    const compacting = kv({ op: 'compact', request: { revision: r.state.mvcc.currentRevision } }, QUOTA_BYTES);
    r.apply(small, deleting, compacting);
    expect(noSpace(r.outcome(small.requestId)).reason).toBe(NoSpaceReason.AlarmActive);
    expect(r.noSpaceRaises).toBe(raises);
    expect([r.outcome(deleting.requestId).ok, r.outcome(compacting.requestId).ok]).toEqual([true, true]);
    expect(r.state.mvcc.status().dbSizeBytes).toBeLessThan(2 * VALUE_BYTES); // one revision of 'k' left
    const stillCapped = kv(put('other', 1), QUOTA_BYTES);
    r.apply(stillCapped);
    expect(r.outcome(stillCapped.requestId).ok).toBe(false); // space is back, but the alarm stays until disarmed
    const disarm = alarm('DEACTIVATE', MEMBER_A);
    const after = kv(put('other', 1), QUOTA_BYTES);
    r.apply(disarm, after);
    expect(r.outcome(disarm.requestId)).toMatchObject({ ok: true, value: [{ memberId: MEMBER_A, alarm: 'NOSPACE' }] });
    expect(r.outcome(after.requestId).ok).toBe(true);
  });

  it('keeps raised alarms in its snapshot image, and reads an image from before alarms as none raised', () => {
    const r = new Replica();
    r.apply(alarm('ACTIVATE', MEMBER_A), alarm('ACTIVATE', MEMBER_B));
    const image = r.state.snapshot();
    expect(decodeImage(image).alarms.list()).toHaveLength(2);
    const restored = new Replica();
    restored.state.restore({ metadata: { index: 2, term: 1, confState: { voters: [], learners: [] } }, data: image });
    expect(restored.state.alarms.list()).toEqual(r.state.alarms.list());
    const refused = kv(put('k', 1));
    restored.apply(refused);
    expect(restored.outcome(refused.requestId).ok).toBe(false);
    const old = new Packr({ useRecords: false }).pack({ version: 1, mvcc: decodeImage(image).mvcc, members: [] });
    expect(decodeImage(new Uint8Array(old)).alarms.size).toBe(0);
  });
});
