/**
 * One container of a pod spec: name, image, ports, env, volume mounts,
 * resources, probes and the fields defaulting fills in. Checks that span
 * containers (unique names, host port conflicts) live in pod.ts.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  listAt,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { isConfigMapKey, isEnvVarName, isPortName, isQualifiedName, nameIsDnsSubdomain } from './names.js';
import { validatePortNumber, validateProtocol, validateRequiredPort } from './ports.js';
import { ProbeKind, validateProbe } from './probe.js';
import { validateResourceRequirements } from './resources.js';

export const PULL_POLICIES: readonly string[] = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES: readonly string[] = ['File', 'FallbackToLogsOnError'];

/** Pod fields an environment variable may read through the downward API (sorted, as Kubernetes lists them). */
const ENV_FIELD_PATHS: readonly string[] = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const SUBSCRIPTED_FIELD_PATH = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

export const ContainerRole = {
  Regular: 'Regular',
  Init: 'Init',
} as const;
export type ContainerRole = (typeof ContainerRole)[keyof typeof ContainerRole];

export interface ContainerContext {
  readonly role: ContainerRole;
  /** Names of the pod's volumes, for volumeMounts. */
  readonly volumeNames: ReadonlySet<string>;
  readonly hostNetwork: boolean;
}

function validatePorts(ports: unknown, path: string, hostNetwork: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  listAt(ports, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const port = recordAt(raw, at, errors);
    const name = stringAt(port['name'], child(at, 'name'), errors);
    if (name !== '') {
      const msgs = isPortName(name);
      for (const msg of msgs) errors.push(invalid(child(at, 'name'), name, msg));
      if (msgs.length === 0 && names.has(name)) errors.push(duplicate(child(at, 'name'), name));
      names.add(name);
    }
    errors.push(...validateRequiredPort(port['containerPort'], child(at, 'containerPort')));
    const hostPort = port['hostPort'];
    if (hostPort !== undefined && hostPort !== null && hostPort !== 0) {
      errors.push(...validatePortNumber(hostPort, child(at, 'hostPort')));
    }
    if (hostNetwork && hostPort !== port['containerPort']) {
      errors.push(invalid(child(at, 'hostPort'), port['containerPort'], 'must match `containerPort` when `hostNetwork` is true'));
    }
    errors.push(...validateProtocol(port['protocol'], child(at, 'protocol')));
  });
  return errors;
}

function validateKeySelector(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const ref = recordAt(raw, path, errors);
  const name = stringAt(ref['name'], child(path, 'name'), errors);
  for (const msg of nameIsDnsSubdomain(name, false)) errors.push(invalid(child(path, 'name'), name, msg));
  const key = stringAt(ref['key'], child(path, 'key'), errors);
  if (key === '') errors.push(required(child(path, 'key')));
  else for (const msg of isConfigMapKey(key)) errors.push(invalid(child(path, 'key'), key, msg));
  return errors;
}

function validateFieldRef(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const ref = recordAt(raw, path, errors);
  if (stringAt(ref['apiVersion'], child(path, 'apiVersion'), errors) === '') return [required(child(path, 'apiVersion'))];
  const fieldPath = stringAt(ref['fieldPath'], child(path, 'fieldPath'), errors);
  const at = child(path, 'fieldPath');
  if (fieldPath === '') return [...errors, required(at)];
  const subscripted = SUBSCRIPTED_FIELD_PATH.exec(fieldPath);
  if (subscripted !== null) {
    const [, field = '', subscript = ''] = subscripted;
    const keyName = field === 'metadata.annotations' ? subscript.toLowerCase() : subscript;
    for (const msg of isQualifiedName(keyName)) errors.push(invalid(at, subscript, msg));
  } else if (!ENV_FIELD_PATHS.includes(fieldPath)) {
    errors.push(notSupported(at, fieldPath, ENV_FIELD_PATHS));
  }
  return errors;
}

const VALUE_FROM_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const;

function validateValueFrom(env: JsonRecord, path: string): FieldError[] {
  if (env['valueFrom'] === undefined || env['valueFrom'] === null) return [];
  const errors: FieldError[] = [];
  const from = recordAt(env['valueFrom'], path, errors);
  const present = VALUE_FROM_SOURCES.filter((s) => from[s] !== undefined && from[s] !== null);
  for (const source of present) {
    const at = child(path, source);
    if (source === 'fieldRef') errors.push(...validateFieldRef(from[source], at));
    else if (source === 'resourceFieldRef') {
      if (stringAt(recordAt(from[source], at, errors)['resource'], child(at, 'resource'), errors) === '') {
        errors.push(required(child(at, 'resource')));
      }
    } else errors.push(...validateKeySelector(from[source], at));
  }
  if (present.length === 0) {
    errors.push(invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  } else if (typeof env['value'] === 'string' && env['value'] !== '') {
    errors.push(invalid(path, '', 'may not be specified when `value` is not empty'));
  } else if (present.length > 1) {
    errors.push(invalid(path, '', 'may not have more than one field specified at a time'));
  }
  return errors;
}

function validateEnv(envs: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  listAt(envs, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const env = recordAt(raw, at, errors);
    const name = stringAt(env['name'], child(at, 'name'), errors);
    if (name === '') errors.push(required(child(at, 'name')));
    else for (const msg of isEnvVarName(name)) errors.push(invalid(child(at, 'name'), name, msg));
    stringAt(env['value'], child(at, 'value'), errors);
    errors.push(...validateValueFrom(env, child(at, 'valueFrom')));
  });
  return errors;
}

