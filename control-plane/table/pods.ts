/**
 * `kubectl get pods`: NAME READY STATUS RESTARTS AGE, wide IP NODE NOMINATED NODE
 * READINESS GATES, as Kubernetes 1.32 renders them.
 *
 * STATUS is the kubectl pod status: the phase (or status.reason such as Evicted),
 * overridden by the first init container that has not finished (`Init:0/2`,
 * `Init:CrashLoopBackOff`, `Init:Error`), else by the last app container with a
 * waiting or terminated reason (`ContainerCreating`, `CrashLoopBackOff`,
 * `Completed`, `Error`, `OOMKilled`), and finally by `Terminating` once the pod
 * has a deletionTimestamp and has not reached a terminal phase.
 *
 * RESTARTS is the newer servers' form (a string column): the count, and when a
 * container has restarted, how long ago the latest restart was: `5 (2m30s ago)`.
 * Older servers sent a bare integer; Strake does not.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { humanDuration } from './human-duration.js';
import {
  NONE,
  ageColumn,
  ageOf,
  column,
  fields,
  int,
  isTrue,
  isSet,
  list,
  nameColumn,
  optionalFields,
  str,
  timestampMs,
  type Fields,
  type Printer,
} from './printer.js';

/** pkg/util/node.NodeUnreachablePodReason: set by the node lifecycle controller on pods of a lost node. */
const NODE_LOST_REASON = 'NodeLost';
const SCHEDULING_GATED_REASON = 'SchedulingGated';

const podDoc = {
  podIP: 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
  nodeName:
    'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
  nominatedNodeName:
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
  readinessGates:
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
} as const;

export const podPrinter: Printer = {
  columns: [
    nameColumn,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageColumn,
    column('IP', 'string', podDoc.podIP, { priority: 1 }),
    column('Node', 'string', podDoc.nodeName, { priority: 1 }),
    column('Nominated Node', 'string', podDoc.nominatedNodeName, { priority: 1 }),
    column('Readiness Gates', 'string', podDoc.readinessGates, { priority: 1 }),
  ],
  cells(pod, nowMs) {
    const spec = fields(pod['spec']);
    const status = fields(pod['status']);
    const summary = summarizePod(pod);
    let restarts = String(summary.restarts);
    if (summary.restarts !== 0 && summary.lastRestartMs !== undefined) {
      restarts = `${summary.restarts} (${humanDuration(nowMs - summary.lastRestartMs)} ago)`;
    }
    return [
      str(pod.metadata.name),
      `${summary.readyContainers}/${summary.totalContainers}`,
      summary.reason,
      restarts,
      ageOf(pod, nowMs),
      podIP(status) || NONE,
      str(spec['nodeName']) || NONE,
      str(status['nominatedNodeName']) || NONE,
      readinessGates(spec, status),
    ];
  },
  conditions(pod) {
    switch (fields(pod['status'])['phase']) {
      case 'Succeeded':
        return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
      case 'Failed':
        return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
      default:
        return undefined;
    }
  },
};

export interface PodSummary {
  readyContainers: number;
  totalContainers: number;
  /** The STATUS cell. */
  reason: string;
  restarts: number;
  /** When the most recently restarted counted container last terminated; undefined if never. */
  lastRestartMs: number | undefined;
}

/** The READY, STATUS and RESTARTS figures of a pod, as kubectl's pod printer computes them. */
export function summarizePod(pod: KubeObject): PodSummary {
  const spec = fields(pod['spec']);
  const status = fields(pod['status']);
  const initContainers = list(spec['initContainers']);
  const sidecars = new Set(initContainers.filter(isSidecar).map((c) => str(c['name'])));
  const phase = str(status['phase']);

  const s: PodSummary = {
    readyContainers: 0,
    totalContainers: list(spec['containers']).length + sidecars.size,
    reason: str(status['reason']) || phase,
    restarts: 0,
    lastRestartMs: undefined,
  };
  const conditions = list(status['conditions']);
  if (conditions.some((c) => c['type'] === 'PodScheduled' && c['reason'] === SCHEDULING_GATED_REASON)) {
    s.reason = SCHEDULING_GATED_REASON;
  }

  const init = summarizeInitContainers(list(status['initContainerStatuses']), initContainers.length, sidecars, s);
  const initializedTrue = conditions.find((c) => c['type'] === 'Initialized')?.['status'] === 'True';
  if (!init.initializing || initializedTrue) {
    // Once the pod is past its init phase, only sidecars' restarts count among init containers.
    s.restarts = init.sidecarRestarts;
    s.lastRestartMs = init.lastSidecarRestartMs;
    summarizeAppContainers(list(status['containerStatuses']), conditions, s);
  }

  const deleting = isSet(pod.metadata.deletionTimestamp);
  if (deleting && status['reason'] === NODE_LOST_REASON) {
    s.reason = 'Unknown';
  } else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') {
    s.reason = 'Terminating';
  }
  return s;
}

