/**
 * `strake image`: the node image store from the command line.
 *
 *   strake image import busybox.tar            # OCI archive or docker-archive
 *   strake image pull 127.0.0.1:5000/app:1 --insecure
 *   strake image ls
 *   strake image rm busybox
 *
 * `--root-dir` is the store directory (default `.strake/images`); a node keeps
 * its store under `<node root-dir>/images`, so point there to manage a node's
 * images. Results go to stdout, progress and errors to stderr.
 */
import type { Command } from 'commander';
import { ImageError, ImageErrorCode, errorText } from '../node/runtime/images/errors.js';
import { ImageStore, type ImageInfo, type PullProgress } from '../node/runtime/images/image-store.js';
import { parseReference, repositoryName } from '../node/runtime/images/reference.js';
import type { ExitCodeSink } from './main.js';
import { parseIntegerOption } from './options.js';

const DEFAULT_ROOT_DIR = '.strake/images';
/** A pull of a large image over a slow link takes minutes; past an hour something is wrong. */
const PULL_TIMEOUT_MS_DEFAULT = 10 * 60_000;
const PULL_TIMEOUT_MS_MAX = 24 * 3600_000;
/** Progress lines per blob at most this often, so a fast pull does not flood the terminal. */
const PROGRESS_INTERVAL_MS = 1_000;

const ROOT_DIR_HELP = `image store directory (default ${DEFAULT_ROOT_DIR}); a node keeps its store under <node root-dir>/images`;

interface StoreFlags {
  rootDir: string;
}

export function registerImageCommand(program: Command, setExitCode: ExitCodeSink): void {
  const image = program.command('image').description('manage a node image store (OCI image layout): import, pull, list, remove');
  image
    .command('import <file>')
    .description('load an OCI archive or docker-archive (docker save) into the store; prints the references imported')
    .option('--root-dir <dir>', ROOT_DIR_HELP, DEFAULT_ROOT_DIR)
    .option('--ref <ref>', 'name for an image the archive does not name')
    .action(async (file: string, f: StoreFlags & { ref?: string }) => {
      setExitCode(
        await run('import', async () => {
          const refs = await (await ImageStore.open(f.rootDir)).importTar(file, f.ref === undefined ? {} : { ref: f.ref });
          for (const r of refs) process.stdout.write(`${r}\n`);
        }),
      );
    });
  image
    .command('pull <ref>')
    .description('pull an image from an OCI distribution registry (linux, this host\'s architecture); progress on stderr')
    .option('--root-dir <dir>', ROOT_DIR_HELP, DEFAULT_ROOT_DIR)
    .option('--insecure', 'allow plain HTTP and unverified TLS', false)
    .option('--timeout-ms <ms>', `deadline of the whole pull (default ${PULL_TIMEOUT_MS_DEFAULT})`, (v) => parseIntegerOption('--timeout-ms', v, 1, PULL_TIMEOUT_MS_MAX))
    .action(async (ref: string, f: StoreFlags & { insecure: boolean; timeoutMs?: number }) => {
      setExitCode(
        await run('pull', async () => {
          const store = await ImageStore.open(f.rootDir);
          const r = await store.pull(ref, { insecure: f.insecure, timeoutMs: f.timeoutMs ?? PULL_TIMEOUT_MS_DEFAULT, onProgress: progressPrinter() });
          process.stdout.write(`${r.ref} ${r.id} ${r.repoDigest}\n`);
        }),
      );
    });
  image
    .command('ls')
    .description('list the images in the store')
    .option('--root-dir <dir>', ROOT_DIR_HELP, DEFAULT_ROOT_DIR)
    .action(async (f: StoreFlags) => {
      setExitCode(
        await run('ls', async () => {
          process.stdout.write(formatImageTable(await (await ImageStore.open(f.rootDir)).list()));
        }),
      );
    });
  image
    .command('rm <ref>')
    .description('remove a name (tag or repo@digest) or, given an image id, the image and all its names')
    .option('--root-dir <dir>', ROOT_DIR_HELP, DEFAULT_ROOT_DIR)
    .action(async (ref: string, f: StoreFlags) => {
      setExitCode(
        await run('rm', async () => {
          if (!(await (await ImageStore.open(f.rootDir)).remove(ref))) throw new ImageError(ImageErrorCode.NotFound, `no image ${ref} in ${f.rootDir}`);
          process.stdout.write(`removed ${ref}\n`);
        }),
      );
    });
}

async function run(what: string, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (err) {
    process.stderr.write(`strake image ${what}: ${errorText(err)}\n`);
    return err instanceof ImageError && err.code === ImageErrorCode.InvalidReference ? 2 : 1;
  }
}

function progressPrinter(): (p: PullProgress) => void {
  const last = new Map<string, number>();
  return (p) => {
    const now = Date.now();
    if (!p.done && now - (last.get(p.digest) ?? 0) < PROGRESS_INTERVAL_MS) return;
    last.set(p.digest, now);
    const pct = p.bytesTotal === 0 ? 100 : Math.floor((p.bytesDone / p.bytesTotal) * 100);
    process.stderr.write(`${p.kind} ${p.digest.slice(7, 19)} ${p.done ? 'done' : `${pct}%`} ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}\n`);
  };
}

/** crictl-like: one row per name, untagged images once with <none>. */
export function formatImageTable(images: readonly ImageInfo[]): string {
  const rows: string[][] = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
  for (const img of images) {
    const id = img.id.slice(7, 19);
    const size = formatBytes(img.size);
    if (img.repo_tags.length === 0) {
      const repo = img.repo_digests[0]?.split('@')[0] ?? '<none>';
      rows.push([repo, '<none>', id, size]);
    }
    for (const t of img.repo_tags) {
      const p = parseReference(t);
      rows.push([repositoryName(p), p.tag ?? '<none>', id, size]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ')).join('\n') + '\n';
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)}${units[u]}`;
}
