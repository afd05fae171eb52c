/**
 * Proof that the replicated store keeps what it acknowledged: three real
 * `strake master` processes on loopback, driven with the etcd3 client and raw
 * gRPC, with members SIGKILLed and restarted on the same data dirs. Each test
 * runs its own cluster on its own ports (base 32100 + 100 × test, up to 32500; the range is
 * listed in test/README.md). Needs a build (`npm run build`; `npm test` does).
 */
import * as grpc from '@grpc/grpc-js';
import type { Etcd3, IKeyValue } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { LevelStorage } from '../../raft/storage/level-storage.js';
import { eventually, retryOnError, startClusterForTest, type ProcessCluster } from '../support/process-cluster.js';
import { rawBytesCall, rawClients, unary, unaryError } from './etcd-harness.js';

/** Puts in flight at once: enough to fill the leader's batches, few enough for a loaded CI machine. */
const WRITE_CONCURRENCY = 16;
/** A new leader is elected within two election timeouts (2 s here); allow for a slow machine. */
const FAILOVER_MS = 20_000;
/** Bound on a restarted member catching up from the log (a few hundred entries). */
const CATCH_UP_MS = 20_000;
/** Bound on a restarted member catching up by snapshot after 5400 entries it missed. */
const SNAPSHOT_CATCH_UP_MS = 40_000;
/** Whole-test bounds, generous for a loaded CI machine; a normal run of the file takes about 40 s. */
const TEST_MS = 40_000;
const SNAPSHOT_TEST_MS = 75_000;

interface Acked {
  readonly value: string;
  /** header.revision of the put's response: the key's mod_revision. */
  readonly revision: number;
}

interface KvView {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
}

const keyOf = (prefix: string, n: number): string => `${prefix}${String(n).padStart(5, '0')}`;
const valueOf = (key: string, round = 0): string => `value-of-${key}-round-${round}`;

/** Puts every [key, value] with at most `concurrency` in flight; resolves with what was acknowledged. */
async function putAll(client: Etcd3, writes: ReadonlyArray<readonly [string, string]>, concurrency = WRITE_CONCURRENCY): Promise<Map<string, Acked>> {
  const acked = new Map<string, Acked>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < writes.length) {
      const [key, value] = writes[next++]!;
      const res = await client.put(key).value(value).exec();
      acked.set(key, { value, revision: Number(res.header.revision) });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return acked;
}

function viewOf(kv: IKeyValue): KvView {
  return {
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
}

async function readPrefix(client: Etcd3, prefix: string, serializable = false): Promise<Map<string, KvView>> {
  const res = await client.getAll().prefix(prefix).serializable(serializable).exec();
  return new Map(res.kvs.map((kv) => [kv.key.toString(), viewOf(kv)]));
}

/** What a write acknowledged once (and never overwritten) must read back as. */
function expectedViews(acked: ReadonlyMap<string, Acked>): Map<string, KvView> {
  return new Map([...acked].map(([k, a]) => [k, { value: a.value, createRevision: a.revision, modRevision: a.revision, version: 1 }]));
}

/** The log bounds and snapshot index of a stopped member, read from its data dir. */
async function storedLog(dataDir: string): Promise<{ firstIndex: number; lastIndex: number; snapshotIndex: number }> {
  const storage = await LevelStorage.open(dataDir);
  try {
    return { firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), snapshotIndex: storage.snapshot().metadata.index };
  } finally {
    await storage.close();
  }
}

function otherThan(cluster: ProcessCluster, i: number): number[] {
  return cluster.runningIndices().filter((j) => j !== i);
}

