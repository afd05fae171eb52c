/**
 * TypeScript shapes of the CRI v1 subset in `api.proto`, as `proto/load.ts` delivers
 * them: snake_case field names, 64-bit integers as numbers, enums as their names,
 * bytes as Buffers, maps as plain objects.
 *
 * Reading rules (what a decoded message holds, defaults on):
 * - scalars, repeated fields and maps are always present (`''`, `0`, `false`, `[]`, `{}`);
 * - a nested message field is `null` when the sender left it out, so such fields are
 *   typed `?: T | null` — writers may omit them, readers use `?.` / `??`.
 * - A few nested messages without which a request or response means nothing
 *   (`RunPodSandboxRequest.config`, `CreateContainerRequest.config` and
 *   `.sandbox_config`, the metadata of configs and statuses, ...) are typed as
 *   required (list: `node/cri/required-fields.ts`); client and server both reject a
 *   request lacking one with InvalidArgument, and the client rejects such a response,
 *   so code on either side of the edge may rely on them.
 *
 * Timestamps (`created_at`, `started_at`, `finished_at`, `timestamp`) are nanoseconds
 * since the Unix epoch. As JS numbers they keep about 0.25 µs of precision, which is
 * far below anything the node agent compares.
 */

export type StringMap = Record<string, string>;

// ---- enums (as their names) ----

export const Protocol = { TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP' } as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

export const MountPropagation = {
  PROPAGATION_PRIVATE: 'PROPAGATION_PRIVATE',
  PROPAGATION_HOST_TO_CONTAINER: 'PROPAGATION_HOST_TO_CONTAINER',
  PROPAGATION_BIDIRECTIONAL: 'PROPAGATION_BIDIRECTIONAL',
} as const;
export type MountPropagation = (typeof MountPropagation)[keyof typeof MountPropagation];

/** Whose namespace a container uses: its pod's (POD), its own (CONTAINER), the host's (NODE), another container's (TARGET). */
export const NamespaceMode = { POD: 'POD', CONTAINER: 'CONTAINER', NODE: 'NODE', TARGET: 'TARGET' } as const;
export type NamespaceMode = (typeof NamespaceMode)[keyof typeof NamespaceMode];

export const PodSandboxState = { SANDBOX_READY: 'SANDBOX_READY', SANDBOX_NOTREADY: 'SANDBOX_NOTREADY' } as const;
export type PodSandboxState = (typeof PodSandboxState)[keyof typeof PodSandboxState];

export const ContainerState = {
  CONTAINER_CREATED: 'CONTAINER_CREATED',
  CONTAINER_RUNNING: 'CONTAINER_RUNNING',
  CONTAINER_EXITED: 'CONTAINER_EXITED',
  CONTAINER_UNKNOWN: 'CONTAINER_UNKNOWN',
} as const;
export type ContainerState = (typeof ContainerState)[keyof typeof ContainerState];

/** Condition types every CRI runtime reports in `StatusResponse.status.conditions`. */
export const RuntimeConditionType = { RuntimeReady: 'RuntimeReady', NetworkReady: 'NetworkReady' } as const;
export type RuntimeConditionType = (typeof RuntimeConditionType)[keyof typeof RuntimeConditionType];

// ---- wrappers ----

export interface Int64Value { value: number }
export interface UInt64Value { value: number }

// ---- version and status ----

export interface VersionRequest { version: string }
export interface VersionResponse {
  version: string;
  runtime_name: string;
  runtime_version: string;
  runtime_api_version: string;
}

export interface StatusRequest { verbose: boolean }
export interface RuntimeCondition { type: string; status: boolean; reason: string; message: string }
export interface RuntimeStatus { conditions: RuntimeCondition[] }
export interface StatusResponse { status?: RuntimeStatus | null; info: StringMap }

// ---- shared building blocks ----

export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }
export interface PortMapping { protocol: Protocol; container_port: number; host_port: number; host_ip: string }
export interface Mount {
  container_path: string;
  host_path: string;
  readonly: boolean;
  selinux_relabel: boolean;
  propagation: MountPropagation;
}
export interface NamespaceOption { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode; target_id: string }
export interface SELinuxOption { user: string; role: string; type: string; level: string }
export interface Capability { add_capabilities: string[]; drop_capabilities: string[] }
export interface ImageSpec { image: string; annotations: StringMap }
export interface KeyValue { key: string; value: string }

