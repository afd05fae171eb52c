/**
 * Storage key layout: `/registry/<group>/<resource>/<namespace>/<name>` for
 * namespaced resources and `/registry/<group>/<resource>/<name>` for cluster
 * ones, with `core` standing for the empty core group. Every object of the
 * cluster lives under REGISTRY_PREFIX, which is what the watch cache follows.
 *
 * Invariant: names and namespaces are validated DNS labels/subdomains before a
 * key is built (no '/', ASCII), so keys sort and prefix-match as expected.
 */
import type { ResourceDescriptor } from './resources.js';

export const REGISTRY_PREFIX = '/registry/';

function groupSegment(r: Pick<ResourceDescriptor, 'group'>): string {
  return r.group === '' ? 'core' : r.group;
}

/** Prefix of every object of a resource (all namespaces). */
export function resourcePrefix(r: Pick<ResourceDescriptor, 'group' | 'plural'>): string {
  return `${REGISTRY_PREFIX}${groupSegment(r)}/${r.plural}/`;
}

/** Prefix of a list: one namespace of a namespaced resource, or all of it. */
export function listPrefix(r: Pick<ResourceDescriptor, 'group' | 'plural' | 'namespaced'>, namespace: string | undefined): string {
  return r.namespaced && namespace !== undefined ? `${resourcePrefix(r)}${namespace}/` : resourcePrefix(r);
}

export function objectKey(r: Pick<ResourceDescriptor, 'group' | 'plural' | 'namespaced'>, namespace: string | undefined, name: string): string {
  if (r.namespaced) {
    if (namespace === undefined || namespace === '') throw new Error(`objectKey: ${r.plural} is namespaced; a namespace is required`);
    return `${resourcePrefix(r)}${namespace}/${name}`;
  }
  return `${resourcePrefix(r)}${name}`;
}
