/**
 * `strake chaos kv`: the leader-kill chaos run against real master processes,
 * from the command line. Progress on stderr, one JSON line on stdout; exit 1
 * when the history is not linearizable or an acknowledged write was lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NemesisFault, runKvChaos } from '../chaos/kv/kv-chaos.js';
import type { ExitCodeSink } from './main.js';
import { parseIntegerOption } from './options.js';

interface ChaosKvFlags {
  seed?: number;
  durationMs: number;
  basePort: number;
  dataDir?: string;
  clients: number;
  keys: number;
  faults: string;
  killEveryMs: number;
  downMs: number;
  keepData?: boolean;
}

function int(flag: string, min: number, max: number): (v: string) => number {
  return (v: string): number => parseIntegerOption(flag, v, min, max);
}

export function registerChaosCommand(program: Command, setExitCode: ExitCodeSink): void {
  const chaos = program.command('chaos').description('fault-injection runs against real processes');
  chaos
    .command('kv')
    .description('kill the store leader, isolate it, or split the cluster, under concurrent clients; check linearizability and lost writes')
    .option('--seed <n>', 'seed for the clients and the nemesis (default: time based)', int('--seed', 0, 2 ** 47))
    .option('--duration-ms <ms>', 'length of the fault phase', int('--duration-ms', 1000, 24 * 3600 * 1000), 30_000)
    .option('--base-port <port>', 'first port of the 3-member cluster', int('--base-port', 1024, 65_000), 22_000)
    .option('--data-dir <dir>', 'where the members keep their data (default: a temporary directory)')
    .option('--clients <n>', 'concurrent clients', int('--clients', 1, 256), 6)
    .option('--keys <n>', 'keys the clients contend on', int('--keys', 1, 1000), 4)
    .option('--faults <list>', 'faults to pick from: kill, isolate-leader, split (comma-separated)', 'kill')
    .option('--kill-every-ms <ms>', 'mean time between faults', int('--kill-every-ms', 500, 3600_000), 3000)
    .option('--down-ms <ms>', 'how long a fault lasts (a killed member stays down, a partition stays)', int('--down-ms', 0, 3600_000), 1000)
    .option('--keep-data', 'keep the data directory afterwards')
    .action(async (f: ChaosKvFlags) => {
      const faults = f.faults.split(',').map((x) => x.trim());
      const unknown = faults.filter((x) => !(Object.values(NemesisFault) as string[]).includes(x));
      if (unknown.length > 0 || faults.length === 0) {
        process.stderr.write(`--faults: unknown fault ${JSON.stringify(unknown.join(','))}; choose from ${Object.values(NemesisFault).join(', ')}\n`);
        setExitCode(2);
        return;
      }
      const seed = f.seed ?? Date.now() % 1_000_000_000;
      process.stderr.write(`strake chaos kv: seed ${seed}\n`);
      const dir = f.dataDir ?? (await mkdtemp(join(tmpdir(), 'strake-chaos-')));
      try {
        const r = await runKvChaos({
          dir, basePort: f.basePort, seed, durationMs: f.durationMs, clients: f.clients, keys: f.keys,
          killEveryMs: f.killEveryMs, downMs: f.downMs, faults: faults as NemesisFault[], log: (l) => void process.stderr.write(`${l}\n`),
        });
        const ok = r.check.result === 'ok' && r.lostWrites.length === 0;
        if (!ok) process.stderr.write(`${JSON.stringify(r.check, null, 2)}\nlost writes: ${r.lostWrites.join(', ')}\n${r.logTails}\n`);
        process.stdout.write(`${JSON.stringify({ seed, operations: r.operations, faults: r.faults, ackedWrites: r.ackedUniqueWrites, lostWrites: r.lostWrites.length, linearizable: r.check.result })}\n`);
        setExitCode(ok ? 0 : 1);
      } finally {
        if (f.dataDir === undefined && f.keepData !== true) await rm(dir, { recursive: true, force: true });
      }
    });
}
