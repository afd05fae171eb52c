/**
 * The built-in plugins and the default profile, in Kubernetes' default order:
 * cheap, decisive filters first, so most infeasible nodes are rejected before
 * the costlier ones run; scores with Kubernetes' default weights.
 */
import type { Profile } from '../framework.js';
import { DEFAULT_SCHEDULER_NAME } from '../pod-info.js';
import { InterPodAffinityPlugin } from './inter-pod-affinity.js';
import { NodeAffinityPlugin } from './node-affinity.js';
import { NodeNamePlugin } from './node-name.js';
import { NodePortsPlugin } from './node-ports.js';
import { NodeReadyPlugin } from './node-ready.js';
import { NodeResourcesFitPlugin } from './node-resources-fit.js';
import { NodeUnschedulablePlugin } from './node-unschedulable.js';
import { PodTopologySpreadPlugin } from './pod-topology-spread.js';
import { BalancedAllocationPlugin, LeastAllocatedPlugin } from './resource-scores.js';
import { TaintTolerationPlugin } from './taint-toleration.js';

export { InterPodAffinityPlugin } from './inter-pod-affinity.js';
export { NodeAffinityPlugin } from './node-affinity.js';
export { NodeNamePlugin } from './node-name.js';
export { NodePortsPlugin } from './node-ports.js';
export { NodeReadyPlugin } from './node-ready.js';
export { NodeResourcesFitPlugin } from './node-resources-fit.js';
export { NodeUnschedulablePlugin } from './node-unschedulable.js';
export { PodTopologySpreadPlugin } from './pod-topology-spread.js';
export { BalancedAllocationPlugin, LeastAllocatedPlugin } from './resource-scores.js';
export { TaintTolerationPlugin } from './taint-toleration.js';

/** The default profile; `schedulerName` picks which pods it schedules. */
export function defaultProfile(schedulerName = DEFAULT_SCHEDULER_NAME): Profile {
  const taints = new TaintTolerationPlugin();
  const nodeAffinity = new NodeAffinityPlugin();
  const spread = new PodTopologySpreadPlugin();
  const interPod = new InterPodAffinityPlugin();
  return {
    schedulerName,
    preFilters: [spread, interPod],
    filters: [
      new NodeReadyPlugin(),
      new NodeUnschedulablePlugin(),
      new NodeNamePlugin(),
      taints,
      nodeAffinity,
      new NodePortsPlugin(),
      new NodeResourcesFitPlugin(),
      spread,
      interPod,
    ],
    preScores: [spread, interPod],
    scores: [taints, nodeAffinity, spread, interPod, new LeastAllocatedPlugin(), new BalancedAllocationPlugin()],
  };
}
