/**
 * The CRI ContainerConfig of one container of a pod, as the kubelet builds
 * it: command and args (with `$(VAR)` expanded), working dir, environment,
 * mounts, resources as cgroup settings, the identity labels and the
 * annotations (spec hash, restart count, grace period) that let a restarted
 * agent recognise the container, and the log path
 * `<container>/<restartCount>.log` under the pod's log directory.
 */
import type { ContainerConfig, KeyValue, LinuxContainerResources, Mount } from '../../proto/cri/types.js';
import type { Container, Pod } from '../../proto/k8s/core-v1.js';
import { expandCommand, type EnvEntry } from './env.js';
import { ContainerAnnotation, ContainerLabel, containerHash } from './labels.js';
import { containerLogPath, podIdentityLabels } from './pod-sandbox-config.js';
import { bytesOf, milliCpuOf } from './quantity.js';

/** CFS period the kubelet uses (100 ms, in µs). */
export const CPU_PERIOD_US = 100_000;
/** The kubelet's minimum CFS quota (1 ms) and cpu.shares (2). */
const CPU_QUOTA_MIN_US = 1_000;
const CPU_SHARES_MIN = 2;
const CPU_SHARES_PER_CPU = 1024;
const MILLI_PER_CPU = 1000;
export const TERMINATION_GRACE_SECONDS_DEFAULT = 30;

/** requests.cpu → cpu_shares, limits.cpu → cpu_quota (period 100 ms), limits.memory → memory limit (the kubelet's conversions). */
export function linuxResourcesOf(c: Container): LinuxContainerResources {
  const limitMilli = milliCpuOf(c.resources?.limits?.['cpu']);
  // A request defaults to the limit (the API server's defaulting), so shares follow the limit when no request is given.
  const requestMilli = milliCpuOf(c.resources?.requests?.['cpu']) ?? limitMilli;
  const memory = bytesOf(c.resources?.limits?.['memory']);
  const shares = requestMilli === undefined ? CPU_SHARES_MIN : Math.max(CPU_SHARES_MIN, Math.floor((requestMilli * CPU_SHARES_PER_CPU) / MILLI_PER_CPU));
  const quota = limitMilli === undefined || limitMilli === 0 ? 0 : Math.max(CPU_QUOTA_MIN_US, Math.floor((limitMilli * CPU_PERIOD_US) / MILLI_PER_CPU));
  return {
    cpu_period: quota === 0 ? 0 : CPU_PERIOD_US,
    cpu_quota: quota,
    cpu_shares: shares,
    memory_limit_in_bytes: memory ?? 0,
    oom_score_adj: 0,
    cpuset_cpus: '',
    cpuset_mems: '',
    unified: {},
    memory_swap_limit_in_bytes: 0,
  };
}

export interface ContainerConfigInput {
  readonly pod: Pod;
  readonly container: Container;
  readonly restartCount: number;
  readonly env: readonly EnvEntry[];
  readonly mounts: readonly Mount[];
}

export function buildContainerConfig(o: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = o;
  const { command, args } = expandCommand(c, o.env);
  const sc = c.securityContext as { privileged?: boolean; runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean } | undefined;
  const hostNetwork = pod.spec.hostNetwork === true;
  return {
    metadata: { name: c.name, attempt: o.restartCount },
    image: { image: c.image ?? '', annotations: {} },
    command,
    args,
    working_dir: c.workingDir ?? '',
    envs: o.env.map((e): KeyValue => ({ key: e.key, value: e.value })),
    mounts: [...o.mounts],
    devices: [],
    labels: { ...podIdentityLabels(pod), [ContainerLabel.Name]: c.name },
    annotations: {
      [ContainerAnnotation.Hash]: containerHash(c),
      [ContainerAnnotation.RestartCount]: String(o.restartCount),
      [ContainerAnnotation.TerminationMessagePath]: c.terminationMessagePath ?? '/dev/termination-log',
      [ContainerAnnotation.TerminationGracePeriod]: String(pod.spec.terminationGracePeriodSeconds ?? TERMINATION_GRACE_SECONDS_DEFAULT),
    },
    log_path: containerLogPath(c.name, o.restartCount),
    stdin: c.stdin === true,
    stdin_once: false,
    tty: c.tty === true,
    linux: {
      resources: linuxResourcesOf(c),
      security_context: {
        privileged: sc?.privileged === true,
        namespace_options: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' },
        ...(sc?.runAsUser === undefined ? {} : { run_as_user: { value: sc.runAsUser } }),
        ...(sc?.runAsGroup === undefined ? {} : { run_as_group: { value: sc.runAsGroup } }),
        run_as_username: '',
        readonly_rootfs: sc?.readOnlyRootFilesystem === true,
        supplemental_groups: [],
        no_new_privs: false,
      },
    },
  };
}
