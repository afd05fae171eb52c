/**
 * Leader failover, side by side: a 3-member Strake cluster and a 3-member etcd
 * cluster (the `etcd` binary from the etcd-server package) on loopback, both with
 * a 100 ms heartbeat and a 1000 ms election timeout. Each run SIGKILLs the leader
 * and measures, from the kill, (1) the moment both survivors' Status names the
 * same new leader and (2) the first put through a survivor that succeeds. Prints
 * the median of several runs.
 *
 *   node dist/bench/kv-failover.js [--runs R] [--only strake|etcd]
 *
 * Every run is bounded by READY_DEADLINE_MS before the kill and FAILOVER_DEADLINE_MS
 * after it, and fails with the members' log tails when a deadline passes.
 */
import type { Etcd3 } from 'etcd3';
import { chaosClient } from '../chaos/cluster/etcd-client.js';
import { errorMessage, eventually } from '../chaos/cluster/poll.js';
import { ClusterKind, ProcessCluster } from '../chaos/cluster/process-cluster.js';
import { median } from './measure.js';

const READY_DEADLINE_MS = 60_000;
/** From the kill until both figures are in; an election takes 1–2 election timeouts. */
const FAILOVER_DEADLINE_MS = 30_000;
/** etcd's defaults, passed explicitly so that both systems run the same timing. */
const HEARTBEAT_MS = 100;
const ELECTION_TICKS = 10;
/** Pause between two rounds of Status polls: the resolution of the leader figure. */
const STATUS_POLL_INTERVAL_MS = 10;
/** One Status call; a member answers it locally, in milliseconds on loopback. */
const STATUS_CALL_DEADLINE_MS = 500;
/** A new put starts this often until one succeeds: the resolution of the write figure. */
const WRITE_ATTEMPT_INTERVAL_MS = 20;
/**
 * One put. A put that reaches a follower of the dead leader waits for the server's
 * request timeout (etcd: about 7 s); cut it off and rely on the later attempts.
 * At most WRITE_ATTEMPT_DEADLINE_MS / WRITE_ATTEMPT_INTERVAL_MS = 50 puts are in flight.
 */
const WRITE_ATTEMPT_DEADLINE_MS = 1_000;
/** Keys written before the kill, so the survivors hold committed data. */
const KEYS_BEFORE_KILL = 10;
const ETCD_BASE_PORT = 23_100;
const STRAKE_BASE_PORT = 25_100;

type System = 'strake' | 'etcd';

interface Options {
  runs: number;
  only?: System;
}

interface RunResult {
  /** From the kill until both survivors name the same new leader. */
  leaderMs: number;
  /** From the kill until a put through a survivor succeeded. */
  firstWriteMs: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--runs') o.runs = Number(value);
    else if (flag === '--only') o.only = value === 'etcd' ? 'etcd' : 'strake';
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`--runs ${o.runs} is not a positive integer`);
  return o;
}

/** Polls the survivors' Status until both name the same leader that is neither the killed member nor none (0). */
async function timeToAgreedLeader(statusClients: readonly Etcd3[], killedId: string, killedAt: number): Promise<number> {
  const check = async (): Promise<number | undefined> => {
    const leaders = await Promise.all(statusClients.map(async (c) => (await c.maintenance.status()).leader));
    const [first] = leaders;
    const agreed = first !== undefined && first !== '0' && first !== killedId && leaders.every((l) => l === first);
    if (agreed) return performance.now() - killedAt;
    throw new Error(`survivors name leaders ${leaders.join(', ')} (killed ${killedId})`);
  };
  return eventually('the survivors to agree on a new leader', check, FAILOVER_DEADLINE_MS, STATUS_POLL_INTERVAL_MS);
}

/** Starts a put every WRITE_ATTEMPT_INTERVAL_MS, alternating between the survivors, until one succeeds. */
function timeToFirstWrite(writeClients: readonly Etcd3[], killedAt: number): Promise<number> {
  const deadline = Date.now() + FAILOVER_DEADLINE_MS;
  return new Promise((resolve, reject) => {
    let attempts = 0;
    let settled = false;
    let lastError = 'no put finished';
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      outcome();
    };
    const timer = setInterval(() => {
      if (Date.now() >= deadline) {
        settle(() => reject(new Error(`no put through a survivor succeeded within ${FAILOVER_DEADLINE_MS} ms of the kill (${attempts} tried; last: ${lastError})`)));
        return;
      }
      const client = writeClients[attempts % writeClients.length]!;
      const key = `bench/failover/after-kill/${attempts++}`;
      void client.put(key).value('1').exec().then(
        () => settle(() => resolve(performance.now() - killedAt)),
        (err: unknown) => {
          lastError = errorMessage(err);
        },
      );
    }, WRITE_ATTEMPT_INTERVAL_MS);
  });
}

