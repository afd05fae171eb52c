/**
 * A chaos run against a real cluster of `strake master` processes: concurrent
 * clients read, write and compare-and-set a few keys through the etcd v3 API
 * while a nemesis SIGKILLs the leader and restarts it, or cuts the network
 * between the members (isolating the leader, or splitting the cluster 2/1),
 * again and again. The
 * recorded history must be linearizable, and every acknowledged write to a
 * unique key must still be readable at the end (no lost acknowledged writes).
 *
 * One seed drives the clients' choices and the nemesis timing; the processes'
 * own scheduling is not deterministic, so a failing seed shows the history, not
 * an exact replay.
 */
import type { Etcd3 } from 'etcd3';
import { SeededRng, type Rng } from '../../raft/core/rng.js';
import { chaosClient } from '../cluster/etcd-client.js';
import { sleep } from '../cluster/poll.js';
import { ProcessCluster } from '../cluster/process-cluster.js';
import { checkLinearizable, HistoryRecorder, kvModel, OpStatus, type CheckResult, type KvInput, type KvOutput } from '../linearizability/index.js';

export interface KvChaosOptions {
  readonly dir: string;
  readonly basePort: number;
  readonly seed: number;
  /** Length of the fault phase. */
  readonly durationMs: number;
  readonly clients?: number;
  readonly keys?: number;
  /** A request that takes longer has an unknown outcome. */
  readonly opTimeoutMs?: number;
  /** Time between faults, and how long each lasts (a killed member stays down, a partition stays). */
  readonly killEveryMs?: number;
  readonly downMs?: number;
  /** Which faults the nemesis picks from (default: kill). */
  readonly faults?: readonly NemesisFault[];
  /** Budget for the linearizability check. */
  readonly checkTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export const NemesisFault = {
  /** SIGKILL the leader, restart it after downMs. */
  Kill: 'kill',
  /** Cut the leader off from the other members for downMs. */
  IsolateLeader: 'isolate-leader',
  /** Split the members into a majority and a minority (2/1) for downMs. */
  Split: 'split',
} as const;
export type NemesisFault = (typeof NemesisFault)[keyof typeof NemesisFault];

export interface KvChaosResult {
  readonly seed: number;
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  /** Faults injected (kills and partitions). */
  readonly kills: number;
  readonly faults: Readonly<Record<NemesisFault, number>>;
  readonly check: CheckResult<KvInput, KvOutput>;
  readonly ackedUniqueWrites: number;
  /** Unique keys whose write was acknowledged but that are missing or wrong at the end. */
  readonly lostWrites: readonly string[];
  readonly logTails: string;
}

/** Bounds on one run: operations per client, and the final verification. */
const OPS_PER_CLIENT_MAX = 100_000;
const READY_TIMEOUT_MS = 60_000;
const FINAL_READ_TIMEOUT_MS = 30_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

interface ClientContext {
  readonly rng: Rng;
  readonly recorder: HistoryRecorder<KvInput, KvOutput>;
  readonly acked: Map<string, string>;
  readonly keys: number;
  readonly opTimeoutMs: number;
  readonly stopAt: number;
}

async function runClient(id: number, client: Etcd3, ctx: ClientContext): Promise<void> {
  for (let n = 0; n < OPS_PER_CLIENT_MAX && Date.now() < ctx.stopAt; n++) {
    const key = `chaos/k${ctx.rng.nextInt(ctx.keys)}`;
    const roll = ctx.rng.nextInt(100);
    const value = `c${id}-${n}`;
    try {
      if (roll < 10) {
        const uniqueKey = `chaos/ack/${value}`;
        await withTimeout(client.put(uniqueKey).value(value).exec(), ctx.opTimeoutMs);
        ctx.acked.set(uniqueKey, value);
      } else if (roll < 50) {
        // Reads have no effect, so a failed read is simply ignored by the checker.
        await ctx.recorder.record(id, { type: 'get', key }, async () => ({ type: 'get', value: await withTimeout(client.get(key).string(), ctx.opTimeoutMs) }), () => OpStatus.Fail);
      } else if (roll < 80) {
        await ctx.recorder.record(id, { type: 'put', key, value }, async () => {
          await withTimeout(client.put(key).value(value).exec(), ctx.opTimeoutMs);
          return { type: 'put' };
        });
      } else {
        const expected = `c${ctx.rng.nextInt(8)}-${ctx.rng.nextInt(Math.max(1, n))}`;
        await ctx.recorder.record(id, { type: 'cas', key, expected, value }, async () => {
          const r = await withTimeout(client.if(key, 'Value', '==', expected).then(client.put(key).value(value)).commit(), ctx.opTimeoutMs);
          return { type: 'cas', succeeded: r.succeeded };
        });
      }
    } catch {
      // Recorded as fail/info above; back off briefly so a leaderless period is not a busy loop.
      await sleep(20);
    }
  }
}

async function nemesis(cluster: ProcessCluster, o: NemesisOptions, rng: Rng, stopAt: number, log: (l: string) => void): Promise<Record<NemesisFault, number>> {
  const counts: Record<NemesisFault, number> = { kill: 0, 'isolate-leader': 0, split: 0 };
  while (Date.now() + o.killEveryMs < stopAt) {
    await sleep(o.killEveryMs / 2 + rng.nextInt(o.killEveryMs));
    const fault = o.faults[rng.nextInt(o.faults.length)]!;
    if (await injectFault(cluster, fault, o.downMs, rng, log)) counts[fault]++;
  }
  return counts;
}

interface NemesisOptions {
  readonly killEveryMs: number;
  readonly downMs: number;
  readonly faults: readonly NemesisFault[];
}

/** One fault, held for `downMs` and then repaired; false when there was no leader to aim at. */
async function injectFault(cluster: ProcessCluster, fault: NemesisFault, downMs: number, rng: Rng, log: (l: string) => void): Promise<boolean> {
  const leader = await cluster.maybeLeaderIndex();
  if (leader === undefined) return false;
  const name = (i: number): string => cluster.members[i]!.name;
  switch (fault) {
    case NemesisFault.Kill:
      log(`nemesis: SIGKILL leader ${name(leader)}`);
      await cluster.kill(leader, 'SIGKILL');
      await sleep(downMs);
      await cluster.restart(leader);
      log(`nemesis: restarted ${name(leader)}`);
      return true;
    case NemesisFault.IsolateLeader: {
      const others = cluster.members.map((m) => m.index).filter((i) => i !== leader);
      log(`nemesis: isolate leader ${name(leader)} from ${others.map(name).join(', ')}`);
      cluster.partition([[leader], others]);
      break;
    }
    case NemesisFault.Split: {
      const lone = rng.nextInt(cluster.members.length);
      const rest = cluster.members.map((m) => m.index).filter((i) => i !== lone);
      log(`nemesis: split ${rest.map(name).join(', ')} | ${name(lone)}`);
      cluster.partition([rest, [lone]]);
      break;
    }
  }
  await sleep(downMs);
  cluster.heal();
  log('nemesis: healed the network');
  return true;
}

async function verifyAcked(endpoints: readonly string[], acked: ReadonlyMap<string, string>): Promise<string[]> {
  const client = chaosClient(endpoints, { callTimeoutMs: FINAL_READ_TIMEOUT_MS });
  const lost: string[] = [];
  try {
    const all = await withTimeout(client.getAll().prefix('chaos/ack/').strings(), FINAL_READ_TIMEOUT_MS);
    for (const [k, v] of acked) if (all[k] !== v) lost.push(k);
  } finally {
    client.close();
  }
  return lost;
}

export async function runKvChaos(o: KvChaosOptions): Promise<KvChaosResult> {
  const log = o.log ?? (() => undefined);
  const rng = new SeededRng(o.seed);
  const faults = o.faults ?? [NemesisFault.Kill];
  const partitions = faults.some((f) => f !== NemesisFault.Kill);
  const cluster = await ProcessCluster.start({ dir: o.dir, basePort: o.basePort, size: 3, networkFaults: partitions });
  const recorder = new HistoryRecorder<KvInput, KvOutput>();
  const acked = new Map<string, string>();
  const clients: Etcd3[] = [];
  try {
    await cluster.waitReady({ timeoutMs: READY_TIMEOUT_MS });
    log(`chaos: seed ${o.seed}, cluster ready, fault phase ${o.durationMs} ms`);
    const stopAt = Date.now() + o.durationMs;
    const opTimeoutMs = o.opTimeoutMs ?? 3000;
    const ctxFor = (i: number): ClientContext => ({ rng: new SeededRng(o.seed * 1000 + i + 1), recorder, acked, keys: o.keys ?? 4, opTimeoutMs, stopAt });
    const n = o.clients ?? 6;
    for (let i = 0; i < n; i++) clients.push(chaosClient(cluster.endpoints(), { callTimeoutMs: opTimeoutMs }));
    const [counts] = await Promise.all([
      nemesis(cluster, { killEveryMs: o.killEveryMs ?? 3000, downMs: o.downMs ?? 1000, faults }, rng, stopAt, log),
      ...clients.map((c, i) => runClient(i, c, ctxFor(i))),
    ]);
    // The nemesis restarts every member it kills; one that died by itself is said and brought back too.
    for (const m of cluster.members) {
      if (cluster.isRunning(m.index)) continue;
      log(`chaos: ${m.name} had exited (${cluster.exitOf(m.index) ?? 'never started'}); restarting it`);
      await cluster.restart(m.index);
    }
    await cluster.waitReady({ timeoutMs: READY_TIMEOUT_MS });
    const lostWrites = await verifyAcked(cluster.endpoints(), acked);
    const history = recorder.history();
    const check = checkLinearizable(history, kvModel, { timeoutMs: o.checkTimeoutMs ?? 60_000 });
    const count = (s: string): number => history.filter((op) => op.status === s).length;
    return {
      seed: o.seed,
      operations: { ok: count(OpStatus.Ok), fail: count(OpStatus.Fail), info: count(OpStatus.Info) },
      kills: counts.kill + counts['isolate-leader'] + counts.split,
      faults: counts,
      check,
      ackedUniqueWrites: acked.size,
      lostWrites,
      logTails: cluster.logTails(),
    };
  } finally {
    for (const c of clients) c.close();
    await cluster.stopAll();
  }
}
