/**
 * Objects every cluster starts with, created by whichever master gets there
 * first (every master tries; AlreadyExists means another one did): the
 * namespaces default, kube-system, kube-public and kube-node-lease, and the
 * bootstrap RBAC policy (auth/bootstrap-policy.ts).
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { bootstrapPolicy } from '../auth/index.js';
import type { ObjectStore } from '../registry/object-store.js';
import { resourceByKind } from '../registry/resources.js';
import { prepareCreate } from '../registry/strategy.js';
import { ApiError } from './errors.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

export async function ensureBootstrapObjects(store: ObjectStore, nowMs: () => number, log: (line: string) => void): Promise<void> {
  const policy = bootstrapPolicy();
  const objects: KubeObject[] = [
    ...SYSTEM_NAMESPACES.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...policy.clusterRoles,
    ...policy.clusterRoleBindings,
    ...policy.roles,
    ...policy.roleBindings,
  ];
  let created = 0;
  for (const o of objects) {
    const group = (o.apiVersion ?? '').includes('/') ? (o.apiVersion ?? '').split('/')[0]! : '';
    const r = resourceByKind(group, o.kind ?? '');
    if (r === undefined) throw new Error(`bootstrap object of unknown kind ${o.apiVersion}/${o.kind}`);
    const obj = prepareCreate(r, o.metadata.namespace, o, nowMs());
    try {
      await store.create({ resource: r, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' }, obj);
      created++;
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'AlreadyExists') continue;
      log(`bootstrap: could not create ${o.kind} ${o.metadata.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (created > 0) log(`bootstrap: created ${created} of ${objects.length} default objects`);
}
