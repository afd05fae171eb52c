/**
 * Staging of image archives: an OCI archive (oci-layout + index.json + blobs/)
 * or a docker-archive (`docker save`: manifest.json + config + layer tars,
 * also the newer form whose files sit under blobs/). Every file is hashed into
 * the store's tmp/ first; nothing reaches blobs/ or index.json until the whole
 * archive has been read and checked, so a corrupt or truncated archive leaves
 * the store as it was.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { sha256Digest } from './digest.js';
import { ImageError, ImageErrorCode } from './errors.js';
import { checkIndex, checkManifest, choosePlatform, isIndexMediaType } from './image-model.js';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MediaType, isGzip, type Descriptor, type ImageConfigFile } from './media-types.js';
import { JSON_BLOB_BYTES_MAX, hasBlob, parseJson, readJsonBlob, stageStream, type StagedBlob } from './oci-layout.js';
import { normalizeReference } from './reference.js';
import { readTar } from './tar-reader.js';

/** An archive with more entries than this is not an image archive we want to stage. */
const ARCHIVE_ENTRIES_MAX = 100_000;
/** Per-file bound inside an archive (a layer blob). */
export const BLOB_BYTES_MAX = 16 * 1024 * 1024 * 1024;

export interface StagedImage {
  /** Normalized references; empty for an image the archive does not name. */
  names: string[];
  manifestDigest: string;
  /** The digest the archive named the image by when that was an index, else undefined. */
  repoDigest: string | undefined;
}

export interface StagedArchive {
  images: StagedImage[];
  /** Verified blobs to commit, by digest. */
  blobs: Map<string, StagedBlob>;
}

interface ArchiveFile extends StagedBlob {
  head: Buffer;
}

interface ArchiveFiles {
  files: Map<string, ArchiveFile>;
  links: Map<string, string>;
}

export async function stageArchive(o: { storeDir: string; file: string; stagingDir: string; ref?: string }): Promise<StagedArchive> {
  const contents = await readArchiveFiles(o.file, o.stagingDir);
  if (contents.files.has('index.json')) return stageOci(o, contents);
  if (contents.files.has('manifest.json')) return stageDocker(o, contents);
  throw new ImageError(ImageErrorCode.InvalidArchive, `${o.file} is neither an OCI archive (no index.json) nor a docker-archive (no manifest.json)`);
}

