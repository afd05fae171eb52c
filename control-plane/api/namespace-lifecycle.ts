/**
 * Namespace lifecycle (Kubernetes' NamespaceLifecycle admission): content may
 * only be created in a namespace that exists and is not being deleted. The
 * watch cache answers (a read of the store per create would cost every create
 * a quorum round); a namespace the cache does not know is looked up in the
 * store, so one created a moment ago on another master is never refused. A
 * namespace deletion answers only once this master's cache has seen it
 * (resource-routes.ts), so on the master that deleted it, nothing can slip in
 * after; content created through another master's lagging cache in that
 * instant is removed by the namespace finalizer, which re-reads the store.
 */
import { StatusReason } from '../../proto/k8s/meta.js';
import { objectKey } from '../registry/keys.js';
import type { ObjectStore } from '../registry/object-store.js';
import type { WatchCache } from '../registry/watch-cache.js';
import { findResource } from '../registry/resources.js';
import { ApiError } from './errors.js';

const NAMESPACES = findResource('', 'v1', 'namespaces')!;

export class NamespaceLifecycle {
  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
  ) {}

  async mustAllowCreate(namespace: string): Promise<void> {
    const cached = this.cache.get(objectKey(NAMESPACES, undefined, namespace))?.object;
    const ns = cached ?? (await this.store.get({ resource: NAMESPACES, namespace: undefined, name: namespace }));
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(StatusReason.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }
}
