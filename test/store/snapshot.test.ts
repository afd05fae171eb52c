/**
 * State-machine snapshots: a restored replica is indistinguishable from the one
 * that took the snapshot (history, compaction, leases, hash, what comes next),
 * and damaged bytes are refused with the reason named.
 */
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MvccStateMachine, SnapshotCorruptError, type Command, applyCommand } from '../../store/mvcc/index.js';
import { b, ok, putAll } from './helpers.js';

const T0_MS = 1_700_000_000_000;

function busyStore(): MvccStateMachine {
  const sm = new MvccStateMachine();
  ok(sm.leaseGrant({ id: 0, ttlSeconds: 30, nowMs: T0_MS }));
  ok(sm.leaseGrant({ id: 77, ttlSeconds: 90, nowMs: T0_MS }));
  putAll(sm, [['a', '1'], ['b', '1'], ['\xff\x00bin', '\x00\x01']]);
  ok(sm.put({ key: b('leased'), value: b('v'), lease: 77 }));
  ok(sm.txn({ success: [{ op: 'put', request: { key: b('a'), value: b('2') } }, { op: 'deleteRange', request: { key: b('b') } }] }));
  ok(sm.compact({ revision: 4 }));
  putAll(sm, [['c', '1']]);
  ok(sm.leaseCheckpoint({ checkpoints: [{ id: 77, remainingTtlSeconds: 40 }] }));
  return sm;
}

function mustRestore(bytes: Uint8Array): MvccStateMachine {
  const restored = MvccStateMachine.restore(bytes);
  if (restored instanceof SnapshotCorruptError) throw restored;
  return restored;
}

function mustFail(bytes: Uint8Array): SnapshotCorruptError {
  const restored = MvccStateMachine.restore(bytes);
  if (!(restored instanceof SnapshotCorruptError)) throw new Error('restore accepted damaged bytes');
  return restored;
}

/** Everything a client could observe, for comparison. */
function observe(sm: MvccStateMachine, nowMs: number): unknown {
  const all = { key: b('\0'), rangeEnd: b('\0') };
  const revisions = [];
  for (let rev = sm.compactRevision; rev <= sm.currentRevision; rev++) revisions.push(sm.range({ ...all, revision: rev }));
  return {
    status: sm.status(),
    hash: sm.hashKv(),
    revisions,
    events: sm.readEvents({ ...all, startRevision: sm.compactRevision, maxEvents: 1000 }),
    leases: sm.leaseLeases(),
    ttls: ok(sm.leaseLeases()).leases.map(({ id }) => sm.leaseTimeToLive({ id, keys: true, nowMs })),
  };
}

describe('snapshot stream', () => {
  it('is the same bytes as the one-buffer snapshot, for any chunk size', () => {
    const sm = busyStore();
    const whole = Buffer.from(sm.snapshot());
    for (const chunkBytes of [1, 3, 7, 8, 9, 31, 64, 1000, whole.length - 1, whole.length, whole.length + 5]) {
      const stream = sm.snapshotStream(chunkBytes);
      const chunks = [...stream.chunks];
      expect(stream.byteLength).toBe(whole.length);
      expect(chunks.slice(0, -1).every((c) => c.byteLength === chunkBytes)).toBe(true);
      expect(Buffer.concat(chunks).equals(whole), `chunks of ${chunkBytes} bytes`).toBe(true);
    }
  });

  it('read after later writes and a compaction still gives the state of the moment it was taken', () => {
    const sm = busyStore();
    const before = observe(sm, T0_MS + 5_000);
    const stream = sm.snapshotStream(16);
    const iterator = stream.chunks[Symbol.iterator]();
    const first = iterator.next();
    putAll(sm, [['a', '3'], ['d', '1'], ['e', '1']]);
    ok(sm.deleteRange({ key: b('c') }));
    ok(sm.compact({ revision: sm.currentRevision - 1 }));
    const rest: Uint8Array[] = [];
    for (let r = iterator.next(); r.done !== true; r = iterator.next()) rest.push(r.value);
    const bytes = Buffer.concat([first.value as Uint8Array, ...rest]);
    expect(bytes.length).toBe(stream.byteLength);
    expect(observe(mustRestore(bytes), T0_MS + 5_000)).toEqual(before);
  });
});

