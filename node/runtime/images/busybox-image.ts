/**
 * A one-layer OCI image built from a static busybox binary: bin/busybox, one
 * symlink per wanted applet the binary has, /tmp, /etc/passwd and /etc/group.
 * Output is deterministic (fixed mtimes, owners, order), so the same binary
 * always gives the same digests. Used to seed nodes and containerd offline.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, readSync, closeSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256Digest, digestHex } from './digest.js';
import { ImageError, ImageErrorCode, errorText } from './errors.js';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MediaType, hostPlatform, type Descriptor, type ImageIndex, type ImageManifest } from './media-types.js';
import { parseReference, formatReference } from './reference.js';
import { writeTar, type TarWriteEntry } from './tar-writer.js';

/** The name `strake up` seeds nodes with. */
export const BUSYBOX_IMAGE_REF = 'docker.io/library/busybox:latest';

/** Applets linked when the binary has them; `sh` is required. */
export const BUSYBOX_APPLETS: readonly string[] = [
  'sh', 'ash', 'sleep', 'httpd', 'wget', 'nc', 'cat', 'echo', 'ls', 'env', 'hostname', 'dd', 'true', 'false',
  'ps', 'kill', 'mkdir', 'rm', 'id', 'head', 'tail', 'seq', 'printf', 'grep', 'date', 'ip', 'test', '[', 'touch',
  'cp', 'mv', 'ln', 'chmod', 'pwd', 'sed', 'awk', 'wc', 'tee', 'timeout', 'uname', 'whoami', 'yes', 'nslookup',
  'ping', 'netstat', 'top', 'free', 'df', 'du', 'find', 'xargs', 'sort', 'uniq', 'tr', 'cut', 'stat', 'readlink',
  'sync', 'usleep', 'nproc', 'mount', 'umount', 'ifconfig', 'vi', 'less', 'md5sum', 'sha256sum', 'base64', 'od',
  'hexdump', 'expr', 'basename', 'dirname', 'tar', 'gzip', 'gunzip', 'zcat', 'nohup', 'setsid', 'pidof', 'killall',
];

/** Every file in the image gets this mtime: 2000-01-01T00:00:00Z. */
const IMAGE_MTIME_SEC = 946_684_800;
const IMAGE_CREATED = '2000-01-01T00:00:00Z';
/** `busybox --list` answers in milliseconds; a hung binary must not hang the caller. */
const LIST_TIMEOUT_MS = 10_000;

export interface BuildBusyboxImageOptions {
  busyboxPath: string;
  /** Image name, normalized Docker-style (`busybox` -> `docker.io/library/busybox:latest`). */
  ref: string;
  outFile: string;
  /** `oci-archive`: one tar file. `oci-layout-dir`: an OCI image layout directory at outFile. */
  format: 'oci-archive' | 'oci-layout-dir';
  /** Compress the layer with gzip (default false: an uncompressed layer, digest = diff_id). */
  gzip?: boolean;
}

export interface BuiltImage {
  /** The normalized reference the image carries. */
  ref: string;
  manifestDigest: string;
  /** The image id. */
  configDigest: string;
  layerDigest: string;
  diffId: string;
  applets: string[];
}

/** The blobs of an OCI image plus the index that names it. */
export interface OciImageBlobs {
  blobs: Map<string, Buffer>;
  index: ImageIndex;
  manifestDigest: string;
  configDigest: string;
}

export function buildBusyboxImage(o: BuildBusyboxImageOptions): BuiltImage {
  const ref = formatReference(parseReference(o.ref));
  const available = busyboxApplets(o.busyboxPath);
  if (!available.has('sh')) throw new ImageError(ImageErrorCode.Internal, `${o.busyboxPath} has no sh applet`);
  const applets = BUSYBOX_APPLETS.filter((a) => available.has(a));
  const layer = writeTar(busyboxLayerEntries(readFileSync(o.busyboxPath), applets));
  const image = ociImageBlobs({ ref, layerTar: layer, gzip: o.gzip ?? false, config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } });
  if (o.format === 'oci-archive') writeOciArchive(o.outFile, image);
  else writeOciLayoutDir(o.outFile, image);
  const manifest = JSON.parse(image.blobs.get(image.manifestDigest)!.toString('utf8')) as ImageManifest;
  return { ref, manifestDigest: image.manifestDigest, configDigest: image.configDigest, layerDigest: manifest.layers[0]!.digest, diffId: sha256Digest(layer), applets };
}

function busyboxLayerEntries(binary: Buffer, applets: readonly string[]): TarWriteEntry[] {
  const t = IMAGE_MTIME_SEC;
  const dirs: TarWriteEntry[] = ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'usr/bin', 'var', 'var/tmp'].map((path) => ({
    path,
    type: 'dir' as const,
    mode: path === 'tmp' || path === 'var/tmp' ? 0o1777 : path === 'root' ? 0o700 : 0o755,
    mtimeSec: t,
  }));
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n';
  const group = 'root:x:0:\nnobody:x:65534:\n';
  return [
    ...dirs,
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: binary, mtimeSec: t },
    ...applets.map((a): TarWriteEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox', mtimeSec: t })),
    { path: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from(passwd), mtimeSec: t },
    { path: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from(group), mtimeSec: t },
  ];
}