export interface LinuxContainerResources {
  cpu_period: number;
  cpu_quota: number;
  cpu_shares: number;
  memory_limit_in_bytes: number;
  oom_score_adj: number;
  cpuset_cpus: string;
  cpuset_mems: string;
  unified: StringMap;
  memory_swap_limit_in_bytes: number;
}

// ---- pod sandboxes ----

export interface LinuxSandboxSecurityContext {
  namespace_options?: NamespaceOption | null;
  selinux_options?: SELinuxOption | null;
  run_as_user?: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: number[];
  privileged: boolean;
  run_as_group?: Int64Value | null;
}

export interface LinuxPodSandboxConfig {
  cgroup_parent: string;
  security_context?: LinuxSandboxSecurityContext | null;
  sysctls: StringMap;
  overhead?: LinuxContainerResources | null;
  resources?: LinuxContainerResources | null;
}

export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname: string;
  log_directory: string;
  dns_config?: DNSConfig | null;
  port_mappings: PortMapping[];
  labels: StringMap;
  annotations: StringMap;
  linux?: LinuxPodSandboxConfig | null;
}

export interface RunPodSandboxRequest { config: PodSandboxConfig; runtime_handler: string }
export interface RunPodSandboxResponse { pod_sandbox_id: string }
export interface StopPodSandboxRequest { pod_sandbox_id: string }
export type StopPodSandboxResponse = Record<string, never>;
export interface RemovePodSandboxRequest { pod_sandbox_id: string }
export type RemovePodSandboxResponse = Record<string, never>;

export interface PodSandboxStatusRequest { pod_sandbox_id: string; verbose: boolean }
export interface PodIP { ip: string }
export interface PodSandboxNetworkStatus { ip: string; additional_ips: PodIP[] }
export interface Namespace { options?: NamespaceOption | null }
export interface LinuxPodSandboxStatus { namespaces?: Namespace | null }

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  created_at: number;
  network?: PodSandboxNetworkStatus | null;
  linux?: LinuxPodSandboxStatus | null;
  labels: StringMap;
  annotations: StringMap;
  runtime_handler: string;
}

/**
 * With `verbose: true`, `info['info']` is a JSON object string holding at least
 * `"pid": <host pid of the sandbox process>` (containerd's shape; Strake's runtimes
 * return the same), which probes and exec-in-netns use.
 */
export interface PodSandboxStatusResponse { status: PodSandboxStatus; info: StringMap }

export interface PodSandboxStateValue { state: PodSandboxState }
export interface PodSandboxFilter {
  id: string;
  state?: PodSandboxStateValue | null;
  label_selector: StringMap;
}
export interface ListPodSandboxRequest { filter?: PodSandboxFilter | null }

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  created_at: number;
  labels: StringMap;
  annotations: StringMap;
  runtime_handler: string;
}
export interface ListPodSandboxResponse { items: PodSandbox[] }

// ---- containers ----

export interface LinuxContainerSecurityContext {
  capabilities?: Capability | null;
  privileged: boolean;
  namespace_options?: NamespaceOption | null;
  selinux_options?: SELinuxOption | null;
  run_as_user?: Int64Value | null;
  run_as_username: string;
  readonly_rootfs: boolean;
  supplemental_groups: number[];
  no_new_privs: boolean;
  run_as_group?: Int64Value | null;
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources | null;
  security_context?: LinuxContainerSecurityContext | null;
}

export interface ContainerMetadata { name: string; attempt: number }
export interface Device { container_path: string; host_path: string; permissions: string }

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command: string[];
  args: string[];
  working_dir: string;
  envs: KeyValue[];
  mounts: Mount[];
  devices: Device[];
  labels: StringMap;
  annotations: StringMap;
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux?: LinuxContainerConfig | null;
}

/** `sandbox_config` is the config the sandbox was run with; containerd 1.6 crashes without it, so it is required. */
export interface CreateContainerRequest {
  pod_sandbox_id: string;
  config: ContainerConfig;
  sandbox_config: PodSandboxConfig;
}
export interface CreateContainerResponse { container_id: string }
export interface StartContainerRequest { container_id: string }
export type StartContainerResponse = Record<string, never>;
/** `timeout` is in seconds: the grace period between the stop signal and SIGKILL. */
export interface StopContainerRequest { container_id: string; timeout: number }
export type StopContainerResponse = Record<string, never>;
export interface RemoveContainerRequest { container_id: string }
export type RemoveContainerResponse = Record<string, never>;

