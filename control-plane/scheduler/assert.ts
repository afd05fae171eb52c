/**
 * Assertions for programmer errors. They stay on in production: a scheduler
 * that has broken its own invariant (a node over its allocatable in the cache,
 * a pod assumed twice) must stop rather than place pods on a wrong picture.
 * (control-plane may not import raft/, so this is the scheduler's own copy.)
 */

export class SchedulerAssertionError extends Error {
  override readonly name = 'SchedulerAssertionError';
  readonly code = 'SCHEDULER_ASSERTION';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new SchedulerAssertionError(typeof message === 'string' ? message : message());
}

export function assertNever(value: never, what = 'value'): never {
  throw new SchedulerAssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
