/**
 * Pulls from a real registry (docker-registry on 127.0.0.1:29150, the H2
 * range 29100-29199) an image this test built and pushed with skopeo.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage } from '../../../../node/runtime/images/busybox-image.js';
import { ImageError } from '../../../../node/runtime/images/errors.js';
import { ImageStore, type PullProgress } from '../../../../node/runtime/images/image-store.js';
import { startRegistry, type TestRegistry } from '../../../support/registry.js';
import { file, mustFindBusybox, removeTree, tempDir, writeLayersArchive } from './fixtures.js';

const REGISTRY_PORT = 29150;
const PULL_TIMEOUT_MS = 30_000;

let work: string;
let registry: TestRegistry | undefined;
let built: ReturnType<typeof buildBusyboxImage>;

beforeAll(async () => {
  work = await tempDir('pull');
  const archive = join(work, 'busybox.tar');
  built = buildBusyboxImage({ busyboxPath: mustFindBusybox(), ref: 'busybox', outFile: archive, format: 'oci-archive', gzip: true });
  registry = await startRegistry(REGISTRY_PORT);
  registry.push(archive, 'test/busybox:1');
  const twoLayers = join(work, 'two.tar');
  await writeLayersArchive(twoLayers, undefined, [[file('a', 'a')], [file('b', 'b')]], true);
  registry.push(twoLayers, 'test/two:latest');
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await removeTree(work);
});

describe('ImageStore.pull from a registry', () => {
  it('pulls a pushed image: status, config and rootfs are right', async () => {
    const store = await ImageStore.open(join(work, 'store'));
    const events: PullProgress[] = [];
    const ref = `${registry!.host}/test/busybox:1`;
    const r = await store.pull(ref, { insecure: true, timeoutMs: PULL_TIMEOUT_MS, onProgress: (p) => events.push(p) });
    expect(r.ref).toBe(ref);
    expect(r.id).toBe(built.configDigest);
    expect(r.repoDigest).toMatch(new RegExp(`^${registry!.host}/test/busybox@sha256:[a-f0-9]{64}$`));
    const s = await store.status(ref);
    expect(s).toMatchObject({ id: built.configDigest, repo_tags: [ref], repo_digests: [r.repoDigest] });
    expect((await store.config(ref)).Cmd).toEqual(['sh']);
    expect(events.filter((e) => e.done).map((e) => e.kind).sort()).toEqual(['config', 'layer', 'manifest']);
    expect(events.some((e) => e.kind === 'layer' && !e.done && e.bytesDone > 0)).toBe(true);
    const rootfs = await store.prepareRootfs(r.repoDigest, join(work, 'c1'));
    try {
      expect(readlinkSync(join(rootfs.rootfs, 'bin/sh'))).toBe('busybox');
      expect(existsSync(join(rootfs.rootfs, 'bin/busybox'))).toBe(true);
    } finally {
      await rootfs.cleanup();
    }
    // A second pull finds every blob in the store and fetches only the manifest.
    const again: PullProgress[] = [];
    await store.pull(ref, { insecure: true, timeoutMs: PULL_TIMEOUT_MS, onProgress: (p) => again.push(p) });
    expect(again.every((e) => e.done)).toBe(true);
    // Pull by digest gives the same image.
    const byDigest = await store.pull(r.repoDigest, { insecure: true, timeoutMs: PULL_TIMEOUT_MS });
    expect(byDigest.id).toBe(built.configDigest);
  });

  it('pulls a two-layer image and two pulls at once do not corrupt the store', async () => {
    const store = await ImageStore.open(join(work, 'store-race'));
    const ref = `${registry!.host}/test/two`;
    const [a, b] = await Promise.all([store.pull(ref, { insecure: true, timeoutMs: PULL_TIMEOUT_MS }), store.pull(ref, { insecure: true, timeoutMs: PULL_TIMEOUT_MS })]);
    expect(a.id).toBe(b.id);
    expect(await store.list()).toHaveLength(1);
    const r = await store.prepareRootfs(ref, join(work, 'c2'));
    try {
      expect(existsSync(join(r.rootfs, 'a'))).toBe(true);
      expect(existsSync(join(r.rootfs, 'b'))).toBe(true);
    } finally {
      await r.cleanup();
    }
  });

  it('a missing tag or repository is a clear NotFound, and nothing is stored', async () => {
    const store = await ImageStore.open(join(work, 'store-missing'));
    for (const ref of [`${registry!.host}/test/busybox:nope`, `${registry!.host}/test/nothing:1`]) {
      const err = await store.pull(ref, { insecure: true, timeoutMs: PULL_TIMEOUT_MS }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      expect((err as ImageError).code).toBe('NotFound');
      expect((err as ImageError).message).toMatch(/not found in the registry/);
    }
    expect(await store.list()).toEqual([]);
  });

  it('without --insecure a plain-HTTP registry is refused with a hint', async () => {
    const store = await ImageStore.open(join(work, 'store-secure'));
    const err = await store.pull(`${registry!.host}/test/busybox:1`, { timeoutMs: PULL_TIMEOUT_MS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe('Unavailable');
    expect((err as ImageError).message).toContain('--insecure');
  });
});
