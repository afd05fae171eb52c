/**
 * The KvBackend contract (store/kv-backend.ts), one conformance suite run
 * against both implementations: EmbeddedKvBackend over a single strake member
 * started in this process, and Etcd3KvBackend over a real one-member etcd.
 * Whatever the API server relies on must hold on both.
 *
 * Ports 28000-28099 (test/README.md): the strake member 28000/28001, the etcd
 * member 28050/28051. The etcd side is skipped, with the reason printed, when
 * etcd is not installed (Debian package etcd-server). etcd runs with a 1 s
 * progress-notify interval: its timed notifications are where the etcd3
 * backend's progress comes from (etcd's default is 10 minutes).
 *
 * Each test works under its own key prefix; the suites run their tests one
 * after another, so revisions taken in a test are not disturbed by another.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GRPCUnavailableError } from 'etcd3';
import { etcdError, EtcdErrorCode } from '../../store/etcd-server/errors.js';
import {
  KvBackendError,
  KvBackendErrorCode,
  prefixEnd,
  type KvBackend,
  type KvEntry,
  type KvEvent,
  type KvTxnRequest,
  type KvTxnResponse,
  type KvWatchSink,
} from '../../store/kv-backend.js';
import { WatchDelivery } from '../../store/kv-backend/common.js';
import { EmbeddedKvBackend, mapStoreError, PENDING_EVENTS_MAX } from '../../store/kv-backend/embedded.js';
import { mapClientError } from '../../store/kv-backend/etcd3.js';
import { CompactedError, DuplicateKeyError, TooManyOpsError } from '../../store/mvcc/errors.js';
import { FakeEtcdBackend } from './fake-backend.js';
import { BACKEND_START_MS, ETCD_MISSING_REASON, embeddedBackendFactory, etcdBackendFactory, type BackendFactory } from '../support/kv-backends.js';
import { eventually, retryOnError, sleep } from '../support/process-cluster.js';

const START_MS = BACKEND_START_MS;
/** Bound on a watch delivering what was written (loopback, milliseconds normally). */
const WATCH_WAIT_MS = 10_000;
/** Progress: a 1 s interval on both sides, plus scheduling slack. */
const PROGRESS_WAIT_MS = 10_000;
/** A 1 s lease is raised to the stores' 2 s minimum; the leader then needs a check round to revoke it. */
const LEASE_WAIT_MS = 20_000;
/** Long enough for a cancelled watch to have shown an event if it were still delivering. */
const AFTER_CANCEL_QUIET_MS = 300;
/** etcd's and strake's default --max-request-bytes is 1.5 MiB; etcd's gRPC limit is 512 KiB above it. */
const OVERSIZED_VALUE_BYTES = 1.6 * 1024 * 1024;
/** One more than etcd's default --max-txn-ops. */
const TOO_MANY_OPS = 129;

const EMBEDDED_BASE_PORT = 28_000;
const ETCD_BASE_PORT = 28_050;

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

function text(value: Uint8Array): string {
  return Buffer.from(value).toString('utf8');
}

/** An entry with the value as text, for readable expectations. */
function view(e: KvEntry | undefined): Record<string, unknown> | undefined {
  return e === undefined ? undefined : { ...e, value: text(e.value) };
}

function eventView(e: KvEvent): Record<string, unknown> {
  return { type: e.type, entry: view(e.entry), prev: view(e.prev) };
}

async function put(kv: KvBackend, key: string, value: string, lease?: number): Promise<number> {
  const res = await kv.txn({ compare: [], success: [{ type: 'put', key, value: bytes(value), ...(lease === undefined ? {} : { lease }) }], failure: [] });
  return res.revision;
}

async function del(kv: KvBackend, key: string): Promise<number> {
  const res = await kv.txn({ compare: [], success: [{ type: 'delete', key }], failure: [] });
  return res.revision;
}

class RecordingSink implements KvWatchSink {
  readonly calls: Array<{ revision: number; events: readonly KvEvent[] }> = [];
  readonly progress: number[] = [];
  closed: { compactRevision?: number; error?: unknown } | undefined;

