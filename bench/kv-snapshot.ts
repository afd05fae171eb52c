/**
 * Snapshot save and member memory with many keys, side by side: a 3-member Strake
 * cluster and a 3-member etcd cluster (the `etcd` binary from the etcd-server
 * package) on loopback, loaded with the same keys through the same etcd3 client.
 * After the load, each member's resident memory (VmRSS), then the real `etcdctl
 * snapshot save` from the leader's endpoint, timed from etcdctl's start to its
 * exit (as `time etcdctl …` would), with the file's size and the revision and key
 * count read back from the file, which shows that it is complete. A Strake file
 * is Strake's own format, not etcd's bbolt database, so `etcdctl snapshot status`
 * cannot read it; `strake kv snapshot status` does, with the same JSON output.
 * Prints the median of several runs.
 *
 *   node dist/bench/kv-snapshot.js [--keys 100000] [--value-bytes 256] [--runs R]
 *        [--only strake|etcd]
 *
 * Needs `etcd` and `etcdctl` on PATH (Debian packages etcd-server, etcd-client),
 * and the build (`npm run build`).
 * Every run is bounded by --keys and by the deadlines below; a child process that
 * passes its deadline is SIGKILLed by its PID.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../chaos/cluster/poll.js';
import { STRAKE_BIN } from '../cli/up-nodes.js';
import { ClusterKind, findOnPath, ProcessCluster } from '../chaos/cluster/process-cluster.js';
import { median } from './measure.js';

const READY_DEADLINE_MS = 60_000;
/** The whole load: 100,000 puts at Strake's 2,141/s (kv-compare, 64 in flight) take under a minute; this leaves ten times that for a loaded machine. */
const LOAD_DEADLINE_MS = 600_000;
/** Puts in flight during the load, as kv-compare's concurrent case. */
const LOAD_IN_FLIGHT = 64;
/** Progress lines during the load: one per this fraction of the keys. */
const PROGRESS_STEPS = 10;
/** One `etcdctl snapshot save`; etcd saves 100,000 keys in about 0.3 s here. */
const SAVE_DEADLINE_MS = 120_000;
/** One `snapshot status`, which reads and checks the whole file. */
const STATUS_DEADLINE_MS = 60_000;
/** Output kept from a child process for an error message; the rest is dropped. */
const CHILD_OUTPUT_BYTES_MAX = 64 * 1024;
const ETCD_BASE_PORT = 23_200;
const STRAKE_BASE_PORT = 25_200;
const MIB = 1024 * 1024;

type System = 'strake' | 'etcd';

interface Options {
  keys: number;
  valueBytes: number;
  runs: number;
  only?: System;
}

interface RunResult {
  rssMaxMiB: number;
  rssMeanMiB: number;
  saveMs: number;
  fileBytes: number;
  /** What `snapshot status` reads in the file: etcd counts every key revision, Strake the keys live at `revision`. */
  totalKey: number;
  revision: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { keys: 100_000, valueBytes: 256, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    if (flag === '--keys') o.keys = Number(value);
    else if (flag === '--value-bytes') o.valueBytes = Number(value);
    else if (flag === '--runs') o.runs = Number(value);
    else if (flag === '--only') o.only = value === 'etcd' ? 'etcd' : 'strake';
    else throw new Error(`unknown flag ${flag}`);
  }
  for (const [name, n] of [['--keys', o.keys], ['--value-bytes', o.valueBytes], ['--runs', o.runs]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} ${n} is not a positive integer`);
  }
  return o;
}

/** Puts keys 0..keys-1 with LOAD_IN_FLIGHT in flight, reporting progress to stderr. */
async function load(system: System, cluster: ProcessCluster, o: Options): Promise<void> {
  const value = Buffer.alloc(o.valueBytes, 0x61);
  const deadline = Date.now() + LOAD_DEADLINE_MS;
  const progressStep = Math.max(1, Math.ceil(o.keys / PROGRESS_STEPS));
  const started = performance.now();
  let next = 0;
  let done = 0;
  await cluster.withClient(cluster.members.map((m) => m.index), async (c) => {
    const worker = async (): Promise<void> => {
      while (next < o.keys) {
        if (Date.now() >= deadline) throw new Error(`${system}: only ${done} of ${o.keys} keys loaded within ${LOAD_DEADLINE_MS} ms`);
        await c.put(`bench/snapshot/k${next++}`).value(value).exec();
        if (++done % progressStep === 0 || done === o.keys) {
          process.stderr.write(`${system} load: ${done}/${o.keys} keys, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: LOAD_IN_FLIGHT }, worker));
  });
}

