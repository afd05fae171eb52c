/**
 * An in-memory EtcdBackend for the gRPC edge tests: a map of keys plus the
 * list of every event, no Raft, no persistence. It follows etcd's visible
 * semantics closely enough for clients (revisions, versions, leases, txn
 * compares, compaction, watch replay), and can be told to fail the next call
 * of a method with a typed error.
 */
import { createHash } from 'node:crypto';
import type {
  CallOptions,
  EtcdBackend,
  RangeOptions,
  WatchHandle,
  WatchSink,
} from '../../store/etcd-server/backend.js';
import { EtcdErrorCode, etcdError } from '../../store/etcd-server/errors.js';
import type {
  AlarmMember,
  AlarmRequest,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  Member,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  RequestOp,
  Snapshot,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchEvent,
  WatchRequest,
} from '../../store/etcd-server/types.js';
import { CompactedError, FutureRevisionError, KeyNotFoundError, LeaseNotFoundError } from '../../store/mvcc/errors.js';

export const FAKE_CLUSTER_ID = 0x51ab1e;
export const FAKE_MEMBER_ID = 0xa1b2c3;
export const FAKE_RAFT_TERM = 7;
/** Snapshot size: several 64 KiB messages, and a chunking that does not line up with them. */
export const FAKE_SNAPSHOT_BYTES = 200_000;
const FAKE_SNAPSHOT_CHUNK_BYTES = 50_001;

const id = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const EMPTY = new Uint8Array(0);

function inRange(key: string, r: { key: Uint8Array; rangeEnd?: Uint8Array }): boolean {
  const start = id(r.key);
  const end = r.rangeEnd ?? EMPTY;
  if (end.length === 0) return key === start;
  if (end.length === 1 && end[0] === 0) return key >= start;
  return key >= start && key < id(end);
}

interface FakeWatcher {
  readonly req: WatchRequest;
  readonly sink: WatchSink;
  active: boolean;
}

interface Lease {
  readonly id: number;
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
}

/** Collects one revision's writes; committed as one revision. */
interface WriteBatch {
  readonly revision: number;
  readonly events: WatchEvent[];
}

export class FakeEtcdBackend implements EtcdBackend {
  revision = 1;
  compactRevision = 0;
  readonly kvs = new Map<string, KeyValue>();
  /** Every event, in revision order, with prevKv always filled in. */
  readonly log: WatchEvent[] = [];
  readonly leases = new Map<number, Lease>();
  readonly watchers = new Set<FakeWatcher>();
  members: Member[] = [
    { id: FAKE_MEMBER_ID, name: 'm0', peerUrls: ['http://127.0.0.1:2380'], clientUrls: ['http://127.0.0.1:2379'], isLearner: false },
  ];
  alarms: AlarmMember[] = [];
  leader = FAKE_MEMBER_ID;
  private nextLeaseId = 0x1000;
  private readonly failures = new Map<string, Error>();
  /** Set by the tests to see what the edge passed on. */
  lastRangeOptions: RangeOptions | undefined;
  /** When set, range() waits until its signal aborts, and records the reason here. */
  hangRange = false;
  rangeAbortReason: unknown;

  /** The next call of `method` throws `err` (once). */
  failNext(method: keyof EtcdBackend, err: Error): void {
    this.failures.set(method, err);
  }

  private check(method: keyof EtcdBackend, opts?: CallOptions): void {
    opts?.signal.throwIfAborted();
    const err = this.failures.get(method);
    if (err !== undefined) {
      this.failures.delete(method);
      throw err;
    }
  }

  header(): ResponseHeader {
    return { clusterId: FAKE_CLUSTER_ID, memberId: FAKE_MEMBER_ID, revision: this.revision, raftTerm: FAKE_RAFT_TERM };
  }

  // ---------------------------------------------------------------- KV

  /** The key space as of `rev`, rebuilt from the event log. */
  private stateAt(rev: number): Map<string, KeyValue> {
    if (rev === this.revision) return this.kvs;
    const state = new Map<string, KeyValue>();
    for (const ev of this.log) {
      if (ev.kv.modRevision > rev) break;
      if (ev.type === 'PUT') state.set(id(ev.kv.key), ev.kv);
      else state.delete(id(ev.kv.key));
    }
    return state;
  }

