/**
 * The resources the API server serves: one descriptor each, the single place
 * that says a resource's group, kind, scope, verbs, subresources and the fields
 * its field selectors may name. Discovery, routing, storage keys and
 * authorization all read this table.
 */

export const Verb = {
  Create: 'create',
  Delete: 'delete',
  DeleteCollection: 'deletecollection',
  Get: 'get',
  List: 'list',
  Patch: 'patch',
  Update: 'update',
  Watch: 'watch',
} as const;
export type Verb = (typeof Verb)[keyof typeof Verb];

const ALL_VERBS: readonly Verb[] = Object.values(Verb);

export interface ResourceDescriptor {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Lower-case plural: the URL segment and the RBAC resource name. */
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly Verb[];
  /** Subresources served, e.g. status, scale, binding, log. */
  readonly subresources: readonly string[];
  /**
   * Field-selector fields beyond metadata.name / metadata.namespace, each with
   * how to read it from an object.
   */
  readonly selectableFields: Readonly<Record<string, (obj: Record<string, unknown>) => string>>;
  /**
   * Whether `metadata.generation` counts spec changes (true) or every change
   * (false, for kinds without a spec/status split).
   */
  readonly hasStatus: boolean;
  /** Answered by the server without storing anything (reviews); never in storage or the watch cache. */
  readonly virtual: boolean;
}

/** `apiVersion` as written in objects: `v1` for core, `group/version` otherwise. */
export function apiVersionOf(r: Pick<ResourceDescriptor, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

function field(obj: Record<string, unknown>, ...path: string[]): string {
  let at: unknown = obj;
  for (const p of path) {
    if (at === null || typeof at !== 'object') return '';
    at = (at as Record<string, unknown>)[p];
  }
  return typeof at === 'string' ? at : at === undefined || at === null ? '' : String(at);
}

interface Spec {
  group?: string;
  version?: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  verbs?: Verb[];
  selectableFields?: Record<string, (obj: Record<string, unknown>) => string>;
  hasStatus?: boolean;
  virtual?: boolean;
}

function resource(s: Spec): ResourceDescriptor {
  return {
    group: s.group ?? '',
    version: s.version ?? 'v1',
    kind: s.kind,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: s.namespaced,
    shortNames: s.shortNames ?? [],
    categories: s.categories ?? [],
    verbs: s.verbs ?? ALL_VERBS,
    subresources: s.subresources ?? [],
    selectableFields: s.selectableFields ?? {},
    hasStatus: s.hasStatus ?? false,
    virtual: s.virtual ?? false,
  };
}

const RBAC = 'rbac.authorization.k8s.io';

export const RESOURCES: readonly ResourceDescriptor[] = [
  resource({ kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], subresources: ['status', 'finalize'], hasStatus: true,
    verbs: ALL_VERBS.filter((v) => v !== Verb.DeleteCollection),
    selectableFields: { 'status.phase': (o) => field(o, 'status', 'phase') } }),
  resource({ kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec'], hasStatus: true,
    selectableFields: {
      'spec.nodeName': (o) => field(o, 'spec', 'nodeName'),
      'spec.schedulerName': (o) => field(o, 'spec', 'schedulerName'),
      'spec.serviceAccountName': (o) => field(o, 'spec', 'serviceAccountName'),
      'status.phase': (o) => field(o, 'status', 'phase'),
      'status.podIP': (o) => field(o, 'status', 'podIP'),
      'status.nominatedNodeName': (o) => field(o, 'status', 'nominatedNodeName'),
    } }),
  resource({ kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], subresources: ['status'], hasStatus: true,
    selectableFields: { 'spec.unschedulable': (o) => field(o, 'spec', 'unschedulable') || 'false' } }),
  resource({ kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'], hasStatus: true,
    selectableFields: { 'spec.clusterIP': (o) => field(o, 'spec', 'clusterIP'), 'spec.type': (o) => field(o, 'spec', 'type') } }),
  resource({ kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  resource({ kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  resource({ kind: 'Secret', plural: 'secrets', namespaced: true, selectableFields: { type: (o) => field(o, 'type') } }),
  resource({ kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    selectableFields: {
      'involvedObject.kind': (o) => field(o, 'involvedObject', 'kind'),
      'involvedObject.namespace': (o) => field(o, 'involvedObject', 'namespace'),
      'involvedObject.name': (o) => field(o, 'involvedObject', 'name'),
      'involvedObject.uid': (o) => field(o, 'involvedObject', 'uid'),
      'involvedObject.apiVersion': (o) => field(o, 'involvedObject', 'apiVersion'),
      'involvedObject.resourceVersion': (o) => field(o, 'involvedObject', 'resourceVersion'),
      'involvedObject.fieldPath': (o) => field(o, 'involvedObject', 'fieldPath'),
      reason: (o) => field(o, 'reason'),
      reportingComponent: (o) => field(o, 'reportingComponent'),
      source: (o) => field(o, 'source', 'component'),
      type: (o) => field(o, 'type'),
    } }),
  resource({ kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'], subresources: ['token'] }),
  resource({ group: 'apps', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'], hasStatus: true }),
  resource({ group: 'apps', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'], hasStatus: true,
    selectableFields: { 'status.replicas': (o) => field(o, 'status', 'replicas') || '0' } }),
  resource({ group: 'coordination.k8s.io', kind: 'Lease', plural: 'leases', namespaced: true }),
  // Not stored: answered from RBAC for the requesting user (what `kubectl auth can-i` creates).
  resource({ group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, verbs: [Verb.Create], virtual: true }),
  resource({ group: RBAC, kind: 'Role', plural: 'roles', namespaced: true }),
  resource({ group: RBAC, kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  resource({ group: RBAC, kind: 'RoleBinding', plural: 'rolebindings', namespaced: true }),
  resource({ group: RBAC, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false }),
];

/** Group-versions served, in discovery order (core first). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

export function resourcesOf(group: string, version: string): ResourceDescriptor[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

export function findResource(group: string, version: string, plural: string): ResourceDescriptor | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceByKind(group: string, kind: string): ResourceDescriptor | undefined {
  return RESOURCES.find((r) => r.group === group && r.kind === kind);
}
