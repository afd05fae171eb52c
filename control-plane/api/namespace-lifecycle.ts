/**
 * Namespace lifecycle (Kubernetes' NamespaceLifecycle admission): content may
 * only be created in a namespace that exists and is not being deleted. The
 * namespace is read from the store, not the watch cache: a cache that has not
 * yet seen a deletion acknowledged a moment ago (on this master or another)
 * would let content in after the client was told the namespace is going.
 */
import { StatusReason } from '../../proto/k8s/meta.js';
import type { ObjectStore } from '../registry/object-store.js';
import { findResource } from '../registry/resources.js';
import { ApiError } from './errors.js';

const NAMESPACES = findResource('', 'v1', 'namespaces')!;

export class NamespaceLifecycle {
  constructor(private readonly store: ObjectStore) {}

  async mustAllowCreate(namespace: string): Promise<void> {
    const ns = await this.store.get({ resource: NAMESPACES, namespace: undefined, name: namespace });
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(StatusReason.Forbidden, `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace,
        kind: 'namespaces',
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }
}
