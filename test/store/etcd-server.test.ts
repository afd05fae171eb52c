/**
 * The etcd v3 gRPC edge over an in-memory backend, driven by the clients
 * users run: the etcd3 npm client, raw gRPC (for exact codes, ids and
 * framing), and the real etcdctl 3.4 when it is installed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Etcd3, EtcdLeaseInvalidError, GRPCOutOfRangeError } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EtcdErrorCode, etcdError, ERROR_DETAIL_METADATA_KEY } from '../../store/etcd-server/errors.js';
import { closeEtcdGrpcServer, createEtcdGrpcServer, listenEtcdGrpcServer } from '../../store/etcd-server/server.js';
import { rawClients, unary, unaryError, rawBytesCall, waitFor, findEtcdctl, etcdctl, startEtcdctl, type RawClients } from './etcd-harness.js';
import { FAKE_CLUSTER_ID, FAKE_MEMBER_ID, FAKE_RAFT_TERM, FakeEtcdBackend } from './fake-backend.js';

/** Small limits so the tests can cross them cheaply. */
const MAX_REQUEST_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 1_000;
const PROGRESS_NOTIFY_INTERVAL_MS = 150;

const b = (s: string): Buffer => Buffer.from(s);
const str = (x: unknown): string => Buffer.from(x as Buffer).toString();

let backend: FakeEtcdBackend;
let server: grpc.Server;
let endpoint: string;
let client: Etcd3;
let raw: RawClients;

beforeAll(async () => {
  backend = new FakeEtcdBackend();
  server = createEtcdGrpcServer(backend, {
    maxRequestBytes: MAX_REQUEST_BYTES,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    progressNotifyIntervalMs: PROGRESS_NOTIFY_INTERVAL_MS,
  });
  const port = await listenEtcdGrpcServer(server, '127.0.0.1:0');
  endpoint = `127.0.0.1:${port}`;
  client = new Etcd3({ hosts: endpoint });
  raw = rawClients(endpoint);
});

afterAll(async () => {
  client.close();
  raw.close();
  await closeEtcdGrpcServer(server, 500);
});