describe('snapshot round trip', () => {
  it('a restored state machine answers every read exactly like the original', () => {
    const sm = busyStore();
    const restored = mustRestore(sm.snapshot());
    expect(observe(restored, T0_MS + 5_000)).toEqual(observe(sm, T0_MS + 5_000));
  });

  it('and keeps behaving identically for the commands that follow', () => {
    const sm = busyStore();
    const restored = mustRestore(sm.snapshot());
    const next: Command[] = [
      { op: 'leaseGrant', request: { id: 0, ttlSeconds: 10, nowMs: T0_MS } },
      { op: 'put', request: { key: b('a'), value: b('3'), prevKv: true } },
      { op: 'leasePromote', request: { nowMs: T0_MS + 1_000, extendMs: 500 } },
      { op: 'leaseRevoke', request: { id: 77 } },
      { op: 'compact', request: { revision: 9 } },
    ];
    for (const command of next) expect(applyCommand(command, restored)).toEqual(applyCommand(command, sm));
    expect(observe(restored, T0_MS + 2_000)).toEqual(observe(sm, T0_MS + 2_000));
  });

  it('is deterministic: equal states give byte-identical snapshots', () => {
    const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    expect(digest(busyStore().snapshot())).toBe(digest(busyStore().snapshot()));
    expect(digest(mustRestore(busyStore().snapshot()).snapshot())).toBe(digest(busyStore().snapshot()));
  });

  it('an empty store round-trips', () => {
    const restored = mustRestore(new MvccStateMachine().snapshot());
    expect(restored.status()).toEqual(new MvccStateMachine().status());
  });

  it('restored keys and values are plain, independent byte arrays', () => {
    const bytes = busyStore().snapshot();
    const restored = mustRestore(bytes);
    bytes.fill(0);
    const kv = ok(restored.range({ key: b('\xff\x00bin') })).kvs[0]!;
    expect(kv.key.constructor).toBe(Uint8Array);
    expect([...kv.value]).toEqual([0, 1]);
  });
});

