/**
 * The multi-version key space: every retained revision of every key, the global
 * revision counter, compaction, and the event history watches read from.
 *
 * Writes go through a WriteTxn (one at a time). All writes of a txn share the
 * main revision currentRevision + 1 and get increasing sub-revisions; the
 * revision advances once, at end(), and only if something was written.
 *
 * Invariants:
 *  - currentRevision >= 1 (a fresh store is at revision 1, like etcd);
 *  - compactRevision <= currentRevision (-1 before the first compaction);
 *  - `log` holds every retained record, ordered by (main, sub);
 *  - every record with main > currentRevision belongs to the open WriteTxn.
 */
import { assert } from './assert.js';
import { CompactedError, FutureRevisionError, type MvccError } from './errors.js';
import {
  KeyIndex,
  compareRevisions,
  lastRecordAtOrBefore,
  latestLive,
  visibleAt,
  type KeyHistory,
  type RevisionRecord,
} from './key-index.js';
import { keyIdOf, rangeContains, type KeyId, type KeyRange } from './key-range.js';
import { storedRecordBytes } from './kv-encoding.js';
import { ownedCopy } from './owned-bytes.js';
import { MAX_EVENTS_PER_READ, MAX_REVISION } from './limits.js';
import { EventType, NO_LEASE, type KeyValue, type ReadEventsResponse, type WatchEvent } from './types.js';

/** How the key space tells the lessor which keys a lease holds. */
export interface LeaseAttachments {
  attach(leaseId: number, keyId: KeyId): void;
  detach(leaseId: number, keyId: KeyId): void;
}

const EMPTY_BYTES = new Uint8Array(0);

export class KvStore {
  currentRevision = 1;
  compactRevision = -1;
  readonly index = new KeyIndex();
  private log: RevisionRecord[] = [];
  private liveKeys = 0;
  private recordBytes = 0;
  private writeOpen = false;

  constructor(private readonly leases: LeaseAttachments) {}

  /** Keys that exist at the newest revision. */
  get liveKeyCount(): number {
    return this.liveKeys;
  }

  /** Bytes etcd's backend would hold for the retained revisions. */
  get storedBytes(): number {
    return this.recordBytes;
  }

  /** Every retained record, ordered by (main, sub). */
  records(): readonly RevisionRecord[] {
    return this.log;
  }

  /**
   * The revision a read asks for, checked the way etcd's rangeKeys does:
   * after `readRevision` is a future revision; <= 0 means `readRevision`;
   * below the compact revision is compacted (the compact revision itself is readable).
   */
  resolveReadRevision(requested: number, readRevision: number): number | MvccError {
    if (requested > readRevision) return new FutureRevisionError(requested, readRevision);
    const rev = requested <= 0 ? readRevision : requested;
    if (rev < this.compactRevision) return new CompactedError(rev, this.compactRevision);
    return rev;
  }

  /**
   * Keys of the range that exist at `rev`, in byte order; at most `limit` of them
   * collected (<= 0: all, and none when `collect` is false), all of them counted.
   */
  rangeKeys(range: KeyRange, rev: number, limit: number, collect = true): { kvs: KeyValue[]; count: number } {
    const kvs: KeyValue[] = [];
    let count = 0;
    this.index.forEachInRange(range, (history) => {
      const kv = visibleAt(history, rev);
      if (kv === undefined) return;
      count++;
      if (collect && (limit <= 0 || kvs.length < limit)) kvs.push(kv);
    });
    return { kvs, count };
  }

  beginWrite(): WriteTxn {
    assert(!this.writeOpen, 'one write txn at a time');
    assert(this.currentRevision < MAX_REVISION, () => `revision ${this.currentRevision} has reached the safe-integer limit`);
    this.writeOpen = true;
    return new WriteTxn(this, this.leases);
  }