  onEvents(revision: number, events: readonly KvEvent[]): void {
    if (this.closed !== undefined) throw new Error(`onEvents(${revision}) after onClosed`);
    this.calls.push({ revision, events });
  }

  onProgress(revision: number): void {
    this.progress.push(revision);
  }

  onClosed(reason: { compactRevision?: number; error?: unknown }): void {
    if (this.closed !== undefined) throw new Error('onClosed twice');
    this.closed = reason;
  }

  events(): KvEvent[] {
    return this.calls.flatMap((c) => c.events);
  }
}

function waitFor(what: string, condition: () => boolean, timeoutMs = WATCH_WAIT_MS): Promise<true> {
  return eventually(what, async () => (condition() ? true : undefined), timeoutMs, 20);
}

export function describeKvBackendConformance(name: string, factory: BackendFactory | undefined): void {
  if (factory === undefined) {
    // CI installs etcd; without it the run fails here rather than skipping the suite.
    it(`KvBackend conformance: ${name}`, () => {
      throw new Error(ETCD_MISSING_REASON);
    });
    return;
  }
  describe(`KvBackend conformance: ${name}`, () => {
    let kv: KvBackend;
    let failed = false;
    let prefixes = 0;
    /** A key prefix no other test uses. */
    const fresh = (): string => `/registry/t${++prefixes}/`;

    beforeAll(async () => {
      kv = await factory!.start();
    }, START_MS);
    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail') failed = true;
    });
    afterAll(async () => {
      await kv?.close();
      await factory!.stop(failed);
    }, START_MS);

    it('reads a single key with its revisions, version and lease; a missing key reads as nothing', async () => {
      const p = fresh();
      const r1 = await put(kv, `${p}a`, 'one');
      const r2 = await put(kv, `${p}a`, 'two');
      const res = await kv.range({ key: `${p}a` });
      expect(res.entries.map(view)).toEqual([{ key: `${p}a`, value: 'two', createRevision: r1, modRevision: r2, version: 2, lease: 0 }]);
      expect(res).toMatchObject({ count: 1, more: false });
      expect(res.revision).toBeGreaterThanOrEqual(r2);
      expect(await kv.range({ key: `${p}b` })).toMatchObject({ entries: [], count: 0, more: false });
    });

    it('a prefix range with prefixEnd holds exactly the keys under the prefix, ascending', async () => {
      const p = fresh();
      const prefix = `${p}x/`;
      for (const key of [`${p}x/3`, `${p}x`, `${p}x/1`, `${p}x.`, `${p}x0`, `${p}x/2`]) await put(kv, key, key);
      const res = await kv.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
      expect(res.entries.map((e) => e.key)).toEqual([`${p}x/1`, `${p}x/2`, `${p}x/3`]);
      expect(res.count).toBe(3);
    });

    it('limit returns the first keys with more and the whole count; countOnly returns the count alone', async () => {
      const p = fresh();
      for (const k of ['a', 'b', 'c']) await put(kv, `${p}${k}`, k);
      const limited = await kv.range({ key: p, rangeEnd: prefixEnd(p), limit: 2 });
      expect(limited.entries.map((e) => e.key)).toEqual([`${p}a`, `${p}b`]);
      expect(limited).toMatchObject({ count: 3, more: true });
      expect(await kv.range({ key: p, rangeEnd: prefixEnd(p), limit: 3 })).toMatchObject({ count: 3, more: false });
      expect(await kv.range({ key: p, rangeEnd: prefixEnd(p), countOnly: true })).toMatchObject({ entries: [], count: 3 });
    });

    it('reads at a past revision; after compact such a read fails with COMPACTED and the compact revision', async () => {
      const k = `${fresh()}k`;
      const r1 = await put(kv, k, 'v1');
      const r2 = await put(kv, k, 'v2');
      expect((await kv.range({ key: k, revision: r1 })).entries.map(view)).toMatchObject([{ value: 'v1', modRevision: r1 }]);
      await kv.compact(r2);
      const err = await kv.range({ key: k, revision: r1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KvBackendError);
      expect(err).toMatchObject({ code: KvBackendErrorCode.Compacted, compactRevision: r2 });
      expect((await kv.range({ key: k, revision: r2 })).entries.map(view)).toMatchObject([{ value: 'v2' }]);
    });

    it('create-if-absent: modRevision 0 succeeds once; then the failure branch returns the existing entry', async () => {
      const k = `${fresh()}k`;
      const create = (value: string): KvTxnRequest => ({
        compare: [{ key: k, modRevision: 0 }],
        success: [{ type: 'put', key: k, value: bytes(value) }],
        failure: [{ type: 'get', key: k }],
      });
      const first = await kv.txn(create('a'));
      expect(first).toMatchObject({ succeeded: true, results: [{ type: 'put' }] });
      const second = await kv.txn(create('b'));
      expect(second.succeeded).toBe(false);
      expect(second.results).toHaveLength(1);
      const got = second.results[0];
      expect(got?.type).toBe('get');
      expect(view(got?.type === 'get' ? got.entry : undefined)).toMatchObject({ key: k, value: 'a', modRevision: first.revision, createRevision: first.revision });
      expect(second.revision).toBeGreaterThanOrEqual(first.revision);
    });

    it('compare-and-swap on modRevision: the current one wins, a stale one gets the current entry back', async () => {
      const k = `${fresh()}k`;
      const r1 = await put(kv, k, 'v1');
      const swap = (modRevision: number, value: string): Promise<KvTxnResponse> =>
        kv.txn({ compare: [{ key: k, modRevision }], success: [{ type: 'put', key: k, value: bytes(value) }], failure: [{ type: 'get', key: k }] });
      const won = await swap(r1, 'v2');
      expect(won).toMatchObject({ succeeded: true, results: [{ type: 'put' }] });
      expect((await kv.range({ key: k })).entries.map(view)).toEqual([{ key: k, value: 'v2', createRevision: r1, modRevision: won.revision, version: 2, lease: 0 }]);
      const lost = await swap(r1, 'v3');
      expect(lost.succeeded).toBe(false);
      const got = lost.results[0];
      expect(view(got?.type === 'get' ? got.entry : undefined)).toMatchObject({ value: 'v2', modRevision: won.revision, version: 2 });
    });

    it('delete with compare-and-swap: a stale modRevision deletes nothing, the current one deletes', async () => {
      const k = `${fresh()}k`;
      const r1 = await put(kv, k, 'v1');
      const deleteAt = (modRevision: number): Promise<KvTxnResponse> =>
        kv.txn({ compare: [{ key: k, modRevision }], success: [{ type: 'delete', key: k }], failure: [{ type: 'get', key: k }] });
      const stale = await deleteAt(r1 + 1000);
      expect(stale.succeeded).toBe(false);
      expect((await kv.range({ key: k })).count).toBe(1);
      const current = await deleteAt(r1);
      expect(current).toMatchObject({ succeeded: true, results: [{ type: 'delete', deleted: true }] });
      expect((await kv.range({ key: k })).count).toBe(0);
      const again = await kv.txn({ compare: [], success: [{ type: 'delete', key: k }], failure: [] });
      expect(again.results).toEqual([{ type: 'delete', deleted: false }]);
    });

    it('a watch from a past revision delivers every event of its range in order, one call per revision, with prev', async () => {
      const p = fresh();
      const [a, b, outside] = [`${p}a`, `${p}b`, prefixEnd(p)];
      const r1 = await put(kv, a, '1');
      const r2 = await put(kv, a, '2');
      await put(kv, outside, 'not watched');
      const sink = new RecordingSink();
      const watch = kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: r1 }, sink);
      const r3 = await put(kv, b, '1');
      const r4 = await del(kv, a);
      await waitFor('four revisions', () => sink.calls.length >= 4);
      expect(sink.calls.map((c) => [c.revision, c.events.length])).toEqual([[r1, 1], [r2, 1], [r3, 1], [r4, 1]]);
      expect(sink.events().map(eventView)).toEqual([
        { type: 'put', entry: { key: a, value: '1', createRevision: r1, modRevision: r1, version: 1, lease: 0 }, prev: undefined },
        { type: 'put', entry: { key: a, value: '2', createRevision: r1, modRevision: r2, version: 2, lease: 0 }, prev: expect.objectContaining({ value: '1', modRevision: r1 }) },
        { type: 'put', entry: expect.objectContaining({ key: b, value: '1', modRevision: r3 }), prev: undefined },
        { type: 'delete', entry: expect.objectContaining({ key: a, value: '', modRevision: r4 }), prev: expect.objectContaining({ value: '2', modRevision: r2 }) },
      ]);
      watch.cancel();
      watch.cancel();
      await put(kv, b, '2');
      await sleep(AFTER_CANCEL_QUIET_MS);
      expect(sink.calls).toHaveLength(4);
      expect(sink.closed).toBeUndefined();
    });

    it('the two puts of one txn arrive in one onEvents call', async () => {
      const p = fresh();
      const sink = new RecordingSink();
      const watch = kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: (await kv.currentRevision()) + 1 }, sink);
      const res = await kv.txn({ compare: [], success: [{ type: 'put', key: `${p}x`, value: bytes('1') }, { type: 'put', key: `${p}y`, value: bytes('2') }], failure: [] });
      await waitFor('the txn', () => sink.calls.length >= 1);
      await sleep(AFTER_CANCEL_QUIET_MS);
      expect(sink.calls.map((c) => [c.revision, c.events.map((e) => e.entry.key)])).toEqual([[res.revision, [`${p}x`, `${p}y`]]]);
      watch.cancel();
    });

    it('a watch from a compacted revision ends with onClosed and the compact revision', async () => {
      const p = fresh();
      const r1 = await put(kv, `${p}k`, 'v1');
      const r2 = await put(kv, `${p}k`, 'v2');
      await kv.compact(r2);
      const sink = new RecordingSink();
      kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: r1 }, sink);
      await waitFor('onClosed', () => sink.closed !== undefined);
      expect(sink.closed).toEqual({ compactRevision: r2 });
      expect(sink.calls).toEqual([]);
    });

    it('progress reaches the current revision while the watched range sees no writes', async () => {
      const p = fresh();
      const sink = new RecordingSink();
      const watch = kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: (await kv.currentRevision()) + 1 }, sink);
      const elsewhere = await put(kv, `${fresh()}k`, 'outside the watched range');
      await waitFor(`progress to ${elsewhere}`, () => sink.progress.some((r) => r >= elsewhere), PROGRESS_WAIT_MS);
      expect(sink.calls).toEqual([]);
      expect([...sink.progress].sort((x, y) => x - y)).toEqual(sink.progress);
      watch.cancel();
    });

    it('a key put with a short lease disappears when it expires, and a watch sees the delete', async () => {
      const p = fresh();
      const k = `${p}k`;
      const lease = await kv.leaseGrant(1);
      expect(Number.isSafeInteger(lease) && lease > 0).toBe(true);
      const r = await put(kv, k, 'ephemeral', lease);
      expect((await kv.range({ key: k })).entries.map((e) => e.lease)).toEqual([lease]);
      const sink = new RecordingSink();
      const watch = kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: r + 1 }, sink);
      await waitFor('the lease to expire', () => sink.events().some((e) => e.type === 'delete' && e.entry.key === k), LEASE_WAIT_MS);
      expect((await kv.range({ key: k })).count).toBe(0);
      watch.cancel();
    });

    it('currentRevision moves past every write', async () => {
      const before = await kv.currentRevision();
      const r = await put(kv, `${fresh()}k`, 'v');
      expect(r).toBeGreaterThan(before);
      expect(await kv.currentRevision()).toBeGreaterThanOrEqual(r);
    });

    it('refuses a txn with too many ops and one that is too large with REFUSED', async () => {
      const p = fresh();
      const many = Array.from({ length: TOO_MANY_OPS }, (_, i) => ({ type: 'put' as const, key: `${p}${i}`, value: bytes('v') }));
      await expect(kv.txn({ compare: [], success: many, failure: [] })).rejects.toMatchObject({ code: KvBackendErrorCode.Refused });
      const big = new Uint8Array(OVERSIZED_VALUE_BYTES);
      await expect(kv.txn({ compare: [], success: [{ type: 'put', key: `${p}big`, value: big }], failure: [] })).rejects.toMatchObject({ code: KvBackendErrorCode.Refused });
      expect((await kv.range({ key: p, rangeEnd: prefixEnd(p), countOnly: true })).count).toBe(0);
    });

    // Only a store in a process of its own can be restarted under the client; for the
    // embedded one (this process) the case does not exist, so it is not defined at all.
    if (factory?.restartStore !== undefined) it('a watch resumes across a store restart with no gap and no duplicate', async () => {
      const p = fresh();
      const sink = new RecordingSink();
      const watch = kv.watch({ key: p, rangeEnd: prefixEnd(p), startRevision: (await kv.currentRevision()) + 1 }, sink);
      const revisions: number[] = [];
      // Create-if-absent, so that a retry whose first attempt committed adds no revision of its own.
      const create = async (key: string): Promise<number> => {
        const res = await retryOnError(`create ${key}`, () => kv.txn({ compare: [{ key, modRevision: 0 }], success: [{ type: 'put', key, value: bytes(key) }], failure: [{ type: 'get', key }] }), START_MS);
        const got = res.results[0];
        return res.succeeded ? res.revision : got?.type === 'get' && got.entry !== undefined ? got.entry.modRevision : -1;
      };
      for (const i of [0, 1, 2]) revisions.push(await create(`${p}${i}`));
      await waitFor('the writes before the restart', () => sink.calls.length >= 3);
      await factory!.restartStore!();
      // Written while the watch is still reconnecting: it must pick them up from where it was.
      for (const i of [3, 4, 5]) revisions.push(await create(`${p}${i}`));
      await waitFor('the writes after the restart', () => sink.calls.length >= 6, START_MS);
      await sleep(AFTER_CANCEL_QUIET_MS);
      expect(sink.calls.map((c) => c.revision)).toEqual(revisions);
      expect(sink.closed).toBeUndefined();
      watch.cancel();
    });

    it('a call whose signal is aborted fails with ABORTED', async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(kv.range({ key: `${fresh()}k`, signal: ac.signal })).rejects.toMatchObject({ code: KvBackendErrorCode.Aborted });
      await expect(kv.currentRevision(ac.signal)).rejects.toMatchObject({ code: KvBackendErrorCode.Aborted });
    });
  });
}

