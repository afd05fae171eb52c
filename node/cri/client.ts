/**
 * CriClient: the CRI contract spoken over gRPC to a runtime on a unix socket —
 * containerd's CRI plugin or `strake runtime`. Every call carries a deadline; a gRPC
 * status comes back as a `CriError` with the matching code, so the node agent handles
 * remote and in-process runtimes alike.
 */
import * as grpc from '@grpc/grpc-js';
import type * as cri from '../../proto/cri/types.js';
import { CriError, CriErrorCode, criCodeOfGrpcStatus } from './errors.js';
import { IMAGE_SERVICE_METHODS, RUNTIME_SERVICE_METHODS, type CriRuntime } from './runtime.js';
import { missingInRequest, missingInResponse } from './required-fields.js';
import { criPackage } from './cri-package.js';

/** Default deadline of one call; the kubelet's runtime request timeout is 2 minutes. */
export const CRI_CALL_TIMEOUT_MS = 120_000;
/** Default deadline of PullImage, which downloads layers and may take much longer than other calls. */
export const CRI_PULL_TIMEOUT_MS = 600_000;
/** Extra time an ExecSync call gets beyond the command's own timeout, for the runtime to report back. */
export const CRI_EXEC_GRACE_MS = 5_000;
/** Largest response accepted: ExecSync output and long lists; the kubelet allows 16 MiB too. */
export const CRI_MESSAGE_BYTES_MAX = 16 * 1024 * 1024;

export interface CriClientOptions {
  /** `unix:///absolute/path.sock`. */
  readonly endpoint: string;
  /** Deadline of each call except PullImage (and ExecSync, which gets at least its own timeout). */
  readonly timeoutMs?: number;
  readonly pullTimeoutMs?: number;
}

