/**
 * A member that has lost its quorum answers clients with the errors etcd
 * clients expect, promptly, and serves again once the quorum is back.
 */
import { chaosClient } from '../../chaos/cluster/etcd-client.js';
import { describe, expect, it } from 'vitest';
import { startClusterForTest } from '../support/process-cluster.js';

/** Ports 26900-26929 belong to this file. */
const BASE_PORT = 26_900;
/** A refused request must come back well within the client's own deadline. */
const ANSWER_WITHIN_MS = 12_000;

async function failureOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'succeeded';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

describe('a member without a quorum', () => {
  it('refuses writes and linearizable reads with etcd errors, serves serializable reads, and recovers', async () => {
    const cluster = await startClusterForTest({ basePort: BASE_PORT });
    await cluster.waitReady();
    await cluster.withClient([0, 1, 2], (c) => c.put('nq/k').value('before').exec());
    await cluster.kill(1);
    await cluster.kill(2);
    const lonely = chaosClient([cluster.endpoint(0)], { callTimeoutMs: 30_000 });
    let write = '';
    try {
      const started = Date.now();
      write = await failureOf(lonely.put('nq/k').value('during').exec());
      const read = await failureOf(lonely.get('nq/k').string());
      expect(Date.now() - started).toBeLessThan(2 * ANSWER_WITHIN_MS);
      expect(write).toMatch(/etcdserver: (no leader|request timed out|leader changed)/);
      expect(read).toMatch(/etcdserver: (no leader|request timed out)/);
      expect(await lonely.get('nq/k').serializable(true).string()).toBe('before');
    } finally {
      lonely.close();
    }
    await cluster.restart(1);
    await cluster.waitReady({ indices: [0, 1] });
    // A write that timed out may still commit once the quorum is back (as in etcd);
    // one refused with "no leader" or "leader changed" was never appended.
    const recovered = await cluster.withClient([0], (c) => c.get('nq/k').string());
    if (/request timed out/.test(write)) expect(['before', 'during']).toContain(recovered);
    else expect(recovered).toBe('before');
    await cluster.withClient([0], (c) => c.put('nq/k').value('after').exec());
    expect(await cluster.withClient([1], (c) => c.get('nq/k').string())).toBe('after');
  }, 90_000);
});
