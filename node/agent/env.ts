/**
 * A container's environment as the kubelet builds it: `envFrom` sources
 * first (ConfigMaps and Secrets, each key with the source's prefix), then
 * `env` in order, later names overriding earlier ones; values from a plain
 * value (with `$(VAR)` references to variables defined before it expanded),
 * a ConfigMap or Secret key, a field of the pod (fieldRef) or a resource of
 * the container (resourceFieldRef). `command` and `args` are expanded against
 * the result.
 *
 * The objects it reads come through `EnvSources`, so this file stays free of
 * API calls; a missing, non-optional source is a CreateContainerConfigError,
 * as in the kubelet.
 */
import type { ConfigMap, Container, EnvVar, Pod, Secret } from '../../proto/k8s/core-v1.js';
import { AgentError, AgentErrorCode } from './errors.js';
import { bytesOf, milliCpuOf, parseQuantity } from './quantity.js';

/** Reads a pod's ConfigMaps and Secrets; undefined when one does not exist. */
export interface ObjectSources {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

/** What fieldRef may read that the pod object does not hold yet. */
export interface PodRuntimeFields {
  readonly podIp: string;
  readonly hostIp: string;
  readonly nodeName: string;
}

export interface EnvEntry {
  readonly key: string;
  readonly value: string;
}

function configError(message: string): AgentError {
  return new AgentError(AgentErrorCode.CreateContainerConfigError, message);
}

/** `$(NAME)` → its value when defined (else left as written), `$$` → `$`: Kubernetes' expansion rule. */
export function expandVars(text: string, lookup: (name: string) => string | undefined): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return lookup(name) ?? whole;
  });
}

/** The string values of a Secret (data is base64) or a ConfigMap (data and base64 binaryData). */
export function secretValues(s: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

export function configMapValues(cm: ConfigMap): Record<string, string> {
  const out: Record<string, string> = { ...(cm.data ?? {}) };
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

/** A field of the pod by its fieldPath (the downward API's subset). */
export function podFieldValue(pod: Pod, path: string, rt: PodRuntimeFields): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m !== null) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2] ?? ''] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? rt.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return rt.podIp;
    case 'status.hostIP':
    case 'status.hostIPs':
      return rt.hostIp;
    default:
      throw configError(`fieldRef ${path} is not supported (metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP)`);
  }
}

/** limits.cpu / requests.memory … of a container, divided by the divisor and rounded up (the kubelet's rule). */
export function resourceFieldValue(c: Container, resource: string, divisor: string | undefined): string {
  const [kind, name] = resource.split('.');
  const list = kind === 'limits' ? c.resources?.limits : kind === 'requests' ? c.resources?.requests : undefined;
  if (list === undefined && kind !== 'limits' && kind !== 'requests') throw configError(`resourceFieldRef ${resource} is not supported`);
  const text = list?.[name ?? ''];
  if (name === 'cpu') {
    const milli = milliCpuOf(text) ?? 0;
    const div = milliCpuOf(divisor ?? '1') ?? 1000;
    return String(Math.ceil(milli / Math.max(1, div)));
  }
  const bytes = bytesOf(text) ?? 0;
  const div = parseQuantity(divisor ?? '1') ?? 1;
  return String(Math.ceil(bytes / (div > 0 ? div : 1)));
}

async function valueOf(pod: Pod, c: Container, v: EnvVar, sources: ObjectSources, rt: PodRuntimeFields, lookup: (name: string) => string | undefined): Promise<string | undefined> {
  const ns = pod.metadata.namespace ?? 'default';
  const from = v.valueFrom;
  if (from === undefined) return expandVars(v.value ?? '', lookup);
  if (from.fieldRef !== undefined) return podFieldValue(pod, from.fieldRef.fieldPath, rt);
  if (from.resourceFieldRef !== undefined) return resourceFieldValue(c, from.resourceFieldRef.resource, from.resourceFieldRef.divisor);
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref === undefined) return '';
  const isSecret = from.secretKeyRef !== undefined;
  const kind = isSecret ? 'secret' : 'configmap';
  const obj = isSecret ? await sources.secret(ns, ref.name ?? '') : await sources.configMap(ns, ref.name ?? '');
  if (obj === undefined) {
    if (ref.optional === true) return undefined;
    throw configError(`${kind} "${ref.name ?? ''}" not found`);
  }
  const values = isSecret ? secretValues(obj as Secret) : configMapValues(obj as ConfigMap);
  const value = values[ref.key];
  if (value === undefined && ref.optional !== true) throw configError(`couldn't find key ${ref.key} in ${kind} ${ns}/${ref.name ?? ''}`);
  return value;
}

/** The container's environment, in definition order (a redefined name keeps its first position, takes its last value). */
export async function resolveEnv(pod: Pod, c: Container, sources: ObjectSources, rt: PodRuntimeFields): Promise<EnvEntry[]> {
  const env = new Map<string, string>();
  const ns = pod.metadata.namespace ?? 'default';
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (ref === undefined) continue;
    const isSecret = src.secretRef !== undefined;
    const obj = isSecret ? await sources.secret(ns, ref.name ?? '') : await sources.configMap(ns, ref.name ?? '');
    if (obj === undefined) {
      if (ref.optional === true) continue;
      throw configError(`${isSecret ? 'secret' : 'configmap'} "${ref.name ?? ''}" not found`);
    }
    const values = isSecret ? secretValues(obj as Secret) : configMapValues(obj as ConfigMap);
    for (const [k, v] of Object.entries(values)) env.set(`${src.prefix ?? ''}${k}`, v);
  }
  for (const v of c.env ?? []) {
    const value = await valueOf(pod, c, v, sources, rt, (name) => env.get(name));
    if (value !== undefined) env.set(v.name, value);
  }
  return [...env].map(([key, value]) => ({ key, value }));
}

/** `command` and `args` with `$(VAR)` expanded against the environment. */
export function expandCommand(c: Container, env: readonly EnvEntry[]): { command: string[]; args: string[] } {
  const values = new Map(env.map((e) => [e.key, e.value]));
  const lookup = (name: string): string | undefined => values.get(name);
  return { command: (c.command ?? []).map((s) => expandVars(s, lookup)), args: (c.args ?? []).map((s) => expandVars(s, lookup)) };
}
