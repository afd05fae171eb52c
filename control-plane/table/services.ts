/**
 * `kubectl get services` (NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, wide
 * SELECTOR) and `kubectl get endpoints` (NAME ENDPOINTS AGE), as Kubernetes 1.32
 * renders them.
 */
import { formatLabels } from './label-format.js';
import { NONE, ageColumn, ageOf, column, fields, int, list, nameColumn, str, type Fields, type Printer } from './printer.js';

/** ENDPOINTS lists this many addresses, then `+ N more...`. */
const ENDPOINTS_SHOWN_MAX = 3;

const serviceDoc = {
  type: 'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  clusterIP:
    'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  externalIPs:
    'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
  ports:
    'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  selector:
    'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
  subsets:
    'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
} as const;

export const servicePrinter: Printer = {
  columns: [
    nameColumn,
    column('Type', 'string', serviceDoc.type),
    column('Cluster-IP', 'string', serviceDoc.clusterIP),
    column('External-IP', 'string', serviceDoc.externalIPs),
    column('Port(s)', 'string', serviceDoc.ports),
    ageColumn,
    column('Selector', 'string', serviceDoc.selector, { priority: 1 }),
  ],
  cells(svc, nowMs) {
    const spec = fields(svc['spec']);
    return [
      str(svc.metadata.name),
      serviceType(spec),
      clusterIP(spec) || NONE,
      externalIP(spec, fields(svc['status'])),
      servicePorts(spec) || NONE,
      ageOf(svc, nowMs),
      formatLabels(spec['selector']),
    ];
  },
};

/** The Kubernetes default applies to an object stored without one. */
function serviceType(spec: Fields): string {
  return str(spec['type']) || 'ClusterIP';
}

/** The first of clusterIPs; defaulting fills clusterIPs from clusterIP, so an object with only the latter reads the same. */
function clusterIP(spec: Fields): string {
  const clusterIPs = Array.isArray(spec['clusterIPs']) ? spec['clusterIPs'] : [];
  return clusterIPs.length > 0 ? str(clusterIPs[0]) : str(spec['clusterIP']);
}

function externalIP(spec: Fields, status: Fields): string {
  const externalIPs = Array.isArray(spec['externalIPs']) ? spec['externalIPs'].map(str) : [];
  switch (serviceType(spec)) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : NONE;
    case 'LoadBalancer': {
      const ingress = loadBalancerIngress(status);
      if (externalIPs.length > 0) return [...ingress, ...externalIPs].join(',');
      return ingress.length > 0 ? ingress.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec['externalName']);
    default:
      return '<unknown>';
  }
}

/**
 * The load balancer's addresses (IP, else hostname), deduplicated and sorted.
 * Never clipped: the server renders wide, where Kubernetes does not clip them.
 */
function loadBalancerIngress(status: Fields): string[] {
  const found = new Set<string>();
  for (const ingress of list(fields(status['loadBalancer'])['ingress'])) {
    const address = str(ingress['ip']) || str(ingress['hostname']);
    if (address !== '') found.add(address);
  }
  return [...found].sort();
}

/** `80/TCP`, or `80:30080/TCP` for a port with a node port; comma-separated. */
function servicePorts(spec: Fields): string {
  return list(spec['ports'])
    .map((port) => {
      const protocol = str(port['protocol']) || 'TCP';
      const nodePort = int(port['nodePort']);
      return nodePort > 0
        ? `${int(port['port'])}:${nodePort}/${protocol}`
        : `${int(port['port'])}/${protocol}`;
    })
    .join(',');
}

export const endpointsPrinter: Printer = {
  columns: [nameColumn, column('Endpoints', 'string', serviceDoc.subsets), ageColumn],
  cells(endpoints, nowMs) {
    return [str(endpoints.metadata.name), formatEndpoints(endpoints['subsets']), ageOf(endpoints, nowMs)];
  },
};

/**
 * `10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...`: ready addresses joined with
 * each port of their subset (the bare IP for a subset without ports), the first
 * three shown and the rest counted. `<none>` without subsets; '' when the
 * subsets hold no ready address.
 */
export function formatEndpoints(subsets: unknown): string {
  const all = list(subsets);
  if (all.length === 0) return NONE;
  const shown: string[] = [];
  let count = 0;
  const add = (text: string): void => {
    count++;
    if (shown.length < ENDPOINTS_SHOWN_MAX) shown.push(text);
  };
  for (const subset of all) {
    const ips = list(subset['addresses']).map((a) => str(a['ip']));
    const ports = list(subset['ports']);
    if (ports.length === 0) {
      ips.forEach(add);
      continue;
    }
    for (const port of ports) {
      for (const ip of ips) add(joinHostPort(ip, int(port['port'])));
    }
  }
  const text = shown.join(',');
  return count > ENDPOINTS_SHOWN_MAX ? `${text} + ${count - ENDPOINTS_SHOWN_MAX} more...` : text;
}

/** Go's net.JoinHostPort: IPv6 addresses go in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
