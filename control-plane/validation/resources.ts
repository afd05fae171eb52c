/**
 * Resource names and quantities: container requests and limits, and node
 * capacity. A malformed quantity is reported as a field error here; Kubernetes
 * refuses it earlier, while decoding the body, with the same text.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import { NON_NEGATIVE, child, invalid, key, recordAt, required } from './field-errors.js';
import { isQualifiedName } from './names.js';
import { QuantityError, compareQuantities, formatQuantity, quantityFromJson, type Quantity } from './quantity.js';

export const ResourceName = {
  Cpu: 'cpu',
  Memory: 'memory',
  EphemeralStorage: 'ephemeral-storage',
  Pods: 'pods',
} as const;
export type ResourceName = (typeof ResourceName)[keyof typeof ResourceName];

const HUGEPAGES_PREFIX = 'hugepages-';
/** Resources in the kubernetes.io domain are "native"; any other domain names an extended resource. */
const NATIVE_DOMAIN_SUFFIX = 'kubernetes.io/';

const CONTAINER_RESOURCES: ReadonlySet<string> = new Set([
  ResourceName.Cpu,
  ResourceName.Memory,
  ResourceName.EphemeralStorage,
]);

function isNative(name: string): boolean {
  return !name.includes('/') || name.includes(NATIVE_DOMAIN_SUFFIX);
}

/** cpu, memory and ephemeral storage may be overcommitted (requests < limits); hugepages and extended resources may not. */
function isOvercommitAllowed(name: string): boolean {
  return isNative(name) && !name.startsWith(HUGEPAGES_PREFIX);
}

/** Extended resources are counted in whole units (GPUs, devices). */
function isIntegerResource(name: string): boolean {
  return !isNative(name);
}

/** A quantity, or an error for the field. */
export function quantityAt(value: unknown, path: string, errors: FieldError[]): Quantity | undefined {
  try {
    return quantityFromJson(value);
  } catch (e) {
    if (!(e instanceof QuantityError)) throw e;
    errors.push(invalid(path, value, e.message));
    return undefined;
  }
}

/** A valid, non-negative quantity; whole units for extended resources. */
export function validateResourceQuantity(name: string, value: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const q = quantityAt(value, path, errors);
  if (q === undefined) return errors;
  if (q.nanos < 0n) errors.push(invalid(path, formatQuantity(q), NON_NEGATIVE));
  else if (isIntegerResource(name) && q.nanos % 1_000_000_000n !== 0n) {
    errors.push(invalid(path, formatQuantity(q), 'must be an integer'));
  }
  return errors;
}

function validateContainerResourceName(name: string, path: string): FieldError[] {
  const errors = isQualifiedName(name).map((msg) => invalid(path, name, msg));
  if (!name.includes('/')) {
    if (!CONTAINER_RESOURCES.has(name) && !name.startsWith(HUGEPAGES_PREFIX)) {
      errors.push(invalid(path, name, 'must be a standard resource for containers'));
    }
  }
  return errors;
}

function validateResourceList(list: unknown, path: string, errors: FieldError[]): Map<string, Quantity> {
  const parsed = new Map<string, Quantity>();
  for (const [name, value] of Object.entries(recordAt(list, path, errors))) {
    const at = key(path, name);
    const before = errors.length;
    errors.push(...validateContainerResourceName(name, at));
    errors.push(...validateResourceQuantity(name, value, at));
    const q = errors.length === before ? quantityAt(value, at, []) : undefined;
    if (q !== undefined) parsed.set(name, q);
  }
  return parsed;
}

/** `resources` of a container: valid names and quantities; requests within limits. */
export function validateResourceRequirements(resources: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const res = recordAt(resources, path, errors);
  const limitsPath = child(path, 'limits');
  const requestsPath = child(path, 'requests');
  const limits = validateResourceList(res['limits'], limitsPath, errors);
  const requests = validateResourceList(res['requests'], requestsPath, errors);
  for (const [name, request] of requests) {
    const at = key(requestsPath, name);
    const limit = limits.get(name);
    if (limit === undefined) {
      if (!isOvercommitAllowed(name)) errors.push(required(key(limitsPath, name), 'Limit must be set for non overcommitable resources'));
      continue;
    }
    const cmp = compareQuantities(request, limit);
    if (isOvercommitAllowed(name) ? cmp > 0 : cmp !== 0) {
      const relation = isOvercommitAllowed(name) ? 'less than or equal to' : 'equal to';
      errors.push(invalid(at, formatQuantity(request), `must be ${relation} ${name} limit of ${formatQuantity(limit)}`));
    }
  }
  return errors;
}