type Method = keyof CriRuntime;
type RequestOf<M extends Method> = Parameters<CriRuntime[M]>[0];
type ResponseOf<M extends Method> = Awaited<ReturnType<CriRuntime[M]>>;
type UnaryCall = (
  request: unknown,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

export class CriClient implements CriRuntime {
  readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;
  private readonly runtimeClient: grpc.Client;
  private readonly imageClient: grpc.Client;

  constructor(options: CriClientOptions) {
    if (!options.endpoint.startsWith('unix://')) {
      throw new CriError(CriErrorCode.InvalidArgument, `CRI endpoint ${options.endpoint} is not a unix:// socket address`);
    }
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? CRI_CALL_TIMEOUT_MS;
    this.pullTimeoutMs = options.pullTimeoutMs ?? CRI_PULL_TIMEOUT_MS;
    const v1 = criPackage();
    const channelOptions: grpc.ClientOptions = { 'grpc.max_receive_message_length': CRI_MESSAGE_BYTES_MAX };
    const credentials = grpc.credentials.createInsecure();
    this.runtimeClient = new v1.RuntimeService(options.endpoint, credentials, channelOptions);
    this.imageClient = new v1.ImageService(options.endpoint, credentials, channelOptions);
  }

  close(): void {
    this.runtimeClient.close();
    this.imageClient.close();
  }

  version(r: cri.VersionRequest) { return this.call('version', r); }
  runPodSandbox(r: cri.RunPodSandboxRequest) { return this.call('runPodSandbox', r); }
  stopPodSandbox(r: cri.StopPodSandboxRequest) { return this.call('stopPodSandbox', r); }
  removePodSandbox(r: cri.RemovePodSandboxRequest) { return this.call('removePodSandbox', r); }
  podSandboxStatus(r: cri.PodSandboxStatusRequest) { return this.call('podSandboxStatus', r); }
  listPodSandbox(r: cri.ListPodSandboxRequest) { return this.call('listPodSandbox', r); }
  createContainer(r: cri.CreateContainerRequest) { return this.call('createContainer', r); }
  startContainer(r: cri.StartContainerRequest) { return this.call('startContainer', r); }
  stopContainer(r: cri.StopContainerRequest) {
    // The runtime waits up to `timeout` seconds for the container to exit before it kills it.
    return this.call('stopContainer', r, Math.max(this.timeoutMs, r.timeout * 1000 + CRI_EXEC_GRACE_MS));
  }
  removeContainer(r: cri.RemoveContainerRequest) { return this.call('removeContainer', r); }
  listContainers(r: cri.ListContainersRequest) { return this.call('listContainers', r); }
  containerStatus(r: cri.ContainerStatusRequest) { return this.call('containerStatus', r); }
  execSync(r: cri.ExecSyncRequest) {
    const ownMs = r.timeout > 0 ? r.timeout * 1000 + CRI_EXEC_GRACE_MS : 0;
    return this.call('execSync', r, Math.max(this.timeoutMs, ownMs));
  }
  containerStats(r: cri.ContainerStatsRequest) { return this.call('containerStats', r); }
  listContainerStats(r: cri.ListContainerStatsRequest) { return this.call('listContainerStats', r); }
  status(r: cri.StatusRequest) { return this.call('status', r); }

  listImages(r: cri.ListImagesRequest) { return this.call('listImages', r); }
  imageStatus(r: cri.ImageStatusRequest) { return this.call('imageStatus', r); }
  pullImage(r: cri.PullImageRequest) { return this.call('pullImage', r, this.pullTimeoutMs); }
  removeImage(r: cri.RemoveImageRequest) { return this.call('removeImage', r); }
  imageFsInfo(r: cri.ImageFsInfoRequest) { return this.call('imageFsInfo', r); }

  private call<M extends Method>(method: M, request: RequestOf<M>, timeoutMs = this.timeoutMs): Promise<ResponseOf<M>> {
    const { client, rpc } = this.route(method);
    const unary = (client as unknown as Record<string, UnaryCall>)[rpc];
    return new Promise((resolve, reject) => {
      const missingArg = missingInRequest(method, request);
      if (missingArg !== undefined) {
        return reject(new CriError(CriErrorCode.InvalidArgument, `${rpc} request lacks ${missingArg}`));
      }
      if (unary === undefined) {
        return reject(new CriError(CriErrorCode.Unimplemented, `CRI method ${rpc} is missing from the loaded service`));
      }
      unary.call(client, request, { deadline: Date.now() + timeoutMs }, (err, response) => {
        if (err !== null) return reject(this.toCriError(rpc, err, timeoutMs));
        const missing = missingInResponse(method, response);
        if (missing !== undefined) {
          return reject(new CriError(CriErrorCode.Internal, `CRI ${rpc} on ${this.endpoint} answered without ${missing}`));
        }
        resolve(response as ResponseOf<M>);
      });
    });
  }

  private route(method: Method): { client: grpc.Client; rpc: string } {
    if (method in RUNTIME_SERVICE_METHODS) {
      return { client: this.runtimeClient, rpc: RUNTIME_SERVICE_METHODS[method as keyof typeof RUNTIME_SERVICE_METHODS] };
    }
    return { client: this.imageClient, rpc: IMAGE_SERVICE_METHODS[method as keyof typeof IMAGE_SERVICE_METHODS] };
  }

  private toCriError(rpc: string, err: grpc.ServiceError, timeoutMs: number): CriError {
    const code = criCodeOfGrpcStatus(err.code);
    const details = err.details || err.message;
    switch (code) {
      case CriErrorCode.DeadlineExceeded:
        return new CriError(code, `CRI ${rpc} on ${this.endpoint} did not answer within ${timeoutMs} ms (${details})`);
      case CriErrorCode.Unavailable:
        return new CriError(code, `CRI runtime at ${this.endpoint} is unavailable for ${rpc}: ${details}`);
      default:
        // The runtime's own message names the object; pass it on unchanged.
        return new CriError(code, details);
    }
  }
}
