/**
 * Side-by-side KV benchmark: a 3-member Strake cluster and a 3-member etcd
 * cluster (the `etcd` binary from the etcd-server package) on loopback, driven
 * by the same etcd3 client with the same load. Prints puts/s and p50/p99
 * latency at each concurrency, the median of several runs.
 *
 *   node dist/bench/kv-compare.js [--requests N] [--runs R] [--in-flight 1,64]
 *        [--value-bytes 256] [--op put|get] [--only strake|etcd] [--warmup W]
 *
 * Each run first sends W requests of the same kind (default 5000) that are not
 * timed, with the same client: both systems and the client start warm (a
 * fresh Node process runs its hot paths interpreted until the JIT has
 * compiled them). `--warmup 0` measures from a cold start.
 *
 * Every run is bounded by --requests and by RUN_DEADLINE_MS.
 */
import { Etcd3 } from 'etcd3';
import { ClusterKind, ProcessCluster } from '../chaos/cluster/process-cluster.js';
import { median, percentile } from './measure.js';

/** No single measurement may run longer than this. */
const RUN_DEADLINE_MS = 120_000;
const READY_DEADLINE_MS = 60_000;
const ETCD_BASE_PORT = 23_000;
const STRAKE_BASE_PORT = 25_000;

interface Options {
  requests: number;
  runs: number;
  inFlight: number[];
  valueBytes: number;
  op: 'put' | 'get';
  only?: 'strake' | 'etcd';
  warmup: number;
}

interface RunResult {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { requests: 5000, runs: 3, inFlight: [1, 64], valueBytes: 256, op: 'put', warmup: 5000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--requests') o.requests = Number(value);
    else if (flag === '--runs') o.runs = Number(value);
    else if (flag === '--in-flight') o.inFlight = value.split(',').map(Number);
    else if (flag === '--value-bytes') o.valueBytes = Number(value);
    else if (flag === '--op') o.op = value === 'get' ? 'get' : 'put';
    else if (flag === '--only') o.only = value === 'etcd' ? 'etcd' : 'strake';
    else if (flag === '--warmup') o.warmup = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  return o;
}

async function runLoad(endpoints: readonly string[], inFlight: number, o: Options): Promise<RunResult> {
  const client = new Etcd3({ hosts: [...endpoints] });
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const request = (i: number): Promise<unknown> => {
    const key = `bench/k${i % 1000}`;
    return o.op === 'put' ? client.put(key).value(value).exec() : client.get(key).exec();
  };
  /** `count` requests, `inFlight` at a time, within RUN_DEADLINE_MS; the latency of each completed one, in ms. */
  const phase = async (count: number): Promise<number[]> => {
    const latenciesMs: number[] = [];
    const deadline = Date.now() + RUN_DEADLINE_MS;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count && Date.now() < deadline) {
        const i = next++;
        const t0 = performance.now();
        await request(i);
        latenciesMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return latenciesMs;
  };
  try {
    if (o.op === 'get') for (let i = 0; i < 1000; i++) await client.put(`bench/k${i}`).value(value).exec();
    if (o.warmup > 0) await phase(o.warmup);
    const t = performance.now();
    const latenciesMs = await phase(o.requests);
    const elapsedS = (performance.now() - t) / 1000;
    latenciesMs.sort((a, b) => a - b);
    return { opsPerSec: latenciesMs.length / elapsedS, p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99) };
  } finally {
    client.close();
  }
}

async function measure(system: 'strake' | 'etcd', o: Options): Promise<Map<number, RunResult>> {
  const out = new Map<number, RunResult>();
  for (const inFlight of o.inFlight) {
    const runs: RunResult[] = [];
    for (let r = 0; r < o.runs; r++) {
      const kind = system === 'etcd' ? ClusterKind.Etcd : ClusterKind.Strake;
      const cluster = await ProcessCluster.start({ kind, basePort: system === 'etcd' ? ETCD_BASE_PORT : STRAKE_BASE_PORT });
      try {
        await cluster.waitReady({ timeoutMs: READY_DEADLINE_MS });
        runs.push(await runLoad(cluster.endpoints().map((e) => `http://${e}`), inFlight, o));
        process.stderr.write(`${system} in-flight=${inFlight} run ${r + 1}/${o.runs}: ${runs[runs.length - 1]!.opsPerSec.toFixed(0)} ops/s\n`);
      } finally {
        await cluster.stopAll();
        cluster.removeData();
      }
    }
    out.set(inFlight, {
      opsPerSec: median(runs.map((x) => x.opsPerSec)),
      p50Ms: median(runs.map((x) => x.p50Ms)),
      p99Ms: median(runs.map((x) => x.p99Ms)),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const systems = o.only === undefined ? (['strake', 'etcd'] as const) : ([o.only] as const);
  const results = new Map<string, Map<number, RunResult>>();
  for (const s of systems) results.set(s, await measure(s, o));
  console.log(`${o.op} benchmark: ${o.requests} timed requests per run after ${o.warmup} untimed, ${o.valueBytes}-byte values, median of ${o.runs} runs`);
  console.log('system   in-flight   ops/s      p50 ms   p99 ms');
  for (const inFlight of o.inFlight) {
    for (const s of systems) {
      const r = results.get(s)!.get(inFlight)!;
      console.log(`${s.padEnd(8)} ${String(inFlight).padStart(9)}   ${r.opsPerSec.toFixed(0).padStart(8)}   ${r.p50Ms.toFixed(2).padStart(6)}   ${r.p99Ms.toFixed(2).padStart(6)}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
