/**
 * The CRI contract between the node agent and a container runtime: one method per
 * RPC of `proto/cri/api.proto`, named in camelCase, taking and returning the shapes
 * of `proto/cri/types.ts`. `CriClient` speaks it to a runtime over gRPC (containerd
 * or `strake runtime`), `serveCri` serves any implementation over gRPC, and an
 * in-process runtime may be handed to the agent directly.
 *
 * Implementations report operating errors as `CriError` (`node/cri/errors.ts`), so
 * callers see the same codes whether the runtime is remote or in-process.
 */
import type * as cri from '../../proto/cri/types.js';

export interface RuntimeService {
  version(r: cri.VersionRequest): Promise<cri.VersionResponse>;
  runPodSandbox(r: cri.RunPodSandboxRequest): Promise<cri.RunPodSandboxResponse>;
  stopPodSandbox(r: cri.StopPodSandboxRequest): Promise<cri.StopPodSandboxResponse>;
  removePodSandbox(r: cri.RemovePodSandboxRequest): Promise<cri.RemovePodSandboxResponse>;
  podSandboxStatus(r: cri.PodSandboxStatusRequest): Promise<cri.PodSandboxStatusResponse>;
  listPodSandbox(r: cri.ListPodSandboxRequest): Promise<cri.ListPodSandboxResponse>;
  createContainer(r: cri.CreateContainerRequest): Promise<cri.CreateContainerResponse>;
  startContainer(r: cri.StartContainerRequest): Promise<cri.StartContainerResponse>;
  stopContainer(r: cri.StopContainerRequest): Promise<cri.StopContainerResponse>;
  removeContainer(r: cri.RemoveContainerRequest): Promise<cri.RemoveContainerResponse>;
  listContainers(r: cri.ListContainersRequest): Promise<cri.ListContainersResponse>;
  containerStatus(r: cri.ContainerStatusRequest): Promise<cri.ContainerStatusResponse>;
  execSync(r: cri.ExecSyncRequest): Promise<cri.ExecSyncResponse>;
  containerStats(r: cri.ContainerStatsRequest): Promise<cri.ContainerStatsResponse>;
  listContainerStats(r: cri.ListContainerStatsRequest): Promise<cri.ListContainerStatsResponse>;
  status(r: cri.StatusRequest): Promise<cri.StatusResponse>;
}

export interface ImageService {
  listImages(r: cri.ListImagesRequest): Promise<cri.ListImagesResponse>;
  imageStatus(r: cri.ImageStatusRequest): Promise<cri.ImageStatusResponse>;
  pullImage(r: cri.PullImageRequest): Promise<cri.PullImageResponse>;
  removeImage(r: cri.RemoveImageRequest): Promise<cri.RemoveImageResponse>;
  imageFsInfo(r: cri.ImageFsInfoRequest): Promise<cri.ImageFsInfoResponse>;
}

export type CriRuntime = RuntimeService & ImageService;

/** The gRPC method name of each CriRuntime method, per service (the wire names of api.proto). */
export const RUNTIME_SERVICE_METHODS = {
  version: 'Version',
  runPodSandbox: 'RunPodSandbox',
  stopPodSandbox: 'StopPodSandbox',
  removePodSandbox: 'RemovePodSandbox',
  podSandboxStatus: 'PodSandboxStatus',
  listPodSandbox: 'ListPodSandbox',
  createContainer: 'CreateContainer',
  startContainer: 'StartContainer',
  stopContainer: 'StopContainer',
  removeContainer: 'RemoveContainer',
  listContainers: 'ListContainers',
  containerStatus: 'ContainerStatus',
  execSync: 'ExecSync',
  containerStats: 'ContainerStats',
  listContainerStats: 'ListContainerStats',
  status: 'Status',
} as const satisfies Record<keyof RuntimeService, string>;

export const IMAGE_SERVICE_METHODS = {
  listImages: 'ListImages',
  imageStatus: 'ImageStatus',
  pullImage: 'PullImage',
  removeImage: 'RemoveImage',
  imageFsInfo: 'ImageFsInfo',
} as const satisfies Record<keyof ImageService, string>;

/** The CRI API version string `version()` answers with (`runtime_api_version`). */
export const CRI_API_VERSION = 'v1';