// ---- the two subjects ------------------------------------------------------------

const etcd = etcdBackendFactory(ETCD_BASE_PORT);
if (etcd === undefined) process.stderr.write(`kv-backend: ${ETCD_MISSING_REASON}\n`);
describeKvBackendConformance('embedded (in-process strake member)', embeddedBackendFactory(EMBEDDED_BASE_PORT));
describeKvBackendConformance('etcd (etcd3 client, real etcd)', etcd);

// ---- parts that need no store ----------------------------------------------------

describe('WatchDelivery', () => {
  const event = (key: string, revision: number): KvEvent => ({
    type: 'put',
    entry: { key, value: bytes(key), createRevision: revision, modRevision: revision, version: 1, lease: 0 },
  });

  it('passes one call per revision and drops revisions already delivered (a resumed stream repeating itself)', () => {
    const sink = new RecordingSink();
    const d = new WatchDelivery(sink, 5);
    d.events([event('a', 4), event('a', 5), event('b', 5), event('c', 6)]);
    d.events([event('c', 6), event('d', 7)]);
    expect(sink.calls.map((c) => [c.revision, c.events.map((e) => e.entry.key)])).toEqual([[5, ['a', 'b']], [6, ['c']], [7, ['d']]]);
    expect(d.nextRevision).toBe(8);
  });

  it('reports progress only forward, resumes after it, and is silent after the end', () => {
    const sink = new RecordingSink();
    const d = new WatchDelivery(sink, 1);
    d.events([event('a', 3)]);
    d.progress(2);
    d.progress(9);
    expect(sink.progress).toEqual([9]);
    expect(d.nextRevision).toBe(10);
    d.end({ compactRevision: 4 });
    d.events([event('b', 12)]);
    d.progress(13);
    d.end({ error: new Error('twice') });
    expect(sink.calls.map((c) => c.revision)).toEqual([3]);
    expect(sink.closed).toEqual({ compactRevision: 4 });
  });
});

