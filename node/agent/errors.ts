/** Operating errors of the node agent, with stable codes and messages that name the object, the value and the limit. */

export const AgentErrorCode = {
  /** Options the agent cannot run with. */
  InvalidOptions: 'InvalidOptions',
  /**
   * A container's configuration cannot be built: a ConfigMap or Secret (or one of its keys) it needs is
   * missing, a volume it mounts is not in the pod or of an unsupported type, a path escapes its volume.
   * The kubelet's waiting reason of the same name.
   */
  CreateContainerConfigError: 'CreateContainerConfigError',
  /** A probe could not be run at all (no sandbox pid, the helper failed). */
  ProbeError: 'ProbeError',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The message of a thrown value, for log lines and status messages. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
