/**
 * ObjectStore's guaranteed update: under contention it re-applies the change
 * to the newer stored object (handed back by the failed compare-and-swap), so
 * no concurrent write is lost, and a resourceVersion precondition is judged
 * against the stored object.
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
const n = (o: KubeObject): number => Number((o.data as { n: string }).n);

describe('ObjectStore.update', () => {
  it('re-applies a change that lost a race to the newer object, losing no write', async () => {
    const store = new ObjectStore(new EmbeddedKvBackend(new FakeEtcdBackend()));
    await store.create(addr, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { n: '0' } });
    const seen: number[] = [];
    let raced = false;
    const out = await store.update(addr, async (c) => {
      seen.push(n(c));
      if (!raced) {
        raced = true;
        // Another writer gets in between this read and this write.
        await store.update(addr, (o) => ({ ...o, data: { n: String(n(o) + 100) } }));
      }
      return { ...c, data: { n: String(n(c) + 1) } };
    });
    expect(seen).toEqual([0, 100]);
    expect(n(out)).toBe(101);
    expect(n(await store.get(addr))).toBe(101);
  });

  it('refuses a stale resourceVersion precondition with 409', async () => {
    const store = new ObjectStore(new EmbeddedKvBackend(new FakeEtcdBackend()));
    const v1 = await store.create(addr, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { n: '0' } });
    await store.update(addr, (c) => ({ ...c, data: { n: '1' } }));
    const err = await store.update(addr, (c) => c, { resourceVersion: v1.metadata.resourceVersion! }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(409);
  });
});
