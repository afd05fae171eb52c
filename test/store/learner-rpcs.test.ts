/**
 * A learner refuses client RPCs as etcd 3.4 does (isRPCSupportedForLearner):
 * it serves Maintenance.Status and serializable KV.Range; everything else,
 * MemberList and every stream included, fails with UNAVAILABLE "etcdserver:
 * rpc not supported for learner", so that etcd clients try another endpoint.
 * (Checked against a real etcd 3.4.23 learner: MemberList, linearizable get,
 * put, lease grant, alarm, hashkv, defrag, compaction, Watch, LeaseKeepAlive
 * and Snapshot all fail that way.)
 *
 * First the edge over the in-memory backend, method by method; then a real
 * learner of a one-voter `strake master` cluster, before and after
 * `member promote`. Ports 26750-26779 belong to this file (the voter at
 * 26750/26751, the learner at 26760/26761). Needs a build (`npm run build`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { MemberProcess } from '../../chaos/cluster/member-process.js';
import { ERROR_DETAIL_METADATA_KEY } from '../../store/etcd-server/errors.js';
import { closeEtcdGrpcServer, createEtcdGrpcServer, listenEtcdGrpcServer } from '../../store/etcd-server/server.js';
import { etcdServiceDefinitions } from '../../store/etcd-server/wire.js';
import { eventually, retryOnError, startClusterForTest } from '../support/process-cluster.js';
import { STRAKE_BIN } from '../support/run-strake.js';
import { etcdctl, findEtcdctl, rawBytesCall, rawClients, unary, unaryError, RAW_CALL_DEADLINE_MS, type RawClients } from './etcd-harness.js';
import { FAKE_MEMBER_ID, FakeEtcdBackend } from './fake-backend.js';

const NOT_FOR_LEARNER = 'etcdserver: rpc not supported for learner';
const REFUSED = [grpc.status.UNAVAILABLE, NOT_FOR_LEARNER];

const b = (s: string): Buffer => Buffer.from(s);

type Service = Exclude<keyof RawClients, 'close'>;
type Call = readonly [service: Service, method: string, req: object];

/** What a learner serves. */
const SERVED: readonly Call[] = [
  ['kv', 'Range', { key: b('k'), serializable: true }],
  ['maintenance', 'Status', {}],
];

/** Every other unary method, with a request it would otherwise accept. */
const REFUSED_UNARY: readonly Call[] = [
  ['kv', 'Range', { key: b('k') }],
  ['kv', 'Put', { key: b('k'), value: b('v') }],
  ['kv', 'DeleteRange', { key: b('k') }],
  ['kv', 'Txn', { success: [{ request_put: { key: b('k'), value: b('t') } }] }],
  ['kv', 'Compact', { revision: 1 }],
  ['lease', 'LeaseGrant', { TTL: 10 }],
  ['lease', 'LeaseRevoke', { ID: 1 }],
  ['lease', 'LeaseTimeToLive', { ID: 1 }],
  ['lease', 'LeaseLeases', {}],
  ['cluster', 'MemberList', {}],
  ['cluster', 'MemberAdd', { peerURLs: ['http://127.0.0.1:2390'], isLearner: true }],
  ['cluster', 'MemberRemove', { ID: 1 }],
  ['cluster', 'MemberUpdate', { ID: 1, peerURLs: ['http://127.0.0.1:2391'] }],
  ['cluster', 'MemberPromote', { ID: 1 }],
  ['maintenance', 'Alarm', { action: 'GET' }],
  ['maintenance', 'Defragment', {}],
  ['maintenance', 'Hash', {}],
  ['maintenance', 'HashKV', {}],
  ['maintenance', 'MoveLeader', { targetID: 1 }],
];

/** Every stream method; bidi streams get `first` written. */
const STREAMS: ReadonlyArray<readonly [service: Service, method: string, first: object]> = [
  ['watch', 'Watch', { create_request: { key: b('k') } }],
  ['lease', 'LeaseKeepAlive', { ID: 1 }],
  ['maintenance', 'Snapshot', {}],
];

// The generated client methods are untyped; these casts are the whole of it.
type AnyRecord = Record<string, any>;

