/**
 * The Kubernetes remotecommand protocol over WebSocket (what `kubectl exec`
 * 1.30+ speaks, through the API server, to a node): every binary message
 * starts with a channel byte; channel 3 carries one meta/v1 Status when the
 * command is over (v4 and later), which is how the client learns the exit
 * code. v5 adds a client signal "this stream is closed" (255, channel).
 */

export const ExecProtocol = {
  V5: 'v5.channel.k8s.io',
  V4: 'v4.channel.k8s.io',
} as const;
export type ExecProtocol = (typeof ExecProtocol)[keyof typeof ExecProtocol];

/** In order of preference. */
export const EXEC_PROTOCOLS: readonly ExecProtocol[] = [ExecProtocol.V5, ExecProtocol.V4];

export const Channel = {
  Stdin: 0,
  Stdout: 1,
  Stderr: 2,
  /** Error/status: a JSON meta/v1 Status at the end. */
  Error: 3,
  Resize: 4,
  /** v5: `[255, channel]` closes a stream. */
  Close: 255,
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** The protocol to speak, from a Sec-WebSocket-Protocol list; undefined when none is supported. */
export function chooseExecProtocol(offered: Iterable<string>): ExecProtocol | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  return EXEC_PROTOCOLS.find((p) => set.has(p));
}

/** The Sec-WebSocket-Protocol header as a list. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

export interface ExecStatus {
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes: ReadonlyArray<{ readonly reason: string; readonly message: string }> };
}

export const EXEC_SUCCESS: ExecStatus = { metadata: {}, status: 'Success' };

/** The Status of a command that exited with `exitCode` (1..255): clients exit with that code. */
export function nonZeroExit(command: readonly string[], exitCode: number): ExecStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** Any other failure; clients print the message. */
export function execFailure(message: string): ExecStatus {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError' };
}

/** One channel message: the channel byte, then the data. */
export function channelFrame(channel: Channel, data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]);
}
