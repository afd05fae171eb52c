/** NodeName: a pod that names its node (spec.nodeName) fits only there. */
import { type CycleState, type FilterPlugin, type Status, SUCCESS, unresolvable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';

export class NodeNamePlugin implements FilterPlugin {
  static readonly NAME = 'NodeName';
  readonly name = NodeNamePlugin.NAME;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    const wanted = pod.pod.spec.nodeName ?? '';
    return wanted === '' || wanted === nodeInfo.name ? SUCCESS : unresolvable("node(s) didn't match the requested node name");
  }
}