/** Opens a stream and resolves with its first response or the status it failed with. */
function firstOfStream(client: grpc.Client, method: string, first: object): Promise<AnyRecord | grpc.ServiceError> {
  const open = (client as unknown as AnyRecord)[method] as (...args: unknown[]) => grpc.ClientReadableStream<AnyRecord>;
  const options: grpc.CallOptions = { deadline: Date.now() + RAW_CALL_DEADLINE_MS };
  const serverStream = method === 'Snapshot';
  const stream = serverStream ? open.call(client, first, options) : open.call(client, options);
  return new Promise((resolve) => {
    stream.on('data', (d: AnyRecord) => {
      resolve(d);
      stream.cancel();
    });
    stream.on('error', (err: grpc.ServiceError) => resolve(err));
    if (!serverStream) (stream as unknown as grpc.ClientWritableStream<object>).write(first);
  });
}

const statusOf = (err: grpc.ServiceError): [number, string] => [err.code, err.details];

describe('the edge of a learner', () => {
  class LearnerBackend extends FakeEtcdBackend {
    learner = true;
    isLearner(): boolean {
      return this.learner;
    }
  }
  let backend: LearnerBackend;
  let server: grpc.Server;
  let raw: RawClients;

  beforeAll(async () => {
    backend = new LearnerBackend();
    server = createEtcdGrpcServer(backend);
    raw = rawClients(`127.0.0.1:${await listenEtcdGrpcServer(server, '127.0.0.1:0')}`);
  });
  afterAll(async () => {
    raw.close();
    await closeEtcdGrpcServer(server, 500);
  });
  beforeEach(() => {
    backend.learner = true;
  });

  it('the tables below name every method of the five services', () => {
    const tabled = [...SERVED, ...REFUSED_UNARY, ...STREAMS].map(([, method]) => method);
    const defined = Object.values(etcdServiceDefinitions()).flatMap((service) => Object.keys(service));
    expect(new Set(tabled)).toEqual(new Set(defined));
  });

  it('serves serializable Range and Status', async () => {
    backend.learner = false;
    await unary(raw.kv, 'Put', { key: b('k'), value: b('v') });
    backend.learner = true;
    const range = await unary(raw.kv, 'Range', { key: b('k'), serializable: true });
    expect(range.kvs.map((kv: AnyRecord) => String(kv.value))).toEqual(['v']);
    expect((await unary(raw.maintenance, 'Status', {})).header.member_id).toBe(FAKE_MEMBER_ID);
  });

  it('refuses every other unary call with UNAVAILABLE and etcd text, without reaching the store', async () => {
    const revision = backend.header().revision;
    const answers: Array<[string, number, string]> = [];
    for (const [service, method, req] of REFUSED_UNARY) {
      answers.push([method, ...statusOf(await unaryError(raw[service], method, req))]);
    }
    expect(answers).toEqual(REFUSED_UNARY.map(([, method]) => [method, ...REFUSED]));
    expect(backend.header().revision).toBe(revision);
  });

  it('refuses every stream at its start', async () => {
    for (const [service, method, first] of STREAMS) {
      const end = await firstOfStream(raw[service], method, first);
      expect([method, ...statusOf(end as grpc.ServiceError)]).toEqual([method, ...REFUSED]);
    }
  });

  it('names the member and the method in the detail trailer', async () => {
    const err = await unaryError(raw.kv, 'Put', { key: b('k'), value: b('v') });
    expect(err.metadata.get(ERROR_DETAIL_METADATA_KEY)).toEqual([
      `member ${FAKE_MEMBER_ID.toString(16)} is a learner: until it is promoted it serves only Status and serializable Range, not /etcdserverpb.KV/Put`,
    ]);
  });

  it('reports undecodable bytes before refusing, as etcd decodes before its interceptor', async () => {
    const err = (await rawBytesCall(raw.kv, '/etcdserverpb.KV/Range', Buffer.from([0x0a, 0xff]))) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('serves everything once the member is no longer a learner', async () => {
    backend.learner = false;
    await unary(raw.kv, 'Put', { key: b('promoted'), value: b('yes') });
    expect((await unary(raw.kv, 'Range', { key: b('promoted') })).count).toBe(1);
    expect((await unary(raw.cluster, 'MemberList', {})).members).toHaveLength(1);
    const created = await firstOfStream(raw.watch, 'Watch', { create_request: { key: b('k') } });
    expect(created).toMatchObject({ created: true });
  });
});

// ------------------------------------------------------------ a real learner

const BASE_PORT = 26_750;
const TOKEN = `learner-rpcs-${BASE_PORT}`;
const LEARNER_PEER_URL = `http://127.0.0.1:${BASE_PORT + 10}`;
const LEARNER_ENDPOINT = `127.0.0.1:${BASE_PORT + 11}`;
/** A new member's start and catch-up on loopback takes a few seconds; generous for a loaded machine. */
const CATCH_UP_MS = 30_000;
/** Whole-test bound: a cluster start, a join, a promotion. */
const TEST_MS = 120_000;

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

/** Starts the added learner the way `member add` tells a user to; stopped by PID when the test ends. */
function startLearner(rootDir: string, initialCluster: string): void {
  const dataDir = join(rootDir, 'm1');
  const logFile = join(rootDir, 'm1.log');
  mkdirSync(dataDir, { recursive: true });
  const args = ['master', '--name', 'm1', '--data-dir', dataDir, '--listen-peer', LEARNER_PEER_URL, '--listen-client', LEARNER_ENDPOINT,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing', '--cluster-token', TOKEN];
  const member = MemberProcess.spawn('m1', { command: process.execPath, args: [STRAKE_BIN, ...args] }, logFile);
  onTestFinished(async (ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n----- m1 -----\n${readLog(logFile).split('\n').slice(-40).join('\n')}\n`);
    await member.stop('SIGTERM');
  });
}

describe('a learner of a strake cluster', () => {
  it('serves serializable reads, Status; refuses writes, linearizable reads, leases, MemberList, watches; promoted, it takes writes', async () => {
    const cluster = await startClusterForTest({ basePort: BASE_PORT, size: 1, token: TOKEN });
    await cluster.waitReady();
    const voterEndpoint = cluster.endpoint(0);
    const voter = rawClients(voterEndpoint);
    const learner = rawClients(LEARNER_ENDPOINT);
    onTestFinished(() => {
      voter.close();
      learner.close();
    });
    await unary(voter.kv, 'Put', { key: b('seed'), value: b('1') });
    const added = await unary(voter.cluster, 'MemberAdd', { peerURLs: [LEARNER_PEER_URL], isLearner: true });
    startLearner(cluster.rootDir, `${cluster.members[0]!.name}=${cluster.members[0]!.peerUrl},m1=${LEARNER_PEER_URL}`);

    const read = await eventually('the learner to serve the seed key', async () => {
      const r = await unary(learner.kv, 'Range', { key: b('seed'), serializable: true }).catch(() => undefined);
      return r?.kvs.length === 1 ? r : undefined;
    }, CATCH_UP_MS);
    expect(String(read.kvs[0].value)).toBe('1');
    const status = await unary(learner.maintenance, 'Status', {});
    expect([status.header.member_id, status.isLearner]).toEqual([added.member.ID, true]);

    const refused: readonly Call[] = [
      ['kv', 'Put', { key: b('k'), value: b('v') }],
      ['kv', 'Range', { key: b('seed') }],
      ['kv', 'Txn', { success: [{ request_put: { key: b('k'), value: b('t') } }] }],
      ['lease', 'LeaseGrant', { TTL: 10 }],
      ['cluster', 'MemberList', {}],
    ];
    for (const [service, method, req] of refused) {
      expect([method, ...statusOf(await unaryError(learner[service], method, req))]).toEqual([method, ...REFUSED]);
    }
    const watch = await firstOfStream(learner.watch, 'Watch', { create_request: { key: b('seed') } });
    expect(statusOf(watch as grpc.ServiceError)).toEqual(REFUSED);

    const bin = findEtcdctl();
    if (bin !== undefined) {
      // etcdctl shows etcd's text, and a read retried on UNAVAILABLE finds the voter.
      expect((await etcdctl(bin, LEARNER_ENDPOINT, ['put', 'k', 'v'])).stderr).toContain(`Error: ${NOT_FOR_LEARNER}`);
      expect((await etcdctl(bin, `${LEARNER_ENDPOINT},${voterEndpoint}`, ['get', 'seed'])).stdout).toBe('seed\n1\n');
    }

    await retryOnError('member promote', () => unary(voter.cluster, 'MemberPromote', { ID: added.member.ID }), CATCH_UP_MS);
    await eventually('the promotion to apply on the learner', async () => {
      const s = await unary(learner.maintenance, 'Status', {}).catch(() => undefined);
      return s?.isLearner === false ? true : undefined;
    }, CATCH_UP_MS);
    await unary(learner.kv, 'Put', { key: b('after'), value: b('promoted') });
    expect(String((await unary(voter.kv, 'Range', { key: b('after') })).kvs[0].value)).toBe('promoted');
    expect((await unary(learner.cluster, 'MemberList', {})).members).toHaveLength(2);
  }, TEST_MS);
});
