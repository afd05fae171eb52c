/** Hollow nodes: many simulated nodes in one process, reporting pods Running without starting them. */
export {
  BOUND_PODS_FIELD_SELECTOR,
  HOLLOW_NODES_PER_PROCESS_MAX,
  HollowNodes,
  type HollowApi,
  type HollowNodesOptions,
  type HollowStats,
  type PodInformerFactory,
} from './hollow-nodes.js';
export { HollowError, HollowErrorCode } from './errors.js';
export { DEFAULT_CAPACITY, HOLLOW_KUBELET_VERSION, HOLLOW_NODE_LABEL, HOLLOW_RUNTIME_VERSION, NODE_LEASE_NAMESPACE } from './node-objects.js';
export { EXIT_CODE_ANNOTATION } from './pod-status.js';
