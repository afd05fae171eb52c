/**
 * Services and Endpoints.
 *
 * Updates: Kubernetes' registry copies the allocated clusterIP(s) and node
 * ports from the stored service into an update that leaves them out, before
 * validation; the server must do the same, or a plain `kubectl replace` fails
 * here with "primary clusterIP can not be unset".
 */
import { CLUSTER_IP_NONE, ServiceType } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  duplicate,
  forbidden,
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
import { NamespaceScope, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { isDns1123Label, isDns1123Subdomain, isIpAddress, nameIsDns1035Label, nameIsDnsSubdomain } from './names.js';
import { validatePortNumOrName, validatePortNumber, validateProtocol } from './ports.js';

/** Sorted, as Kubernetes lists supported values. */
const SERVICE_TYPES: readonly string[] = Object.values(ServiceType).sort();
const SESSION_AFFINITIES: readonly string[] = ['ClientIP', 'None'];
const TRAFFIC_POLICIES: readonly string[] = ['Cluster', 'Local'];
/** Dual stack: at most one IPv4 and one IPv6 cluster IP. */
const CLUSTER_IPS_MAX = 2;
/** kube-apiserver's default --service-node-port-range. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

function hasNodePorts(type: unknown): boolean {
  return type === ServiceType.NodePort || type === ServiceType.LoadBalancer;
}

interface PortSeen {
  readonly names: Set<string>;
  readonly portProtocols: Set<string>;
  readonly nodePorts: Set<string>;
}

function validateServicePort(raw: unknown, spec: JsonRecord, requireName: boolean, seen: PortSeen, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const port = recordAt(raw, at, errors);
  const name = stringAt(port['name'], child(at, 'name'), errors);
  if (name === '' && requireName) errors.push(required(child(at, 'name')));
  else if (name !== '') {
    for (const msg of isDns1123Label(name)) errors.push(invalid(child(at, 'name'), name, msg));
    if (seen.names.has(name)) errors.push(duplicate(child(at, 'name'), name));
    seen.names.add(name);
  }
  errors.push(...validatePortNumber(port['port'], child(at, 'port')));
  errors.push(...validateProtocol(port['protocol'], child(at, 'protocol')));
  errors.push(...validatePortNumOrName(port['targetPort'], child(at, 'targetPort')));
  const key = JSON.stringify({ protocol: port['protocol'], port: port['port'] });
  if (seen.portProtocols.has(key)) errors.push(duplicate(at, { protocol: port['protocol'], port: port['port'] }));
  seen.portProtocols.add(key);
  errors.push(...validateNodePort(port, spec['type'], seen, child(at, 'nodePort')));
  return errors;
}

function validateNodePort(port: JsonRecord, type: unknown, seen: PortSeen, at: string): FieldError[] {
  const nodePort = port['nodePort'];
  if (nodePort === undefined || nodePort === null || nodePort === 0) return [];
  if (!hasNodePorts(type)) return [forbidden(at, `may not be used when \`type\` is '${String(type)}'`)];
  if (!isInteger(nodePort) || nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX) {
    return [
      invalid(at, nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`),
    ];
  }
  const key = `${nodePort}/${String(port['protocol'])}`;
  if (seen.nodePorts.has(key)) return [duplicate(at, nodePort)];
  seen.nodePorts.add(key);
  return [];
}

function validateClusterIPs(spec: JsonRecord, errors: FieldError[]): void {
  const clusterIP = stringAt(spec['clusterIP'], 'spec.clusterIP', errors);
  const ips = listAt(spec['clusterIPs'], 'spec.clusterIPs', errors);
  if (spec['type'] === ServiceType.ExternalName) {
    if (clusterIP !== '' || ips.length > 0) errors.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    return;
  }
  if (ips.length > 0 && ips[0] !== clusterIP) errors.push(invalid('spec.clusterIPs[0]', ips[0], 'must match `clusterIP`'));
  if (ips.length > CLUSTER_IPS_MAX) errors.push(invalid('spec.clusterIPs', ips, `may only hold up to ${CLUSTER_IPS_MAX} values`));
  ips.forEach((ip, i) => {
    const at = index('spec.clusterIPs', i);
    if (ip === CLUSTER_IP_NONE) {
      if (i > 0 || ips.length > 1) errors.push(invalid('spec.clusterIPs', ips, "'None' must be the first and only value"));
      else if (hasNodePorts(spec['type'])) {
        errors.push(invalid(at, ip, `may not be set to 'None' for ${String(spec['type'])} services`));
      }
      return;
    }
    for (const msg of isIpAddress(stringAt(ip, at, errors))) errors.push(invalid(at, ip, msg));
  });
}

function validateTrafficPolicies(spec: JsonRecord, errors: FieldError[]): void {
  const external = spec['externalTrafficPolicy'];
  if (hasNodePorts(spec['type'])) {
    if (external === undefined || external === null || external === '') errors.push(required('spec.externalTrafficPolicy'));
    else if (typeof external !== 'string' || !TRAFFIC_POLICIES.includes(external)) {
      errors.push(notSupported('spec.externalTrafficPolicy', external, TRAFFIC_POLICIES));
    }
  } else if (external !== undefined && external !== null && external !== '') {
    errors.push(invalid('spec.externalTrafficPolicy', external, 'may only be set for externally-accessible services'));
  }
  const internal = spec['internalTrafficPolicy'];
  if (internal === undefined || internal === null || internal === '') {
    // Defaulting sets it for these types; others may leave it out.
    if (spec['type'] === ServiceType.ClusterIP || hasNodePorts(spec['type'])) errors.push(required('spec.internalTrafficPolicy'));
  } else if (typeof internal !== 'string' || !TRAFFIC_POLICIES.includes(internal)) {
    errors.push(notSupported('spec.internalTrafficPolicy', internal, TRAFFIC_POLICIES));
  }
}

function validateServiceSpec(raw: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const spec = recordAt(raw, 'spec', errors);
  const type = spec['type'];
  if (typeof type !== 'string' || !SERVICE_TYPES.includes(type)) errors.push(notSupported('spec.type', type ?? '', SERVICE_TYPES));
  const ports = listAt(spec['ports'], 'spec.ports', errors);
  const headless = spec['clusterIP'] === CLUSTER_IP_NONE;
  if (ports.length === 0 && !headless && type !== ServiceType.ExternalName) errors.push(required('spec.ports'));
  const seen: PortSeen = { names: new Set(), portProtocols: new Set(), nodePorts: new Set() };
  ports.forEach((port, i) => errors.push(...validateServicePort(port, spec, ports.length > 1, seen, index('spec.ports', i))));
  if (type === ServiceType.ExternalName) {
    const externalName = stringAt(spec['externalName'], 'spec.externalName', errors);
    if (externalName === '') errors.push(required('spec.externalName'));
    // A trailing dot marks a fully qualified name and is allowed.
    else for (const msg of isDns1123Subdomain(externalName.replace(/\.$/, ''))) errors.push(invalid('spec.externalName', externalName, msg));
  }
  validateClusterIPs(spec, errors);
  const affinity = spec['sessionAffinity'];
  if (typeof affinity !== 'string' || !SESSION_AFFINITIES.includes(affinity)) {
    errors.push(notSupported('spec.sessionAffinity', affinity ?? '', SESSION_AFFINITIES));
  }
  validateTrafficPolicies(spec, errors);
  errors.push(...validateLabels(spec['selector'], 'spec.selector'));
  return errors;
}

/** The primary cluster IP may not change or disappear, unless the service is or becomes ExternalName. */
function clusterIPUpdateErrors(spec: JsonRecord, old: JsonRecord): FieldError[] {
  if (spec['type'] === ServiceType.ExternalName || old['type'] === ServiceType.ExternalName) return [];
  const before = old['clusterIP'];
  if (before === undefined || before === null || before === '') return [];
  const now = spec['clusterIP'];
  if (now === undefined || now === null || now === '') {
    return [invalid('spec.clusterIPs[0]', now ?? null, 'primary clusterIP can not be unset')];
  }
  return now === before ? [] : [invalid('spec.clusterIPs[0]', now, 'may not change once set')];
}

export function validateService(service: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(service, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDns1035Label }));
  errors.push(...validateServiceSpec(obj['spec']));
  if (isRecord(old)) {
    errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
    const spec = isRecord(obj['spec']) ? obj['spec'] : {};
    errors.push(...clusterIPUpdateErrors(spec, isRecord(old['spec']) ? old['spec'] : {}));
  }
  return errors;
}

