/**
 * Defaulting of pod specs and containers, as Kubernetes' v1 defaulting
 * functions do it, plus the admission plugins that default fields of Pods
 * only (DefaultTolerationSeconds, Priority).
 *
 * These functions fill in a record in place and are internal: the exported
 * `defaultX` functions in defaults.ts clone first, so callers' objects are
 * never changed. Each one only fills what is missing, so applying it twice
 * gives the same result as applying it once. Values of the wrong type are left
 * alone for validation to report.
 */
import { isInteger, isRecord, type JsonRecord } from './field-errors.js';

export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** 0644: configMap and secret files readable by all, writable by the owner. */
export const DEFAULT_VOLUME_FILE_MODE = 0o644;
/**
 * How long pods stay bound to a node that is not ready or unreachable before
 * eviction: the DefaultTolerationSeconds admission plugin's 300 s.
 */
export const DEFAULT_NOT_READY_TOLERATION_SECONDS = 300;
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';

/** Probe timing defaults; 0 counts as unset, as in Kubernetes. */
const PROBE_DEFAULTS = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 } as const;
const PROBE_FIELDS = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

/** Sets `obj[field]` to `value` when it is absent, null or "". */
export function setIfUnset(obj: JsonRecord, field: string, value: unknown): void {
  if (obj[field] === undefined || obj[field] === null || obj[field] === '') obj[field] = value;
}

/** The records of a list field, skipping anything that is not one. */
export function recordsIn(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The record at `obj[field]`, created empty when absent; undefined when the field holds something else. */
export function ensureRecord(obj: JsonRecord, field: string): JsonRecord | undefined {
  if (obj[field] === undefined || obj[field] === null) obj[field] = {};
  const value = obj[field];
  return isRecord(value) ? value : undefined;
}

/**
 * "latest" when the image names no tag and no digest, as Kubernetes' image
 * name parser does. A colon before the last '/' belongs to a registry port.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
  return tag === '' && at < 0 ? 'latest' : tag;
}

function defaultProbe(probe: JsonRecord): void {
  for (const [field, value] of Object.entries(PROBE_DEFAULTS)) {
    if (probe[field] === undefined || probe[field] === null || probe[field] === 0) probe[field] = value;
  }
  if (isRecord(probe['httpGet'])) {
    setIfUnset(probe['httpGet'], 'path', '/');
    setIfUnset(probe['httpGet'], 'scheme', 'HTTP');
  }
}

function defaultContainer(ctr: JsonRecord): void {
  if (ctr['imagePullPolicy'] === undefined || ctr['imagePullPolicy'] === null || ctr['imagePullPolicy'] === '') {
    const image = typeof ctr['image'] === 'string' ? ctr['image'] : '';
    ctr['imagePullPolicy'] = image !== '' && imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  setIfUnset(ctr, 'terminationMessagePath', DEFAULT_TERMINATION_MESSAGE_PATH);
  setIfUnset(ctr, 'terminationMessagePolicy', 'File');
  ensureRecord(ctr, 'resources');
  for (const port of recordsIn(ctr['ports'])) setIfUnset(port, 'protocol', 'TCP');
  for (const env of recordsIn(ctr['env'])) {
    const from = env['valueFrom'];
    if (isRecord(from) && isRecord(from['fieldRef'])) setIfUnset(from['fieldRef'], 'apiVersion', 'v1');
  }
  for (const field of PROBE_FIELDS) {
    const probe = ctr[field];
    if (isRecord(probe)) defaultProbe(probe);
  }
}

/** Volumes with no source become emptyDir, as in Kubernetes' v1 defaulting. */
function defaultVolume(volume: JsonRecord): void {
  const hasSource = Object.entries(volume).some(([k, v]) => k !== 'name' && v !== undefined && v !== null);
  if (!hasSource) volume['emptyDir'] = {};
  for (const field of ['configMap', 'secret'] as const) {
    const source = volume[field];
    if (isRecord(source)) setIfUnset(source, 'defaultMode', DEFAULT_VOLUME_FILE_MODE);
  }
  const hostPath = volume['hostPath'];
  if (isRecord(hostPath) && (hostPath['type'] === undefined || hostPath['type'] === null)) hostPath['type'] = '';
}

/** Defaults shared by pods and pod templates (Kubernetes' SetDefaults_PodSpec and below). */
export function defaultPodSpecInPlace(spec: JsonRecord): void {
  setIfUnset(spec, 'dnsPolicy', 'ClusterFirst');
  setIfUnset(spec, 'restartPolicy', 'Always');
  ensureRecord(spec, 'securityContext');
  setIfUnset(spec, 'terminationGracePeriodSeconds', DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
  setIfUnset(spec, 'schedulerName', DEFAULT_SCHEDULER_NAME);
  for (const volume of recordsIn(spec['volumes'])) defaultVolume(volume);
  for (const ctr of [...recordsIn(spec['initContainers']), ...recordsIn(spec['containers'])]) defaultContainer(ctr);
}

/** Pods only, not templates: requests default to limits; host network ports bind the same host port. */
function defaultPodOnlyFields(spec: JsonRecord): void {
  for (const ctr of [...recordsIn(spec['initContainers']), ...recordsIn(spec['containers'])]) {
    const resources = ensureRecord(ctr, 'resources');
    if (resources !== undefined && isRecord(resources['limits'])) {
      const requests = ensureRecord(resources, 'requests');
      if (requests !== undefined) {
        for (const [name, limit] of Object.entries(resources['limits'])) {
          if (!Object.hasOwn(requests, name)) requests[name] = limit;
        }
      }
    }
    if (spec['hostNetwork'] === true) {
      for (const port of recordsIn(ctr['ports'])) {
        if (port['hostPort'] === undefined || port['hostPort'] === null || port['hostPort'] === 0) port['hostPort'] = port['containerPort'];
      }
    }
  }
  setIfUnset(spec, 'enableServiceLinks', true);
}

/** Whether some toleration already tolerates `key` with effect NoExecute (an empty key or effect matches all). */
function tolerates(tolerations: readonly JsonRecord[], key: string): boolean {
  return tolerations.some(
    (t) => (t['key'] === key || t['key'] === undefined || t['key'] === '') && (t['effect'] === 'NoExecute' || t['effect'] === undefined || t['effect'] === ''),
  );
}

/** Admission plugins that fill pod fields: DefaultTolerationSeconds, and Priority for pods without a class. */
function admitPod(spec: JsonRecord): void {
  if (spec['tolerations'] === undefined || spec['tolerations'] === null) spec['tolerations'] = [];
  const tolerations = spec['tolerations'];
  if (Array.isArray(tolerations)) {
    for (const key of [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE]) {
      if (tolerates(recordsIn(tolerations), key)) continue;
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_NOT_READY_TOLERATION_SECONDS });
    }
  }
  // A pod naming a PriorityClass gets its value from that class, which the server resolves.
  const className = spec['priorityClassName'];
  if (className === undefined || className === null || className === '') {
    if (!isInteger(spec['priority'])) spec['priority'] = 0;
    setIfUnset(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  }
}

/** Every default a Pod gets on create or update, in place. */
export function defaultPodInPlace(pod: JsonRecord): void {
  const spec = pod['spec'];
  if (!isRecord(spec)) return;
  defaultPodSpecInPlace(spec);
  defaultPodOnlyFields(spec);
  admitPod(spec);
}
