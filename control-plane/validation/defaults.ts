/**
 * Kubernetes defaulting, applied to every create and update before validation.
 *
 * Every `defaultX(obj)` returns a new object and leaves its argument alone.
 * Defaults only fill what is missing, so defaultX(defaultX(o)) equals
 * defaultX(o). Values of the wrong type are kept for validation to report.
 *
 * Some of what runs here is not strictly "defaulting" in Kubernetes but
 * happens at the same point, before validation: Secret stringData is merged
 * into data (Kubernetes does it in conversion), pod-only admission plugins
 * (defaults-pod.ts), and a Service's clusterIPs mirrored from clusterIP.
 */
import { isRecord, type JsonRecord } from './field-errors.js';
import { defaultPodInPlace, defaultPodSpecInPlace, ensureRecord, recordsIn, setIfUnset } from './defaults-pod.js';

export { DEFAULT_NOT_READY_TOLERATION_SECONDS, imageTag } from './defaults-pod.js';

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_MAX_UNAVAILABLE = '25%';
/** Old ReplicaSets a Deployment keeps for rollback. */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
/** How long a rollout may go without progress before it is reported as failed. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** ClientIP session affinity lasts 3 hours unless told otherwise. */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;
/** The finalizer that makes the namespace controller empty a namespace before it goes. */
export const NAMESPACE_FINALIZER = 'kubernetes';
/** Label every namespace carries with its own name, so selectors can pick namespaces by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** A deep copy to default in place; JSON bodies hold only plain data, so structuredClone is exact. */
function cloneRecord<T>(obj: T): T {
  return structuredClone(obj);
}

function withClone<T>(obj: T, fill: (o: JsonRecord) => void): T {
  const copy = cloneRecord(obj);
  if (isRecord(copy)) fill(copy);
  return copy;
}

function specOf(obj: JsonRecord): JsonRecord | undefined {
  return ensureRecord(obj, 'spec');
}

function defaultTemplate(spec: JsonRecord): void {
  const template = spec['template'];
  if (isRecord(template) && isRecord(template['spec'])) defaultPodSpecInPlace(template['spec']);
}

export function defaultPod<T>(pod: T): T {
  return withClone(pod, defaultPodInPlace);
}

