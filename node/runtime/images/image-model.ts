/** Reading manifests and indexes: validation, platform choice, and what an image is made of. */
import { ImageError, ImageErrorCode } from './errors.js';
import { isDigest } from './reference.js';
import {
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  hostPlatform,
  type Descriptor,
  type ImageConfigFile,
  type ImageIndex,
  type ImageManifest,
  type ImageRuntimeConfig,
} from './media-types.js';

/** Layer media types the unpacker reads (and how). */
export const LAYER_COMPRESSION: Record<string, 'none' | 'gzip' | undefined> = {
  [MediaType.OciLayer]: 'none',
  [MediaType.OciLayerGzip]: 'gzip',
  [MediaType.OciLayerNondistributable]: 'none',
  [MediaType.OciLayerNondistributableGzip]: 'gzip',
  [MediaType.DockerLayer]: 'none',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.DockerLayerForeignGzip]: 'gzip',
};

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

function checkDescriptor(d: unknown, what: string): asserts d is Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (x === null || typeof x !== 'object' || typeof x.digest !== 'string' || !isDigest(x.digest) || typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0) {
    throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: descriptor ${JSON.stringify(d)?.slice(0, 200)} needs a sha256 digest and a size`);
  }
}

/** Validates the parts the store relies on; throws InvalidArchive/Unsupported naming `what`. */
export function checkManifest(m: unknown, what: string): ImageManifest {
  const x = m as Partial<ImageManifest> | null;
  if (x === null || typeof x !== 'object' || x.schemaVersion !== 2) throw new ImageError(ImageErrorCode.Unsupported, `${what}: only schemaVersion 2 manifests are supported`);
  if (x.mediaType !== undefined && !MANIFEST_MEDIA_TYPES.includes(x.mediaType)) throw new ImageError(ImageErrorCode.Unsupported, `${what}: manifest media type ${x.mediaType} is not supported`);
  checkDescriptor(x.config, `${what} config`);
  if (!Array.isArray(x.layers)) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: no layers array`);
  for (const [i, l] of x.layers.entries()) {
    checkDescriptor(l, `${what} layer ${i}`);
    if (LAYER_COMPRESSION[l.mediaType] === undefined) throw new ImageError(ImageErrorCode.Unsupported, `${what}: layer ${i} has media type ${l.mediaType}; supported: ${Object.keys(LAYER_COMPRESSION).join(', ')}`);
  }
  return x as ImageManifest;
}

export function checkIndex(ix: unknown, what: string): ImageIndex {
  const x = ix as Partial<ImageIndex> | null;
  if (x === null || typeof x !== 'object' || !Array.isArray(x.manifests)) throw new ImageError(ImageErrorCode.InvalidArchive, `${what}: not an image index (no manifests array)`);
  for (const [i, d] of x.manifests.entries()) checkDescriptor(d, `${what} entry ${i}`);
  return x as ImageIndex;
}

/** The manifest of an index for this host's platform (linux/<arch>); NotFound naming the platforms offered. */
export function choosePlatform(index: ImageIndex, what: string): Descriptor {
  const want = hostPlatform();
  const manifests = index.manifests.filter((d) => !isIndexMediaType(d.mediaType));
  const match = manifests.find((d) => d.platform?.os === want.os && d.platform.architecture === want.architecture) ?? (manifests.length === 1 && manifests[0]!.platform === undefined ? manifests[0] : undefined);
  if (match === undefined) {
    const offered = manifests.map((d) => (d.platform === undefined ? '?' : `${d.platform.os}/${d.platform.architecture}`)).join(', ');
    throw new ImageError(ImageErrorCode.NotFound, `${what}: no manifest for ${want.os}/${want.architecture} (offered: ${offered || 'none'})`);
  }
  return match;
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** The runtime config with absent fields filled (empty lists and strings). */
export function runtimeConfig(config: ImageConfigFile): ImageRuntimeConfig {
  const c = config.config ?? {};
  const labels = c.Labels !== null && typeof c.Labels === 'object' ? (c.Labels as Record<string, string>) : {};
  const ports = c.ExposedPorts !== null && typeof c.ExposedPorts === 'object' ? Object.keys(c.ExposedPorts as object) : [];
  return {
    Entrypoint: stringArray(c.Entrypoint),
    Cmd: stringArray(c.Cmd),
    Env: stringArray(c.Env),
    WorkingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    User: typeof c.User === 'string' ? c.User : '',
    Labels: { ...labels },
    StopSignal: typeof c.StopSignal === 'string' ? c.StopSignal : '',
    ExposedPorts: ports,
  };
}

/** CRI's split of config.User: a numeric user part is a uid, anything else a user name. */
export function imageUser(user: string): { uid: number | undefined; username: string } {
  const name = user.split(':')[0] ?? '';
  if (name === '') return { uid: undefined, username: '' };
  return /^[0-9]+$/.test(name) ? { uid: Number(name), username: '' } : { uid: undefined, username: name };
}
