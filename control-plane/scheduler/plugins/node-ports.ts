/**
 * NodePorts: a pod asking for host ports fits only on a node where no pod
 * already holds the same protocol and port on the same host IP (0.0.0.0, the
 * default, conflicts with every IP).
 */
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { type CycleState, type FilterPlugin, type Status, SUCCESS, unschedulable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

const ANY_IP = '0.0.0.0';

interface HostPort {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

export function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if ((p.hostPort ?? 0) > 0) out.push({ ip: p.hostIP || ANY_IP, protocol: p.protocol ?? 'TCP', port: p.hostPort ?? 0 });
    }
  }
  return out;
}

function conflicts(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === ANY_IP || b.ip === ANY_IP);
}

export class NodePortsPlugin implements FilterPlugin {
  static readonly NAME = 'NodePorts';
  readonly name = NodePortsPlugin.NAME;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const wanted = hostPortsOf(pod.pod);
    if (wanted.length === 0) return SUCCESS;
    for (const other of nodeInfo.pods()) {
      const used = hostPortsOf(other.pod);
      if (wanted.some((w) => used.some((u) => conflicts(w, u)))) return unschedulable("node(s) didn't have free ports for the requested pod ports");
    }
    return SUCCESS;
  }
}
