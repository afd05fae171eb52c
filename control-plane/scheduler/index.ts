/** The scheduler's entry points; see README.md. */
export { Scheduler, type SchedulerEventSink, type SchedulerMetrics, type SchedulerOptions, SchedulerOptionsError, SchedulerTimeoutError, API_CALLS_IN_FLIGHT_MAX, API_CALL_TIMEOUT_MS } from './scheduler.js';
export { defaultProfile } from './plugins/index.js';
export * as plugins from './plugins/index.js';
export {
  CycleState,
  MAX_NODE_SCORE,
  StatusCode,
  SUCCESS,
  errorStatus,
  unresolvable,
  unschedulable,
  type FilterPlugin,
  type NodeScore,
  type PreFilterPlugin,
  type PreScorePlugin,
  type Profile,
  type ScorePlugin,
  type Status,
} from './framework.js';
export { NodeInfo } from './node-info.js';
export { DEFAULT_SCHEDULER_NAME, PodInfo, isPendingFor } from './pod-info.js';
export { SchedulingQueue, ClusterEvent, type QueuedPod } from './queue.js';
export { schedulePod, numFeasibleNodesToFind, fitErrorMessage, type ScheduleResult } from './schedule-pod.js';