  /**
   * Drops history before `rev`, etcd 3.4.45 style: each key keeps its newest
   * revision at or before `rev` (a tombstone only if it is exactly at `rev`, so a
   * watch from `rev` still sees that delete) and everything after.
   */
  compact(rev: number): MvccError | undefined {
    assert(!this.writeOpen, 'no compaction inside a write txn');
    if (rev <= this.compactRevision) return new CompactedError(rev, this.compactRevision);
    if (rev > this.currentRevision) return new FutureRevisionError(rev, this.currentRevision);
    const dropped = new Set<RevisionRecord>();
    const emptied = new Set<KeyId>();
    this.index.forEach((history) => {
      const i = lastRecordAtOrBefore(history.records, rev);
      if (i < 0) return;
      const newest = history.records[i]!;
      const keepFrom = newest.tombstone && newest.main < rev ? i + 1 : i;
      if (keepFrom === 0) return;
      for (const record of history.records.slice(0, keepFrom)) dropped.add(record);
      history.records = history.records.slice(keepFrom);
      if (history.records.length === 0) emptied.add(history.id);
    });
    this.index.removeEmpty(emptied);
    if (dropped.size > 0) {
      this.log = this.log.filter((record) => !dropped.has(record));
      for (const record of dropped) this.recordBytes -= storedRecordBytes(record);
    }
    this.compactRevision = rev;
    return undefined;
  }

  /**
   * The watch event of a record. prevKv is what etcd's watch server attaches:
   * the key at modRevision - 1 when that revision is still readable; create
   * events get none.
   */
  eventOf(record: RevisionRecord): WatchEvent {
    const kv = record.kv;
    const type = record.tombstone ? EventType.Delete : EventType.Put;
    if (!record.tombstone && kv.createRevision === kv.modRevision) return { type, kv };
    const prevRevision = record.main - 1;
    if (prevRevision < this.compactRevision) return { type, kv };
    const history = this.index.get(record.keyId);
    assert(history !== undefined, 'a retained record has a history');
    const prevKv = visibleAt(history, prevRevision);
    return prevKv === undefined ? { type, kv } : { type, kv, prevKv };
  }

  /**
   * Events in `range` from `startRevision` on, out of the retained history.
   * Starting below the compact revision is an error (the watch must be told
   * the compact revision and cancelled); starting at it is allowed, as in etcd.
   */
  readEvents(range: KeyRange, startRevision: number, maxEvents: number): ReadEventsResponse | MvccError {
    const bound = Math.min(maxEvents, MAX_EVENTS_PER_READ);
    assert(bound >= 1, () => `maxEvents must be at least 1, got ${maxEvents}`);
    const start = startRevision <= 0 ? this.currentRevision + 1 : startRevision;
    if (start < this.compactRevision) return new CompactedError(start, this.compactRevision);
    const events: WatchEvent[] = [];
    let lastMain = start - 1;
    for (let i = this.firstRecordAtOrAfter(start); i < this.log.length; i++) {
      const record = this.log[i]!;
      if (record.main > this.currentRevision) break; // an open txn's writes are not history yet
      if (events.length >= bound && record.main !== lastMain) return { events, nextRevision: lastMain + 1 };
      if (!rangeContains(range, record.keyId)) continue;
      events.push(this.eventOf(record));
      lastMain = record.main;
    }
    return { events, nextRevision: Math.max(start, this.currentRevision + 1) };
  }

  /** Rebuilds a fresh store from records in (main, sub) order (snapshot restore). */
  load(state: { currentRevision: number; compactRevision: number; records: readonly RevisionRecord[] }): void {
    assert(this.log.length === 0 && this.currentRevision === 1, 'load into a fresh store');
    let previous: RevisionRecord | undefined;
    for (const record of state.records) {
      assert(previous === undefined || compareRevisions(previous, record) < 0, 'records are in revision order');
      const history = this.index.getOrCreate(record.keyId, record.kv.key, true);
      this.append(history, record);
      previous = record;
    }
    this.index.forEach((history) => {
      if (latestLive(history) !== undefined) this.liveKeys++;
    });
    this.currentRevision = state.currentRevision;
    this.compactRevision = state.compactRevision;
  }

