/**
 * The nested messages `proto/cri/types.ts` types as required although proto3 lets a
 * sender leave them out (the loader then delivers `null`). Both ends check requests
 * (the client before sending, since a real runtime may crash on a missing one) and
 * the client checks responses, so code on either side of the gRPC edge may rely on
 * the types. Paths are dotted; `[]` walks every array element.
 */
import type { CriRuntime } from './runtime.js';

type Method = keyof CriRuntime;

const REQUIRED_IN_REQUEST: Partial<Record<Method, readonly string[]>> = {
  runPodSandbox: ['config', 'config.metadata'],
  // containerd 1.6 dereferences sandbox_config.metadata unchecked and crashes without it.
  createContainer: ['config', 'config.metadata', 'config.image', 'sandbox_config', 'sandbox_config.metadata'],
  imageStatus: ['image'],
  pullImage: ['image'],
  removeImage: ['image'],
};

const REQUIRED_IN_RESPONSE: Partial<Record<Method, readonly string[]>> = {
  podSandboxStatus: ['status', 'status.metadata'],
  containerStatus: ['status', 'status.metadata'],
  listPodSandbox: ['items[].metadata'],
  listContainers: ['containers[].metadata'],
};

/** The first required path of `method`'s request that `msg` lacks, or undefined. */
export function missingInRequest(method: Method, msg: unknown): string | undefined {
  return firstMissing(REQUIRED_IN_REQUEST[method] ?? [], msg);
}

/** The first required path of `method`'s response that `msg` lacks, or undefined. */
export function missingInResponse(method: Method, msg: unknown): string | undefined {
  return firstMissing(REQUIRED_IN_RESPONSE[method] ?? [], msg);
}

function firstMissing(paths: readonly string[], msg: unknown): string | undefined {
  for (const path of paths) if (!present(msg, path.split('.'))) return path;
  return undefined;
}

function present(value: unknown, steps: readonly string[]): boolean {
  const [step, ...rest] = steps;
  if (step === undefined) return value !== null && value !== undefined;
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (step.endsWith('[]')) {
    const list = record[step.slice(0, -2)];
    // An absent or empty list has no element lacking anything.
    if (list === undefined || list === null) return true;
    if (!Array.isArray(list)) return false;
    return list.every((item) => present(item, rest));
  }
  return present(record[step], rest);
}
