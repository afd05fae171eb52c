/**
 * ObjectStore's guaranteed update starts from the watch cache's copy to save a
 * read, and must stay exactly as safe as reading first: a stale copy only
 * costs a retry on the stored object, never a lost or misjudged write.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import { ObjectStore, type ObjectAddress } from '../../../control-plane/registry/object-store.js';
import { findResource } from '../../../control-plane/registry/resources.js';
import { ApiError } from '../../../control-plane/api/errors.js';
import { EmbeddedKvBackend } from '../../../store/kv-backend/embedded.js';
import { FakeEtcdBackend } from '../../store/fake-backend.js';

const CONFIGMAPS = findResource('', 'v1', 'configmaps')!;
const addr: ObjectAddress = { resource: CONFIGMAPS, namespace: 'default', name: 'c' };
const cm = (n: number): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { n: String(n) } });

async function setup(): Promise<{ store: ObjectStore; plain: ObjectStore; stale: { object: KubeObject; modRevision: number } }> {
  const backend = new EmbeddedKvBackend(new FakeEtcdBackend());
  const plain = new ObjectStore(backend);
  const first = await plain.create(addr, cm(1));
  const stale = { object: first, modRevision: Number(first.metadata.resourceVersion) };
  await plain.update(addr, (c) => ({ ...c, data: { n: '2' } }));
  // A store whose cache still holds version 1 while version 2 is stored.
  return { store: new ObjectStore(backend, () => stale), plain, stale };
}

describe('ObjectStore update from a cached copy', () => {
  it('applies the change to the stored object when the cached copy is stale', async () => {
    const { store, plain } = await setup();
    const seen: string[] = [];
    const out = await store.update(addr, (c) => {
      seen.push((c.data as { n: string }).n);
      return { ...c, data: { n: String(Number((c.data as { n: string }).n) + 10) } };
    });
    expect(seen).toEqual(['1', '2']);
    expect(out.data).toEqual({ n: '12' });
    expect((await plain.get(addr)).data).toEqual({ n: '12' });
  });

  it('judges preconditions and refusals on the stored object, not the stale copy', async () => {
    const { store, stale } = await setup();
    const current = await store.get(addr);
    // The client holds the stored version: the stale cache must not make it a conflict.
    const ok = await store.update(addr, (c) => ({ ...c, data: { n: '3' } }), { resourceVersion: current.metadata.resourceVersion! });
    expect(ok.data).toEqual({ n: '3' });
    // A client holding the old version is refused, even though the cache agrees with it.
    await expect(store.update(addr, (c) => c, { resourceVersion: String(stale.modRevision) })).rejects.toBeInstanceOf(ApiError);
  });

  it('does not report "no change" from a stale copy', async () => {
    const { store } = await setup();
    const out = await store.update(addr, (c) => ((c.data as { n: string }).n === '1' ? undefined : { ...c, data: { n: '1' } }));
    expect(out.data).toEqual({ n: '1' });
  });
});
