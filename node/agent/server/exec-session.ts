/**
 * One `exec` over an accepted WebSocket: runs the command to its end through
 * the runtime's ExecSync, then sends its stdout (channel 1) and stderr
 * (channel 2), the Status (channel 3), and closes. Non-interactive: stdin and
 * tty are refused with a Status saying so, because ExecSync has neither.
 */
import type { WebSocket } from 'ws';
import { boolean } from '../logs/log-options.js';
import { Channel, channelFrame, EXEC_SUCCESS, execFailure, nonZeroExit, type ExecStatus } from './remotecommand.js';
import type { NodeServerPods } from './node-server-pods.js';

/** Largest data message sent: output is cut into pieces of this size. */
export const EXEC_MESSAGE_BYTES_MAX = 32 * 1024;
/** Default bound on one command's run time: ExecSync kills it after this. */
export const EXEC_TIMEOUT_MS = 5 * 60_000;
/**
 * Least time between the handshake and the first output message. client-go
 * creates its stream readers after the handshake while already reading, and
 * drops messages for streams it has not created yet; a command answered in
 * under a millisecond could otherwise lose its output.
 */
export const STREAM_SETUP_GRACE_MS = 50;

export interface ExecRequest {
  readonly command: readonly string[];
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

export const ExecRequestErrorCode = { Invalid: 'InvalidExecRequest' } as const;

export class ExecRequestError extends Error {
  override readonly name = 'ExecRequestError';
  readonly code = ExecRequestErrorCode.Invalid;
}

/** The query of an exec request (`command` repeated, stdin/stdout/stderr/tty flags). */
export function parseExecQuery(q: URLSearchParams): ExecRequest {
  try {
    const r = { command: q.getAll('command'), stdin: boolean(q, 'stdin'), stdout: boolean(q, 'stdout'), stderr: boolean(q, 'stderr'), tty: boolean(q, 'tty') };
    if (r.command.length === 0) throw new ExecRequestError('you must specify at least one command for the container');
    if (!r.stdin && !r.stdout && !r.stderr) throw new ExecRequestError('you must specify at least 1 of stdin, stdout, stderr');
    return r;
  } catch (err) {
    if (err instanceof ExecRequestError) throw err;
    throw new ExecRequestError(err instanceof Error ? err.message : String(err));
  }
}

export interface ExecSessionDeps {
  readonly pods: NodeServerPods;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

export async function runExecSession(ws: WebSocket, containerId: string, r: ExecRequest, d: ExecSessionDeps): Promise<void> {
  const openedAtMs = Date.now();
  // Incoming messages (stdin, resize, v5 close signals) have nothing to act on: commands run without stdin.
  ws.on('message', () => undefined);
  if (r.stdin || r.tty) {
    const what = [r.stdin ? 'stdin (-i)' : '', r.tty ? 'a tty (-t)' : ''].filter((w) => w !== '').join(' and ');
    return finish(ws, execFailure(`this node runs exec commands non-interactively: ${what} is not supported; run the command without -i/-t`));
  }
  let status: ExecStatus;
  try {
    const result = await d.pods.execSync(containerId, [...r.command], d.timeoutMs);
    const waitMs = STREAM_SETUP_GRACE_MS - (Date.now() - openedAtMs);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (r.stdout) sendPieces(ws, Channel.Stdout, result.stdout);
    if (r.stderr) sendPieces(ws, Channel.Stderr, result.stderr);
    status = statusOf(r.command, result.exitCode);
  } catch (err) {
    d.log(`node server: exec ${JSON.stringify(r.command)} in ${containerId} failed: ${err instanceof Error ? err.message : String(err)}`);
    status = execFailure(`exec failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  finish(ws, status);
}

function statusOf(command: readonly string[], exitCode: number): ExecStatus {
  if (exitCode === 0) return EXEC_SUCCESS;
  // Clients read the exit code as an unsigned byte.
  if (Number.isInteger(exitCode) && exitCode > 0 && exitCode <= 255) return nonZeroExit(command, exitCode);
  return execFailure(`command [${command.join(' ')}] ended with exit code ${exitCode}`);
}

function sendPieces(ws: WebSocket, channel: Channel, data: Buffer): void {
  for (let at = 0; at < data.length; at += EXEC_MESSAGE_BYTES_MAX) {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(channelFrame(channel, data.subarray(at, at + EXEC_MESSAGE_BYTES_MAX)));
  }
}

/** Sends the Status and closes normally (frames leave in order, so the close follows the output). */
export function finish(ws: WebSocket, status: ExecStatus): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(channelFrame(Channel.Error, JSON.stringify(status)));
  ws.close(1000);
}