  private readRange(req: RangeRequest): RangeResponse {
    const rev = req.revision !== undefined && req.revision > 0 ? req.revision : this.revision;
    if (rev > this.revision) throw new FutureRevisionError(rev, this.revision);
    if (rev < this.compactRevision) throw new CompactedError(rev, this.compactRevision);
    let kvs = [...this.stateAt(rev).entries()].filter(([k]) => inRange(k, req)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, kv]) => kv);
    const count = kvs.length;
    if (req.sortOrder === 'DESCEND') kvs.reverse();
    const limit = req.limit ?? 0;
    const more = limit > 0 && kvs.length > limit;
    if (more) kvs = kvs.slice(0, limit);
    if (req.countOnly === true) kvs = [];
    if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { revision: this.revision, kvs, more, count };
  }

  async range(req: RangeRequest, opts: RangeOptions): Promise<RangeResponse> {
    this.check('range', opts);
    this.lastRangeOptions = opts;
    if (this.hangRange) {
      await new Promise<never>((_resolve, reject) =>
        opts.signal.addEventListener('abort', () => {
          this.rangeAbortReason = opts.signal.reason;
          reject(opts.signal.reason as Error);
        }, { once: true }),
      );
    }
    return this.readRange(req);
  }

  private beginWrite(): WriteBatch {
    return { revision: this.revision + 1, events: [] };
  }

  private commit(batch: WriteBatch): void {
    if (batch.events.length === 0) return;
    this.revision = batch.revision;
    this.log.push(...batch.events);
    for (const w of this.watchers) {
      const evs = batch.events.filter((ev) => inRange(id(ev.kv.key), w.req));
      if (w.active && evs.length > 0) w.sink.onEvents(this.shape(evs, w.req.prevKv));
    }
  }

  private shape(events: readonly WatchEvent[], prevKv: boolean): WatchEvent[] {
    return events.map((ev) => (prevKv || ev.prevKv === undefined ? ev : { type: ev.type, kv: ev.kv }));
  }

  private applyPut(batch: WriteBatch, req: PutRequest): PutResponse {
    const key = id(req.key);
    const prev = this.kvs.get(key);
    if ((req.ignoreValue === true || req.ignoreLease === true) && prev === undefined) {
      throw new KeyNotFoundError(req.key, 'ignore_value/ignore_lease need an existing key');
    }
    const lease = req.ignoreLease === true ? prev!.lease : (req.lease ?? 0);
    if (lease !== 0 && !this.leases.has(lease)) throw new LeaseNotFoundError(lease);
    const kv: KeyValue = {
      key: req.key,
      value: req.ignoreValue === true ? prev!.value : (req.value ?? EMPTY),
      createRevision: prev?.createRevision ?? batch.revision,
      modRevision: batch.revision,
      version: (prev?.version ?? 0) + 1,
      lease,
    };
    if (prev !== undefined && prev.lease !== 0) this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== 0) this.leases.get(lease)!.keys.add(key);
    this.kvs.set(key, kv);
    batch.events.push(prev === undefined ? { type: 'PUT', kv } : { type: 'PUT', kv, prevKv: prev });
    return req.prevKv === true && prev !== undefined ? { revision: batch.revision, prevKv: prev } : { revision: batch.revision };
  }

  private applyDelete(batch: WriteBatch, req: DeleteRangeRequest): DeleteRangeResponse {
    const victims = [...this.kvs.entries()].filter(([k]) => inRange(k, req)).sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [k, prev] of victims) {
      this.kvs.delete(k);
      if (prev.lease !== 0) this.leases.get(prev.lease)?.keys.delete(k);
      const kv: KeyValue = { key: prev.key, value: EMPTY, createRevision: 0, modRevision: batch.revision, version: 0, lease: 0 };
      batch.events.push({ type: 'DELETE', kv, prevKv: prev });
    }
    const revision = victims.length > 0 ? batch.revision : this.revision;
    return { revision, deleted: victims.length, prevKvs: req.prevKv === true ? victims.map(([, kv]) => kv) : [] };
  }

  async put(req: PutRequest, opts: CallOptions): Promise<PutResponse> {
    this.check('put', opts);
    const batch = this.beginWrite();
    const res = this.applyPut(batch, req);
    this.commit(batch);
    return res;
  }

  async deleteRange(req: DeleteRangeRequest, opts: CallOptions): Promise<DeleteRangeResponse> {
    this.check('deleteRange', opts);
    const batch = this.beginWrite();
    const res = this.applyDelete(batch, req);
    this.commit(batch);
    return res;
  }

  private compareHolds(c: Compare): boolean {
    const kvs = [...this.kvs.entries()].filter(([k]) => inRange(k, c)).map(([, kv]) => kv);
    if (kvs.length === 0) {
      if (c.target === 'VALUE') return false;
      kvs.push({ key: c.key, value: EMPTY, createRevision: 0, modRevision: 0, version: 0, lease: 0 });
    }
    return kvs.every((kv) => {
      const order =
        c.target === 'VALUE' ? Buffer.compare(Buffer.from(kv.value), Buffer.from(c.value))
        : c.target === 'VERSION' ? Math.sign(kv.version - c.version)
        : c.target === 'CREATE' ? Math.sign(kv.createRevision - c.createRevision)
        : c.target === 'MOD' ? Math.sign(kv.modRevision - c.modRevision)
        : Math.sign(kv.lease - c.lease);
      switch (c.result) {
        case 'EQUAL': return order === 0;
        case 'NOT_EQUAL': return order !== 0;
        case 'GREATER': return order > 0;
        case 'LESS': return order < 0;
      }
    });
  }

  private applyTxn(batch: WriteBatch, req: TxnRequest): TxnResponse {
    const succeeded = (req.compare ?? []).every((c) => this.compareHolds(c));
    const ops: readonly RequestOp[] = (succeeded ? req.success : req.failure) ?? [];
    const responses = ops.map((op): ResponseOp => {
      switch (op.op) {
        case 'range': return { op: 'range', response: this.readRange(op.request) };
        case 'put': return { op: 'put', response: this.applyPut(batch, op.request) };
        case 'deleteRange': return { op: 'deleteRange', response: this.applyDelete(batch, op.request) };
        case 'txn': return { op: 'txn', response: this.applyTxn(batch, op.request) };
      }
    });
    return { revision: batch.events.length > 0 ? batch.revision : this.revision, succeeded, responses };
  }

  async txn(req: TxnRequest, opts: CallOptions): Promise<TxnResponse> {
    this.check('txn', opts);
    const batch = this.beginWrite();
    const res = this.applyTxn(batch, req);
    this.commit(batch);
    return res;
  }

  async compact(revision: number, opts: CallOptions): Promise<{ revision: number }> {
    this.check('compact', opts);
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    if (revision <= this.compactRevision) throw new CompactedError(revision, this.compactRevision);
    this.compactRevision = revision;
    return { revision: this.revision };
  }

  // ---------------------------------------------------------------- Watch

  async watch(req: WatchRequest, sink: WatchSink, opts: CallOptions): Promise<WatchHandle> {
    this.check('watch', opts);
    const w: FakeWatcher = { req, sink, active: true };
    const revision = this.revision;
    // History is replayed synchronously, before the promise resolves: the edge must hold it.
    if (req.startRevision > 0 && req.startRevision < this.compactRevision) {
      w.active = false;
      sink.onCanceled({ compactRevision: this.compactRevision });
    } else if (req.startRevision > 0) {
      const past = this.log.filter((ev) => ev.kv.modRevision >= req.startRevision && inRange(id(ev.kv.key), req));
      if (past.length > 0) sink.onEvents(this.shape(past, req.prevKv));
    }
    if (w.active) this.watchers.add(w);
    return {
      revision,
      requestProgress: async () => this.revision,
      cancel: () => {
        w.active = false;
        this.watchers.delete(w);
      },
    };
  }

  // ---------------------------------------------------------------- Lease

  async leaseGrant(req: { ttlSeconds: number; id: number }, opts: CallOptions): Promise<{ revision: number; id: number; ttlSeconds: number }> {
    this.check('leaseGrant', opts);
    const leaseId = req.id !== 0 ? req.id : this.nextLeaseId++;
    if (this.leases.has(leaseId)) throw etcdError(EtcdErrorCode.LeaseExists);
    this.leases.set(leaseId, { id: leaseId, ttlSeconds: req.ttlSeconds, keys: new Set() });
    return { revision: this.revision, id: leaseId, ttlSeconds: req.ttlSeconds };
  }

  async leaseRevoke(leaseId: number, opts: CallOptions): Promise<{ revision: number }> {
    this.check('leaseRevoke', opts);
    const lease = this.leases.get(leaseId);
    if (lease === undefined) throw new LeaseNotFoundError(leaseId);
    const batch = this.beginWrite();
    for (const k of [...lease.keys]) this.applyDelete(batch, { key: Buffer.from(k, 'latin1') });
    this.leases.delete(leaseId);
    this.commit(batch);
    return { revision: this.revision };
  }

  async leaseKeepAlive(leaseId: number, opts: CallOptions): Promise<number> {
    this.check('leaseKeepAlive', opts);
    const lease = this.leases.get(leaseId);
    if (lease === undefined) throw new LeaseNotFoundError(leaseId);
    return lease.ttlSeconds;
  }

  async leaseTimeToLive(leaseId: number, opts: CallOptions & { keys: boolean }) {
    this.check('leaseTimeToLive', opts);
    const lease = this.leases.get(leaseId);
    if (lease === undefined) throw new LeaseNotFoundError(leaseId);
    const keys = opts.keys ? [...lease.keys].sort().map((k) => new Uint8Array(Buffer.from(k, 'latin1'))) : [];
    return { revision: this.revision, id: leaseId, ttlSeconds: lease.ttlSeconds - 1, grantedTtlSeconds: lease.ttlSeconds, keys };
  }

  async leaseLeases(opts: CallOptions) {
    this.check('leaseLeases', opts);
    return { revision: this.revision, leases: [...this.leases.keys()].map((leaseId) => ({ id: leaseId })) };
  }

  // ---------------------------------------------------------------- Cluster

  private mustMember(memberId: number): Member {
    const m = this.members.find((x) => x.id === memberId);
    if (m === undefined) throw etcdError(EtcdErrorCode.MemberNotFound, `member ${memberId.toString(16)} is not in the cluster`);
    return m;
  }

  async memberList(opts: CallOptions) {
    this.check('memberList', opts);
    return { members: this.members };
  }

  async memberAdd(req: { peerUrls: readonly string[]; isLearner: boolean }, opts: CallOptions) {
    this.check('memberAdd', opts);
    const member: Member = { id: FAKE_MEMBER_ID + this.members.length, name: '', peerUrls: req.peerUrls, clientUrls: [], isLearner: req.isLearner };
    this.members = [...this.members, member];
    return { member, members: this.members };
  }

  async memberRemove(memberId: number, opts: CallOptions) {
    this.check('memberRemove', opts);
    this.mustMember(memberId);
    this.members = this.members.filter((m) => m.id !== memberId);
    return { members: this.members };
  }

  async memberUpdate(memberId: number, peerUrls: readonly string[], opts: CallOptions) {
    this.check('memberUpdate', opts);
    const m = this.mustMember(memberId);
    this.members = this.members.map((x) => (x === m ? { ...m, peerUrls } : x));
    return { members: this.members };
  }

  async memberPromote(memberId: number, opts: CallOptions) {
    this.check('memberPromote', opts);
    const m = this.mustMember(memberId);
    if (!m.isLearner) throw etcdError(EtcdErrorCode.MemberNotLearner);
    this.members = this.members.map((x) => (x === m ? { ...m, isLearner: false } : x));
    return { members: this.members };
  }

  // ---------------------------------------------------------------- Maintenance

  async status(opts: CallOptions): Promise<StatusResponse> {
    this.check('status', opts);
    return {
      version: '3.4.0',
      dbSizeBytes: 4096 * (1 + this.log.length),
      dbSizeInUseBytes: 4096 * (1 + this.kvs.size),
      leader: this.leader,
      raftIndex: this.revision + 10,
      raftTerm: FAKE_RAFT_TERM,
      raftAppliedIndex: this.revision + 10,
      isLearner: false,
      alarms: this.alarms,
    };
  }

  async alarm(req: AlarmRequest, opts: CallOptions): Promise<readonly AlarmMember[]> {
    this.check('alarm', opts);
    const target = { memberId: req.memberId === 0 ? FAKE_MEMBER_ID : req.memberId, alarm: req.alarm };
    if (req.action === 'ACTIVATE') this.alarms = [...this.alarms, target];
    if (req.action === 'DEACTIVATE') {
      const removed = this.alarms.filter((a) => a.memberId === target.memberId && a.alarm === target.alarm);
      this.alarms = this.alarms.filter((a) => !removed.includes(a));
      return removed;
    }
    return this.alarms.filter((a) => (req.memberId === 0 || a.memberId === req.memberId) && (req.alarm === 'NONE' || a.alarm === req.alarm));
  }

  async defragment(opts: CallOptions): Promise<void> {
    this.check('defragment', opts);
  }

  async hashKV(revision: number, opts: CallOptions) {
    this.check('hashKV', opts);
    const rev = revision === 0 ? this.revision : revision;
    const digest = createHash('sha256').update(JSON.stringify([...this.stateAt(rev).keys()])).digest();
    return { revision: this.revision, hash: digest.readUInt32BE(0), compactRevision: this.compactRevision };
  }

  /** Deterministic bytes of FAKE_SNAPSHOT_BYTES, yielded in chunks that do not line up with the edge's messages. */
  snapshotBytes(): Buffer {
    const seed = Buffer.from(JSON.stringify([...this.kvs.keys()]));
    const out = Buffer.alloc(FAKE_SNAPSHOT_BYTES);
    for (let i = 0; i < out.length; i++) out[i] = (seed[i % Math.max(1, seed.length)] ?? 0) ^ (i & 0xff);
    return out;
  }

  async snapshot(opts: CallOptions): Promise<Snapshot> {
    this.check('snapshot', opts);
    const bytes = this.snapshotBytes();
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < bytes.length; at += FAKE_SNAPSHOT_CHUNK_BYTES) yield bytes.subarray(at, at + FAKE_SNAPSHOT_CHUNK_BYTES);
    }
    return { revision: this.revision, totalBytes: bytes.length, chunks: chunks() };
  }

  async moveLeader(targetId: number, opts: CallOptions): Promise<void> {
    this.check('moveLeader', opts);
    if (!this.members.some((m) => m.id === targetId)) throw etcdError(EtcdErrorCode.BadLeaderTransferee);
    this.leader = targetId;
  }
}