async function readArchiveFiles(file: string, stagingDir: string): Promise<ArchiveFiles> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const head = await readHead(file);
  const raw = createReadStream(file);
  const source = isGzip(head) ? raw.pipe(createGunzip()) : raw;
  if (source !== raw) raw.on('error', (err) => source.destroy(err));
  let n = 0;
  try {
    await readTar(
      source,
      async (e, body) => {
        if (++n > ARCHIVE_ENTRIES_MAX) throw new ImageError(ImageErrorCode.TooLarge, `${file} has more than ${ARCHIVE_ENTRIES_MAX} entries`);
        const path = posix.normalize(e.path).replace(/^(\.\/|\/)+/, '').replace(/\/$/, '');
        if (e.kind === 'symlink') links.set(path, posix.normalize(posix.join(posix.dirname(path), e.linkname)));
        if (e.kind === 'hardlink') links.set(path, posix.normalize(e.linkname).replace(/^(\.\/|\/)+/, ''));
        if (e.kind !== 'file') return;
        let first: Buffer = Buffer.alloc(0);
        const staged = await stageStream(body, join(stagingDir, `f${n}`), { sizeMax: BLOB_BYTES_MAX, what: `${file} entry ${path}` });
        if (staged.size > 0) first = await readHead(staged.file);
        files.set(path, { ...staged, head: first });
      },
      file,
    );
  } finally {
    source.destroy();
  }
  return { files, links };
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function lookup(c: ArchiveFiles, path: string, what: string): ArchiveFile {
  let p = posix.normalize(path).replace(/^(\.\/|\/)+/, '');
  for (let hops = 0; hops < 16 && !c.files.has(p) && c.links.has(p); hops++) p = c.links.get(p)!;
  const f = c.files.get(p);
  if (f === undefined) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: the archive has no file ${path}`);
  return f;
}

async function smallJson<T>(f: ArchiveFile, what: string): Promise<T> {
  if (f.size > JSON_BLOB_BYTES_MAX) throw new ImageError(ImageErrorCode.TooLarge, `${what} is ${f.size} bytes, limit ${JSON_BLOB_BYTES_MAX}`);
  return parseJson<T>(await readFile(f.file), what);
}

async function stageOci(o: { storeDir: string; file: string; ref?: string }, c: ArchiveFiles): Promise<StagedArchive> {
  const blobs = new Map<string, ArchiveFile>();
  for (const [path, f] of c.files) {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
    if (m === null) continue;
    if (f.digest !== `sha256:${m[1]}`) throw new ImageError(ImageErrorCode.DigestMismatch, `${o.file}: ${path} has content ${f.digest}`);
    blobs.set(f.digest, f);
  }
  const json = async <T>(d: Descriptor, what: string): Promise<T> => {
    const f = blobs.get(d.digest);
    if (f !== undefined) return smallJson<T>(f, what);
    if (await hasBlob(o.storeDir, d.digest)) return readJsonBlob<T>(o.storeDir, d.digest);
    throw new ImageError(ImageErrorCode.InvalidArchive, `${o.file}: ${what} ${d.digest} is not in the archive`);
  };
  const index = checkIndex(await smallJson<unknown>(lookup(c, 'index.json', o.file), `${o.file} index.json`), `${o.file} index.json`);
  const images = new Map<string, StagedImage>();
  for (const top of index.manifests) {
    const names = ociNames(top, o.ref);
    let desc = top;
    let repoDigest: string | undefined;
    if (isIndexMediaType(top.mediaType)) {
      desc = choosePlatform(checkIndex(await json<unknown>(top, 'index'), `${o.file} index ${top.digest}`), `${o.file} index ${top.digest}`);
      repoDigest = top.digest;
    }
    const manifest = checkManifest(await json<unknown>(desc, 'manifest'), `${o.file} manifest ${desc.digest}`);
    const config = await json<ImageConfigFile>(manifest.config, 'config');
    checkDiffIds(config, manifest.layers.length, `${o.file} manifest ${desc.digest}`);
    for (const d of [desc, manifest.config, ...manifest.layers]) await requireBlob(o, blobs, d);
    const prev = images.get(desc.digest);
    images.set(desc.digest, { names: [...new Set([...(prev?.names ?? []), ...names])], manifestDigest: desc.digest, repoDigest: prev?.repoDigest ?? repoDigest });
  }
  return { images: [...images.values()], blobs };
}

/** containerd's full name first; `ref.name` when it is a whole reference; else the caller's ref. */
function ociNames(d: Descriptor, ref: string | undefined): string[] {
  const full = d.annotations?.[ANNOTATION_CONTAINERD_NAME];
  if (full !== undefined) return [normalizeReference(full)];
  const refName = d.annotations?.[ANNOTATION_REF_NAME];
  if (refName !== undefined && /[/:@]/.test(refName)) return [normalizeReference(refName)];
  return ref === undefined ? [] : [normalizeReference(ref)];
}

async function requireBlob(o: { storeDir: string; file: string }, blobs: Map<string, StagedBlob>, d: Descriptor): Promise<void> {
  const f = blobs.get(d.digest);
  if (f === undefined) {
    if (await hasBlob(o.storeDir, d.digest)) return;
    throw new ImageError(ImageErrorCode.InvalidArchive, `${o.file}: blob ${d.digest} (${d.mediaType}) is referenced but not in the archive`);
  }
  if (f.size !== d.size) throw new ImageError(ImageErrorCode.InvalidArchive, `${o.file}: blob ${d.digest} is ${f.size} bytes, its descriptor says ${d.size}`);
}

function checkDiffIds(config: ImageConfigFile, layers: number, what: string): void {
  const ids = config.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== layers) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: config lists ${Array.isArray(ids) ? ids.length : 'no'} diff_ids for ${layers} layers`);
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function stageDocker(o: { storeDir: string; file: string; stagingDir: string; ref?: string }, c: ArchiveFiles): Promise<StagedArchive> {
  const list = await smallJson<DockerManifestEntry[]>(lookup(c, 'manifest.json', o.file), `${o.file} manifest.json`);
  if (!Array.isArray(list) || list.length === 0) throw new ImageError(ImageErrorCode.InvalidArchive, `${o.file}: manifest.json lists no images`);
  const blobs = new Map<string, StagedBlob>();
  const images: StagedImage[] = [];
  for (const [i, entry] of list.entries()) {
    const what = `${o.file} manifest.json entry ${i}`;
    if (typeof entry?.Config !== 'string' || !Array.isArray(entry.Layers)) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: needs Config and Layers`);
    const configFile = lookup(c, entry.Config, what);
    const config = await smallJson<ImageConfigFile>(configFile, `${what} config`);
    checkDiffIds(config, entry.Layers.length, what);
    const layers: Descriptor[] = entry.Layers.map((path, j) => {
      const f = lookup(c, path, what);
      const gz = isGzip(f.head);
      if (!gz && f.digest !== config.rootfs!.diff_ids[j]) throw new ImageError(ImageErrorCode.DigestMismatch, `${what}: layer ${path} is ${f.digest}, the config's diff_id ${j} is ${config.rootfs!.diff_ids[j]}`);
      blobs.set(f.digest, f);
      return { mediaType: gz ? MediaType.DockerLayerGzip : MediaType.DockerLayer, digest: f.digest, size: f.size };
    });
    blobs.set(configFile.digest, configFile);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: configFile.digest, size: configFile.size }, layers }));
    const manifestDigest = sha256Digest(manifest);
    const manifestFile = join(o.stagingDir, `manifest-${i}.json`);
    await writeFile(manifestFile, manifest);
    blobs.set(manifestDigest, { file: manifestFile, digest: manifestDigest, size: manifest.length });
    const tags = (entry.RepoTags ?? []).map((t) => normalizeReference(t));
    images.push({ names: tags.length > 0 ? tags : o.ref === undefined ? [] : [normalizeReference(o.ref)], manifestDigest, repoDigest: undefined });
  }
  return { images, blobs };
}