describe('with the etcd3 client', () => {
  it('puts, gets, lists a prefix and deletes', async () => {
    await client.put('app/a').value('1');
    await client.put('app/b').value('2');
    await client.put('other').value('x');
    expect(await client.get('app/a').string()).toBe('1');
    expect(await client.getAll().prefix('app/').strings()).toEqual({ 'app/a': '1', 'app/b': '2' });
    expect(await client.getAll().prefix('app/').count()).toBe(2);
    const prev = await client.delete().prefix('app/').getPrevious();
    expect(prev.map((kv) => kv.key.toString())).toEqual(['app/a', 'app/b']);
    expect(await client.get('app/a').string()).toBeNull();
  });

  it('reports revisions and versions in the header and kvs', async () => {
    const put1 = await client.put('rv').value('1');
    const put2 = await client.put('rv').value('2');
    expect(Number(put2.header.revision)).toBe(Number(put1.header.revision) + 1);
    expect(put2.header.cluster_id).toBe(String(FAKE_CLUSTER_ID));
    expect(put2.header.member_id).toBe(String(FAKE_MEMBER_ID));
    expect(put2.header.raft_term).toBe(String(FAKE_RAFT_TERM));
    const res = await client.get('rv').exec();
    expect(res.kvs[0]!.version).toBe('2');
    expect(res.kvs[0]!.create_revision).toBe(put1.header.revision);
  });

  it('runs a compare-and-swap txn both ways', async () => {
    await client.put('cas').value('v1');
    const ok = await client.if('cas', 'Value', '==', 'v1').then(client.put('cas').value('v2')).else(client.get('cas')).commit();
    expect(ok.succeeded).toBe(true);
    const no = await client.if('cas', 'Value', '==', 'v1').then(client.put('cas').value('v3')).else(client.get('cas')).commit();
    expect(no.succeeded).toBe(false);
    expect(no.responses[0]!.response_range!.kvs[0]!.value.toString()).toBe('v2');
  });

  it('grants a lease, attaches a key, keeps it alive and revokes it', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('leased').value('yes');
    const ka = await lease.keepaliveOnce();
    expect(ka.TTL).toBe('30');
    await lease.revoke();
    expect(await client.get('leased').string()).toBeNull();
    // Revoked behind the client's back: the keep-alive answers TTL 0, which the client reads as "lease lost".
    const other = client.lease(30, { autoKeepAlive: false });
    const lost: unknown[] = [];
    other.on('lost', (err) => lost.push(err));
    await unary(raw.lease, 'LeaseRevoke', { ID: Number(await other.grant()) });
    await expect(other.keepaliveOnce()).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
    expect(lost).toHaveLength(1);
    expect(id).not.toBe('0');
  });

  it('watches a prefix and sees puts and deletes in order', async () => {
    const watcher = await client.watch().prefix('w/').create();
    const seen: string[] = [];
    watcher.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
    await client.put('w/1').value('a');
    await client.put('w/2').value('b');
    await client.put('elsewhere').value('c');
    await client.delete().key('w/1');
    await waitFor('three events', () => (seen.length >= 3 ? true : undefined));
    expect(seen).toEqual(['put w/1=a', 'put w/2=b', 'delete w/1']);
    await watcher.cancel();
  });

  it('takes and releases a lock (lease + txn + watch recipe)', async () => {
    const order: string[] = [];
    await client.lock('the-lock').do(async () => order.push('held'));
    expect(order).toEqual(['held']);
  });

  it('maps a compacted read to OUT_OF_RANGE with etcd text', async () => {
    await client.put('old').value('1');
    const rev = Number((await client.put('old').value('2')).header.revision);
    await client.put('old').value('3');
    await unary(raw.kv, 'Compact', { revision: rev });
    const err = await client.get('old').revision(rev - 1).string().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GRPCOutOfRangeError);
    expect((err as Error).message).toContain('etcdserver: mvcc: required revision has been compacted');
  });
});

