/** Operating errors of hollow nodes, with stable codes and messages that name the object, the value and the limit. */

export const HollowErrorCode = {
  /** Options a HollowNodes cannot run with (bad name, count, capacity, intervals). */
  InvalidOptions: 'InvalidOptions',
  /** Every fake pod IP of a node's /24 is held by a pod. */
  PodIpsExhausted: 'PodIpsExhausted',
} as const;
export type HollowErrorCode = (typeof HollowErrorCode)[keyof typeof HollowErrorCode];

export class HollowError extends Error {
  override readonly name = 'HollowError';
  constructor(
    readonly code: HollowErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The message of a thrown value, for log lines. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
