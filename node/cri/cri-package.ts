/** The `runtime.v1` gRPC package of `proto/cri/api.proto`, loaded once per process for the client and the server. */
import type * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';

type ServiceClientCtor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;
type ServiceCtor = ServiceClientCtor & { service: grpc.ServiceDefinition };

export interface CriPackage {
  readonly RuntimeService: ServiceCtor;
  readonly ImageService: ServiceCtor;
}

let loaded: CriPackage | undefined;

export function criPackage(): CriPackage {
  if (loaded === undefined) {
    const root = loadProto(['cri/api.proto']) as unknown as { runtime: { v1: CriPackage } };
    loaded = root.runtime.v1;
  }
  return loaded;
}
