/**
 * NodeReady: only nodes whose Ready condition is True take new pods. Kubernetes
 * expresses this through the node lifecycle's not-ready/unreachable taints
 * (which TaintToleration also honours); checking the condition itself keeps a
 * node whose kubelet stopped reporting from getting pods before those taints
 * are set. A node that reports no Ready condition has not proven it is up.
 */
import { type CycleState, type FilterPlugin, type Status, SUCCESS, unresolvable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

export class NodeReadyPlugin implements FilterPlugin {
  static readonly NAME = 'NodeReady';
  readonly name = NodeReadyPlugin.NAME;

  filter(_state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): Status {
    const ready = (nodeInfo.node?.status?.conditions ?? []).find((c) => c.type === 'Ready');
    return ready?.status === 'True' ? SUCCESS : unresolvable('node(s) were not ready');
  }
}
