/**
 * A node's image store: an OCI image layout directory whose index.json names
 * each image (annotation org.opencontainers.image.ref.name = the full
 * normalized reference) and points at one platform manifest.
 *
 *   const store = await ImageStore.open(dir);
 *   await store.importTar('busybox.tar');            // ['docker.io/library/busybox:latest']
 *   await store.pull('127.0.0.1:5000/x:1', { insecure: true, timeoutMs: 60_000 });
 *   const { rootfs, cleanup } = await store.prepareRootfs('busybox', containerDir);
 *
 * Images are identified by their config digest (the image id, `sha256:...`);
 * any API taking a ref also takes an id, a bare 64-hex id, or `name@digest`.
 */
import { readdir, rm, lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stageArchive } from './archive-import.js';
import { blobPath } from './digest.js';
import { ImageError, ImageErrorCode, errnoCode } from './errors.js';
import { LAYER_COMPRESSION, checkManifest, imageUser, runtimeConfig } from './image-model.js';
import { ANNOTATION_REF_NAME, ANNOTATION_REPO_DIGEST, MediaType, type Descriptor, type ImageConfigFile, type ImageManifest, type ImageRuntimeConfig } from './media-types.js';
import { commitBlobs, initLayout, makeStagingDir, readIndex, readJsonBlob, removeBlobsExcept, withLayoutLock, writeIndex, type StagedBlob } from './oci-layout.js';
import { formatReference, isDigest, parseReference, repositoryName } from './reference.js';
import { pullImage, type PullOptions } from './registry-pull.js';
import { ensureUnpacked, lowerDirInUse, lowerDirOf, mountRootfs, releaseRootfs, usersDir, type PreparedRootfs } from './rootfs.js';

export type { PullOptions, PullProgress } from './registry-pull.js';
export type { ImageRuntimeConfig } from './media-types.js';
export type { PreparedRootfs } from './rootfs.js';

/** One image as CRI's Image message describes it. */
export interface ImageInfo {
  /** The config digest, `sha256:<hex>`. */
  id: string;
  /** `docker.io/library/busybox:latest`, ... */
  repo_tags: string[];
  /** `docker.io/library/busybox@sha256:<manifest or index digest>`, ... */
  repo_digests: string[];
  /** Bytes of config and (compressed) layers. */
  size: number;
  /** From config.User when its user part is numeric. */
  uid: number | undefined;
  /** From config.User when its user part is a name. */
  username: string;
}

export interface PullResult {
  /** The normalized reference pulled. */
  ref: string;
  id: string;
  /** The digest the registry names the content by (`repo@digest` pulls the same). */
  repoDigest: string;
}

export interface StoreFsInfo {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  timestampNs: number;
}

interface Entry {
  name: string | undefined;
  manifestDigest: string;
  repoDigest: string;
}

interface Loaded extends Entry {
  manifest: ImageManifest;
  config: ImageConfigFile;
  configDigest: string;
}

/** A walk over the store for fsInfo stops here: a store this large is misconfigured, not measured. */
const FS_WALK_ENTRIES_MAX = 5_000_000;

export class ImageStore {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<ImageStore> {
    const abs = resolve(dir);
    await initLayout(abs);
    return new ImageStore(abs);
  }

