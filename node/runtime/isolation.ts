/**
 * How sandboxes and containers are isolated: the seam between the CRI state
 * machine (sandbox.ts, container.ts) and the mechanism (runc-isolation.ts,
 * process-mode.ts). Both mechanisms run every process under the supervisor of
 * container-process.ts, so logs, exit codes and restarts behave the same.
 */
import type { CgroupUsage } from './cgroups.js';
import type { Launched } from './container-process.js';
import type { OciSpec } from './oci-spec.js';
import type { ExecResult } from './runc.js';
import type { ContainerRecord, Isolation, SandboxRecord } from './state-store.js';

export interface Isolator {
  readonly kind: Isolation;
  /** What this mechanism does not isolate ('' when nothing is missing); shown in Status and the README. */
  readonly missing: string;
  /**
   * Starts the pause process of a sandbox. `network`: 'new' for a pod network
   * namespace, 'host' for the node's. Resolves once its PID is known.
   */
  startSandbox(s: SandboxRecord, o: { network: 'new' | 'host' }): Promise<Started>;
  /** Stops the pause process (SIGKILL: it holds no work) and waits for it. */
  stopSandbox(s: SandboxRecord): Promise<void>;
  /** Removes what the mechanism made for the sandbox (runc state, cgroups). */
  cleanupSandbox(s: SandboxRecord): Promise<void>;
  /** Writes what a container needs before it can start (runc: the bundle's config.json). */
  prepareContainer(c: ContainerRecord, spec: OciSpec): Promise<void>;
  startContainer(c: ContainerRecord, s: SandboxRecord): Promise<Started>;
  /** Signals the container's main process; false when it is not running. */
  signalContainer(c: ContainerRecord, sig: 'TERM' | 'KILL'): Promise<boolean>;
  /** After the container's supervisor ended: whether it was OOM-killed; frees runc state and the cgroup. */
  afterExit(c: ContainerRecord): Promise<{ oomKilled: boolean }>;
  exec(c: ContainerRecord, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  usage(c: ContainerRecord): Promise<CgroupUsage>;
  /** Removes leftovers of a container (runc state if any). Idempotent. */
  cleanupContainer(c: ContainerRecord): Promise<void>;
}

export interface Started {
  launched: Launched;
  /** Host PID of the started process (the sandbox's pause, the container's init). */
  pid: number;
}

export class StartError extends Error {
  override readonly name = 'StartError';
  /** The supervisor's exit status when the process never started. */
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
