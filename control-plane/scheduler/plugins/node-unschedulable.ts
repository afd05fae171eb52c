/**
 * NodeUnschedulable: a cordoned node (spec.unschedulable) takes only pods that
 * tolerate the node.kubernetes.io/unschedulable:NoSchedule taint (DaemonSet
 * pods do).
 */
import { TaintEffect, type Taint } from '../../../proto/k8s/core-v1.js';
import { type CycleState, type FilterPlugin, type Status, SUCCESS, unresolvable } from '../framework.js';
import type { NodeInfo } from '../node-info.js';
import type { PodInfo } from '../pod-info.js';
import { toleratedBy } from './taint-toleration.js';

export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: TaintEffect.NoSchedule };

export class NodeUnschedulablePlugin implements FilterPlugin {
  static readonly NAME = 'NodeUnschedulable';
  readonly name = NodeUnschedulablePlugin.NAME;

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): Status {
    if (nodeInfo.node?.spec?.unschedulable !== true) return SUCCESS;
    if (toleratedBy(UNSCHEDULABLE_TAINT, pod.pod.spec.tolerations ?? [])) return SUCCESS;
    return unresolvable('node(s) were unschedulable');
  }
}