/** An init container with restartPolicy Always runs beside the app containers for the pod's life. */
function isSidecar(container: Fields): boolean {
  return container['restartPolicy'] === 'Always';
}

interface InitSummary {
  initializing: boolean;
  sidecarRestarts: number;
  lastSidecarRestartMs: number | undefined;
}

/**
 * Walks the init container statuses in order, counting every restart into `s`,
 * and stops at the first one that is neither done nor a started sidecar: that one
 * names the STATUS.
 */
function summarizeInitContainers(
  statuses: Fields[],
  initContainerCount: number,
  sidecars: ReadonlySet<string>,
  s: PodSummary,
): InitSummary {
  const out: InitSummary = { initializing: false, sidecarRestarts: 0, lastSidecarRestartMs: undefined };
  for (const [i, cs] of statuses.entries()) {
    const restartCount = int(cs['restartCount']);
    const finishedMs = lastTerminationMs(cs);
    s.restarts += restartCount;
    s.lastRestartMs = later(s.lastRestartMs, finishedMs);
    const sidecar = sidecars.has(str(cs['name']));
    if (sidecar) {
      out.sidecarRestarts += restartCount;
      out.lastSidecarRestartMs = later(out.lastSidecarRestartMs, finishedMs);
    }
    const state = fields(cs['state']);
    const terminated = optionalFields(state['terminated']);
    const waitingReason = str(fields(state['waiting'])['reason']);
    if (terminated !== undefined && int(terminated['exitCode']) === 0) continue;
    if (sidecar && isTrue(cs['started'])) {
      if (isTrue(cs['ready'])) s.readyContainers++;
      continue;
    }
    if (terminated !== undefined) {
      s.reason = `Init:${terminatedReason(terminated)}`;
    } else if (waitingReason !== '' && waitingReason !== 'PodInitializing') {
      s.reason = `Init:${waitingReason}`;
    } else {
      s.reason = `Init:${i}/${initContainerCount}`;
    }
    out.initializing = true;
    break;
  }
  return out;
}

/**
 * App containers from last to first, so the first container's reason wins; a
 * pod whose containers are all running and ready keeps its phase.
 */
function summarizeAppContainers(statuses: Fields[], conditions: Fields[], s: PodSummary): void {
  let hasRunning = false;
  for (const cs of [...statuses].reverse()) {
    s.restarts += int(cs['restartCount']);
    s.lastRestartMs = later(s.lastRestartMs, lastTerminationMs(cs));
    const state = fields(cs['state']);
    const waitingReason = str(fields(state['waiting'])['reason']);
    const terminated = optionalFields(state['terminated']);
    if (waitingReason !== '') {
      s.reason = waitingReason;
    } else if (terminated !== undefined) {
      s.reason = terminatedReason(terminated);
    } else if (isTrue(cs['ready']) && optionalFields(state['running']) !== undefined) {
      hasRunning = true;
      s.readyContainers++;
    }
  }
  // One container completed while another still runs: the pod is not "Completed".
  if (s.reason === 'Completed' && hasRunning) {
    const ready = conditions.some((c) => c['type'] === 'Ready' && c['status'] === 'True');
    s.reason = ready ? 'Running' : 'NotReady';
  }
}

/** The terminated state's reason, else `Signal:9` or `ExitCode:1`. */
function terminatedReason(terminated: Fields): string {
  const reason = str(terminated['reason']);
  if (reason !== '') return reason;
  const signal = int(terminated['signal']);
  return signal !== 0 ? `Signal:${signal}` : `ExitCode:${int(terminated['exitCode'])}`;
}

function lastTerminationMs(containerStatus: Fields): number | undefined {
  const terminated = optionalFields(fields(containerStatus['lastState'])['terminated']);
  return terminated === undefined ? undefined : timestampMs(terminated['finishedAt']);
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** The first pod IP; conversion from v1 fills podIPs from podIP when only the latter is set. */
function podIP(status: Fields): string {
  const first = list(status['podIPs'])[0];
  return first !== undefined ? str(first['ip']) : str(status['podIP']);
}

/** `1/2`: how many of the readiness gates' conditions are True, `<none>` without gates. */
function readinessGates(spec: Fields, status: Fields): string {
  const gates = list(spec['readinessGates']);
  if (gates.length === 0) return NONE;
  const conditions = list(status['conditions']);
  const trueCount = gates.filter((gate) => {
    const condition = conditions.find((c) => c['type'] === gate['conditionType']);
    return condition?.['status'] === 'True';
  }).length;
  return `${trueCount}/${gates.length}`;
}