  /** For WriteTxn only: records a new revision of a key. */
  append(history: KeyHistory, record: RevisionRecord): void {
    // Most keys keep one revision: an array made for one holds one slot, where a
    // push into an empty one reserves 17 (about 150 bytes per key).
    if (history.records.length === 0) history.records = [record];
    else history.records.push(record);
    this.log.push(record);
    this.recordBytes += storedRecordBytes(record);
  }

  /** For WriteTxn only. */
  finishWrite(changed: boolean, liveKeyDelta: number): void {
    assert(this.writeOpen, 'finishing an open write txn');
    this.writeOpen = false;
    this.liveKeys += liveKeyDelta;
    if (changed) this.currentRevision++;
  }

  private firstRecordAtOrAfter(rev: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid]!.main < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * One write transaction (etcd's storeTxnWrite). Reads inside it see its own
 * writes once it has any, at revision beginRevision + 1.
 */
export class WriteTxn {
  readonly beginRevision: number;
  private readonly changes: RevisionRecord[] = [];
  private liveKeyDelta = 0;
  private ended = false;

  constructor(
    private readonly store: KvStore,
    private readonly leases: LeaseAttachments,
  ) {
    this.beginRevision = store.currentRevision;
  }

  get hasChanges(): boolean {
    return this.changes.length > 0;
  }

  /** The revision reads inside the txn are served at. */
  get readRevision(): number {
    return this.changes.length > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  /** The current value of one key, as seen inside the txn. */
  get(key: Uint8Array): KeyValue | undefined {
    const history = this.store.index.get(keyIdOf(key));
    return history === undefined ? undefined : latestLive(history);
  }

  put(key: Uint8Array, value: Uint8Array, lease: number): number {
    assert(!this.ended, 'put after end');
    const rev = this.beginRevision + 1;
    const history = this.store.index.getOrCreate(keyIdOf(key), key);
    const prev = latestLive(history);
    const kv: KeyValue = {
      key: history.key,
      createRevision: prev === undefined ? rev : prev.createRevision,
      modRevision: rev,
      version: prev === undefined ? 1 : prev.version + 1,
      value: ownedCopy(value),
      lease,
    };
    this.record(history, { main: rev, sub: this.changes.length, keyId: history.id, tombstone: false, kv });
    if (prev !== undefined && prev.lease !== NO_LEASE) this.leases.detach(prev.lease, history.id);
    if (lease !== NO_LEASE) this.leases.attach(lease, history.id);
    if (prev === undefined) this.liveKeyDelta++;
    return rev;
  }

  /** Deletes every existing key of the range, in byte order. */
  deleteRange(range: KeyRange): { deleted: number; revision: number } {
    assert(!this.ended, 'delete after end');
    const doomed: KeyHistory[] = [];
    this.store.index.forEachInRange(range, (history) => {
      if (latestLive(history) !== undefined) doomed.push(history);
    });
    for (const history of doomed) this.deleteKey(history);
    const changed = doomed.length > 0 || this.changes.length > 0;
    return { deleted: doomed.length, revision: changed ? this.beginRevision + 1 : this.beginRevision };
  }

  /** Commits the txn's writes as one revision; returns their events in order. */
  end(): WatchEvent[] {
    assert(!this.ended, 'end called twice');
    this.ended = true;
    this.store.finishWrite(this.changes.length > 0, this.liveKeyDelta);
    return this.changes.map((record) => this.store.eventOf(record));
  }

  private deleteKey(history: KeyHistory): void {
    const prev = latestLive(history);
    assert(prev !== undefined, 'deleting a live key');
    const rev = this.beginRevision + 1;
    const kv: KeyValue = { key: history.key, createRevision: 0, modRevision: rev, version: 0, value: EMPTY_BYTES, lease: NO_LEASE };
    this.record(history, { main: rev, sub: this.changes.length, keyId: history.id, tombstone: true, kv });
    if (prev.lease !== NO_LEASE) this.leases.detach(prev.lease, history.id);
    this.liveKeyDelta--;
  }

  private record(history: KeyHistory, record: RevisionRecord): void {
    this.store.append(history, record);
    this.changes.push(record);
  }
}
