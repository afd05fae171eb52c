/**
 * Namespace lifecycle (Kubernetes' NamespaceLifecycle admission): content may
 * only be created in a namespace that exists and is not being deleted. The
 * watch cache answers first; a miss is confirmed against the store, so a
 * namespace created a moment ago on another master is never refused.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import { objectKey } from '../registry/keys.js';
import type { ObjectStore } from '../registry/object-store.js';
import { findResource } from '../registry/resources.js';
import type { WatchCache } from '../registry/watch-cache.js';
import { ApiError } from './errors.js';

const NAMESPACES = findResource('', 'v1', 'namespaces')!;

export class NamespaceLifecycle {
  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
  ) {}

  async mustAllowCreate(namespace: string): Promise<void> {
    const ns = this.cache.get(objectKey(NAMESPACES, undefined, namespace))?.object ?? (await this.fromStore(namespace));
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(StatusReason.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  private fromStore(namespace: string): Promise<KubeObject> {
    return this.store.get({ resource: NAMESPACES, namespace: undefined, name: namespace });
  }
}