describe('damaged snapshots are refused', () => {
  it('a flipped payload byte is a checksum mismatch naming both digests', () => {
    const bytes = busyStore().snapshot();
    bytes[40] = bytes[40]! ^ 0x01;
    const error = mustFail(bytes);
    expect(error.code).toBe('SNAPSHOT_CORRUPT');
    expect(error.reason).toBe('CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/sha256 stored [0-9a-f]{64} but computed [0-9a-f]{64}/);
  });

  it('a damaged checksum is a checksum mismatch too', () => {
    const bytes = busyStore().snapshot();
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    expect(mustFail(bytes).reason).toBe('CHECKSUM_MISMATCH');
  });

  it('truncation, extra bytes, a wrong magic and an unknown version each say so', () => {
    const bytes = busyStore().snapshot();
    expect(mustFail(bytes.subarray(0, bytes.length - 1)).reason).toBe('TRUNCATED');
    expect(mustFail(bytes.subarray(0, 10)).reason).toBe('TRUNCATED');
    expect(mustFail(new Uint8Array([...bytes, 0])).reason).toBe('LENGTH_MISMATCH');
    const magic = bytes.slice();
    magic[0] = 0x58;
    expect(mustFail(magic).reason).toBe('BAD_MAGIC');
    const version = bytes.slice();
    version[11] = 9;
    expect(mustFail(version).message).toContain('format version 9');
  });

  it('a well-framed payload with bad contents is malformed, naming the field', () => {
    const frame = (payload: Uint8Array): Uint8Array => {
      const header = new Uint8Array(16);
      header.set(b('STRKMVCC'));
      new DataView(header.buffer).setUint32(8, 1);
      new DataView(header.buffer).setUint32(12, payload.length);
      const body = new Uint8Array([...header, ...payload]);
      return new Uint8Array([...body, ...createHash('sha256').update(body).digest()]);
    };
    const packr = new Packr({ useRecords: false });
    const good = { currentRevision: 3, compactRevision: -1, nextAutoLeaseId: 1, leases: [], records: [[2, 0, b('k'), b('v'), 2, 1, 0]] };
    expect(mustRestore(frame(packr.pack(good))).currentRevision).toBe(3);
    const bad = (patch: object) => mustFail(frame(packr.pack({ ...good, ...patch })));
    expect(bad({ currentRevision: 'x' }).message).toContain('currentRevision');
    expect(bad({ records: [[2, 0, b('k'), b('v'), 5, 1, 0]] }).message).toContain('created at 5');
    expect(bad({ records: [[3, 0, b('k')], [2, 0, b('j'), b('v'), 2, 1, 0]] }).message).toContain('out of revision order');
    expect(bad({ records: [[2, 0, b('k'), b('v'), 2, 1, 9]] }).message).toContain('lease 9');
    expect(mustFail(frame(new Uint8Array([0xc1]))).reason).toBe('MALFORMED_PAYLOAD');
  });
});

describe('format versions', () => {
  /** A frame of `version` around `payload`, with a correct checksum. */
  const frame = (version: number, payload: Uint8Array): Uint8Array => {
    const header = new Uint8Array(16);
    header.set(b('STRKMVCC'));
    new DataView(header.buffer).setUint32(8, version);
    new DataView(header.buffer).setUint32(12, payload.length);
    const body = new Uint8Array([...header, ...payload]);
    return new Uint8Array([...body, ...createHash('sha256').update(body).digest()]);
  };
  const payloadOf = (bytes: Uint8Array): Uint8Array => bytes.subarray(16, bytes.length - 32);

  it('writes version 2 and reads back what version 1 wrote for the same state', () => {
    const sm = busyStore();
    const v2 = sm.snapshot();
    expect(new DataView(v2.buffer, v2.byteOffset).getUint32(8)).toBe(2);
    const records = sm.kv.records().map((r) =>
      r.tombstone ? [r.main, r.sub, r.kv.key] : [r.main, r.sub, r.kv.key, r.kv.value, r.kv.createRevision, r.kv.version, r.kv.lease],
    );
    const { leases, nextAutoId } = sm.lessor.snapshot();
    const v1 = frame(1, new Packr({ useRecords: false }).pack({ currentRevision: sm.currentRevision, compactRevision: sm.compactRevision, nextAutoLeaseId: nextAutoId, leases, records }));
    expect(observe(mustRestore(v1), T0_MS)).toEqual(observe(sm, T0_MS));
    expect(mustRestore(v1).snapshot()).toEqual(v2);
  });

  it('a damaged version-2 record list is refused, naming the record', () => {
    const good = payloadOf(busyStore().snapshot());
    const headBytes = new DataView(good.buffer, good.byteOffset).getUint32(0);
    const firstRecord = 4 + headBytes;
    const patched = (at: number, byte: number): Uint8Array => {
      const p = good.slice();
      p[at] = byte;
      return p;
    };
    expect(mustFail(frame(2, good.subarray(0, good.length - 3))).message).toMatch(/record \d+ is cut short/);
    expect(mustFail(frame(2, new Uint8Array([...good, 0]))).message).toContain('follow the last of');
    expect(mustFail(frame(2, patched(firstRecord, 7))).message).toContain('record 0 has flags 7');
    expect(mustFail(frame(2, patched(firstRecord + 13, 0xff))).message).toContain('record 0 is cut short'); // a key length past the end
    expect(mustFail(frame(2, good.subarray(0, 2))).message).toContain('no head length');
    expect(mustFail(frame(2, patched(0, 0xff))).message).toContain('runs past the payload');
  });
});

