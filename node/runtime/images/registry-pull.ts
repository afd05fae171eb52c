/**
 * Pulling an image from an OCI distribution registry (v2 API): the manifest
 * (an index or list resolves to linux/<host arch>), then config and layers,
 * each verified against its digest and size while it streams into staging.
 * Blobs the store already holds are not fetched again. The caller commits.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from './digest.js';
import { ImageError, ImageErrorCode } from './errors.js';
import { checkIndex, checkManifest, choosePlatform, isIndexMediaType } from './image-model.js';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type Descriptor, type ImageConfigFile, type ImageManifest } from './media-types.js';
import { JSON_BLOB_BYTES_MAX, hasBlob, parseJson, stageStream, type StagedBlob } from './oci-layout.js';
import { formatReference, registryApiHost, type ImageReference } from './reference.js';
import { RegistryClient, readSmallBody } from './registry-http.js';

/** Default bound on one blob: 8 GiB, above any layer we expect a node to run. */
export const PULL_BLOB_BYTES_MAX = 8 * 1024 * 1024 * 1024;

export interface PullProgress {
  ref: string;
  digest: string;
  kind: 'manifest' | 'config' | 'layer';
  bytesDone: number;
  bytesTotal: number;
  /** True once the blob is verified (or was already in the store). */
  done: boolean;
}

export interface PullOptions {
  /** Accept a registry without TLS, or with a certificate we cannot verify. */
  insecure?: boolean;
  /** Deadline of the whole pull; every request is cut off when it passes. */
  timeoutMs: number;
  onProgress?: (p: PullProgress) => void;
  /** Bound on one blob's bytes (default PULL_BLOB_BYTES_MAX). */
  blobBytesMax?: number;
}

export interface PulledImage {
  blobs: StagedBlob[];
  manifestDigest: string;
  configDigest: string;
  repoDigest: string;
}

