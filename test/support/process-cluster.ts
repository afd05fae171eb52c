/**
 * The vitest side of the process-cluster harness. The harness itself (real
 * `strake master` or `etcd` processes on loopback, killed and restarted by PID)
 * lives in chaos/cluster/, where `strake chaos` uses it too; this file ties a
 * cluster's lifetime to the running test and re-exports what the tests use.
 *
 *   const cluster = await startClusterForTest({ basePort: 32_100 });
 *   await cluster.waitReady();
 *   await cluster.kill(await cluster.leaderIndex());
 *
 * Each test file owns a range of base ports (test/README.md).
 */
import { onTestFinished } from 'vitest';
import { ProcessCluster, STOP_ALL_MAX_MS, type ProcessClusterOptions } from '../../chaos/cluster/process-cluster.js';

export { ClusterKind, findOnPath, ProcessCluster, ReadyProbe, type MemberSpec, type ProcessClusterOptions } from '../../chaos/cluster/process-cluster.js';
export { eventually, retryOnError, sleep } from '../../chaos/cluster/poll.js';

/** Time for the hook itself beyond stopping the members: printing logs and removing data. */
const HOOK_SLACK_MS = 1_000;

/**
 * Starts a cluster for the running test and stops it (by PID) when the test
 * ends, printing every member's log tail first if the test failed. The data is
 * removed after a pass and kept after a failure.
 */
export async function startClusterForTest(o: ProcessClusterOptions): Promise<ProcessCluster> {
  const cluster = await ProcessCluster.start(o);
  onTestFinished(async (ctx) => {
    const failed = ctx.task.result?.state === 'fail';
    if (failed) process.stderr.write(`\n${ctx.task.name}: member logs (kept in ${cluster.rootDir})\n${cluster.logTails()}\n`);
    await cluster.stopAll();
    if (!failed) cluster.removeData();
  }, STOP_ALL_MAX_MS + HOOK_SLACK_MS);
  return cluster;
}
