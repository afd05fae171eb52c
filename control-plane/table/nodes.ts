/**
 * `kubectl get nodes`: NAME STATUS ROLES AGE VERSION, wide INTERNAL-IP EXTERNAL-IP
 * OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME, as Kubernetes 1.32 renders them.
 */
import {
  NONE,
  UNKNOWN,
  ageColumn,
  ageOf,
  column,
  fields,
  isTrue,
  list,
  nameColumn,
  str,
  type Fields,
  type Printer,
} from './printer.js';

const NODE_ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';
/** The older role label, `kubernetes.io/role=<role>`, still honoured by the printer. */
const LEGACY_NODE_ROLE_LABEL = 'kubernetes.io/role';

const nodeDoc = {
  kubeletVersion: 'Kubelet Version reported by the node.',
  addresses:
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
  osImage: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
  kernelVersion: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
  containerRuntimeVersion:
    'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
} as const;

export const nodePrinter: Printer = {
  columns: [
    nameColumn,
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    ageColumn,
    column('Version', 'string', nodeDoc.kubeletVersion),
    column('Internal-IP', 'string', nodeDoc.addresses, { priority: 1 }),
    column('External-IP', 'string', nodeDoc.addresses, { priority: 1 }),
    column('OS-Image', 'string', nodeDoc.osImage, { priority: 1 }),
    column('Kernel-Version', 'string', nodeDoc.kernelVersion, { priority: 1 }),
    column('Container-Runtime', 'string', nodeDoc.containerRuntimeVersion, { priority: 1 }),
  ],
  cells(node, nowMs) {
    const status = fields(node['status']);
    const nodeInfo = fields(status['nodeInfo']);
    const roles = nodeRoles(node.metadata.labels);
    return [
      str(node.metadata.name),
      nodeStatus(node),
      roles.length === 0 ? NONE : roles.join(','),
      ageOf(node, nowMs),
      str(nodeInfo['kubeletVersion']),
      firstAddress(status, 'InternalIP'),
      firstAddress(status, 'ExternalIP'),
      str(nodeInfo['osImage']) || UNKNOWN,
      str(nodeInfo['kernelVersion']) || UNKNOWN,
      str(nodeInfo['containerRuntimeVersion']) || UNKNOWN,
    ];
  },
};

/**
 * `Ready`, `NotReady` (the Ready condition is False or Unknown), `Unknown` (no
 * Ready condition yet), each followed by `,SchedulingDisabled` when cordoned.
 */
function nodeStatus(node: Fields): string {
  const conditions = list(fields(node['status'])['conditions']);
  // The last Ready condition wins, as when Kubernetes indexes conditions by type.
  const ready = conditions.filter((c) => c['type'] === 'Ready').at(-1);
  const parts = [ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : 'NotReady'];
  if (isTrue(fields(node['spec'])['unschedulable'])) parts.push('SchedulingDisabled');
  return parts.join(',');
}

/** Roles from `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role=<role>`, sorted, deduplicated. */
export function nodeRoles(labels: unknown): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(fields(labels))) {
    if (key.startsWith(NODE_ROLE_LABEL_PREFIX)) {
      const role = key.slice(NODE_ROLE_LABEL_PREFIX.length);
      if (role !== '') roles.add(role);
    } else if (key === LEGACY_NODE_ROLE_LABEL && str(value) !== '') {
      roles.add(str(value));
    }
  }
  return [...roles].sort();
}

function firstAddress(status: Fields, type: 'InternalIP' | 'ExternalIP'): string {
  const address = list(status['addresses']).find((a) => a['type'] === type);
  return address === undefined ? NONE : str(address['address']);
}