export async function pullImage(o: { ref: ImageReference; storeDir: string; stagingDir: string; options: PullOptions }): Promise<PulledImage> {
  const what = `pull ${formatReference(o.ref)}`;
  const signal = AbortSignal.timeout(o.options.timeoutMs);
  const client = new RegistryClient({ host: registryApiHost(o.ref.domain), insecure: o.options.insecure ?? false, signal, timeoutMs: o.options.timeoutMs, what });
  const repo = `/v2/${o.ref.path}`;
  const progress = (p: Omit<PullProgress, 'ref'>): void => o.options.onProgress?.({ ref: formatReference(o.ref), ...p });
  const blobs: StagedBlob[] = [];
  const top = await fetchManifest(client, repo, o.ref.digest ?? o.ref.tag!, o.ref.digest, what);
  let manifestBytes = top.body;
  let manifestDigest = top.digest;
  if (isIndexMediaType(top.mediaType)) {
    const chosen = choosePlatform(checkIndex(parseJson(top.body, `${what} index`), `${what} index`), what);
    const m = await fetchManifest(client, repo, chosen.digest, chosen.digest, what);
    manifestBytes = m.body;
    manifestDigest = m.digest;
  }
  const manifest: ImageManifest = checkManifest(parseJson(manifestBytes, `${what} manifest`), `${what} manifest ${manifestDigest}`);
  const manifestFile = join(o.stagingDir, 'manifest.json');
  await writeFile(manifestFile, manifestBytes);
  blobs.push({ file: manifestFile, digest: manifestDigest, size: manifestBytes.length });
  progress({ digest: manifestDigest, kind: 'manifest', bytesDone: manifestBytes.length, bytesTotal: manifestBytes.length, done: true });
  const wanted: [Descriptor, PullProgress['kind']][] = [[manifest.config, 'config'], ...manifest.layers.map((l): [Descriptor, PullProgress['kind']] => [l, 'layer'])];
  for (const [desc, kind] of wanted) {
    if (await hasBlob(o.storeDir, desc.digest)) {
      progress({ digest: desc.digest, kind, bytesDone: desc.size, bytesTotal: desc.size, done: true });
      continue;
    }
    if (blobs.some((b) => b.digest === desc.digest)) continue;
    blobs.push(await fetchBlob({ client, repo, desc, kind, stagingDir: o.stagingDir, sizeMax: o.options.blobBytesMax ?? PULL_BLOB_BYTES_MAX, what, progress }));
  }
  const configBlob = blobs.find((b) => b.digest === manifest.config.digest);
  if (configBlob !== undefined) {
    const config = parseJson<ImageConfigFile>(await readFile(configBlob.file), `${what} config`);
    if (config.rootfs?.diff_ids?.length !== manifest.layers.length) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: config lists ${config.rootfs?.diff_ids?.length ?? 'no'} diff_ids for ${manifest.layers.length} layers`);
  }
  return { blobs, manifestDigest, configDigest: manifest.config.digest, repoDigest: top.digest };
}

interface FetchedManifest {
  body: Buffer;
  digest: string;
  mediaType: string | undefined;
}

async function fetchManifest(client: RegistryClient, repo: string, reference: string, expectedDigest: string | undefined, what: string): Promise<FetchedManifest> {
  const r = await client.get(`${repo}/manifests/${reference}`, { accept: [...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].join(', ') });
  if (r.status === 404) {
    r.body.resume();
    throw new ImageError(ImageErrorCode.NotFound, `${what}: manifest ${reference} not found in the registry (no such repository or tag)`);
  }
  const body = await readSmallBody(r.body, `${what} manifest ${reference}`, JSON_BLOB_BYTES_MAX).catch((err: unknown) => Promise.reject(client.translate(err, repo)));
  if (r.status !== 200) throw new ImageError(ImageErrorCode.Registry, `${what}: GET manifest ${reference} answered ${r.status}: ${body.toString().slice(0, 300)}`);
  const digest = sha256Digest(body);
  const claimed = r.headers['docker-content-digest'];
  for (const want of [expectedDigest, typeof claimed === 'string' && claimed.startsWith('sha256:') ? claimed : undefined]) {
    if (want !== undefined && want !== digest) throw new ImageError(ImageErrorCode.DigestMismatch, `${what}: manifest ${reference} has digest ${digest}, expected ${want}`);
  }
  const contentType = r.headers['content-type']?.split(';')[0]?.trim();
  const json = parseJson<{ mediaType?: string; manifests?: unknown } | null>(body, `${what} manifest`);
  const declared = json?.mediaType ?? (Array.isArray(json?.manifests) ? INDEX_MEDIA_TYPES[0] : undefined);
  return { body, digest, mediaType: declared ?? contentType };
}

async function fetchBlob(o: {
  client: RegistryClient;
  repo: string;
  desc: Descriptor;
  kind: PullProgress['kind'];
  stagingDir: string;
  sizeMax: number;
  what: string;
  progress: (p: Omit<PullProgress, 'ref'>) => void;
}): Promise<StagedBlob> {
  const { desc } = o;
  if (desc.size > o.sizeMax) throw new ImageError(ImageErrorCode.TooLarge, `${o.what}: blob ${desc.digest} is ${desc.size} bytes, limit ${o.sizeMax}`);
  const r = await o.client.get(`${o.repo}/blobs/${desc.digest}`, {});
  if (r.status !== 200) {
    const body = await readSmallBody(r.body, o.what).catch(() => Buffer.alloc(0));
    const code = r.status === 404 ? ImageErrorCode.NotFound : ImageErrorCode.Registry;
    throw new ImageError(code, `${o.what}: GET blob ${desc.digest} answered ${r.status}: ${body.toString().slice(0, 300)}`);
  }
  let done = 0;
  const file = join(o.stagingDir, desc.digest.replace(':', '-'));
  const staged = await stageStream(r.body, file, {
    sizeMax: desc.size,
    what: `${o.what} blob ${desc.digest} (descriptor size ${desc.size})`,
    onBytes: (n) => {
      done += n;
      o.progress({ digest: desc.digest, kind: o.kind, bytesDone: done, bytesTotal: desc.size, done: false });
    },
  }).catch((err: unknown) => Promise.reject(o.client.translate(err, `${o.repo}/blobs/${desc.digest}`)));
  if (staged.size !== desc.size) throw new ImageError(ImageErrorCode.InvalidArchive, `${o.what}: blob ${desc.digest} ended after ${staged.size} of ${desc.size} bytes`);
  if (staged.digest !== desc.digest) throw new ImageError(ImageErrorCode.DigestMismatch, `${o.what}: blob ${desc.digest} arrived with digest ${staged.digest}`);
  o.progress({ digest: desc.digest, kind: o.kind, bytesDone: done, bytesTotal: desc.size, done: true });
  return staged;
}
