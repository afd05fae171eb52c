/**
 * Lease grants, keep-alives and time-to-live reads sent to a follower are
 * served by the leader, with the leader's clock (store/replica/lease-forwarding.ts).
 *
 * One member's wall clock is set a minute behind the others (a preload that
 * shifts Date before the member starts), so the leader and the follower used
 * here always disagree by far more than the lease's TTL. Stamped with the
 * follower's clock, a grant or keep-alive would expire a minute early (the
 * leader revokes it at once) or a minute late (the leader reads ~70 s left).
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { LEASE_EXPIRY_CHECK_MS } from '../../store/replica/limits.js';
import { retryOnError, sleep, startClusterForTest, type ProcessCluster } from '../support/process-cluster.js';
import { RAW_CALL_DEADLINE_MS, rawClients, unary, type RawClients } from './etcd-harness.js';

/** Ports 26700-26729 belong to this file. */
const BASE_PORT = 26_700;
/** Far beyond the TTL, so a lease stamped with the wrong clock is plainly wrong. */
const CLOCK_SKEW_MS = -60_000;
/** The member whose clock is skewed. */
const SKEWED_MEMBER = 'm0';
const TTL_SECONDS = 10;
/** Long enough for the leader's expiry check to revoke a lease stamped a minute early. */
const EXPIRY_CHECKS_WAIT_MS = 4 * LEASE_EXPIRY_CHECK_MS;
/** A new leader is elected and known to the follower well within this. */
const FAILOVER_MS = 20_000;

/** Shifts Date (now() and `new Date()`) in the member named SKEWED_MEMBER only. */
const SKEW_PRELOAD = `
const at = process.argv.indexOf('--name');
if (at >= 0 && process.argv[at + 1] === ${JSON.stringify(SKEWED_MEMBER)}) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const skewed = () => realNow() + ${CLOCK_SKEW_MS};
  RealDate.now = skewed;
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [skewed()] : args, newTarget),
    apply: () => new RealDate(skewed()).toString(),
  });
}`;

async function startSkewedCluster(): Promise<ProcessCluster> {
  const before = process.env['NODE_OPTIONS'];
  const preload = `--import=data:text/javascript;base64,${Buffer.from(SKEW_PRELOAD).toString('base64')}`;
  process.env['NODE_OPTIONS'] = before === undefined ? preload : `${before} ${preload}`;
  try {
    return await startClusterForTest({ basePort: BASE_PORT });
  } finally {
    if (before === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = before;
  }
}

/** One LeaseKeepAlive request and its answer's TTL, on a stream of its own. */
function keepAliveOnce(c: RawClients, id: number): Promise<number> {
  const open = (c.lease as unknown as Record<string, (o: grpc.CallOptions) => grpc.ClientDuplexStream<object, { TTL: number }>>)['LeaseKeepAlive']!;
  const call = open.call(c.lease, { deadline: Date.now() + RAW_CALL_DEADLINE_MS });
  return new Promise((resolve, reject) => {
    call.on('error', reject);
    call.once('data', (r: { TTL: number }) => {
      call.end();
      resolve(Number(r.TTL));
    });
    call.write({ ID: id });
  });
}

async function ttlOf(c: RawClients, id: number): Promise<number> {
  return Number((await unary(c.lease, 'LeaseTimeToLive', { ID: id, keys: false })).TTL);
}

describe('lease requests through a follower', () => {
  it('are served by the leader with its clock, also after the leader changes', async () => {
    const cluster = await startSkewedCluster();
    await cluster.waitReady();
    const leader = await cluster.leaderIndex();
    // The skewed member is one of the two: the follower, or the leader.
    const follower = leader === 0 ? 1 : 0;
    const viaFollower = rawClients(cluster.endpoint(follower));
    const viaLeader = rawClients(cluster.endpoint(leader));
    try {
      const id = Number((await unary(viaFollower.lease, 'LeaseGrant', { TTL: TTL_SECONDS, ID: 0 })).ID);
      await sleep(EXPIRY_CHECKS_WAIT_MS);
      expect(await keepAliveOnce(viaFollower, id)).toBe(TTL_SECONDS);
      const fromFollower = await ttlOf(viaFollower, id);
      const fromLeader = await ttlOf(viaLeader, id);
      expect(fromFollower).toBeGreaterThanOrEqual(TTL_SECONDS - 2);
      expect(fromFollower).toBeLessThanOrEqual(TTL_SECONDS);
      expect(Math.abs(fromFollower - fromLeader)).toBeLessThanOrEqual(1);

      // The leader's "no such lease" answers come back unchanged.
      expect(await keepAliveOnce(viaFollower, id + 1)).toBe(0);
      expect(await ttlOf(viaFollower, id + 1)).toBe(-1);

      // Forwarding follows the new leader; the lease survives the change.
      await cluster.kill(leader);
      const next = await cluster.leaderIndex();
      const survivor = cluster.runningIndices().find((i) => i !== next)!;
      const viaSurvivor = rawClients(cluster.endpoint(survivor));
      try {
        expect(await retryOnError('keep-alive after failover', () => keepAliveOnce(viaSurvivor, id), FAILOVER_MS)).toBe(TTL_SECONDS);
        const left = await ttlOf(viaSurvivor, id);
        // A new leader's promote may add its election timeout (1 s here) on top.
        expect(left).toBeGreaterThanOrEqual(TTL_SECONDS - 2);
        expect(left).toBeLessThanOrEqual(TTL_SECONDS + 1);
      } finally {
        viaSurvivor.close();
      }
    } finally {
      viaFollower.close();
      viaLeader.close();
    }
  }, 90_000);
});
