/** Image archives built in tests with the store's own tar writer. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBusybox, ociImageBlobs, writeOciArchive } from '../../../../node/runtime/images/busybox-image.js';
import { sha256Digest } from '../../../../node/runtime/images/digest.js';
import { writeTar, type TarWriteEntry } from '../../../../node/runtime/images/tar-writer.js';

export function mustFindBusybox(): string {
  const p = findBusybox();
  if (p === undefined) throw new Error('this test needs a static busybox on PATH (Debian: apt-get install busybox-static)');
  return p;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `strake-${prefix}-`));
}

export function file(path: string, text: string, mode = 0o644): TarWriteEntry {
  return { path, type: 'file', data: Buffer.from(text), mode };
}

export function dir(path: string, mode = 0o755): TarWriteEntry {
  return { path, type: 'dir', mode };
}

/** An OCI archive of the given layers (entry lists, bottom first). */
export async function writeLayersArchive(out: string, ref: string | undefined, layers: TarWriteEntry[][], gzip = false): Promise<{ configDigest: string }> {
  const image = ociImageBlobs({ ref, layerTar: layers.map((l) => writeTar(l)), gzip, config: { Cmd: ['sh'], User: '1000:1000', WorkingDir: '/w', Env: ['A=1'] } });
  writeOciArchive(out, image);
  return { configDigest: image.configDigest };
}

/** A `docker save` style archive: manifest.json, <config hex>.json, <n>/layer.tar (and a symlinked duplicate layer). */
export async function writeDockerArchive(out: string, repoTags: string[], layers: TarWriteEntry[][]): Promise<{ configDigest: string }> {
  const tars = layers.map((l) => writeTar(l));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], User: 'nobody' }, rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256Digest(t)) } }));
  const configName = `${sha256Digest(config).slice(7)}.json`;
  const entries: TarWriteEntry[] = [];
  const layerPaths: string[] = [];
  tars.forEach((t, i) => {
    entries.push({ path: `l${i}`, type: 'dir' });
    const seen = tars.findIndex((x) => x.equals(t));
    if (seen < i) entries.push({ path: `l${i}/layer.tar`, type: 'symlink', linkname: `../l${seen}/layer.tar` });
    else entries.push({ path: `l${i}/layer.tar`, type: 'file', data: t });
    layerPaths.push(`l${i}/layer.tar`);
  });
  entries.push({ path: configName, type: 'file', data: config });
  entries.push({ path: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layerPaths }])) });
  await writeFile(out, writeTar(entries));
  return { configDigest: sha256Digest(config) };
}

/** Every file under dir, relative, sorted: to prove a refused import left a store unchanged. */
export async function snapshotTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n);
      const st = await stat(p);
      if (st.isDirectory()) {
        out.push(`${rel}${n}/`);
        await walk(p, `${rel}${n}/`);
      } else out.push(`${rel}${n} ${st.size} ${n === 'index.json' ? (await readFile(p)).toString() : ''}`);
    }
  };
  await walk(root, '');
  return out;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function isMounted(path: string): boolean {
  const r = spawnSync('mountpoint', ['-q', path]);
  return r.status === 0;
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
