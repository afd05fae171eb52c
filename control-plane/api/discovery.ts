/**
 * Discovery documents, built from the resource table: /api (APIVersions),
 * /apis (APIGroupList), /api/v1 and /apis/<group>/<version>
 * (APIResourceList), and /version. kubectl builds its REST mapping from these
 * (kinds, plurals, short names, scopes, verbs, subresources).
 */
import { apiVersionOf, groupVersions, resourcesOf, type ResourceDescriptor } from '../registry/resources.js';

/** The Kubernetes API version Strake's API follows, reported by /version so clients pick matching behaviour. */
export const KUBERNETES_COMPAT = { major: '1', minor: '32', gitVersion: 'v1.32.0-strake' } as const;

export function versionInfo(strakeVersion: string): Record<string, string> {
  return {
    major: KUBERNETES_COMPAT.major,
    minor: KUBERNETES_COMPAT.minor,
    gitVersion: `${KUBERNETES_COMPAT.gitVersion}.${strakeVersion}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  };
}

export function apiVersions(): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }] };
}

export function apiGroupList(): unknown {
  const groups = new Map<string, string[]>();
  for (const gv of groupVersions()) {
    if (gv.group === '') continue;
    groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv.version]);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const list = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      return { name, versions: list, preferredVersion: list[0] };
    }),
  };
}

export function apiGroup(group: string): unknown | undefined {
  const versions = groupVersions().filter((gv) => gv.group === group && group !== '');
  if (versions.length === 0) return undefined;
  const list = versions.map((v) => ({ groupVersion: `${group}/${v.version}`, version: v.version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: list, preferredVersion: list[0] };
}

export function apiResourceList(group: string, version: string): unknown | undefined {
  const served = resourcesOf(group, version);
  if (served.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: served.flatMap((r) => [mainEntry(r), ...r.subresources.map((s) => subresourceEntry(r, s))]),
  };
}

function mainEntry(r: ResourceDescriptor): Record<string, unknown> {
  return {
    name: r.plural,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: r.verbs,
    ...(r.shortNames.length === 0 ? {} : { shortNames: r.shortNames }),
    ...(r.categories.length === 0 ? {} : { categories: r.categories }),
  };
}

/** Verbs and kinds of subresources, as Kubernetes lists them. */
function subresourceEntry(r: ResourceDescriptor, sub: string): Record<string, unknown> {
  const base = { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced };
  switch (sub) {
    case 'status':
      return { ...base, kind: r.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { ...base, kind: 'Binding', verbs: ['create'] };
    case 'log':
      return { ...base, kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { ...base, kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'token':
      return { ...base, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
    case 'finalize':
      return { ...base, kind: r.kind, verbs: ['update'] };
    default:
      return { ...base, kind: r.kind, verbs: ['get'] };
  }
}
