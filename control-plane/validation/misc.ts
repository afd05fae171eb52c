/**
 * The smaller kinds: Namespace, Node, Event, ServiceAccount, Lease, and the
 * autoscaling/v1 Scale subresource body.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  NON_NEGATIVE,
  child,
  forbidden,
  index,
  invalid,
  isInteger,
  isRecord,
  listAt,
  nonNegative,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { NamespaceScope, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { isCidr, isQualifiedName, nameIsDnsLabel, nameIsDnsSubdomain } from './names.js';
import { validateResourceQuantity } from './resources.js';
import { validateTaints } from './scheduling.js';

/** Finalizers Kubernetes itself defines; any other must be domain-qualified ("example.com/x"). */
const STANDARD_FINALIZERS: readonly string[] = ['kubernetes', 'orphan', 'foregroundDeletion'];
const NAMESPACE_PHASES: readonly string[] = ['Active', 'Terminating'];

function withMetaUpdate(errors: FieldError[], obj: JsonRecord, old: unknown): FieldError[] {
  if (isRecord(old)) errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
  return errors;
}

export function validateNamespace(namespace: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(namespace, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Cluster, name: nameIsDnsLabel }));
  const spec = recordAt(obj['spec'], 'spec', errors);
  listAt(spec['finalizers'], 'spec.finalizers', errors).forEach((raw, i) => {
    const finalizer = stringAt(raw, index('spec.finalizers', i), errors);
    for (const msg of isQualifiedName(finalizer)) errors.push(invalid('spec.finalizers', finalizer, msg));
    if (!finalizer.includes('/') && !STANDARD_FINALIZERS.includes(finalizer)) {
      errors.push(invalid('spec.finalizers', finalizer, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  const phase = recordAt(obj['status'], 'status', errors)['phase'];
  if (phase !== undefined && phase !== null && (typeof phase !== 'string' || !NAMESPACE_PHASES.includes(phase))) {
    errors.push(notSupported('status.phase', phase, NAMESPACE_PHASES));
  }
  return withMetaUpdate(errors, obj, old);
}

// ------------------------------------------------------------ nodes

/** Dual stack: one pod CIDR per IP family at most. */
const POD_CIDRS_MAX = 2;

/** podCIDRs, or the single podCIDR older clients set. */
function podCidrsOf(spec: JsonRecord): unknown[] {
  if (Array.isArray(spec['podCIDRs']) && spec['podCIDRs'].length > 0) return spec['podCIDRs'];
  return typeof spec['podCIDR'] === 'string' && spec['podCIDR'] !== '' ? [spec['podCIDR']] : [];
}

function validateNodeSpec(spec: JsonRecord, errors: FieldError[]): void {
  const podCIDR = stringAt(spec['podCIDR'], 'spec.podCIDR', errors);
  if (podCIDR !== '') for (const msg of isCidr(podCIDR)) errors.push(invalid('spec.podCIDR', podCIDR, msg));
  const cidrs = listAt(spec['podCIDRs'], 'spec.podCIDRs', errors);
  cidrs.forEach((raw, i) => {
    const at = index('spec.podCIDRs', i);
    const cidr = stringAt(raw, at, errors);
    for (const msg of isCidr(cidr)) errors.push(invalid(at, cidr, msg));
  });
  if (cidrs.length > 0 && podCIDR !== '' && cidrs[0] !== podCIDR) {
    errors.push(invalid('spec.podCIDRs[0]', cidrs[0], 'must match `podCIDR`'));
  }
  if (cidrs.length > POD_CIDRS_MAX) errors.push(invalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  if (spec['unschedulable'] !== undefined && typeof spec['unschedulable'] !== 'boolean') {
    errors.push(invalid('spec.unschedulable', spec['unschedulable'], 'must be a boolean'));
  }
  errors.push(...validateTaints(spec['taints'], 'spec.taints'));
}

function nodeUpdateErrors(spec: JsonRecord, old: JsonRecord): FieldError[] {
  const errors: FieldError[] = [];
  const before = podCidrsOf(old);
  const now = podCidrsOf(spec);
  // The node IPAM controller assigns a CIDR once; moving it would strand every pod IP on the node.
  if (before.length > now.length || before.some((cidr, i) => cidr !== now[i])) {
    errors.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  }
  const providerID = old['providerID'];
  if (typeof providerID === 'string' && providerID !== '' && providerID !== spec['providerID']) {
    errors.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return errors;
}

export function validateNode(node: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(node, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Cluster, name: nameIsDnsSubdomain }));
  const spec = recordAt(obj['spec'], 'spec', errors);
  validateNodeSpec(spec, errors);
  const status = recordAt(obj['status'], 'status', errors);
  for (const field of ['capacity', 'allocatable'] as const) {
    const path = child('status', field);
    for (const [name, value] of Object.entries(recordAt(status[field], path, errors))) {
      errors.push(...isQualifiedName(name).map((msg) => invalid(child(path, name), name, msg)));
      errors.push(...validateResourceQuantity(name, value, child(path, name)));
    }
  }
  if (isRecord(old)) errors.push(...nodeUpdateErrors(spec, isRecord(old['spec']) ? old['spec'] : {}));
  return withMetaUpdate(errors, obj, old);
}

// ------------------------------------------------------------ events

/** Kubernetes' length limits for event fields, in characters. */
const EVENT_REASON_CHARS_MAX = 128;
const EVENT_ACTION_CHARS_MAX = 128;
const EVENT_REPORTING_INSTANCE_CHARS_MAX = 128;
const EVENT_NOTE_CHARS_MAX = 1024;

function lengthErrors(value: string, charsMax: number, path: string): FieldError[] {
  return value.length > charsMax ? [invalid(path, '', `can have at most ${charsMax} characters`)] : [];
}

/** Events written the new way (with eventTime) must say who reported what. */
function newStyleEventErrors(obj: JsonRecord, errors: FieldError[]): void {
  for (const [field, charsMax] of [
    ['reportingInstance', EVENT_REPORTING_INSTANCE_CHARS_MAX],
    ['action', EVENT_ACTION_CHARS_MAX],
    ['reason', EVENT_REASON_CHARS_MAX],
  ] as const) {
    const value = stringAt(obj[field], field, errors);
    if (value === '') errors.push(required(field));
    errors.push(...lengthErrors(value, charsMax, field));
  }
  const controller = stringAt(obj['reportingComponent'], 'reportingComponent', errors);
  if (controller === '') errors.push(required('reportingComponent'));
  else for (const msg of isQualifiedName(controller)) errors.push(invalid('reportingComponent', controller, msg));
  errors.push(...lengthErrors(stringAt(obj['message'], 'message', errors), EVENT_NOTE_CHARS_MAX, 'message'));
}

/** core/v1 Events. Kubernetes applies the same rules on update (clients patch count and lastTimestamp). */
export function validateEvent(event: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(event, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain }));
  const meta = isRecord(obj['metadata']) ? obj['metadata'] : {};
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  const involved = recordAt(obj['involvedObject'], 'involvedObject', errors);
  const involvedNamespace = stringAt(involved['namespace'], 'involvedObject.namespace', errors);
  const newStyle = typeof obj['eventTime'] === 'string' && obj['eventTime'] !== '';
  // Events about cluster-scoped objects live in "default" (or, for new-style events, "kube-system").
  const clusterScopedHomes = newStyle ? ['default', 'kube-system'] : ['', 'default'];
  const mismatch = involvedNamespace === '' ? !clusterScopedHomes.includes(namespace) : involvedNamespace !== namespace;
  if (mismatch) errors.push(invalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace'));
  if (newStyle) newStyleEventErrors(obj, errors);
  errors.push(...nonNegative('count', obj['count']));
  return withMetaUpdate(errors, obj, old);
}

export function validateServiceAccount(account: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(account, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain }));
  listAt(obj['secrets'], 'secrets', errors);
  listAt(obj['imagePullSecrets'], 'imagePullSecrets', errors);
  return withMetaUpdate(errors, obj, old);
}

// ------------------------------------------------------------ leases, scale

/** RFC 3339 with an optional fraction of up to nanoseconds (MicroTime and Time both parse). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function validateTimestamp(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value))
    ? []
    : [invalid(path, value, 'must be an RFC 3339 timestamp, e.g. 2006-01-02T15:04:05.000000Z')];
}

export function validateLease(lease: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(lease, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain }));
  const spec = recordAt(obj['spec'], 'spec', errors);
  stringAt(spec['holderIdentity'], 'spec.holderIdentity', errors);
  const duration = spec['leaseDurationSeconds'];
  if (duration !== undefined && duration !== null && (!isInteger(duration) || duration <= 0)) {
    errors.push(invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = spec['leaseTransitions'];
  if (transitions !== undefined && transitions !== null && (!isInteger(transitions) || transitions < 0)) {
    errors.push(invalid('spec.leaseTransitions', transitions, NON_NEGATIVE));
  }
  errors.push(...validateTimestamp(spec['acquireTime'], 'spec.acquireTime'));
  errors.push(...validateTimestamp(spec['renewTime'], 'spec.renewTime'));
  return withMetaUpdate(errors, obj, old);
}

/** The body of PUT .../scale: only the replica count is the client's to set. */
export function validateScale(scale: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(scale, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Either, name: nameIsDnsSubdomain }));
  errors.push(...nonNegative('spec.replicas', recordAt(obj['spec'], 'spec', errors)['replicas']));
  return errors;
}