export interface OciImageInput {
  ref: string | undefined;
  /** Uncompressed layer tars, bottom first. */
  layerTar: Buffer | Buffer[];
  gzip: boolean;
  config: { Cmd?: string[]; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string; User?: string };
}

/** Builds config, manifest and index for the given layers (also used by tests to make images). */
export function ociImageBlobs(input: OciImageInput): OciImageBlobs {
  const blobs = new Map<string, Buffer>();
  const put = (data: Buffer): string => {
    const d = sha256Digest(data);
    blobs.set(d, data);
    return d;
  };
  const layers = Array.isArray(input.layerTar) ? input.layerTar : [input.layerTar];
  const layerDescs: Descriptor[] = layers.map((tar) => {
    const data = input.gzip ? gzipSync(tar, { level: 9 }) : tar;
    return { mediaType: input.gzip ? MediaType.OciLayerGzip : MediaType.OciLayer, digest: put(data), size: data.length };
  });
  const { os, architecture } = hostPlatform();
  const config = Buffer.from(
    JSON.stringify({
      created: IMAGE_CREATED,
      architecture,
      os,
      config: input.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Digest(l)) },
      history: layers.map(() => ({ created: IMAGE_CREATED, created_by: 'strake image build' })),
    }),
  );
  const configDigest = put(config);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers: layerDescs }),
  );
  const manifestDigest = put(manifest);
  const desc: Descriptor = { mediaType: MediaType.OciManifest, digest: manifestDigest, size: manifest.length, platform: { architecture, os } };
  if (input.ref !== undefined) {
    const parsed = parseReference(input.ref);
    // OCI layouts conventionally name a manifest by its tag; containerd reads the full name from its own annotation.
    desc.annotations = { [ANNOTATION_CONTAINERD_NAME]: formatReference(parsed), [ANNOTATION_REF_NAME]: parsed.tag ?? formatReference(parsed) };
  }
  return { blobs, index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [desc] }, manifestDigest, configDigest };
}

export function writeOciArchive(outFile: string, image: OciImageBlobs): void {
  const t = IMAGE_MTIME_SEC;
  const entries: TarWriteEntry[] = [
    { path: 'blobs', type: 'dir', mtimeSec: t },
    { path: 'blobs/sha256', type: 'dir', mtimeSec: t },
    ...[...image.blobs].sort(([a], [b]) => a.localeCompare(b)).map(([d, data]): TarWriteEntry => ({ path: `blobs/sha256/${digestHex(d)}`, type: 'file', data, mtimeSec: t })),
    { path: 'oci-layout', type: 'file', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}'), mtimeSec: t },
    { path: 'index.json', type: 'file', data: Buffer.from(JSON.stringify(image.index)), mtimeSec: t },
  ];
  mkdirSync(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  writeFileSync(tmp, writeTar(entries));
  renameSync(tmp, outFile);
}

export function writeOciLayoutDir(dir: string, image: OciImageBlobs): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [d, data] of image.blobs) writeFileSync(join(dir, 'blobs', 'sha256', digestHex(d)), data);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify(image.index));
}

function busyboxApplets(busyboxPath: string): Set<string> {
  const r = spawnSync(busyboxPath, ['--list'], { encoding: 'utf8', timeout: LIST_TIMEOUT_MS });
  if (r.error !== undefined || r.status !== 0) {
    throw new ImageError(ImageErrorCode.Internal, `${busyboxPath} --list failed: ${r.error === undefined ? `exit ${r.status} ${r.stderr.trim()}` : errorText(r.error)}`);
  }
  return new Set(r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
}

/** The first `busybox` on PATH that is a static executable, or undefined. */
export function findBusybox(pathEnv = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of [...pathEnv.split(delimiter), '/bin', '/usr/bin'].filter((d) => d !== '')) {
    const candidate = join(dir, 'busybox');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (isStaticElf(candidate)) return candidate;
  }
  return undefined;
}

/** An ELF executable with no PT_INTERP program header needs no dynamic loader, so it runs in an empty rootfs. */
export function isStaticElf(file: string): boolean {
  const PT_INTERP = 3;
  /** Program headers of real binaries fit easily; a bound keeps a hostile file from making us read much. */
  const HEADER_BYTES_MAX = 64 * 1024;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc(HEADER_BYTES_MAX);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n < 52 || buf.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = buf[4] === 2;
    const le = buf[5] === 1;
    const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const phoff = is64 ? Number(le ? buf.readBigUInt64LE(32) : buf.readBigUInt64BE(32)) : u32(28);
    const phentsize = u16(is64 ? 54 : 42);
    const phnum = u16(is64 ? 56 : 44);
    if (phnum === 0 || phoff + phentsize * phnum > n) return false;
    for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === PT_INTERP) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}