describe('a 3-member strake cluster of real processes', () => {
  it('a write acknowledged by the leader is readable from the survivors after the leader is SIGKILLed', async () => {
    const cluster = await startClusterForTest({ basePort: 32_100 });
    await cluster.waitReady();
    const leader = await cluster.leaderIndex();
    // Written through the leader's own endpoint, so the process that answered is the one that dies.
    const writes = Array.from({ length: 50 }, (_, n) => keyOf('a/', n)).map((k) => [k, valueOf(k)] as const);
    const acked = await putAll(cluster.client([leader]), writes);
    await cluster.kill(leader);

    const survivors = otherThan(cluster, leader);
    const expected = expectedViews(acked);
    for (const i of survivors) {
      // Linearizable reads: they wait for a new leader, so only errors are retried, never a wrong answer.
      const got = await retryOnError(`linearizable read through ${cluster.members[i]!.name}`, () => cluster.withClient([i], (c) => readPrefix(c, 'a/')), FAILOVER_MS);
      expect(got).toEqual(expected);
    }
    expect(survivors).toContain(await cluster.leaderIndex());

    // The old leader comes back as a follower and serves the same data from its own state.
    await cluster.restart(leader);
    const own = await eventually(`${cluster.members[leader]!.name} serving the acknowledged writes again`, async () => {
      const got = await cluster.withClient([leader], (c) => readPrefix(c, 'a/', true));
      return got.size >= expected.size ? got : undefined;
    }, CATCH_UP_MS);
    expect(own).toEqual(expected);
  }, TEST_MS);

  it('after SIGKILL of all three members and a restart, every acknowledged write reads back with its value and revision', async () => {
    // Snapshots every 100 entries, so the restart recovers from a snapshot plus the log after it.
    const cluster = await startClusterForTest({ basePort: 32_200, snapshotCount: 100 });
    await cluster.waitReady();
    const writer = cluster.client();
    const target = 200;
    const limit = 400;
    const acked = new Map<string, Acked>();
    let next = 0;
    let stop = false;
    // Writers keep going past `target`, so the kill lands with puts in flight.
    const worker = async (): Promise<void> => {
      while (!stop && next < limit) {
        const key = keyOf('b/', next++);
        const res = await writer.put(key).value(valueOf(key)).exec();
        acked.set(key, { value: valueOf(key), revision: Number(res.header.revision) });
      }
    };
    // Puts cut off by the kill fail; that is expected, and they must not surface as unhandled rejections.
    const workers = Array.from({ length: WRITE_CONCURRENCY }, () => worker().catch(() => undefined));
    await eventually(`${target} acknowledged writes`, async () => (acked.size >= target ? true : undefined), CATCH_UP_MS);
    await Promise.all(cluster.members.map((m) => cluster.kill(m.index)));
    stop = true;
    await Promise.all(workers);
    cluster.closeClient(writer);
    const ackedAtKill = new Map(acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(target);

    for (const m of cluster.members) await cluster.restart(m.index);
    await cluster.waitReady();
    const got = await readPrefix(cluster.client(), 'b/');
    const lost = [...ackedAtKill.keys()].filter((k) => !got.has(k));
    expect(lost, 'acknowledged writes missing after the restart').toEqual([]);
    for (const [key, view] of got) {
      const a = ackedAtKill.get(key);
      // A put cut off by the kill may or may not have committed, but only with the value it carried.
      expect(view.value, key).toBe(valueOf(key));
      if (a !== undefined) expect(view, key).toEqual({ value: a.value, createRevision: a.revision, modRevision: a.revision, version: 1 });
    }
    const revisions = [...got.values()].map((v) => v.modRevision);
    expect(new Set(revisions).size, 'two keys share a revision').toBe(revisions.length);
    // Each member, from its own state once it has applied the log: the same keys, values and revisions.
    for (const m of cluster.members) {
      const own = await eventually(`${m.name} serving every key from its own state`, async () => {
        const kvs = await cluster.withClient([m.index], (c) => readPrefix(c, 'b/', true));
        return kvs.size >= got.size ? kvs : undefined;
      }, CATCH_UP_MS);
      expect(own, m.name).toEqual(got);
    }
  }, TEST_MS);

  it('a member SIGKILLed while the others compact their logs catches up by snapshot and agrees on every key and the hash', async () => {
    const snapshotCount = 100;
    // The driver keeps 5000 entries below each snapshot for slow followers (etcd: SnapshotCatchUpEntries,
    // no flag in either), so the log only compacts past the stopped member after that many more entries:
    // 600 keys written 9 times = 5400 entries.
    const keys = 600;
    const rounds = 9;
    const cluster = await startClusterForTest({ basePort: 32_300, snapshotCount });
    await cluster.waitReady();
    const leader = await cluster.leaderIndex();
    const lagger = otherThan(cluster, leader)[0]!;
    const early = await putAll(cluster.client(), Array.from({ length: 20 }, (_, n) => keyOf('c/early-', n)).map((k) => [k, valueOf(k)] as const));
    await cluster.kill(lagger);
    const stoppedAt = await storedLog(cluster.members[lagger]!.dataDir);

    const survivors = cluster.client(otherThan(cluster, lagger));
    const writes: Array<readonly [string, string]> = [];
    for (let round = 0; round < rounds; round++) {
      for (let n = 0; n < keys; n++) writes.push([keyOf('c/key-', n), valueOf(keyOf('c/key-', n), round)]);
    }
    await putAll(survivors, writes, 4 * WRITE_CONCURRENCY);
    const expected = new Map<string, string>([...early].map(([k, a]) => [k, a.value]));
    for (let n = 0; n < keys; n++) expected.set(keyOf('c/key-', n), valueOf(keyOf('c/key-', n), rounds - 1));
    const revision = Number((await survivors.get('c/').exec()).header.revision);

    await cluster.restart(lagger);
    // Serializable reads are answered from the member's own state: they show what it has applied.
    await eventually(`${cluster.members[lagger]!.name} serving all ${expected.size} keys from its own state`, async () => {
      const got = await cluster.withClient([lagger], (c) => readPrefix(c, 'c/', true));
      const missing = [...expected].filter(([k, v]) => got.get(k)?.value !== v);
      return missing.length === 0 && got.size === expected.size ? true : undefined;
    }, SNAPSHOT_CATCH_UP_MS);

    const hashes = new Map<string, string>();
    for (const m of cluster.members) {
      // Raw gRPC: etcd3 1.1.2's maintenance.hashKV calls a method name its own generated client lacks.
      const raw = rawClients(m.endpoint);
      try {
        const res = await retryOnError(`HashKV(${revision}) on ${m.name}`, () => unary(raw.maintenance, 'HashKV', { revision }), CATCH_UP_MS);
        hashes.set(m.name, String(res['hash']));
      } finally {
        raw.close();
      }
      const count = await cluster.withClient([m.index], (c) => c.getAll().prefix('c/').serializable(true).count());
      expect(count, `keys under c/ on ${m.name}`).toBe(expected.size);
    }
    expect(new Set(hashes.values()).size, `hashKV(${revision}) per member: ${JSON.stringify(Object.fromEntries(hashes))}`).toBe(1);

    // Proof of the path taken: the entries between where it stopped and the leader's snapshot never reached its log.
    await cluster.kill(lagger);
    const after = await storedLog(cluster.members[lagger]!.dataDir);
    expect(after.firstIndex, `log at the kill ${JSON.stringify(stoppedAt)}, after catching up ${JSON.stringify(after)}`).toBeGreaterThan(stoppedAt.lastIndex + 1);

    // The installed snapshot is durable: killed again, the member restarts from its own disk with every key.
    await cluster.restart(lagger);
    const again = await eventually(`${cluster.members[lagger]!.name} serving from its own disk after a second SIGKILL`, async () => {
      const got = await cluster.withClient([lagger], (c) => readPrefix(c, 'c/', true));
      return got.size >= expected.size ? got : undefined;
    }, CATCH_UP_MS);
    expect(new Map([...again].map(([k, v]) => [k, v.value]))).toEqual(expected);
  }, SNAPSHOT_TEST_MS);

  it('refuses malformed protobuf, an oversized put and invalid ranges with clear gRPC errors, and keeps serving', async () => {
    const cluster = await startClusterForTest({ basePort: 32_400 });
    await cluster.waitReady();
    const client = cluster.client();
    await client.put('d/k').value('v').exec();
    const before = Number((await client.get('d/k').exec()).header.revision);

    for (const m of cluster.members) {
      const raw = rawClients(m.endpoint);
      try {
        // A length-delimited field that claims 5 bytes and carries 1.
        const garbage = (await rawBytesCall(raw.kv, '/etcdserverpb.KV/Range', Buffer.from([0x0a, 0x05, 0x61]))) as grpc.ServiceError;
        expect([garbage.code, garbage.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^malformed KV\.Range request \(3 bytes\)/)]);
        const garbagePut = (await rawBytesCall(raw.kv, '/etcdserverpb.KV/Put', Buffer.from([0x0a, 0xff]))) as grpc.ServiceError;
        expect([garbagePut.code, garbagePut.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^malformed KV\.Put request \(2 bytes\)/)]);

        // etcd's --max-request-bytes is 1.5 MiB; gRPC itself refuses what exceeds it by more than 512 KiB.
        const big = await unaryError(raw.kv, 'Put', { key: Buffer.from('d/big'), value: Buffer.alloc(1.6 * 1024 * 1024) });
        expect([big.code, big.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: request is too large']);
        const huge = await unaryError(raw.kv, 'Put', { key: Buffer.from('d/big'), value: Buffer.alloc(3 * 1024 * 1024) });
        expect(huge.code, m.name).toBe(grpc.status.RESOURCE_EXHAUSTED);

        const empty = await unaryError(raw.kv, 'Range', { key: Buffer.alloc(0) });
        expect([empty.code, empty.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, 'etcdserver: key is not provided']);
        const future = await unaryError(raw.kv, 'Range', { key: Buffer.from('d/k'), revision: before + 1_000 });
        expect([future.code, future.details], m.name).toEqual([grpc.status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision']);
        const unsafe = await unaryError(raw.kv, 'Range', { key: Buffer.from('d/k'), revision: 2 ** 60 });
        expect([unsafe.code, unsafe.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, expect.stringMatching(/^range revision \d+ is out of range/)]);
        const sort = (await rawBytesCall(raw.kv, '/etcdserverpb.KV/Range', Buffer.from([0x0a, 0x01, 0x61, 0x28, 0x07]))) as grpc.ServiceError;
        expect([sort.code, sort.details], m.name).toEqual([grpc.status.INVALID_ARGUMENT, 'range sort_order 7 is not one of NONE, ASCEND, DESCEND']);
        // As in etcd (checked against it in etcdctl-compat.test.ts): a range end below the key is an empty
        // range and a negative limit means no limit; neither is an error.
        const backwards = await unary(raw.kv, 'Range', { key: Buffer.from('d/z'), range_end: Buffer.from('d/a') });
        expect([backwards['kvs'], String(backwards['count'])], m.name).toEqual([[], '0']);
        const negative = await unary(raw.kv, 'Range', { key: Buffer.from('d/'), range_end: Buffer.from('d0'), limit: -1 });
        expect(String(negative['count']), m.name).toBe('1');

        // Still serving, through this member: a linearizable read of the one key written.
        const after = await unary(raw.kv, 'Range', { key: Buffer.from('d/k') });
        expect(Buffer.from(after['kvs'][0]['value']).toString(), m.name).toBe('v');
      } finally {
        raw.close();
      }
    }
    // The etcd3 client sees the same refusal as an error that names it.
    await expect(client.put('d/big').value(Buffer.alloc(1.6 * 1024 * 1024)).exec()).rejects.toThrow(/request is too large/);

    expect(cluster.runningIndices()).toEqual([0, 1, 2]);
    const res = await client.put('d/after').value('ok').exec();
    // Refused requests cost no revision: the only write since `before` is this one.
    expect(Number(res.header.revision)).toBe(before + 1);
    expect(await client.get('d/big').string()).toBeNull();
  }, TEST_MS);

  it('a member stopped with SIGTERM while its peers keep running exits cleanly and promptly, and restarts with its data', async () => {
    const cluster = await startClusterForTest({ basePort: 32_500 });
    await cluster.waitReady();
    const leader = await cluster.leaderIndex();
    const member = otherThan(cluster, leader)[0]!;
    const acked = await putAll(cluster.client(), Array.from({ length: 20 }, (_, n) => keyOf('e/', n)).map((k) => [k, valueOf(k)] as const));
    const startedMs = Date.now();
    // kill() escalates to SIGKILL after STOP_GRACE_MS; a clean stop ends with exit code 0 before that.
    await cluster.kill(member, 'SIGTERM');
    const stopMs = Date.now() - startedMs;
    // Soft, so that a stop that needed SIGKILL still goes on to check the restart.
    expect.soft(cluster.exitOf(member), `${cluster.members[member]!.name} after SIGTERM (${stopMs} ms)`).toBe('code 0');

    await cluster.restart(member);
    const own = await eventually(`${cluster.members[member]!.name} serving its data after the restart`, async () => {
      const got = await cluster.withClient([member], (c) => readPrefix(c, 'e/', true));
      return got.size >= acked.size ? got : undefined;
    }, CATCH_UP_MS);
    expect(own).toEqual(expectedViews(acked));
  }, TEST_MS);
});
