/**
 * `strake runtime`: the built-in CRI runtime as a server on a unix socket.
 *
 *   strake runtime --root-dir /var/lib/strake/runtime --listen unix:///run/strake/runtime.sock
 *                  [--isolation runc|process] [--pod-cidr 10.244.1.0/24] [--node-name n1]
 *
 * Images live in `<root-dir>/images` (an OCI image layout; `strake image import`
 * fills it). Runs until SIGINT/SIGTERM; containers keep running after it stops,
 * and the next `strake runtime` over the same root dir takes them back.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CriError } from '../node/cri/errors.js';
import { serveCri } from '../node/cri/server.js';
import { BuiltinRuntime } from '../node/runtime/builtin-runtime.js';
import { ImageStore } from '../node/runtime/images/image-store.js';
import type { Isolation } from '../node/runtime/state-store.js';
import type { ExitCodeSink } from './main.js';
import { untilSignal } from './node.js';

interface RuntimeFlags {
  rootDir: string;
  listen: string;
  isolation?: string;
  podCidr?: string;
  nodeName?: string;
  imageDir?: string;
}

export function registerRuntimeCommand(program: Command, setExitCode: ExitCodeSink): void {
  program
    .command('runtime')
    .description('serve the built-in CRI runtime (runc, or plain processes without root/runc) on a unix socket')
    .requiredOption('--root-dir <dir>', 'where sandboxes, containers, runc state and images live')
    .requiredOption('--listen <endpoint>', 'CRI endpoint to serve, unix:///path.sock')
    .option('--isolation <mode>', 'runc | process (default: runc when root and runc is on PATH)')
    .option('--pod-cidr <cidr>', 'IPv4 CIDR for pod addresses on a bridge inside the runtime network namespace (default: loopback-only pods)')
    .option('--node-name <name>', 'names the bridge network namespace strake-<name>', 'node')
    .option('--image-dir <dir>', 'image store directory (default: <root-dir>/images)')
    .action(async (flags: RuntimeFlags) => {
      setExitCode(await runRuntime(flags));
    });
}

async function runRuntime(f: RuntimeFlags): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} runtime ${line}\n`);
  if (f.isolation !== undefined && f.isolation !== 'runc' && f.isolation !== 'process') {
    process.stderr.write(`strake runtime: --isolation must be runc or process, not "${f.isolation}"\n`);
    return 2;
  }
  if (!f.listen.startsWith('unix://')) {
    process.stderr.write(`strake runtime: --listen ${f.listen} is not a unix:// endpoint\n`);
    return 2;
  }
  const rootDir = resolve(f.rootDir);
  let runtime: BuiltinRuntime;
  try {
    const images = await ImageStore.open(f.imageDir ?? join(rootDir, 'images'));
    runtime = await BuiltinRuntime.open({
      rootDir,
      images,
      ...(f.isolation === undefined ? {} : { isolation: f.isolation as Isolation }),
      ...(f.podCidr === undefined ? {} : { podCidr: f.podCidr }),
      ...(f.nodeName === undefined ? {} : { nodeName: f.nodeName }),
      log,
    });
  } catch (err) {
    process.stderr.write(`strake runtime: ${(err as Error).message}\n`);
    return err instanceof CriError ? 2 : 1;
  }
  const server = await serveCri(runtime, { endpoint: f.listen });
  const ready = (await runtime.status({ verbose: false })).status?.conditions ?? [];
  log(`serving CRI on ${f.listen} (isolation ${runtime.isolation}; ${ready.map((c) => `${c.type}: ${c.message}`).join('; ')})`);
  const sig = await untilSignal();
  log(`received ${sig}; stopping (containers keep running; a new runtime over ${rootDir} takes them back)`);
  await server.close();
  await runtime.close();
  return 0;
}