describe('KV and Lease on the wire', () => {
  it('refuses an empty key, ignore_value with a value, and an empty txn op', async () => {
    const empty = await unaryError(raw.kv, 'Range', { key: b('') });
    expect([empty.code, empty.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: key is not provided']);
    const value = await unaryError(raw.kv, 'Put', { key: b('k'), value: b('v'), ignore_value: true });
    expect([value.code, value.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: value is provided']);
    const op = await unaryError(raw.kv, 'Txn', { success: [{}] });
    expect([op.code, op.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: key not found']);
  });

  it('enforces the txn op bound and duplicate keys', async () => {
    const puts = (n: number) => Array.from({ length: n }, (_, i) => ({ request_put: { key: b(`t${i}`), value: b('v') } }));
    expect((await unary(raw.kv, 'Txn', { success: puts(128) })).succeeded).toBe(true);
    const many = await unaryError(raw.kv, 'Txn', { success: puts(129) });
    expect([many.code, many.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request']);
    const dup = await unaryError(raw.kv, 'Txn', { success: [...puts(2), ...puts(1)] });
    expect([dup.code, dup.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request']);
  });

  it('answers a future revision with OUT_OF_RANGE and names the values in a trailer', async () => {
    const err = await unaryError(raw.kv, 'Range', { key: b('k'), revision: backend.revision + 100 });
    expect([err.code, err.details]).toEqual([grpc.status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision']);
    expect(String(err.metadata.get(ERROR_DETAIL_METADATA_KEY)[0])).toMatch(/is after the current revision \d+/);
  });

  it('refuses a write above max-request-bytes, and gRPC refuses one far above', async () => {
    const big = await unaryError(raw.kv, 'Put', { key: b('big'), value: Buffer.alloc(MAX_REQUEST_BYTES + 1) });
    expect([big.code, big.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: request is too large']);
    const huge = await unaryError(raw.kv, 'Put', { key: b('big'), value: Buffer.alloc(MAX_REQUEST_BYTES + 600 * 1024) });
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('refuses undecodable bytes, unsafe integers and unknown enums with INVALID_ARGUMENT', async () => {
    const garbage = await rawBytesCall(raw.kv, '/etcdserverpb.KV/Range', Buffer.from([0x0a, 0x05, 0x61]));
    expect((garbage as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((garbage as grpc.ServiceError).details).toMatch(/^malformed KV.Range request \(3 bytes\)/);
    const unsafe = await unaryError(raw.kv, 'Range', { key: b('k'), revision: 2 ** 60 });
    expect([unsafe.code, unsafe.details]).toEqual([grpc.status.INVALID_ARGUMENT, `range revision ${2 ** 60} is out of range: integers must be within ±${Number.MAX_SAFE_INTEGER}`]);
    const sort = await rawBytesCall(raw.kv, '/etcdserverpb.KV/Range', Buffer.from([0x0a, 0x01, 0x61, 0x28, 0x07]));
    expect((sort as grpc.ServiceError).details).toBe('range sort_order 7 is not one of NONE, ASCEND, DESCEND');
  });

  it('maps backend errors to etcd codes and text', async () => {
    const cases: [EtcdErrorCode, grpc.status, string][] = [
      [EtcdErrorCode.NoLeader, grpc.status.UNAVAILABLE, 'etcdserver: no leader'],
      [EtcdErrorCode.Timeout, grpc.status.UNAVAILABLE, 'etcdserver: request timed out'],
      [EtcdErrorCode.LeaderChanged, grpc.status.UNAVAILABLE, 'etcdserver: leader changed'],
      [EtcdErrorCode.NoSpace, grpc.status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
    ];
    for (const [code, status, text] of cases) {
      backend.failNext('put', etcdError(code, `injected ${code}`));
      const err = await unaryError(raw.kv, 'Put', { key: b('k'), value: b('v') });
      expect([err.code, err.details]).toEqual([status, text]);
      expect(err.metadata.get(ERROR_DETAIL_METADATA_KEY)).toEqual([`injected ${code}`]);
    }
    backend.failNext('range', new Error('disk on fire'));
    const bug = await unaryError(raw.kv, 'Range', { key: b('k') });
    expect([bug.code, bug.details]).toEqual([grpc.status.UNKNOWN, 'disk on fire']);
  });

  it('passes serializable through and aborts the backend at the client deadline or the edge timeout', async () => {
    await unary(raw.kv, 'Range', { key: b('k'), serializable: true });
    expect(backend.lastRangeOptions?.serializable).toBe(true);
    backend.hangRange = true;
    try {
      const late = await unaryError(raw.kv, 'Range', { key: b('k') }, 200);
      expect(late.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await waitFor('backend abort', () => backend.rangeAbortReason);
      backend.rangeAbortReason = undefined;
      const stuck = await unaryError(raw.kv, 'Range', { key: b('k') });
      expect([stuck.code, stuck.details]).toEqual([grpc.status.UNAVAILABLE, 'etcdserver: request timed out']);
      expect(backend.rangeAbortReason).toBeDefined();
    } finally {
      backend.hangRange = false;
    }
  });

  it('answers TTL 0 to a keep-alive and TTL -1 to time-to-live for an unknown lease', async () => {
    const call = (raw.lease as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<object, { ID: number; TTL: number }> }).LeaseKeepAlive();
    const got: { ID: number; TTL: number }[] = [];
    call.on('data', (d: { ID: number; TTL: number }) => got.push(d));
    call.on('error', () => undefined);
    const granted = await unary(raw.lease, 'LeaseGrant', { TTL: 20 });
    call.write({ ID: granted.ID });
    call.write({ ID: 999_999 });
    await waitFor('two keep-alive answers', () => (got.length >= 2 ? true : undefined));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    expect(got.map((g) => [g.ID, g.TTL])).toEqual([[granted.ID, 20], [999_999, 0]]);
    const ttl = await unary(raw.lease, 'LeaseTimeToLive', { ID: 999_999 });
    expect([ttl.ID, ttl.TTL]).toEqual([999_999, -1]);
  });

  it('ends a keep-alive stream with the mapped status when the backend fails', async () => {
    const call = (raw.lease as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<object, object> }).LeaseKeepAlive();
    const failed = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    backend.failNext('leaseKeepAlive', etcdError(EtcdErrorCode.NoLeader));
    call.write({ ID: 1 });
    const err = await failed;
    expect([err.code, err.details]).toEqual([grpc.status.UNAVAILABLE, 'etcdserver: no leader']);
  });
});

interface WatchMsg {
  header: { revision: number };
  watch_id: number;
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  fragment: boolean;
  events: { type: string; kv: { key: Buffer; value: Buffer; mod_revision: number }; prev_kv: { value: Buffer } | null }[];
}

describe('Watch on the wire', () => {
  let call: grpc.ClientDuplexStream<object, WatchMsg>;
  let got: WatchMsg[];
  beforeEach(() => {
    call = (raw.watch as unknown as { Watch(): grpc.ClientDuplexStream<object, WatchMsg> }).Watch();
    got = [];
    call.on('data', (m: WatchMsg) => got.push(m));
    call.on('error', () => undefined);
    return () => call.cancel();
  });
  const next = (what: string, pred: (m: WatchMsg) => boolean): Promise<WatchMsg> => waitFor(what, () => got.find(pred));
  const put = (k: string, v: string) => unary(raw.kv, 'Put', { key: b(k), value: b(v) });

  it('assigns ids from 0, honours requested ids, refuses duplicates and routes events', async () => {
    call.write({ create_request: { key: b('x') } });
    call.write({ create_request: { key: b('y'), watch_id: 7 } });
    call.write({ create_request: { key: b('z'), watch_id: 7 } });
    call.write({ create_request: { key: b('z') } });
    await waitFor('four created', () => (got.filter((m) => m.created).length >= 4 ? true : undefined));
    expect(got.map((m) => [m.watch_id, m.created, m.canceled, m.cancel_reason])).toEqual([
      [0, true, false, ''],
      [7, true, false, ''],
      [-1, true, true, 'mvcc: duplicate watch ID provided on the WatchStream'],
      [1, true, false, ''],
    ]);
    await put('y', '1');
    await put('x', '2');
    const y = await next('event on y', (m) => m.watch_id === 7 && m.events.length > 0);
    const x = await next('event on x', (m) => m.watch_id === 0 && m.events.length > 0);
    expect([str(y.events[0]!.kv.key), str(x.events[0]!.kv.key)]).toEqual(['y', 'x']);
    expect(x.header.revision).toBe(x.events[0]!.kv.mod_revision);
  });

  it('replays history with prev_kv, holding it until after "created"', async () => {
    const first = Number((await put('h', 'a')).header.revision);
    await put('h', 'b');
    call.write({ create_request: { key: b('h'), start_revision: first, prev_kv: true } });
    const events = await next('replayed events', (m) => m.events.length > 0);
    expect(got[0]!.created).toBe(true);
    expect(events.events.map((e) => [str(e.kv.value), e.prev_kv === null ? null : str(e.prev_kv.value)])).toEqual([
      ['a', null],
      ['b', 'a'],
    ]);
  });

  it('cancels: on request, and with compact_revision when the start is compacted', async () => {
    call.write({ create_request: { key: b('c') } });
    await next('created', (m) => m.created);
    call.write({ cancel_request: { watch_id: 0 } });
    const canceled = await next('canceled', (m) => m.canceled);
    expect([canceled.watch_id, canceled.created]).toEqual([0, false]);
    await put('c', 'after-cancel');
    const compactAt = Number((await put('c', 'again')).header.revision);
    await unary(raw.kv, 'Compact', { revision: compactAt });
    call.write({ create_request: { key: b('c'), start_revision: 1 } });
    const gone = await next('compacted', (m) => m.compact_revision > 0);
    expect([gone.watch_id, gone.canceled, gone.compact_revision]).toEqual([1, true, compactAt]);
    expect(got.some((m) => m.events.length > 0)).toBe(false);
  });

  it('filters NOPUT, answers progress requests with watch_id -1, and notifies idle watchers', async () => {
    call.write({ create_request: { key: b('f'), filters: ['NOPUT'], progress_notify: true } });
    await next('created', (m) => m.created);
    await put('f', '1');
    await unary(raw.kv, 'DeleteRange', { key: b('f') });
    const del = await next('delete event', (m) => m.events.length > 0);
    expect(del.events.map((e) => e.type)).toEqual(['DELETE']);
    call.write({ progress_request: {} });
    const progress = await next('progress', (m) => m.watch_id === -1);
    expect(progress.header.revision).toBe(backend.revision);
    const idle = await next('idle notify', (m) => m.watch_id === 0 && !m.created && m.events.length === 0);
    expect(idle.header.revision).toBe(backend.revision);
  });

  it('releases the backend watchers when the client cancels the stream', async () => {
    call.write({ create_request: { key: b('gone1') } });
    call.write({ create_request: { key: b('gone2') } });
    await waitFor('two created', () => (got.filter((m) => m.created).length >= 2 ? true : undefined));
    expect(backend.watchers.size).toBe(2);
    call.cancel();
    await waitFor('watchers released', () => (backend.watchers.size === 0 ? true : undefined));
  });

  it('ends the stream with INVALID_ARGUMENT on an undecodable request', async () => {
    const stream = raw.watch.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', (x: Buffer) => x, (x: Buffer) => x);
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.write(Buffer.from([0x0a, 0x09, 0x0a]));
    const err = await ended;
    expect([err.code, err.details]).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^malformed Watch.Watch request/)]);
  });

  it('splits a large revision into fragments when asked', async () => {
    // Four 20 KiB values deleted in one revision, with prev_kv: about 80 KiB of
    // events against a 64 KiB fragment size (the server's max-request-bytes).
    call.write({ create_request: { key: b('frag/'), range_end: b('frag0'), fragment: true, prev_kv: true, filters: ['NOPUT'] } });
    await next('created', (m) => m.created);
    for (let i = 0; i < 4; i++) await put(`frag/${i}`, 'v'.repeat(20 * 1024));
    await unary(raw.kv, 'DeleteRange', { key: b('frag/'), range_end: b('frag0') });
    const parts = await waitFor('4 delete events', () => {
      const withEvents = got.filter((m) => m.events.length > 0);
      return withEvents.flatMap((m) => m.events).length >= 4 ? withEvents : undefined;
    });
    expect(parts.map((m) => [m.events.length, m.fragment])).toEqual([
      [3, true],
      [1, false],
    ]);
    expect(new Set(parts.map((m) => m.events[0]!.kv.mod_revision)).size).toBe(1);
  });
});

describe('Cluster and Maintenance on the wire', () => {
  it('streams a snapshot padded to 512 bytes and ending with its sha256', async () => {
    const expected = backend.snapshotBytes();
    const call = (raw.maintenance as unknown as { Snapshot(r: object): grpc.ClientReadableStream<{ blob: Buffer; remaining_bytes: number }> }).Snapshot({});
    const msgs: { blob: Buffer; remaining_bytes: number }[] = [];
    for await (const m of call) msgs.push(m as { blob: Buffer; remaining_bytes: number });
    const digest = msgs.pop()!;
    const data = Buffer.concat(msgs.map((m) => m.blob));
    expect(data.length % 512).toBe(0);
    expect(data.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(data.subarray(expected.length).every((x) => x === 0)).toBe(true);
    expect(digest.blob.equals(createHash('sha256').update(data).digest())).toBe(true);
    expect(msgs.map((m) => m.remaining_bytes).at(-1)).toBe(0);
    expect(msgs.every((m) => m.blob.length <= 64 * 1024)).toBe(true);
  });

  it('lists, adds, promotes and removes members; refuses bad URLs and unknown ids', async () => {
    const list = await unary(raw.cluster, 'MemberList', {});
    expect(list.members.map((m: { ID: number }) => m.ID)).toEqual([FAKE_MEMBER_ID]);
    const bad = await unaryError(raw.cluster, 'MemberAdd', { peerURLs: ['ftp://x'] });
    expect([bad.code, bad.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid']);
    const added = await unary(raw.cluster, 'MemberAdd', { peerURLs: ['http://127.0.0.1:2390'], isLearner: true });
    expect(added.member.isLearner).toBe(true);
    await unary(raw.cluster, 'MemberPromote', { ID: added.member.ID });
    const removed = await unary(raw.cluster, 'MemberRemove', { ID: added.member.ID });
    expect(removed.members).toHaveLength(1);
    const missing = await unaryError(raw.cluster, 'MemberRemove', { ID: 12345 });
    expect([missing.code, missing.details]).toEqual([grpc.status.NOT_FOUND, 'etcdserver: member not found']);
  });

  it('reports status with alarms and a missing leader as etcd error strings', async () => {
    await unary(raw.maintenance, 'Alarm', { action: 'ACTIVATE', alarm: 'NOSPACE' });
    backend.leader = 0;
    try {
      const st = await unary(raw.maintenance, 'Status', {});
      expect(st.errors).toEqual(['etcdserver: no leader', `memberID:${FAKE_MEMBER_ID} alarm:NOSPACE `]);
    } finally {
      backend.leader = FAKE_MEMBER_ID;
      await unary(raw.maintenance, 'Alarm', { action: 'DEACTIVATE', memberID: FAKE_MEMBER_ID, alarm: 'NOSPACE' });
    }
    expect((await unary(raw.maintenance, 'Alarm', {})).alarms).toEqual([]);
  });
});

const ETCDCTL = findEtcdctl();
if (ETCDCTL === undefined) {
  console.log('etcdctl compatibility tests skipped: no etcdctl binary (Debian package etcd-client) on this machine');
}

describe.skipIf(ETCDCTL === undefined)('with the real etcdctl 3.4', () => {
  const run = (args: string[], stdin?: string) => etcdctl(ETCDCTL!, endpoint, args, stdin);

  it('put, get -w json, get --prefix, del', async () => {
    expect((await run(['put', 'ctl/a', 'one'])).stdout).toBe('OK\n');
    await run(['put', 'ctl/b', 'two']);
    const json = JSON.parse((await run(['get', 'ctl/a', '-w', 'json'])).stdout);
    expect(json.header.cluster_id).toBe(FAKE_CLUSTER_ID);
    expect(Buffer.from(json.kvs[0].key, 'base64').toString()).toBe('ctl/a');
    expect(Buffer.from(json.kvs[0].value, 'base64').toString()).toBe('one');
    expect((await run(['get', '--prefix', 'ctl/'])).stdout).toBe('ctl/a\none\nctl/b\ntwo\n');
    expect((await run(['del', '--prefix', 'ctl/'])).stdout).toBe('2\n');
  });

  it('txn from stdin', async () => {
    await run(['put', 'ctl/t', 'v1']);
    const res = await run(['txn'], 'value("ctl/t") = "v1"\n\nput ctl/t v2\n\nput ctl/t nope\n\n');
    expect(res.stdout).toBe('SUCCESS\n\nOK\n');
    expect((await run(['get', 'ctl/t', '--print-value-only'])).stdout).toBe('v2\n');
  });

  it('watch sees later writes; a compacted start is reported', async () => {
    const watch = startEtcdctl(ETCDCTL!, endpoint, ['watch', '--prefix', 'ctl/w']);
    try {
      await waitFor('watch to attach', () => (backend.watchers.size > 0 ? true : undefined));
      await run(['put', 'ctl/w1', 'x']);
      await run(['del', 'ctl/w1']);
      // A DELETE prints the key and its (empty) value.
      const expected = 'PUT\nctl/w1\nx\nDELETE\nctl/w1\n\n';
      await waitFor('watch output', () => (watch.output().length >= expected.length ? true : undefined), 10_000);
      expect(watch.output()).toBe(expected);
    } finally {
      watch.stop();
    }
    const compacted = await run(['watch', '--rev', '1', 'ctl/w1']);
    expect(compacted.stderr).toContain('watch was canceled (etcdserver: mvcc: required revision has been compacted)');
  });

  it('lease grant, timetolive, keep-alive --once, list, revoke', async () => {
    const grant = (await run(['lease', 'grant', '60'])).stdout;
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/m.exec(grant)?.[1];
    expect(id).toBeDefined();
    await run(['put', '--lease', id!, 'ctl/l', 'v']);
    expect((await run(['lease', 'timetolive', id!, '--keys'])).stdout).toContain('attached keys([ctl/l])');
    expect((await run(['lease', 'keep-alive', '--once', id!])).stdout).toContain(`lease ${id} keepalived with TTL(60)`);
    expect((await run(['lease', 'list'])).stdout).toContain(id!);
    expect((await run(['lease', 'revoke', id!])).stdout).toBe(`lease ${id} revoked\n`);
    expect((await run(['get', 'ctl/l'])).stdout).toBe('');
    const again = await run(['lease', 'revoke', id!]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('etcdserver: requested lease not found');
  });

  it('member list, endpoint status, endpoint health, alarm list, defrag, hashkv', async () => {
    expect((await run(['member', 'list'])).stdout).toBe(
      `${FAKE_MEMBER_ID.toString(16)}, started, m0, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n`,
    );
    const status = JSON.parse((await run(['endpoint', 'status', '-w', 'json'])).stdout);
    expect(status[0].Status.leader).toBe(FAKE_MEMBER_ID);
    expect(status[0].Status.version).toBe('3.4.0');
    // etcdctl 3.4 prints the health line on stderr; the check is a linearizable Range of "health".
    const health = await run(['endpoint', 'health']);
    expect([health.code, health.stderr]).toEqual([0, expect.stringContaining(`${endpoint} is healthy`)]);
    expect((await run(['alarm', 'list'])).code).toBe(0);
    expect((await run(['defrag'])).stdout).toContain('Finished defragmenting etcd member');
    expect((await run(['endpoint', 'hashkv'])).stdout).toMatch(new RegExp(`^${endpoint}, \\d+\\n$`));
  });

  it('member add --learner, promote, remove; compaction; lock', async () => {
    const add = await run(['member', 'add', 'm1', '--peer-urls=http://127.0.0.1:2390', '--learner']);
    const id = /^Member\s+([0-9a-f]+) added to cluster\s+([0-9a-f]+)$/m.exec(add.stdout);
    expect(id?.[2]).toBe(FAKE_CLUSTER_ID.toString(16));
    expect((await run(['member', 'list'])).stdout).toContain(`${id![1]}, unstarted, , http://127.0.0.1:2390, , true`);
    expect((await run(['member', 'promote', id![1]!])).stdout).toMatch(/promoted in cluster/);
    expect((await run(['member', 'remove', id![1]!])).stdout).toMatch(/removed from cluster/);
    const missing = await run(['member', 'remove', id![1]!]);
    expect(missing.stderr).toContain('etcdserver: member not found');
    expect((await run(['compaction', String(backend.revision)])).stdout).toBe(`compacted revision ${backend.revision}\n`);
    expect((await run(['lock', 'ctl-lock', 'echo', 'inside'])).stdout).toBe('inside\n');
  });

  it('snapshot save writes the data, padding and a sha256 it accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strake-snap-'));
    try {
      const file = join(dir, 'snap.db');
      const res = await run(['snapshot', 'save', file]);
      expect(res.stdout).toContain(`Snapshot saved at ${file}`);
      const saved = readFileSync(file);
      expect(saved.length % 512).toBe(32);
      const data = saved.subarray(0, saved.length - 32);
      expect(saved.subarray(data.length).equals(createHash('sha256').update(data).digest())).toBe(true);
      expect(data.subarray(0, backend.snapshotBytes().length).equals(backend.snapshotBytes())).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
