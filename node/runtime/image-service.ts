/** CRI's ImageService over the node's ImageStore; ImageErrors become CriErrors of the same meaning. */
import type * as cri from '../../proto/cri/types.js';
import type { ImageService } from '../cri/runtime.js';
import { CriError, CriErrorCode } from '../cri/errors.js';
import { ImageError, ImageErrorCode } from './images/errors.js';
import type { ImageInfo, ImageStore } from './images/image-store.js';

/** A pull of a big image over a slow link; kubelet's own deadline is usually shorter. */
const PULL_TIMEOUT_MS = 10 * 60_000;

export function criErrorOfImageError(err: unknown): unknown {
  if (!(err instanceof ImageError)) return err;
  const code: CriErrorCode =
    err.code === ImageErrorCode.NotFound
      ? CriErrorCode.NotFound
      : err.code === ImageErrorCode.InvalidReference
        ? CriErrorCode.InvalidArgument
        : err.code === ImageErrorCode.DeadlineExceeded
          ? CriErrorCode.DeadlineExceeded
          : err.code === ImageErrorCode.Unavailable
            ? CriErrorCode.Unavailable
            : CriErrorCode.Internal;
  return new CriError(code, err.message);
}

async function mapped<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw criErrorOfImageError(err);
  }
}

export function imageView(i: ImageInfo): cri.Image {
  return {
    id: i.id,
    repo_tags: i.repo_tags,
    repo_digests: i.repo_digests,
    size: i.size,
    uid: i.uid === undefined ? null : { value: i.uid },
    username: i.username,
    spec: { image: i.id, annotations: {} },
    pinned: false,
  };
}

/** Registries on loopback are reached without TLS (a node's local registry); others need it. */
function insecureRegistry(ref: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(ref);
}

export class StoreImageService implements ImageService {
  constructor(readonly store: ImageStore) {}

  listImages(r: cri.ListImagesRequest): Promise<cri.ListImagesResponse> {
    return mapped(async () => {
      const wanted = r.filter?.image?.image ?? '';
      if (wanted !== '') {
        const one = await this.store.status(wanted);
        return { images: one === undefined ? [] : [imageView(one)] };
      }
      return { images: (await this.store.list()).map(imageView) };
    });
  }

  imageStatus(r: cri.ImageStatusRequest): Promise<cri.ImageStatusResponse> {
    return mapped(async () => {
      const found = await this.store.status(r.image.image);
      return { image: found === undefined ? null : imageView(found), info: {} };
    });
  }

  pullImage(r: cri.PullImageRequest): Promise<cri.PullImageResponse> {
    return mapped(async () => {
      const ref = r.image.image;
      const res = await this.store.pull(ref, { timeoutMs: PULL_TIMEOUT_MS, insecure: insecureRegistry(ref) });
      return { image_ref: res.id };
    });
  }

  removeImage(r: cri.RemoveImageRequest): Promise<cri.RemoveImageResponse> {
    return mapped(async () => {
      // Removing an image that is not there is not an error in CRI.
      await this.store.remove(r.image.image);
      return {};
    });
  }

  imageFsInfo(): Promise<cri.ImageFsInfoResponse> {
    return mapped(async () => {
      const fs = await this.store.fsInfo();
      return {
        image_filesystems: [{ timestamp: fs.timestampNs, fs_id: { mountpoint: fs.mountpoint }, used_bytes: { value: fs.usedBytes }, inodes_used: { value: fs.inodesUsed } }],
        container_filesystems: [],
      };
    });
  }
}
