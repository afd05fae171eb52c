/**
 * The node lifecycle controller's typed errors and its assertions (which stay
 * on in production: a controller that broke its own invariant must stop
 * rather than taint or evict on a wrong picture).
 */

export const NodeLifecycleErrorCode = {
  InvalidConfig: 'NODE_LIFECYCLE_INVALID_CONFIG',
  Stopped: 'NODE_LIFECYCLE_STOPPED',
  Assertion: 'NODE_LIFECYCLE_ASSERTION',
} as const;
export type NodeLifecycleErrorCode = (typeof NodeLifecycleErrorCode)[keyof typeof NodeLifecycleErrorCode];

export class NodeLifecycleError extends Error {
  override readonly name = 'NodeLifecycleError';
  constructor(
    readonly code: NodeLifecycleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new NodeLifecycleError(NodeLifecycleErrorCode.Assertion, typeof message === 'string' ? message : message());
}
