/**
 * What a Service's Endpoints should say, as pure functions (Kubernetes'
 * endpoints controller, v1 Endpoints):
 *  - the pods: those of the service's namespace its selector matches, that
 *    have an IP, are not being deleted and have not finished for good;
 *  - per pod, its address in `addresses` when Ready (or when the service
 *    publishes not-ready addresses), else in `notReadyAddresses`;
 *  - per service port, the pod's port: a number, or a named container port
 *    of the same protocol — a pod without the named port is left out of that
 *    port;
 *  - addresses grouped by the ports they serve, everything sorted, so equal
 *    contents compare equal (`canonicalSubsets`) and unchanged Endpoints are
 *    never rewritten.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from '../../../proto/k8s/core-v1.js';
import { CLUSTER_IP_NONE } from '../../../proto/k8s/core-v1.js';
import { labelSelectorFromStructured, type LabelSelector } from '../../selectors/label-selector.js';

/** Kubernetes' label on Endpoints of headless services (clusterIP None). */
export const HEADLESS_SERVICE_LABEL = 'service.kubernetes.io/headless';

/**
 * The pods the service selects, or undefined when it has no selector: its
 * Endpoints are the user's to write. An empty selector counts as none, as in
 * Kubernetes, where storage cannot tell `{}` from absent.
 */
export function serviceSelector(service: Service): LabelSelector | undefined {
  const selector = service.spec?.selector;
  if (selector === undefined || selector === null || Object.keys(selector).length === 0) return undefined;
  return labelSelectorFromStructured({ matchLabels: selector });
}

/** Kubernetes' ShouldPodBeInEndpoints: has an IP, not terminating, not finished for good. */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  if (podIp(pod) === undefined) return false;
  if (pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) return false;
  const phase = pod.status?.phase;
  switch (pod.spec?.restartPolicy ?? 'Always') {
    case 'Never':
      return phase !== 'Failed' && phase !== 'Succeeded';
    case 'OnFailure':
      return phase !== 'Succeeded';
    default:
      return true;
  }
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function podIp(pod: Pod): string | undefined {
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
  return ip === undefined || ip === '' ? undefined : ip;
}

/** Kubernetes' FindPort: the service port's targetPort on this pod (unset or 0 means the service port itself). */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort;
  if (target === undefined || target === null || target === 0 || target === '') return sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol) return port.containerPort;
    }
  }
  return undefined;
}

function endpointPort(sp: ServicePort, port: number): EndpointPort {
  const out: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
  if (sp.name !== undefined && sp.name !== '') out.name = sp.name;
  if (sp.appProtocol !== undefined) out.appProtocol = sp.appProtocol;
  return out;
}

function endpointAddress(pod: Pod, ip: string, service: Service): EndpointAddress {
  const m = pod.metadata;
  const address: EndpointAddress = { ip, targetRef: { kind: 'Pod', namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' } };
  if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
  // A pod with hostname and subdomain = service name gets a DNS name under a headless service.
  if (pod.spec?.hostname && pod.spec.subdomain === service.metadata.name) address.hostname = pod.spec.hostname;
  return address;
}

/** The ports this pod serves for the service; undefined when it serves none and must be left out. */
function podPorts(service: Service, pod: Pod): EndpointPort[] | undefined {
  const servicePorts = service.spec?.ports ?? [];
  if (servicePorts.length === 0) return service.spec?.clusterIP === CLUSTER_IP_NONE ? [] : undefined;
  const ports: EndpointPort[] = [];
  for (const sp of servicePorts) {
    const port = findPort(pod, sp);
    if (port !== undefined) ports.push(endpointPort(sp, port));
  }
  return ports.length === 0 ? undefined : ports;
}

/** The subsets the service's Endpoints should have, given the pods of its namespace. Canonical. */
export function desiredSubsets(service: Service, selector: LabelSelector, pods: Iterable<Pod>): EndpointSubset[] {
  const byPorts = new Map<string, EndpointSubset & { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[] }>();
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  for (const pod of pods) {
    if (pod.metadata.namespace !== service.metadata.namespace || !selector.matches(pod.metadata.labels ?? {})) continue;
    const ip = podIp(pod);
    if (ip === undefined || !shouldPodBeInEndpoints(pod)) continue;
    const ports = podPorts(service, pod);
    if (ports === undefined) continue;
    const canonical = ports.map(canonicalPort).sort(comparePorts);
    const key = JSON.stringify(canonical);
    const subset = byPorts.get(key) ?? { addresses: [], notReadyAddresses: [], ports: canonical };
    (publishNotReady || isPodReady(pod) ? subset.addresses : subset.notReadyAddresses).push(endpointAddress(pod, ip, service));
    byPorts.set(key, subset);
  }
  return canonicalSubsets([...byPorts.values()]);
}

/**
 * One spelling for one meaning: known fields only, in a fixed order, empty
 * lists dropped, addresses and ports and subsets sorted. Two Endpoints mean
 * the same exactly when their canonical subsets are equal as JSON.
 */
export function canonicalSubsets(subsets: readonly EndpointSubset[] | undefined | null): EndpointSubset[] {
  const out: EndpointSubset[] = [];
  for (const s of subsets ?? []) {
    const addresses = (s.addresses ?? []).map(canonicalAddress).sort(compareAddresses);
    const notReadyAddresses = (s.notReadyAddresses ?? []).map(canonicalAddress).sort(compareAddresses);
    if (addresses.length === 0 && notReadyAddresses.length === 0) continue;
    const subset: EndpointSubset = {};
    if (addresses.length > 0) subset.addresses = addresses;
    if (notReadyAddresses.length > 0) subset.notReadyAddresses = notReadyAddresses;
    const ports = (s.ports ?? []).map(canonicalPort).sort(comparePorts);
    if (ports.length > 0) subset.ports = ports;
    out.push(subset);
  }
  return out.sort((a, b) => compareText(JSON.stringify(a.ports ?? []), JSON.stringify(b.ports ?? [])) || compareText(JSON.stringify(a), JSON.stringify(b)));
}

export function sameSubsets(a: readonly EndpointSubset[] | undefined | null, b: readonly EndpointSubset[] | undefined | null): boolean {
  return JSON.stringify(canonicalSubsets(a)) === JSON.stringify(canonicalSubsets(b));
}

function canonicalAddress(a: EndpointAddress): EndpointAddress {
  const out: EndpointAddress = { ip: a.ip };
  if (a.hostname !== undefined && a.hostname !== '') out.hostname = a.hostname;
  if (a.nodeName !== undefined && a.nodeName !== '') out.nodeName = a.nodeName;
  const r = a.targetRef;
  if (r !== undefined) out.targetRef = { kind: r.kind ?? '', namespace: r.namespace ?? '', name: r.name ?? '', uid: r.uid ?? '' };
  return out;
}

function canonicalPort(p: EndpointPort): EndpointPort {
  const named = p.name !== undefined && p.name !== '';
  const out: EndpointPort = named ? { name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' } : { port: p.port, protocol: p.protocol ?? 'TCP' };
  if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
  return out;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return compareText(a.ip, b.ip) || compareText(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '') || compareText(a.targetRef?.name ?? '', b.targetRef?.name ?? '');
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return compareText(a.name ?? '', b.name ?? '') || a.port - b.port || compareText(a.protocol ?? '', b.protocol ?? '');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