export function defaultDeployment<T>(deployment: T): T {
  return withClone(deployment, (obj) => {
    const spec = specOf(obj);
    if (spec === undefined) return;
    setIfUnset(spec, 'replicas', DEFAULT_REPLICAS);
    const strategy = ensureRecord(spec, 'strategy');
    if (strategy !== undefined) {
      setIfUnset(strategy, 'type', 'RollingUpdate');
      if (strategy['type'] === 'RollingUpdate') {
        const rolling = ensureRecord(strategy, 'rollingUpdate');
        if (rolling !== undefined) {
          setIfUnset(rolling, 'maxUnavailable', DEFAULT_MAX_UNAVAILABLE);
          setIfUnset(rolling, 'maxSurge', DEFAULT_MAX_SURGE);
        }
      }
    }
    setIfUnset(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
    setIfUnset(spec, 'progressDeadlineSeconds', DEFAULT_PROGRESS_DEADLINE_SECONDS);
    defaultTemplate(spec);
  });
}

export function defaultReplicaSet<T>(replicaSet: T): T {
  return withClone(replicaSet, (obj) => {
    const spec = specOf(obj);
    if (spec === undefined) return;
    setIfUnset(spec, 'replicas', DEFAULT_REPLICAS);
    defaultTemplate(spec);
  });
}

function defaultServicePorts(spec: JsonRecord): void {
  for (const port of recordsIn(spec['ports'])) {
    setIfUnset(port, 'protocol', 'TCP');
    const target = port['targetPort'];
    if (target === undefined || target === null || target === 0 || target === '') port['targetPort'] = port['port'];
  }
}

export function defaultService<T>(service: T): T {
  return withClone(service, (obj) => {
    const spec = specOf(obj);
    if (spec === undefined) return;
    setIfUnset(spec, 'type', 'ClusterIP');
    setIfUnset(spec, 'sessionAffinity', 'None');
    if (spec['sessionAffinity'] === 'None') delete spec['sessionAffinityConfig'];
    if (spec['sessionAffinity'] === 'ClientIP') {
      const clientIP = ensureRecord(ensureRecord(spec, 'sessionAffinityConfig') ?? {}, 'clientIP');
      if (clientIP !== undefined) setIfUnset(clientIP, 'timeoutSeconds', DEFAULT_CLIENT_IP_TIMEOUT_SECONDS);
    }
    defaultServicePorts(spec);
    const type = spec['type'];
    if (type === 'NodePort' || type === 'LoadBalancer') setIfUnset(spec, 'externalTrafficPolicy', 'Cluster');
    if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') setIfUnset(spec, 'internalTrafficPolicy', 'Cluster');
    if (type === 'LoadBalancer') setIfUnset(spec, 'allocateLoadBalancerNodePorts', true);
    const clusterIP = spec['clusterIP'];
    const ips = spec['clusterIPs'];
    if (typeof clusterIP === 'string' && clusterIP !== '' && (ips === undefined || ips === null || (Array.isArray(ips) && ips.length === 0))) {
      spec['clusterIPs'] = [clusterIP];
    }
  });
}

/** stringData is write-only: its entries win over data's and it is not stored. */
export function defaultSecret<T>(secret: T): T {
  return withClone(secret, (obj) => {
    setIfUnset(obj, 'type', 'Opaque');
    const stringData = obj['stringData'];
    if (!isRecord(stringData)) return;
    const data = ensureRecord(obj, 'data');
    if (data === undefined) return;
    for (const [k, v] of Object.entries(stringData)) {
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    delete obj['stringData'];
  });
}

/**
 * spec.finalizers gets the kubernetes finalizer only when absent: once the
 * namespace controller has removed it, an update must not bring it back.
 */
export function defaultNamespace<T>(namespace: T): T {
  return withClone(namespace, (obj) => {
    const meta = isRecord(obj['metadata']) ? obj['metadata'] : undefined;
    if (meta !== undefined && typeof meta['name'] === 'string' && meta['name'] !== '') {
      const labels = ensureRecord(meta, 'labels');
      if (labels !== undefined) labels[NAMESPACE_NAME_LABEL] = meta['name'];
    }
    const spec = specOf(obj);
    if (spec !== undefined && (spec['finalizers'] === undefined || spec['finalizers'] === null)) spec['finalizers'] = [NAMESPACE_FINALIZER];
    const status = ensureRecord(obj, 'status');
    if (status !== undefined) setIfUnset(status, 'phase', 'Active');
  });
}

export function defaultEndpoints<T>(endpoints: T): T {
  return withClone(endpoints, (obj) => {
    for (const subset of recordsIn(obj['subsets'])) {
      for (const port of recordsIn(subset['ports'])) setIfUnset(port, 'protocol', 'TCP');
    }
  });
}

/** allocatable defaults to capacity: a node that reserves nothing offers all it has. */
export function defaultNode<T>(node: T): T {
  return withClone(node, (obj) => {
    const status = obj['status'];
    if (isRecord(status) && isRecord(status['capacity']) && (status['allocatable'] === undefined || status['allocatable'] === null)) {
      status['allocatable'] = { ...status['capacity'] };
    }
  });
}

/** Role bindings: roleRef and User/Group subjects belong to the RBAC API group unless told otherwise. */
export function defaultRoleBinding<T>(binding: T): T {
  return withClone(binding, (obj) => {
    const roleRef = obj['roleRef'];
    if (isRecord(roleRef)) setIfUnset(roleRef, 'apiGroup', RBAC_GROUP);
    for (const subject of recordsIn(obj['subjects'])) {
      if (subject['kind'] === 'User' || subject['kind'] === 'Group') setIfUnset(subject, 'apiGroup', RBAC_GROUP);
    }
  });
}
