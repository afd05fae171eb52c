/** `strake kv lease grant | revoke | timetolive | keep-alive | list`, with etcdctl's output (ids in hex). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { parseIntegerOption } from '../options.js';
import { KV_EXIT_CODE, KvError, KvErrorCode, describeError } from './errors.js';
import { bytes, flatHeaderJson, headerJson, intAlways, toJson } from './json.js';
import { leaseIdArgument } from './kv-requests.js';
import { leaseIdHex, stdoutClosed, writeLines } from './output.js';
import { globalFlags, kvAction, mustNotBeTable, withSession, type KvSession } from './session.js';

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const LEASE_TTL_S_MAX = 9_000_000_000;
/** clientv3 never sends keep-alives more often than every 500 ms, however short the TTL. */
export const KEEPALIVE_INTERVAL_MS_MIN = 500;

export function registerLeaseCommands(kv: Command, setExitCode: ExitCodeSink): void {
  const lease = kv.command('lease').description('lease related commands (ids in hexadecimal, as printed by grant)');
  lease
    .command('grant')
    .description('create a lease with the given TTL in seconds')
    .argument('<ttl>', 'time to live in seconds', (v) => parseIntegerOption('ttl', v, 1, LEASE_TTL_S_MAX))
    .action(kvAction(setExitCode, (ttl: number, _f: object, cmd: Command) => runWith(cmd, (s) => grant(s, ttl))));
  lease
    .command('revoke')
    .description('revoke a lease and delete the keys attached to it')
    .argument('<id>', 'lease id in hex', leaseIdArgument)
    .action(kvAction(setExitCode, (id: bigint, _f: object, cmd: Command) => runWith(cmd, (s) => revoke(s, id))));
  lease
    .command('timetolive')
    .description('get the lease information')
    .argument('<id>', 'lease id in hex', leaseIdArgument)
    .option('--keys', 'get the keys attached to this lease', false)
    .action(kvAction(setExitCode, (id: bigint, f: { keys: boolean }, cmd: Command) => runWith(cmd, (s) => timeToLive(s, id, f.keys))));
  lease
    .command('list')
    .description('list all active leases')
    .action(kvAction(setExitCode, (_f: object, cmd: Command) => runWith(cmd, list)));
  lease
    .command('keep-alive')
    .description('keep the lease alive (renewing every TTL/3) until Ctrl-C or it expires')
    .argument('<id>', 'lease id in hex', leaseIdArgument)
    .option('--once', 'renew once and exit', false)
    .action(
      kvAction(setExitCode, (id: bigint, f: { once: boolean }, cmd: Command) =>
        runWith(cmd, (s) => (f.once ? keepAliveOnce(s, id) : keepAliveLoop(s, id))),
      ),
    );
}

function runWith(cmd: Command, body: (s: KvSession) => Promise<number>): Promise<number> {
  const g = globalFlags(cmd);
  mustNotBeTable(g.writeOut);
  return withSession(g, body);
}

async function grant(s: KvSession, ttl: number): Promise<number> {
  const res = await s.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 });
  writeLines(
    s.format === 'json'
      ? [toJson({ ...flatHeaderJson(res.header), ID: intAlways(res.ID), TTL: intAlways(res.TTL), Error: res.error ?? '' })]
      : [`lease ${leaseIdHex(res.ID)} granted with TTL(${res.TTL}s)`],
  );
  return KV_EXIT_CODE.ok;
}

async function revoke(s: KvSession, id: bigint): Promise<number> {
  const res = await s.client.leaseClient.leaseRevoke({ ID: id.toString() }).catch((err: unknown) => {
    throw new KvError(KvErrorCode.RequestFailed, `failed to revoke lease (${describeError(err)})`);
  });
  writeLines(s.format === 'json' ? [toJson({ header: headerJson(res.header) })] : [`lease ${leaseIdHex(id)} revoked`]);
  return KV_EXIT_CODE.ok;
}

async function timeToLive(s: KvSession, id: bigint, withKeys: boolean): Promise<number> {
  const res = await s.client.leaseClient.leaseTimeToLive({ ID: id.toString(), keys: withKeys });
  if (s.format === 'json') {
    const keys = res.keys && res.keys.length > 0 ? res.keys.map((k) => bytes(k) ?? '') : null;
    const json = { ...flatHeaderJson(res.header), id: intAlways(res.ID), ttl: intAlways(res.TTL), 'granted-ttl': intAlways(res.grantedTTL), keys };
    writeLines([toJson(json)]);
    return KV_EXIT_CODE.ok;
  }
  if (BigInt(res.TTL) === -1n) {
    writeLines([`lease ${leaseIdHex(id)} already expired`]);
    return KV_EXIT_CODE.ok;
  }
  const keys = withKeys ? `, attached keys([${(res.keys ?? []).map((k) => k.toString()).join(' ')}])` : '';
  writeLines([Buffer.from(`lease ${leaseIdHex(id)} granted with TTL(${res.grantedTTL}s), remaining(${res.TTL}s)${keys}`)]);
  return KV_EXIT_CODE.ok;
}