async function runOnce(system: System, cluster: ProcessCluster): Promise<RunResult> {
  const all = cluster.members.map((m) => m.index);
  await cluster.waitReady({ timeoutMs: READY_DEADLINE_MS });
  await cluster.withClient(all, async (c) => {
    for (let i = 0; i < KEYS_BEFORE_KILL; i++) await c.put(`bench/failover/before-kill/${i}`).value('1').exec();
  });
  const leader = await cluster.leaderIndex(READY_DEADLINE_MS);
  const killedId = (await cluster.status(leader)).header.member_id;
  const survivors = all.filter((i) => i !== leader);
  // One long-lived connection per survivor: a fresh client per 10 ms poll would
  // spend the CPU of a connection setup on every poll, on the cores the members share.
  const statusClients = survivors.map((i) => chaosClient([cluster.endpoint(i)], { dialTimeoutMs: STATUS_CALL_DEADLINE_MS, callTimeoutMs: STATUS_CALL_DEADLINE_MS }));
  const writeClients = survivors.map((i) => chaosClient([cluster.endpoint(i)], { callTimeoutMs: WRITE_ATTEMPT_DEADLINE_MS }));
  try {
    // Connect before the kill, and make sure the member about to be killed is the one the survivors follow.
    const before = await Promise.all(statusClients.map((c) => c.maintenance.status()));
    if (before.some((s) => s.leader !== killedId)) throw new Error(`leadership moved before the kill: survivors name ${before.map((s) => s.leader).join(', ')}, not ${killedId}`);
    await Promise.all(writeClients.map((c) => c.get('bench/failover/before-kill/0').exec()));
    const killedAt = performance.now();
    await cluster.kill(leader, 'SIGKILL');
    const [elected, written] = await Promise.allSettled([timeToAgreedLeader(statusClients, killedId, killedAt), timeToFirstWrite(writeClients, killedAt)]);
    if (elected.status === 'rejected' || written.status === 'rejected') {
      const reasons = [elected, written].flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
      throw new Error(`${system}: after SIGKILL of ${cluster.members[leader]!.name}: ${reasons.join('; ')}\n${cluster.logTails()}`);
    }
    return { leaderMs: elected.value, firstWriteMs: written.value };
  } finally {
    for (const c of [...statusClients, ...writeClients]) c.close();
  }
}

async function measure(system: System, o: Options): Promise<RunResult> {
  const runs: RunResult[] = [];
  for (let r = 0; r < o.runs; r++) {
    const cluster = await ProcessCluster.start({
      kind: system === 'etcd' ? ClusterKind.Etcd : ClusterKind.Strake,
      basePort: system === 'etcd' ? ETCD_BASE_PORT : STRAKE_BASE_PORT,
      heartbeatMs: HEARTBEAT_MS,
      electionTicks: ELECTION_TICKS,
    });
    try {
      const result = await runOnce(system, cluster);
      runs.push(result);
      process.stderr.write(`${system} run ${r + 1}/${o.runs}: new leader agreed ${result.leaderMs.toFixed(0)} ms, first write ${result.firstWriteMs.toFixed(0)} ms after the kill\n`);
    } finally {
      await cluster.stopAll();
      cluster.removeData();
    }
  }
  return { leaderMs: median(runs.map((x) => x.leaderMs)), firstWriteMs: median(runs.map((x) => x.firstWriteMs)) };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const systems = o.only === undefined ? (['strake', 'etcd'] as const) : ([o.only] as const);
  const results = new Map<System, RunResult>();
  for (const s of systems) results.set(s, await measure(s, o));
  console.log(`leader failover after SIGKILL: heartbeat ${HEARTBEAT_MS} ms, election timeout ${HEARTBEAT_MS * ELECTION_TICKS} ms, median of ${o.runs} runs`);
  console.log('system   new leader agreed ms   first write after kill ms');
  for (const s of systems) {
    const r = results.get(s)!;
    console.log(`${s.padEnd(8)} ${r.leaderMs.toFixed(0).padStart(20)}   ${r.firstWriteMs.toFixed(0).padStart(25)}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