export interface ContainerStateValue { state: ContainerState }
export interface ContainerFilter {
  id: string;
  state?: ContainerStateValue | null;
  pod_sandbox_id: string;
  label_selector: StringMap;
}
export interface ListContainersRequest { filter?: ContainerFilter | null }

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: ContainerMetadata;
  image?: ImageSpec | null;
  image_ref: string;
  state: ContainerState;
  created_at: number;
  labels: StringMap;
  annotations: StringMap;
}
export interface ListContainersResponse { containers: Container[] }

export interface ContainerStatusRequest { container_id: string; verbose: boolean }

/** `reason` is e.g. 'Completed', 'Error' or 'OOMKilled' once the container exited. */
export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  created_at: number;
  started_at: number;
  finished_at: number;
  exit_code: number;
  image?: ImageSpec | null;
  image_ref: string;
  reason: string;
  message: string;
  labels: StringMap;
  annotations: StringMap;
  mounts: Mount[];
  log_path: string;
}
export interface ContainerStatusResponse { status: ContainerStatus; info: StringMap }

/** `timeout` is in seconds; 0 means no limit. */
export interface ExecSyncRequest { container_id: string; cmd: string[]; timeout: number }
export interface ExecSyncResponse { stdout: Buffer; stderr: Buffer; exit_code: number }

// ---- stats ----

export interface FilesystemIdentifier { mountpoint: string }
export interface FilesystemUsage {
  timestamp: number;
  fs_id?: FilesystemIdentifier | null;
  used_bytes?: UInt64Value | null;
  inodes_used?: UInt64Value | null;
}
export interface CpuUsage {
  timestamp: number;
  usage_core_nano_seconds?: UInt64Value | null;
  usage_nano_cores?: UInt64Value | null;
}
export interface MemoryUsage {
  timestamp: number;
  working_set_bytes?: UInt64Value | null;
  available_bytes?: UInt64Value | null;
  usage_bytes?: UInt64Value | null;
  rss_bytes?: UInt64Value | null;
  page_faults?: UInt64Value | null;
  major_page_faults?: UInt64Value | null;
}
export interface ContainerAttributes {
  id: string;
  metadata?: ContainerMetadata | null;
  labels: StringMap;
  annotations: StringMap;
}
export interface ContainerStats {
  attributes?: ContainerAttributes | null;
  cpu?: CpuUsage | null;
  memory?: MemoryUsage | null;
  writable_layer?: FilesystemUsage | null;
}
export interface ContainerStatsRequest { container_id: string }
export interface ContainerStatsResponse { stats?: ContainerStats | null }
export interface ContainerStatsFilter { id: string; pod_sandbox_id: string; label_selector: StringMap }
export interface ListContainerStatsRequest { filter?: ContainerStatsFilter | null }
export interface ListContainerStatsResponse { stats: ContainerStats[] }

// ---- images ----

export interface ImageFilter { image?: ImageSpec | null }
export interface ListImagesRequest { filter?: ImageFilter | null }

/** `id` is the image config digest (`sha256:...`); `uid` is set when the image's user is numeric, else `username`. */
export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: number;
  uid?: Int64Value | null;
  username: string;
  spec?: ImageSpec | null;
  pinned: boolean;
}
export interface ListImagesResponse { images: Image[] }

export interface ImageStatusRequest { image: ImageSpec; verbose: boolean }
/** `image` is null when the runtime does not have the image (not an error, as in CRI). */
export interface ImageStatusResponse { image?: Image | null; info: StringMap }

export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  server_address: string;
  identity_token: string;
  registry_token: string;
}
export interface PullImageRequest {
  image: ImageSpec;
  auth?: AuthConfig | null;
  sandbox_config?: PodSandboxConfig | null;
}
export interface PullImageResponse { image_ref: string }
export interface RemoveImageRequest { image: ImageSpec }
export type RemoveImageResponse = Record<string, never>;
export type ImageFsInfoRequest = Record<string, never>;
export interface ImageFsInfoResponse {
  image_filesystems: FilesystemUsage[];
  container_filesystems: FilesystemUsage[];
}
