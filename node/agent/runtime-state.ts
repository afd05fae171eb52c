/**
 * The agent's view of what runs in the runtime, per pod: its sandboxes and
 * containers, as read from CRI (ListPodSandbox, ListContainers,
 * ContainerStatus) and told apart by their labels (labels.ts). Plain data,
 * in milliseconds, so computePodActions and the pod status builder stay pure
 * and never see a CRI message.
 */

export const SandboxState = { Ready: 'ready', NotReady: 'notready' } as const;
export type SandboxState = (typeof SandboxState)[keyof typeof SandboxState];

export const ContainerRunState = { Created: 'created', Running: 'running', Exited: 'exited', Unknown: 'unknown' } as const;
export type ContainerRunState = (typeof ContainerRunState)[keyof typeof ContainerRunState];

export interface SandboxRecord {
  readonly id: string;
  /** 0 for the pod's first sandbox, one more for each one made again. */
  readonly attempt: number;
  readonly state: SandboxState;
  readonly createdAtMs: number;
  /** The pod's address in its network namespace ('' when it has none or uses the node's). */
  readonly ip: string;
  /** Whether the sandbox shares the node's network namespace (unknown from a list alone). */
  readonly hostNetwork: boolean | undefined;
}

export interface ContainerRecord {
  readonly id: string;
  /** The name in the pod's spec. */
  readonly name: string;
  readonly sandboxId: string;
  readonly state: ContainerRunState;
  /** How many instances of this container ran before this one. */
  readonly restartCount: number;
  /** containerHash() of the spec it was created from ('' when not labelled). */
  readonly hash: string;
  readonly image: string;
  readonly imageRef: string;
  readonly createdAtMs: number;
  /** 0 when never started. */
  readonly startedAtMs: number;
  /** 0 while not exited. */
  readonly finishedAtMs: number;
  readonly exitCode: number;
  readonly reason: string;
  readonly message: string;
  readonly logPath: string;
  /** The pod's grace period when the container was made (from its annotation). */
  readonly graceSeconds: number | undefined;
}

export interface PodRuntimeStatus {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Newest first. */
  readonly sandboxes: readonly SandboxRecord[];
  /** Newest first (by creation), every sandbox's. */
  readonly containers: readonly ContainerRecord[];
}

export function emptyRuntimeStatus(uid: string, name: string, namespace: string): PodRuntimeStatus {
  return { uid, name, namespace, sandboxes: [], containers: [] };
}

/** The newest instance of a container, and the one before it (its lastState). */
export function instancesOf(rs: PodRuntimeStatus, name: string): { latest: ContainerRecord | undefined; previous: ContainerRecord | undefined } {
  let latest: ContainerRecord | undefined;
  let previous: ContainerRecord | undefined;
  for (const c of rs.containers) {
    if (c.name !== name) continue;
    if (latest === undefined) latest = c;
    else if (previous === undefined) previous = c;
    else break;
  }
  return { latest, previous };
}

/** Whether anything of the pod still runs (a ready sandbox or a running or created container). */
export function hasLiveParts(rs: PodRuntimeStatus): boolean {
  return rs.sandboxes.some((s) => s.state === SandboxState.Ready) || rs.containers.some((c) => c.state === ContainerRunState.Running || c.state === ContainerRunState.Created);
}

/** Sorts newest first: by creation time, then by restart count (two instances made within one timestamp tick). */
export function newestFirst<T extends { readonly createdAtMs: number }>(items: readonly T[], tie: (t: T) => number = () => 0): T[] {
  return [...items].sort((a, b) => b.createdAtMs - a.createdAtMs || tie(b) - tie(a));
}