describe('EmbeddedKvBackend over an in-memory store', () => {
  it('a consumer that falls behind loses nothing: the watch lets go of the stream and re-reads history', async () => {
    const store = new FakeEtcdBackend();
    const registrations = vi.spyOn(store, 'watch');
    const kv = new EmbeddedKvBackend(store);
    const sink = new RecordingSink();
    const first = store.revision + 1;
    kv.watch({ key: '/a/', rangeEnd: prefixEnd('/a/'), startRevision: first }, sink);
    // The fake store hands each write's events over synchronously: all of them arrive before the watch's queue is drained.
    const total = PENDING_EVENTS_MAX + 500;
    const opts = { signal: new AbortController().signal };
    for (let i = 0; i < total; i++) void store.put({ key: bytes(`/a/${i}`), value: bytes('v') }, opts);
    await waitFor('every write', () => sink.calls.length >= total);
    expect(registrations.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(sink.calls.map((c) => c.revision)).toEqual(Array.from({ length: total }, (_, i) => first + i));
    await kv.close();
  });
});

describe('error mapping', () => {
  it('maps the store errors by code and passes the rest through', () => {
    expect(mapStoreError(etcdError(EtcdErrorCode.NoLeader))).toMatchObject({ code: KvBackendErrorCode.Unavailable });
    expect(mapStoreError(etcdError(EtcdErrorCode.Timeout))).toMatchObject({ code: KvBackendErrorCode.Unavailable });
    expect(mapStoreError(etcdError(EtcdErrorCode.NoSpace))).toMatchObject({ code: KvBackendErrorCode.Refused });
    expect(mapStoreError(new TooManyOpsError(200, 128))).toMatchObject({ code: KvBackendErrorCode.Refused });
    expect(mapStoreError(new CompactedError(3, 7))).toMatchObject({ code: KvBackendErrorCode.Compacted, compactRevision: 7 });
    const duplicate = new DuplicateKeyError(bytes('k'));
    expect(mapStoreError(duplicate)).toBe(duplicate);
    const plain = new Error('a bug');
    expect(mapStoreError(plain)).toBe(plain);
  });

  it("maps the etcd3 client's errors by etcd's text, then by gRPC status", () => {
    const cases: Array<[Error, string | undefined]> = [
      [new GRPCUnavailableError('14 UNAVAILABLE: etcdserver: no leader'), KvBackendErrorCode.Unavailable],
      [new Error('etcdserver: request timed out, possibly due to previous leader failure'), KvBackendErrorCode.Unavailable],
      [new Error('11 OUT_OF_RANGE: etcdserver: mvcc: required revision has been compacted'), KvBackendErrorCode.Compacted],
      [new Error('3 INVALID_ARGUMENT: etcdserver: request is too large'), KvBackendErrorCode.Refused],
      [new Error('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded'), KvBackendErrorCode.Refused],
      [new GRPCUnavailableError('14 UNAVAILABLE: No connection established'), KvBackendErrorCode.Unavailable],
      [new Error('3 INVALID_ARGUMENT: etcdserver: duplicate key given in txn request'), undefined],
    ];
    for (const [err, code] of cases) {
      const mapped = mapClientError(err);
      if (code === undefined) expect(mapped).toBe(err);
      else expect(mapped).toMatchObject({ code });
    }
  });
});
