/**
 * The network-fault failpoint between real processes (ports 26100-26129):
 * cutting the leader off from the others makes the majority elect a new
 * leader and keep accepting writes, while the isolated member steps down
 * (check-quorum) and cannot commit anything; healing brings it back as a
 * follower that catches up.
 */
import { expect, it } from 'vitest';
import { chaosClient } from '../../chaos/cluster/etcd-client.js';
import { eventually, startClusterForTest } from '../support/process-cluster.js';

const BASE_PORT = 26_100;
/** Election timeout is about 1 s; allow for a loaded machine. */
const ELECTION_MS = 15_000;

it('an isolated leader loses leadership to the majority, which keeps committing; healing brings it back', async () => {
  const cluster = await startClusterForTest({ basePort: BASE_PORT, size: 3, networkFaults: true });
  await cluster.waitReady();
  const oldLeader = await cluster.leaderIndex();
  const others = cluster.members.map((m) => m.index).filter((i) => i !== oldLeader);
  cluster.partition([[oldLeader], others]);

  const newLeader = await eventually('a new leader among the majority', async () => {
    const statuses = await Promise.all(others.map((i) => cluster.status(i).catch(() => undefined)));
    const leaders = new Set(statuses.map((s) => s?.leader).filter((l) => l !== undefined && l !== '0'));
    const id = [...leaders][0];
    return leaders.size === 1 && statuses.every((s) => s?.leader === id) && id !== (await cluster.status(oldLeader)).header?.member_id ? id : undefined;
  }, ELECTION_MS);
  expect(newLeader).toBeDefined();

  const majority = chaosClient(cluster.endpoints(others), { callTimeoutMs: 5_000 });
  const isolated = chaosClient(cluster.endpoints([oldLeader]), { callTimeoutMs: 2_000 });
  try {
    await majority.put('partition/during').value('majority');
    await expect(isolated.put('partition/isolated').value('x')).rejects.toThrow();
    expect(await majority.get('partition/isolated').string()).toBeNull();

    cluster.heal();
    await eventually('the old leader catches up', async () => ((await isolated.get('partition/during').string().catch(() => null)) === 'majority' ? true : undefined), ELECTION_MS);
    await isolated.put('partition/after').value('healed');
    expect(await majority.get('partition/after').string()).toBe('healed');
  } finally {
    majority.close();
    isolated.close();
  }
}, 60_000);
