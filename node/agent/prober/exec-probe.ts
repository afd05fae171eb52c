/**
 * An exec probe: the command runs in the container through CRI ExecSync;
 * exit code 0 is a success, anything else (or the timeout) a failure.
 */
import { isCriError } from '../../cri/errors.js';
import type { CriRuntime } from '../../cri/runtime.js';
import { errorText } from '../errors.js';
import type { ProbeOutcome } from './probe-result.js';

/** Output kept for the message (the kubelet keeps 10 KiB). */
const OUTPUT_CHARS_MAX = 10 * 1024;

export async function execProbe(runtime: Pick<CriRuntime, 'execSync'>, containerId: string, cmd: readonly string[], timeoutMs: number): Promise<ProbeOutcome> {
  try {
    const res = await runtime.execSync({ container_id: containerId, cmd: [...cmd], timeout: Math.max(1, Math.ceil(timeoutMs / 1000)) });
    const output = Buffer.concat([res.stdout, res.stderr]).toString('utf8').slice(0, OUTPUT_CHARS_MAX).trim();
    return res.exit_code === 0 ? { ok: true, message: output } : { ok: false, message: `command ${JSON.stringify(cmd)} exited with ${res.exit_code}: ${output}` };
  } catch (err) {
    if (isCriError(err, 'DeadlineExceeded')) return { ok: false, message: `command ${JSON.stringify(cmd)} timed out after ${timeoutMs} ms` };
    return { ok: false, message: `command ${JSON.stringify(cmd)} could not run: ${errorText(err)}` };
  }
}