async function list(s: KvSession): Promise<number> {
  const res = await s.client.leaseClient.leaseLeases();
  const leases = res.leases ?? [];
  if (s.format === 'json') {
    const json = { ...flatHeaderJson(res.header), leases: leases.length > 0 ? leases.map((l) => ({ id: intAlways(l.ID) })) : null };
    writeLines([toJson(json)]);
  } else {
    writeLines([`found ${leases.length} leases`, ...leases.map((l) => leaseIdHex(l.ID))]);
  }
  return KV_EXIT_CODE.ok;
}

function keepAliveLine(s: KvSession, res: ILeaseKeepAliveResponse): string {
  return s.format === 'json'
    ? toJson({ ...flatHeaderJson(res.header), ID: intAlways(res.ID), TTL: intAlways(res.TTL) })
    : `lease ${leaseIdHex(res.ID)} keepalived with TTL(${res.TTL})`;
}

async function keepAliveOnce(s: KvSession, id: bigint): Promise<number> {
  const stream = await s.client.leaseClient.leaseKeepAlive();
  const next = responseReader(stream);
  try {
    stream.write({ ID: id.toString() });
    const res = await next(s.commandTimeoutMs);
    // As clientv3's KeepAliveOnce: a TTL of zero or less means the lease is gone.
    if (BigInt(res.TTL) <= 0n) throw new KvError(KvErrorCode.LeaseExpired, 'etcdserver: requested lease not found');
    writeLines([keepAliveLine(s, res)]);
    return KV_EXIT_CODE.ok;
  } finally {
    stream.cancel();
  }
}

/** Renews every TTL/3 until the lease is gone (exit 0, as etcdctl), Ctrl-C / SIGTERM or a closed stdout (exit 0). */
async function keepAliveLoop(s: KvSession, id: bigint): Promise<number> {
  const stream = await s.client.leaseClient.leaseKeepAlive();
  const next = responseReader(stream);
  const stop = new AbortController();
  const onSignal = (): void => {
    stop.abort();
    stream.cancel();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  stdoutClosed.addEventListener('abort', onSignal);
  let responseTimeoutMs = s.commandTimeoutMs;
  try {
    // Ends when the lease expires, the server stops answering, or a signal aborts it.
    for (;;) {
      stream.write({ ID: id.toString() });
      const res = await next(responseTimeoutMs);
      const ttlS = Number(res.TTL);
      if (ttlS <= 0) break;
      writeLines([keepAliveLine(s, res)]);
      // Past the TTL without an answer the lease may be gone: stop waiting then.
      responseTimeoutMs = Math.max(s.commandTimeoutMs, ttlS * 1000);
      await sleep(Math.max(KEEPALIVE_INTERVAL_MS_MIN, (ttlS * 1000) / 3), undefined, { signal: stop.signal });
    }
  } catch (err) {
    if (stop.signal.aborted) return KV_EXIT_CODE.ok;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stdoutClosed.removeEventListener('abort', onSignal);
    stream.cancel();
  }
  if (s.format === 'simple') writeLines([`lease ${leaseIdHex(id)} expired or revoked.`]);
  return KV_EXIT_CODE.ok;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/**
 * Turns the stream's events into "the next response, within a deadline".
 * Invariant: one request is in flight at a time, so at most one response waits here.
 */
function responseReader(stream: KeepAliveStream): (timeoutMs: number) => Promise<ILeaseKeepAliveResponse> {
  let waiting: ILeaseKeepAliveResponse | undefined;
  let failure: unknown;
  let waiter: { resolve: (r: ILeaseKeepAliveResponse) => void; reject: (e: unknown) => void } | undefined;
  const fail = (err: unknown): void => {
    failure ??= err;
    waiter?.reject(failure);
    waiter = undefined;
  };
  stream.on('data', (res) => {
    if (waiter) {
      waiter.resolve(res);
      waiter = undefined;
    } else {
      waiting = res;
    }
  });
  stream.on('error', fail);
  stream.on('end', () => fail(new KvError(KvErrorCode.NoResponse, 'the lease keep-alive stream was closed by the server')));
  return (timeoutMs) => {
    if (waiting !== undefined) {
      const res = waiting;
      waiting = undefined;
      return Promise.resolve(res);
    }
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new KvError(KvErrorCode.NoResponse, `no keep-alive response within ${timeoutMs} ms`)), timeoutMs);
      waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  };
}