// ------------------------------------------------------------ endpoints

function validateEndpointAddress(raw: unknown, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const addr = recordAt(raw, at, errors);
  const ip = stringAt(addr['ip'], child(at, 'ip'), errors);
  for (const msg of isIpAddress(ip)) errors.push(invalid(child(at, 'ip'), ip, msg));
  const hostname = stringAt(addr['hostname'], child(at, 'hostname'), errors);
  if (hostname !== '') for (const msg of isDns1123Label(hostname)) errors.push(invalid(child(at, 'hostname'), hostname, msg));
  const nodeName = stringAt(addr['nodeName'], child(at, 'nodeName'), errors);
  if (nodeName !== '') for (const msg of nameIsDnsSubdomain(nodeName, false)) errors.push(invalid(child(at, 'nodeName'), nodeName, msg));
  return errors;
}

function validateEndpointPort(raw: unknown, requireName: boolean, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const port = recordAt(raw, at, errors);
  const name = stringAt(port['name'], child(at, 'name'), errors);
  if (name === '' && requireName) errors.push(required(child(at, 'name')));
  else if (name !== '') for (const msg of isDns1123Label(name)) errors.push(invalid(child(at, 'name'), name, msg));
  errors.push(...validatePortNumber(port['port'], child(at, 'port')));
  errors.push(...validateProtocol(port['protocol'], child(at, 'protocol')));
  return errors;
}

export function validateEndpoints(endpoints: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(endpoints, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain }));
  listAt(obj['subsets'], 'subsets', errors).forEach((raw, i) => {
    const at = index('subsets', i);
    const subset = recordAt(raw, at, errors);
    const ready = listAt(subset['addresses'], child(at, 'addresses'), errors);
    const notReady = listAt(subset['notReadyAddresses'], child(at, 'notReadyAddresses'), errors);
    if (ready.length === 0 && notReady.length === 0) errors.push(required(at, 'must specify `addresses` or `notReadyAddresses`'));
    ready.forEach((a, j) => errors.push(...validateEndpointAddress(a, index(child(at, 'addresses'), j))));
    notReady.forEach((a, j) => errors.push(...validateEndpointAddress(a, index(child(at, 'notReadyAddresses'), j))));
    const ports = listAt(subset['ports'], child(at, 'ports'), errors);
    ports.forEach((p, j) => errors.push(...validateEndpointPort(p, ports.length > 1, index(child(at, 'ports'), j))));
  });
  if (isRecord(old)) errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
  return errors;
}
