/**
 * Loads the .proto files of this folder for @grpc/grpc-js. The loader options
 * are shared so every service sees the same conversions: field names as written
 * (snake_case), 64-bit integers as JS numbers, enums as names, bytes as Buffers.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

/** The folder holding the .proto sources (next to this file in the source tree, or its build output). */
export function protoDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Built code runs from dist/proto; the .proto files stay in proto/.
  const candidates = [here, join(here, '..', '..', 'proto')];
  for (const c of candidates) if (existsSync(join(c, 'raft.proto'))) return c;
  throw new Error(`cannot find the .proto files near ${here}`);
}

export function loadProto(files: readonly string[]): grpc.GrpcObject {
  const dir = protoDir();
  const def = protoLoader.loadSync(
    files.map((f) => join(dir, f)),
    { ...PROTO_LOADER_OPTIONS, includeDirs: [dir] },
  );
  return grpc.loadPackageDefinition(def);
}
