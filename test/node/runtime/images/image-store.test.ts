import { existsSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { readFile, truncate, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBusyboxImage, isStaticElf } from '../../../../node/runtime/images/busybox-image.js';
import { ImageError } from '../../../../node/runtime/images/errors.js';
import { ImageStore } from '../../../../node/runtime/images/image-store.js';
import { writeTar } from '../../../../node/runtime/images/tar-writer.js';
import { dir, file, isMounted, isRoot, mustFindBusybox, removeTree, snapshotTree, tempDir, writeDockerArchive, writeLayersArchive } from './fixtures.js';

let work: string;
let busyboxTar: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await tempDir('images');
  busyboxTar = join(work, 'busybox.tar');
  buildBusyboxImage({ busyboxPath: mustFindBusybox(), ref: 'busybox', outFile: busyboxTar, format: 'oci-archive' });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await removeTree(work);
});

async function expectImageError(p: Promise<unknown>, code: string, text?: string): Promise<ImageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageError);
  expect((err as ImageError).code).toBe(code);
  if (text !== undefined) expect((err as ImageError).message).toContain(text);
  return err as ImageError;
}

describe('busybox image', () => {
  it('is deterministic and uses a static binary', async () => {
    const bb = mustFindBusybox();
    expect(isStaticElf(bb)).toBe(true);
    expect(isStaticElf('/bin/ls')).toBe(false);
    const again = join(work, 'again.tar');
    const a = buildBusyboxImage({ busyboxPath: bb, ref: 'busybox', outFile: again, format: 'oci-archive' });
    expect(readFileSync(again).equals(readFileSync(busyboxTar))).toBe(true);
    expect(a.applets).toEqual(expect.arrayContaining(['sh', 'sleep', 'httpd', 'wget', 'nc']));
    expect(a.ref).toBe('docker.io/library/busybox:latest');
  });

  it('carries both name annotations in its index', async () => {
    const layout = join(work, 'layout');
    const b = buildBusyboxImage({ busyboxPath: mustFindBusybox(), ref: 'busybox:1', outFile: layout, format: 'oci-layout-dir', gzip: true });
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.annotations).toEqual({ 'io.containerd.image.name': 'docker.io/library/busybox:1', 'org.opencontainers.image.ref.name': '1' });
    expect(b.layerDigest).not.toBe(b.diffId);
  });
});

