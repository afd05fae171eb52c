/** Records -> CRI messages, and CRI list filters. Pure. */
import type * as cri from '../../proto/cri/types.js';
import type { ContainerRecord, SandboxRecord } from './state-store.js';

/** The exit reasons containerd reports (kubelet shows them as the terminated state's reason). */
export const ExitReason = {
  Completed: 'Completed',
  Error: 'Error',
  OOMKilled: 'OOMKilled',
  StartError: 'StartError',
  /** The runtime could not learn the exit status (it was not running when the container ended). */
  Unknown: 'Unknown',
} as const;
export type ExitReason = (typeof ExitReason)[keyof typeof ExitReason];

/** Exit code reported when the real one is unknown. */
export const UNKNOWN_EXIT_CODE = 255;

export function exitReason(o: { code: number | undefined; oomKilled: boolean }): ExitReason {
  if (o.oomKilled) return ExitReason.OOMKilled;
  if (o.code === undefined) return ExitReason.Unknown;
  return o.code === 0 ? ExitReason.Completed : ExitReason.Error;
}

export function labelsMatch(labels: cri.StringMap, selector: cri.StringMap | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

/** CRI ids may be given truncated (as `crictl` does): a unique prefix names the object. */
export function idMatches(id: string, wanted: string | undefined): boolean {
  return wanted === undefined || wanted === '' || id.startsWith(wanted);
}

export function sandboxView(s: SandboxRecord, state: cri.PodSandboxState): cri.PodSandbox {
  return {
    id: s.id,
    metadata: s.config.metadata,
    state,
    created_at: s.createdAtNs,
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtime_handler: s.runtimeHandler,
  };
}

export function sandboxStatusView(s: SandboxRecord, state: cri.PodSandboxState): cri.PodSandboxStatus {
  const options = s.config.linux?.security_context?.namespace_options ?? null;
  return {
    ...sandboxView(s, state),
    network: { ip: s.network.ip, additional_ips: [] },
    linux: { namespaces: { options } },
  };
}

export function containerView(c: ContainerRecord): cri.Container {
  return {
    id: c.id,
    pod_sandbox_id: c.sandboxId,
    metadata: c.config.metadata,
    image: c.config.image,
    image_ref: c.imageId,
    state: c.state,
    created_at: c.createdAtNs,
    labels: c.config.labels,
    annotations: c.config.annotations,
  };
}

export function containerStatusView(c: ContainerRecord): cri.ContainerStatus {
  return {
    id: c.id,
    metadata: c.config.metadata,
    state: c.state,
    created_at: c.createdAtNs,
    started_at: c.startedAtNs,
    finished_at: c.finishedAtNs,
    exit_code: c.exitCode,
    image: c.config.image,
    image_ref: c.imageId,
    reason: c.reason,
    message: c.message,
    labels: c.config.labels,
    annotations: c.config.annotations,
    mounts: c.config.mounts,
    log_path: c.logFile,
  };
}