  /** Loads an OCI archive or docker-archive; returns the references it named (or image ids of unnamed images). */
  async importTar(file: string, o: { ref?: string } = {}): Promise<string[]> {
    const staging = await makeStagingDir(this.dir);
    try {
      const staged = await stageArchive({ storeDir: this.dir, file, stagingDir: staging, ...(o.ref === undefined ? {} : { ref: o.ref }) });
      const out: string[] = [];
      await this.commit([...staged.blobs.values()], staged.images.map((img) => ({ names: img.names, manifestDigest: img.manifestDigest, repoDigest: img.repoDigest ?? img.manifestDigest })));
      for (const img of staged.images) {
        if (img.names.length > 0) out.push(...img.names);
        else out.push((await this.load({ name: undefined, manifestDigest: img.manifestDigest, repoDigest: img.manifestDigest })).configDigest);
      }
      await this.unpackOrForget(out);
      return out;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async pull(ref: string, o: PullOptions): Promise<PullResult> {
    const parsed = parseReference(ref);
    const staging = await makeStagingDir(this.dir);
    try {
      const pulled = await pullImage({ ref: parsed, storeDir: this.dir, stagingDir: staging, options: o });
      const name = formatReference(parsed);
      await this.commit(pulled.blobs, [{ names: [name], manifestDigest: pulled.manifestDigest, repoDigest: pulled.repoDigest }]);
      await this.unpackOrForget([name]);
      return { ref: name, id: pulled.configDigest, repoDigest: `${repositoryName(parsed)}@${pulled.repoDigest}` };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Moves staged blobs in and names the images, under the layout lock; a name moves to its new image. */
  private async commit(blobs: StagedBlob[], images: { names: string[]; manifestDigest: string; repoDigest: string }[]): Promise<void> {
    await withLayoutLock(this.dir, async () => {
      await commitBlobs(this.dir, blobs);
      const index = await readIndex(this.dir);
      for (const img of images) {
        for (const name of img.names.length > 0 ? img.names : [undefined]) {
          index.manifests = index.manifests.filter((d) => (name === undefined ? !(d.digest === img.manifestDigest && d.annotations?.[ANNOTATION_REF_NAME] === undefined) : d.annotations?.[ANNOTATION_REF_NAME] !== name));
          const manifest = await readJsonBlob<ImageManifest>(this.dir, img.manifestDigest);
          const desc: Descriptor = { mediaType: manifest.mediaType ?? MediaType.OciManifest, digest: img.manifestDigest, size: (await lstat(blobPath(this.dir, img.manifestDigest))).size };
          const annotations: Record<string, string> = {};
          if (name !== undefined) annotations[ANNOTATION_REF_NAME] = name;
          if (img.repoDigest !== img.manifestDigest) annotations[ANNOTATION_REPO_DIGEST] = img.repoDigest;
          if (Object.keys(annotations).length > 0) desc.annotations = annotations;
          index.manifests.push(desc);
        }
      }
      await writeIndex(this.dir, index);
    });
  }

  private async entries(): Promise<Entry[]> {
    const index = await readIndex(this.dir);
    return index.manifests.map((d) => ({ name: d.annotations?.[ANNOTATION_REF_NAME], manifestDigest: d.digest, repoDigest: d.annotations?.[ANNOTATION_REPO_DIGEST] ?? d.digest }));
  }

  private readonly loaded = new Map<string, Promise<{ manifest: ImageManifest; config: ImageConfigFile }>>();

  /** Manifest and config of an entry; content-addressed, so cached for the store's life. */
  private async load(e: Entry): Promise<Loaded> {
    let p = this.loaded.get(e.manifestDigest);
    if (p === undefined) {
      p = (async () => {
        const manifest = checkManifest(await readJsonBlob<unknown>(this.dir, e.manifestDigest), `manifest ${e.manifestDigest}`);
        return { manifest, config: await readJsonBlob<ImageConfigFile>(this.dir, manifest.config.digest) };
      })();
      this.loaded.set(e.manifestDigest, p);
      p.catch(() => this.loaded.delete(e.manifestDigest));
    }
    const { manifest, config } = await p;
    return { ...e, manifest, config, configDigest: manifest.config.digest };
  }

  /** Every entry that `ref` names: a tag, `repo@digest`, an image id or a bare 64-hex id. */
  private async find(ref: string): Promise<Loaded[]> {
    const all = await Promise.all((await this.entries()).map((e) => this.load(e)));
    const id = /^[a-f0-9]{64}$/.test(ref) ? `sha256:${ref}` : ref;
    if (isDigest(id)) return all.filter((e) => e.configDigest === id || e.manifestDigest === id);
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined) {
      const repo = repositoryName(parsed);
      return all.filter((e) => e.name !== undefined && repositoryName(parseReference(e.name)) === repo && (e.manifestDigest === parsed.digest || e.repoDigest === parsed.digest));
    }
    const name = formatReference(parsed);
    return all.filter((e) => e.name === name);
  }

  private async mustFind(ref: string): Promise<Loaded> {
    const found = await this.find(ref);
    if (found[0] === undefined) throw new ImageError(ImageErrorCode.NotFound, `image ${ref} is not in the image store ${this.dir}`);
    return found[0];
  }

  async list(): Promise<ImageInfo[]> {
    const all = await Promise.all((await this.entries()).map((e) => this.load(e)));
    const ids = [...new Set(all.map((e) => e.configDigest))];
    return ids.map((id) => describe(all.filter((e) => e.configDigest === id)));
  }

  /** The image `ref` names, with every name it has; undefined when absent. */
  async status(ref: string): Promise<ImageInfo | undefined> {
    const found = await this.find(ref);
    if (found[0] === undefined) return undefined;
    const id = found[0].configDigest;
    const all = await Promise.all((await this.entries()).map((e) => this.load(e)));
    return describe(all.filter((e) => e.configDigest === id));
  }

  async config(ref: string): Promise<ImageRuntimeConfig> {
    return runtimeConfig((await this.mustFind(ref)).config);
  }

  /**
   * Removes what `ref` names: a tag or `repo@digest` drops those names; an id
   * drops every name of the image. Blobs no name uses any more are deleted, and
   * unpacked lower dirs no container uses. False when nothing matched.
   */
  async remove(ref: string): Promise<boolean> {
    const found = await this.find(ref);
    if (found.length === 0) return false;
    await withLayoutLock(this.dir, async () => {
      const index = await readIndex(this.dir);
      const drop = (d: Descriptor): boolean => found.some((f) => f.manifestDigest === d.digest && f.name === d.annotations?.[ANNOTATION_REF_NAME]);
      index.manifests = index.manifests.filter((d) => !drop(d));
      await writeIndex(this.dir, index);
      const keep = new Set<string>();
      const configs = new Set<string>();
      for (const d of index.manifests) {
        const l = await this.load({ name: undefined, manifestDigest: d.digest, repoDigest: d.digest });
        for (const x of [d.digest, l.manifest.config.digest, ...l.manifest.layers.map((y) => y.digest)]) keep.add(x);
        configs.add(l.configDigest);
      }
      await removeBlobsExcept(this.dir, keep);
      await this.removeUnusedUnpacked(configs);
    });
    return true;
  }

  private async removeUnusedUnpacked(liveConfigs: ReadonlySet<string>): Promise<void> {
    const dir = join(this.dir, 'unpacked');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(name) || liveConfigs.has(`sha256:${name}`)) continue;
      const lower = join(dir, name);
      if (await lowerDirInUse(lower)) continue;
      await rm(lower, { recursive: true, force: true });
      await rm(usersDir(lower), { recursive: true, force: true });
    }
  }

  /** A writable rootfs at `<containerDir>/rootfs` over the image's unpacked layers. */
  async prepareRootfs(ref: string, containerDir: string): Promise<PreparedRootfs> {
    return mountRootfs(await this.unpack(await this.mustFind(ref), ref), containerDir);
  }

  /** Unpacks freshly stored images; one whose layers cannot be applied (unsafe paths, bad data) is removed again, and the error thrown. */
  private async unpackOrForget(refs: readonly string[]): Promise<void> {
    try {
      for (const ref of refs) await this.unpack(await this.mustFind(ref), ref);
    } catch (err) {
      for (const ref of refs) await this.remove(ref).catch(() => false);
      throw err;
    }
  }

  /**
   * Releases the rootfs prepareRootfs made for `containerDir` from image `imageId`
   * (its config digest), also when the process that prepared it is gone.
   */
  releaseRootfs(imageId: string, containerDir: string): Promise<void> {
    return releaseRootfs(lowerDirOf(this.dir, imageId), containerDir);
  }

  /**
   * The image's layers applied into its shared lower dir, once per image. Import and
   * pull do it right away (as containerd unpacks into its snapshotter), so starting
   * a container only mounts; a lower dir removed since is unpacked again here.
   */
  private unpack(img: Loaded, ref: string): Promise<string> {
    return ensureUnpacked(this.dir, img.configDigest, async () =>
      img.manifest.layers.map((l, i) => ({
        file: blobPath(this.dir, l.digest),
        compression: LAYER_COMPRESSION[l.mediaType] ?? 'none',
        diffId: img.config.rootfs?.diff_ids[i] ?? '',
        what: `image ${ref} layer ${i} (${l.digest})`,
      })),
    );
  }

  /** Bytes and inodes under the store directory (blobs, unpacked lower dirs, staging). */
  async fsInfo(): Promise<StoreFsInfo> {
    let usedBytes = 0;
    let inodesUsed = 0;
    const seen = new Set<number>();
    const walk = async (dir: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
        throw err;
      }
      for (const n of names) {
        const p = join(dir, n);
        const st = await lstat(p).catch(() => undefined);
        if (st === undefined || seen.has(st.ino)) continue;
        if (seen.size >= FS_WALK_ENTRIES_MAX) throw new ImageError(ImageErrorCode.TooLarge, `image store ${this.dir} has more than ${FS_WALK_ENTRIES_MAX} files`);
        seen.add(st.ino);
        inodesUsed++;
        usedBytes += st.blocks * 512;
        if (st.isDirectory() && !(await isMountPoint(p, st.dev))) await walk(p);
      }
    };
    await walk(this.dir);
    return { mountpoint: this.dir, usedBytes, inodesUsed, timestampNs: Date.now() * 1_000_000 };
  }
}

async function isMountPoint(dir: string, dev: number): Promise<boolean> {
  const parent = await lstat(join(dir, '..')).catch(() => undefined);
  return parent !== undefined && parent.dev !== dev;
}

function describe(entries: Loaded[]): ImageInfo {
  const first = entries[0]!;
  const tags = new Set<string>();
  const digests = new Set<string>();
  for (const e of entries) {
    if (e.name === undefined) continue;
    const p = parseReference(e.name);
    if (p.tag !== undefined) tags.add(`${repositoryName(p)}:${p.tag}`);
    digests.add(`${repositoryName(p)}@${e.repoDigest}`);
  }
  const size = first.manifest.config.size + first.manifest.layers.reduce((s, l) => s + l.size, 0);
  return { id: first.configDigest, repo_tags: [...tags].sort(), repo_digests: [...digests].sort(), size, ...imageUser(runtimeConfig(first.config).User) };
}