describe('ImageStore import', () => {
  it('imports an OCI archive, lists it, reads its config, removes it', async () => {
    const store = await ImageStore.open(join(work, 'store-oci'));
    expect(await store.importTar(busyboxTar)).toEqual(['docker.io/library/busybox:latest']);
    const [img, ...rest] = await store.list();
    expect(rest).toEqual([]);
    expect(img!.id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(img!.repo_tags).toEqual(['docker.io/library/busybox:latest']);
    expect(img!.repo_digests[0]).toMatch(/^docker\.io\/library\/busybox@sha256:/);
    expect(img!.size).toBeGreaterThan(1_000_000);
    expect(await store.status('busybox')).toEqual(img);
    expect(await store.status(img!.id)).toEqual(img);
    expect(await store.status(img!.id.slice(7))).toEqual(img);
    expect(await store.status(img!.repo_digests[0]!)).toEqual(img);
    expect(await store.status('busybox:other')).toBeUndefined();
    expect((await store.config('busybox')).Cmd).toEqual(['sh']);
    // importing again is idempotent
    expect(await store.importTar(busyboxTar)).toEqual(['docker.io/library/busybox:latest']);
    expect(await store.list()).toHaveLength(1);
    expect(await store.remove('busybox')).toBe(true);
    expect(await store.list()).toEqual([]);
    expect(await store.remove('busybox')).toBe(false);
    const blobs = await snapshotTree(join(work, 'store-oci', 'blobs'));
    expect(blobs).toEqual(['sha256/']);
    await expectImageError(store.config('busybox'), 'NotFound', 'busybox');
  });

  it('imports a docker-archive, with a symlinked duplicate layer', async () => {
    const layer = [dir('etc'), file('etc/hello', 'hi\n')];
    const tar = join(work, 'docker.tar');
    const { configDigest } = await writeDockerArchive(tar, ['example.com/team/app:v1', 'app:latest'], [layer, [file('x', '1')], layer]);
    const store = await ImageStore.open(join(work, 'store-docker'));
    expect(await store.importTar(tar)).toEqual(['example.com/team/app:v1', 'docker.io/library/app:latest']);
    const s = await store.status('app');
    expect(s).toMatchObject({ id: configDigest, repo_tags: ['docker.io/library/app:latest', 'example.com/team/app:v1'], uid: undefined, username: 'nobody' });
    const c = await store.config('example.com/team/app:v1');
    expect(c).toMatchObject({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], Env: [], WorkingDir: '', User: 'nobody' });
    const r = await store.prepareRootfs('app', join(work, 'c-docker'));
    cleanups.push(r.cleanup);
    expect(readFileSync(join(r.rootfs, 'etc/hello'), 'utf8')).toBe('hi\n');
    await r.cleanup();
  });

  it('names an unnamed OCI image by the ref given, or returns its id', async () => {
    const tar = join(work, 'unnamed.tar');
    const { configDigest } = await writeLayersArchive(tar, undefined, [[file('a', 'a')]]);
    const store = await ImageStore.open(join(work, 'store-unnamed'));
    expect(await store.importTar(tar)).toEqual([configDigest]);
    expect(await store.status(configDigest)).toMatchObject({ id: configDigest, repo_tags: [], uid: 1000 });
    expect(await store.importTar(tar, { ref: 'mine:2' })).toEqual(['docker.io/library/mine:2']);
    expect((await store.list()).map((i) => i.repo_tags)).toEqual([['docker.io/library/mine:2']]);
  });

  it('refuses corrupt and truncated archives and leaves the store as it was', async () => {
    const storeDir = join(work, 'store-corrupt');
    const store = await ImageStore.open(storeDir);
    await store.importTar(busyboxTar);
    const before = await snapshotTree(storeDir);
    const size = statSync(busyboxTar).size;

    const truncated = join(work, 'truncated.tar');
    await copyFile(busyboxTar, truncated);
    await truncate(truncated, Math.floor(size / 2));
    await expectImageError(store.importTar(truncated), 'InvalidArchive', 'truncated');

    const flipped = join(work, 'flipped.tar');
    const data = await readFile(busyboxTar);
    data[4096] = data[4096]! ^ 0xff; // inside the first blob's data
    await writeFile(flipped, data);
    await expectImageError(store.importTar(flipped), 'DigestMismatch');

    const garbage = join(work, 'garbage.tar');
    await writeFile(garbage, Buffer.from('this is not a tar file'.repeat(100)));
    await expectImageError(store.importTar(garbage), 'InvalidArchive', 'not a tar');

    const empty = join(work, 'empty.tar');
    await writeFile(empty, writeTar([file('readme', 'x')]));
    await expectImageError(store.importTar(empty), 'InvalidArchive', 'neither');

    const badLayer = join(work, 'bad-docker.tar');
    await writeFile(badLayer, writeTar([file('manifest.json', JSON.stringify([{ Config: 'c.json', Layers: ['missing/layer.tar'] }])), file('c.json', '{"rootfs":{"diff_ids":["sha256:' + '0'.repeat(64) + '"]}}')]));
    await expectImageError(store.importTar(badLayer), 'InvalidArchive', 'missing/layer.tar');

    expect(await snapshotTree(storeDir)).toEqual(before);
    expect((await store.list())[0]!.repo_tags).toEqual(['docker.io/library/busybox:latest']);
  });

  it('survives two imports of the same archive at once', async () => {
    const storeDir = join(work, 'store-race');
    const [a, b] = await Promise.all([ImageStore.open(storeDir), ImageStore.open(storeDir)]);
    const results = await Promise.all([a.importTar(busyboxTar), b.importTar(busyboxTar), a.importTar(busyboxTar)]);
    for (const r of results) expect(r).toEqual(['docker.io/library/busybox:latest']);
    const index = JSON.parse(readFileSync(join(storeDir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(1);
    expect(await snapshotTree(join(storeDir, 'tmp'))).toEqual([]);
    const r = await a.prepareRootfs('busybox', join(work, 'c-race'));
    cleanups.push(r.cleanup);
    expect(existsSync(join(r.rootfs, 'bin/busybox'))).toBe(true);
    await r.cleanup();
  });
});

describe('ImageStore rootfs', () => {
  it('gives a writable rootfs with bin/sh whose writes stay out of the shared lower dir', async () => {
    const storeDir = join(work, 'store-rootfs');
    const store = await ImageStore.open(storeDir);
    await store.importTar(busyboxTar);
    const id = (await store.status('busybox'))!.id;
    const c1 = join(work, 'c1');
    const c2 = join(work, 'c2');
    const [r1, r2] = await Promise.all([store.prepareRootfs('busybox', c1), store.prepareRootfs('busybox', c2)]);
    cleanups.push(r1.cleanup, r2.cleanup);
    expect(r1.mode).toBe(isRoot() ? 'overlay' : 'copy');
    if (isRoot()) expect(isMounted(r1.rootfs)).toBe(true);
    expect(readlinkSync(join(r1.rootfs, 'bin/sh'))).toBe('busybox');
    expect(statSync(join(r1.rootfs, 'bin/busybox')).mode & 0o777).toBe(0o755);
    expect(statSync(join(r1.rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
    writeFileSync(join(r1.rootfs, 'tmp', 'written'), 'x');
    writeFileSync(join(r1.rootfs, 'etc', 'passwd'), 'changed');
    const lower = join(storeDir, 'unpacked', id.slice(7));
    expect(existsSync(join(lower, 'tmp', 'written'))).toBe(false);
    expect(readFileSync(join(lower, 'etc', 'passwd'), 'utf8')).toContain('root:x:0:0');
    expect(existsSync(join(r2.rootfs, 'tmp', 'written'))).toBe(false);
    // The image cannot lose its lower dir while a container uses it.
    await store.remove('busybox');
    expect(existsSync(lower)).toBe(true);
    await r1.cleanup();
    await r2.cleanup();
    expect(existsSync(c1 + '/rootfs')).toBe(false);
    if (isRoot()) expect(isMounted(r1.rootfs)).toBe(false);
    await store.importTar(busyboxTar);
    await store.remove('busybox');
    expect(existsSync(lower)).toBe(false);
  });

  it('applies whiteouts, opaque dirs, hard links and gzip layers in order', async () => {
    const tar = join(work, 'layers.tar');
    await writeLayersArchive(
      tar,
      'layers:1',
      [
        [dir('a'), file('a/keep', 'k'), file('a/gone', 'g'), dir('a/sub'), file('a/sub/f', 'f'), dir('o'), file('o/old', 'old'), file('top', 't1'), { path: 'bin', type: 'dir' }, file('bin/tool', '#!', 0o4755)],
        [file('a/.wh.gone', ''), file('a/.wh.sub', ''), dir('o'), file('o/.wh..wh..opq', ''), file('o/new', 'new'), file('top', 't2'), { path: 'hl', type: 'hardlink', linkname: 'top' }],
      ],
      true,
    );
    const store = await ImageStore.open(join(work, 'store-layers'));
    await store.importTar(tar);
    const r = await store.prepareRootfs('layers:1', join(work, 'c-layers'));
    cleanups.push(r.cleanup);
    const ls = await snapshotTree(r.rootfs);
    expect(ls).toEqual(['a/', 'a/keep 1 ', 'bin/', 'bin/tool 2 ', 'hl 2 ', 'o/', 'o/new 3 ', 'top 2 ']);
    expect(readFileSync(join(r.rootfs, 'hl'), 'utf8')).toBe('t2');
    expect(statSync(join(r.rootfs, 'bin/tool')).mode & 0o7777).toBe(0o4755);
    await r.cleanup();
  });

  it('refuses layers that climb out of the rootfs, and keeps symlinked parents inside it', async () => {
    const outside = join(work, 'outside');
    const store = await ImageStore.open(join(work, 'store-unsafe'));
    const dotdot = join(work, 'dotdot.tar');
    await writeLayersArchive(dotdot, 'evil:dotdot', [[file(`../../../../..${outside}/pwned`, 'x')]]);
    // Refused when imported (layers are unpacked then), and not kept.
    await expectImageError(store.importTar(dotdot), 'UnsafePath', '..');
    expect(await store.status('evil:dotdot')).toBeUndefined();
    await expectImageError(store.prepareRootfs('evil:dotdot', join(work, 'c-evil1')), 'NotFound', 'evil:dotdot');
    const viaLink = join(work, 'via-link.tar');
    await writeLayersArchive(viaLink, 'evil:link', [
      [{ path: 'abs', type: 'symlink', linkname: outside }, { path: 'rel', type: 'symlink', linkname: '../../../../../../../..' + outside }],
      [file('abs/pwned', 'x'), file('rel/pwned2', 'y')],
    ]);
    await store.importTar(viaLink);
    const r = await store.prepareRootfs('evil:link', join(work, 'c-evil2'));
    cleanups.push(r.cleanup);
    expect(existsSync(join(outside, 'pwned'))).toBe(false);
    expect(existsSync(join(outside, 'pwned2'))).toBe(false);
    // Both links resolved as if the rootfs were /: the files landed inside it.
    expect(readFileSync(join(r.rootfs, outside, 'pwned'), 'utf8')).toBe('x');
    expect(readFileSync(join(r.rootfs, outside, 'pwned2'), 'utf8')).toBe('y');
    await r.cleanup();
  });

  it('reports the bytes and inodes the store uses', async () => {
    const store = await ImageStore.open(join(work, 'store-fs'));
    const empty = await store.fsInfo();
    await store.importTar(busyboxTar);
    const full = await store.fsInfo();
    expect(full.usedBytes - empty.usedBytes).toBeGreaterThan(1_900_000);
    expect(full.inodesUsed).toBeGreaterThan(empty.inodesUsed);
    expect(full.mountpoint).toBe(join(work, 'store-fs'));
  });
});