/** A path inside a volume: relative, and never climbing out of it. */
export function validateLocalDescendingPath(value: string, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (value.startsWith('/')) errors.push(invalid(path, value, 'must be a relative path'));
  if (value.split(/[/\\]/).includes('..')) errors.push(invalid(path, value, "must not contain '..'"));
  return errors;
}

function validateVolumeMounts(mounts: unknown, path: string, volumeNames: ReadonlySet<string>): FieldError[] {
  const errors: FieldError[] = [];
  const mountPaths = new Set<string>();
  listAt(mounts, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const mount = recordAt(raw, at, errors);
    const name = stringAt(mount['name'], child(at, 'name'), errors);
    if (name === '') errors.push(required(child(at, 'name')));
    // Kubernetes reports this as FieldValueNotFound, a cause type FieldErrorType does not have.
    else if (!volumeNames.has(name)) errors.push(invalid(child(at, 'name'), name, 'not found: no volume of this pod has this name'));
    const mountPath = stringAt(mount['mountPath'], child(at, 'mountPath'), errors);
    if (mountPath === '') errors.push(required(child(at, 'mountPath')));
    else if (mountPaths.has(mountPath)) errors.push(invalid(child(at, 'mountPath'), mountPath, 'must be unique'));
    mountPaths.add(mountPath);
    const subPath = stringAt(mount['subPath'], child(at, 'subPath'), errors);
    if (subPath !== '') errors.push(...validateLocalDescendingPath(subPath, child(at, 'subPath')));
  });
  return errors;
}

function validateEnumField(value: unknown, supported: readonly string[], path: string): FieldError[] {
  if (value === undefined || value === null || value === '') return [required(path)];
  return typeof value === 'string' && supported.includes(value) ? [] : [notSupported(path, value, supported)];
}

function validateImage(ctr: JsonRecord, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const image = stringAt(ctr['image'], path, errors);
  if (image === '') errors.push(required(path));
  else if (image !== image.trim()) errors.push(invalid(path, image, 'must not have leading or trailing whitespace'));
  return errors;
}

/** Probes and restartPolicy by role: plain init containers run to completion, so they cannot be probed. */
function validateRoleFields(ctr: JsonRecord, role: ContainerRole, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const restartPolicy = ctr['restartPolicy'];
  const isSidecar = role === ContainerRole.Init && restartPolicy === 'Always';
  if (role === ContainerRole.Regular && restartPolicy !== undefined && restartPolicy !== null) {
    errors.push(forbidden(child(path, 'restartPolicy'), 'may not be set for non-init containers'));
  }
  if (role === ContainerRole.Init && restartPolicy !== undefined && restartPolicy !== null && !isSidecar) {
    errors.push(notSupported(child(path, 'restartPolicy'), restartPolicy, ['Always']));
  }
  for (const kind of Object.values(ProbeKind)) {
    const at = child(path, kind);
    if (role === ContainerRole.Init && !isSidecar) {
      if (ctr[kind] !== undefined && ctr[kind] !== null) {
        errors.push(forbidden(at, 'may not be set for init containers without restartPolicy=Always'));
      }
    } else errors.push(...validateProbe(ctr[kind], kind, at));
  }
  return errors;
}

/** Every per-container check; `path` is e.g. `spec.containers[0]`. Name uniqueness is the caller's. */
export function validateContainer(raw: unknown, ctx: ContainerContext, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const ctr = recordAt(raw, path, errors);
  errors.push(...validateImage(ctr, child(path, 'image')));
  errors.push(...validateRoleFields(ctr, ctx.role, path));
  errors.push(...validatePorts(ctr['ports'], child(path, 'ports'), ctx.hostNetwork));
  errors.push(...validateEnv(ctr['env'], child(path, 'env')));
  errors.push(...validateVolumeMounts(ctr['volumeMounts'], child(path, 'volumeMounts'), ctx.volumeNames));
  errors.push(...validateResourceRequirements(ctr['resources'], child(path, 'resources')));
  errors.push(...validateEnumField(ctr['imagePullPolicy'], PULL_POLICIES, child(path, 'imagePullPolicy')));
  const policy = ctr['terminationMessagePolicy'];
  if (policy === undefined || policy === null || policy === '') errors.push(required(child(path, 'terminationMessagePolicy')));
  else if (typeof policy !== 'string' || !TERMINATION_MESSAGE_POLICIES.includes(policy)) {
    errors.push(invalid(child(path, 'terminationMessagePolicy'), policy, "must be 'File' or 'FallbackToLogsOnError'"));
  }
  return errors;
}
