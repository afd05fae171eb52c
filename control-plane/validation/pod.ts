/**
 * Pod and pod spec validation on create. A pod spec is also validated as the
 * template of a Deployment or ReplicaSet (workloads.ts); the update rules are
 * in pod-update.ts.
 *
 * Expects a defaulted object (defaults.ts), as Kubernetes does: fields that
 * defaulting always fills (restartPolicy, dnsPolicy, imagePullPolicy, port
 * protocols, ...) are reported as Required when missing.
 */
import { DNSPolicy, RestartPolicy } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  duplicate,
  inclusiveRange,
  index,
  invalid,
  isInteger,
  isRecord,
  listAt,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { ContainerRole, validateContainer } from './container.js';
import { NamespaceScope, validateLabels, validateObjectMeta } from './meta.js';
import { isDns1123Label, isDns1123Subdomain, nameIsDnsSubdomain } from './names.js';
import { validateAffinity, validateTolerations } from './scheduling.js';
import { validateVolumes } from './volumes.js';

const RESTART_POLICIES: readonly string[] = Object.values(RestartPolicy);
const DNS_POLICIES: readonly string[] = Object.values(DNSPolicy);
const PREEMPTION_POLICIES: readonly string[] = ['Never', 'PreemptLowerPriority'];
/** activeDeadlineSeconds is an int32 in Kubernetes' API. */
export const ACTIVE_DEADLINE_SECONDS_MAX = 2 ** 31 - 1;

export interface PodSpecOptions {
  /** Restart policies allowed; workload templates allow only Always. */
  readonly restartPolicies: readonly string[];
}

const POD_OPTIONS: PodSpecOptions = { restartPolicies: RESTART_POLICIES };

function validateEnum(value: unknown, supported: readonly string[], path: string): FieldError[] {
  if (value === undefined || value === null || value === '') return [required(path)];
  return typeof value === 'string' && supported.includes(value) ? [] : [notSupported(path, value, supported)];
}

/** Names are unique across regular and init containers: both share the pod's namespace of names. */
function validateContainers(spec: JsonRecord, path: string, volumeNames: ReadonlySet<string>): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  const ctx = { volumeNames, hostNetwork: spec['hostNetwork'] === true };
  // Regular containers first, as Kubernetes checks them: a clash is reported on the init container.
  const groups = [
    ['containers', ContainerRole.Regular],
    ['initContainers', ContainerRole.Init],
  ] as const;
  for (const [field, role] of groups) {
    const before = errors.length;
    const list = listAt(spec[field], child(path, field), errors);
    const wrongType = errors.length > before;
    if (role === ContainerRole.Regular && list.length === 0 && !wrongType) errors.push(required(child(path, field)));
    list.forEach((raw, i) => {
      const at = index(child(path, field), i);
      const name = isRecord(raw) ? stringAt(raw['name'], child(at, 'name'), errors) : '';
      if (name === '') errors.push(required(child(at, 'name')));
      else for (const msg of isDns1123Label(name)) errors.push(invalid(child(at, 'name'), name, msg));
      if (names.has(name) && name !== '') errors.push(duplicate(child(at, 'name'), name));
      names.add(name);
      errors.push(...validateContainer(raw, { ...ctx, role }, at));
    });
  }
  errors.push(...hostPortConflicts(spec, path));
  return errors;
}

/** Two containers cannot bind the same host port, protocol and address. */
function hostPortConflicts(spec: JsonRecord, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
  containers.forEach((ctr: unknown, i) => {
    const ports = isRecord(ctr) && Array.isArray(ctr['ports']) ? ctr['ports'] : [];
    ports.forEach((port: unknown, j) => {
      if (!isRecord(port) || !isInteger(port['hostPort']) || port['hostPort'] === 0) return;
      const id = `${String(port['hostIP'] ?? '')}/${String(port['protocol'] ?? '')}/${port['hostPort']}`;
      const at = child(index(child(index(child(path, 'containers'), i), 'ports'), j), 'hostPort');
      if (seen.has(id)) errors.push(duplicate(at, id));
      seen.add(id);
    });
  });
  return errors;
}

function validateOptionalName(value: unknown, path: string, check: (s: string) => string[]): FieldError[] {
  const errors: FieldError[] = [];
  const name = stringAt(value, path, errors);
  if (name !== '') for (const msg of check(name)) errors.push(invalid(path, name, msg));
  return errors;
}

function validateScalars(spec: JsonRecord, path: string, options: PodSpecOptions): FieldError[] {
  const errors: FieldError[] = [];
  errors.push(...validateEnum(spec['restartPolicy'], options.restartPolicies, child(path, 'restartPolicy')));
  errors.push(...validateEnum(spec['dnsPolicy'], DNS_POLICIES, child(path, 'dnsPolicy')));
  if (spec['dnsPolicy'] === DNSPolicy.None && !isRecord(spec['dnsConfig'])) {
    errors.push(required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  const deadline = spec['activeDeadlineSeconds'];
  if (deadline !== undefined && deadline !== null) {
    if (!isInteger(deadline) || deadline < 1 || deadline > ACTIVE_DEADLINE_SECONDS_MAX) {
      errors.push(invalid(child(path, 'activeDeadlineSeconds'), deadline, inclusiveRange(1, ACTIVE_DEADLINE_SECONDS_MAX)));
    }
  }
  for (const field of ['terminationGracePeriodSeconds', 'priority'] as const) {
    const value = spec[field];
    if (value !== undefined && value !== null && !isInteger(value)) errors.push(invalid(child(path, field), value, 'must be an integer'));
  }
  const preemption = spec['preemptionPolicy'];
  if (preemption !== undefined && preemption !== null) errors.push(...validateEnum(preemption, PREEMPTION_POLICIES, child(path, 'preemptionPolicy')));
  const subdomain = (s: string): string[] => nameIsDnsSubdomain(s, false);
  errors.push(...validateOptionalName(spec['serviceAccountName'], child(path, 'serviceAccountName'), subdomain));
  errors.push(...validateOptionalName(spec['nodeName'], child(path, 'nodeName'), subdomain));
  errors.push(...validateOptionalName(spec['schedulerName'], child(path, 'schedulerName'), isDns1123Subdomain));
  errors.push(...validateOptionalName(spec['priorityClassName'], child(path, 'priorityClassName'), subdomain));
  errors.push(...validateOptionalName(spec['hostname'], child(path, 'hostname'), isDns1123Label));
  errors.push(...validateOptionalName(spec['subdomain'], child(path, 'subdomain'), isDns1123Label));
  return errors;
}

/** A pod spec at `path` (`spec`, or `spec.template.spec` for workloads). */
export function validatePodSpec(raw: unknown, path: string, options: PodSpecOptions = POD_OPTIONS): FieldError[] {
  const errors: FieldError[] = [];
  if (raw === undefined || raw === null) return [required(child(path, 'containers'))];
  const spec = recordAt(raw, path, errors);
  const volumes = validateVolumes(spec['volumes'], child(path, 'volumes'));
  errors.push(...volumes.errors);
  errors.push(...validateContainers(spec, path, volumes.names));
  errors.push(...validateScalars(spec, path, options));
  errors.push(...validateLabels(spec['nodeSelector'], child(path, 'nodeSelector')));
  errors.push(...validateTolerations(spec['tolerations'], child(path, 'tolerations')));
  errors.push(...validateAffinity(spec['affinity'], child(path, 'affinity')));
  return errors;
}

export function validatePod(pod: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(pod, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain }));
  errors.push(...validatePodSpec(obj['spec'], 'spec'));
  return errors;
}