/** Resident memory of a process, from /proc/<pid>/status. */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return (Number(m[1]) * 1024) / MIB;
}

interface ChildOutcome {
  /** "code 0", "signal SIGKILL", or why it did not start. */
  readonly exit: string;
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command (etcdctl: with ETCDCTL_API=3), SIGKILLing it by PID if it runs past `deadlineMs`. */
function runChild(command: string, args: readonly string[], deadlineMs: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
    const out = { stdout: '', stderr: '' };
    const keep = (stream: keyof typeof out) => (d: Buffer): void => {
      const room = CHILD_OUTPUT_BYTES_MAX - out[stream].length;
      if (room > 0) out[stream] += d.toString().slice(0, room);
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, deadlineMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ exit: err.message, ok: false, ...out });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const exit = timedOut ? `killed after ${deadlineMs} ms` : signal !== null ? `signal ${signal}` : `code ${code}`;
      resolve({ exit, ok: code === 0 && !timedOut, ...out });
    });
  });
}

/** The counts `snapshot status -w json` prints, e.g. {"hash":…,"revision":…,"totalKey":…,"totalSize":…}. */
function parseSnapshotStatus(stdout: string): { totalKey: number; revision: number } {
  let parsed: { totalKey?: unknown; revision?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch (err) {
    throw new Error(`snapshot status printed no JSON (${errorMessage(err)}): ${stdout}`);
  }
  if (typeof parsed.totalKey !== 'number' || typeof parsed.revision !== 'number') throw new Error(`snapshot status printed no totalKey and revision: ${stdout}`);
  return { totalKey: parsed.totalKey, revision: parsed.revision };
}

/** The command line that reads a saved file back: each system's own `snapshot status`. */
function statusCommand(system: System, etcdctl: string, file: string): { command: string; args: string[] } {
  const args = ['snapshot', 'status', file, '-w', 'json'];
  return system === 'etcd' ? { command: etcdctl, args } : { command: process.execPath, args: [STRAKE_BIN, 'kv', ...args] };
}

/** Saves a snapshot from `endpoint` with etcdctl, then reads it back with `snapshot status`. */
async function saveSnapshot(system: System, etcdctl: string, endpoint: string): Promise<Pick<RunResult, 'saveMs' | 'fileBytes' | 'totalKey' | 'revision'>> {
  const dir = mkdtempSync(join(tmpdir(), 'kv-snapshot-'));
  try {
    const file = join(dir, 'snapshot.db');
    const commandTimeoutS = Math.ceil(SAVE_DEADLINE_MS / 1000);
    const started = performance.now();
    const save = await runChild(etcdctl, [`--endpoints=http://${endpoint}`, `--command-timeout=${commandTimeoutS}s`, 'snapshot', 'save', file], SAVE_DEADLINE_MS);
    const saveMs = performance.now() - started;
    if (!save.ok) throw new Error(`etcdctl snapshot save from ${endpoint} failed (${save.exit}): ${save.stderr}${save.stdout}`);
    const fileBytes = statSync(file).size;
    const reader = statusCommand(system, etcdctl, file);
    const status = await runChild(reader.command, reader.args, STATUS_DEADLINE_MS);
    if (!status.ok) throw new Error(`snapshot status of a ${fileBytes}-byte file from ${endpoint} failed (${status.exit}): ${status.stderr}${status.stdout}`);
    return { saveMs, fileBytes, ...parseSnapshotStatus(status.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runOnce(system: System, cluster: ProcessCluster, etcdctl: string, o: Options): Promise<RunResult> {
  await cluster.waitReady({ timeoutMs: READY_DEADLINE_MS });
  await load(system, cluster, o);
  const rss = cluster.members.map((m) => {
    const pid = cluster.pid(m.index);
    if (pid === undefined || !cluster.isRunning(m.index)) throw new Error(`${system}: ${m.name} is not running (${cluster.exitOf(m.index) ?? 'never started'})`);
    return rssMiB(pid);
  });
  const leader = await cluster.leaderIndex(READY_DEADLINE_MS);
  const snapshot = await saveSnapshot(system, etcdctl, cluster.endpoint(leader));
  return { rssMaxMiB: Math.max(...rss), rssMeanMiB: rss.reduce((a, b) => a + b, 0) / rss.length, ...snapshot };
}

async function measure(system: System, etcdctl: string, o: Options): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let r = 0; r < o.runs; r++) {
    const kind = system === 'etcd' ? ClusterKind.Etcd : ClusterKind.Strake;
    const cluster = await ProcessCluster.start({ kind, basePort: system === 'etcd' ? ETCD_BASE_PORT : STRAKE_BASE_PORT });
    try {
      const x = await runOnce(system, cluster, etcdctl, o);
      runs.push(x);
      process.stderr.write(
        `${system} run ${r + 1}/${o.runs}: RSS max ${x.rssMaxMiB.toFixed(1)} MiB, mean ${x.rssMeanMiB.toFixed(1)} MiB; ` +
          `snapshot save ${x.saveMs.toFixed(0)} ms, ${(x.fileBytes / MIB).toFixed(1)} MiB, ${x.totalKey} keys, revision ${x.revision}\n`,
      );
    } catch (err) {
      throw new Error(`${errorMessage(err)}\n${cluster.logTails()}`);
    } finally {
      await cluster.stopAll();
      cluster.removeData();
    }
  }
  return runs;
}

function printTable(systems: readonly System[], results: ReadonlyMap<System, RunResult[]>, o: Options): void {
  console.log(`snapshot benchmark: ${o.keys} keys of ${o.valueBytes} bytes, median of ${o.runs} runs`);
  console.log('system   RSS max MiB   RSS mean MiB   save ms   file MiB   keys in file   revision');
  for (const s of systems) {
    const runs = results.get(s)!;
    const m = (f: (x: RunResult) => number): number => median(runs.map(f));
    console.log(
      `${s.padEnd(8)} ${m((x) => x.rssMaxMiB).toFixed(1).padStart(11)}   ${m((x) => x.rssMeanMiB).toFixed(1).padStart(12)}   ` +
        `${m((x) => x.saveMs).toFixed(0).padStart(7)}   ${(m((x) => x.fileBytes) / MIB).toFixed(1).padStart(8)}   ` +
        `${String(m((x) => x.totalKey)).padStart(12)}   ${String(m((x) => x.revision)).padStart(8)}`,
    );
  }
  for (const s of systems) {
    const short = results.get(s)!.filter((x) => x.totalKey < o.keys);
    if (short.length > 0) console.log(`${s}: ${short.length} of ${o.runs} snapshots hold fewer keys than the ${o.keys} loaded (${short.map((x) => x.totalKey).join(', ')})`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const etcdctl = findOnPath('etcdctl');
  if (etcdctl === undefined) throw new Error('etcdctl is not on PATH (Debian package etcd-client)');
  const systems = o.only === undefined ? (['strake', 'etcd'] as const) : ([o.only] as const);
  const results = new Map<System, RunResult[]>();
  for (const s of systems) results.set(s, await measure(s, etcdctl, o));
  printTable(systems, results, o);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
