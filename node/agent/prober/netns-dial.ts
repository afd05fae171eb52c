/**
 * Sends HTTP and TCP probes from inside a pod's network namespace (the
 * network rule: the node never connects to a pod address from its own
 * namespace). For a pod with its own namespace the sandbox's host pid comes
 * from PodSandboxStatus(verbose).info['info'] ("pid"), and the probe runs as
 *   nsenter --net=/proc/<pid>/ns/net <node> <dist>/node/agent/prober/netns-probe.js …
 * dialling 127.0.0.1 in there when the probe targets the pod's own address.
 * A host-network pod shares the node's namespace, so its probes are sent
 * directly, to 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CriRuntime } from '../../cri/runtime.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { httpProbe, type HttpProbeTarget } from './http-probe.js';
import type { ProbeOutcome } from './probe-result.js';
import { tcpProbe, type TcpProbeTarget } from './tcp-probe.js';

/** Where a probe goes: the pod's sandbox and how it is networked. */
export interface ProbeNet {
  readonly sandboxId: string;
  readonly hostNetwork: boolean;
  /** The pod's address ('' when unknown): a probe to it dials 127.0.0.1 of the right namespace. */
  readonly podIp: string;
}

export interface ProbeDialer {
  http(net: ProbeNet, t: HttpProbeTarget): Promise<ProbeOutcome>;
  tcp(net: ProbeNet, t: TcpProbeTarget): Promise<ProbeOutcome>;
}

/** Time the helper may take beyond the probe's own timeout (starting node takes ~50 ms; a loaded machine more). */
const HELPER_SLACK_MS = 5_000;
/** Helper output read at most: one JSON line. */
const HELPER_OUTPUT_BYTES_MAX = 64 * 1024;

/** The compiled helper next to this file; from sources (tests run .ts), the build's copy under dist/. */
export function netnsProbeHelperPath(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(here, '..', 'netns-probe.js');
  if (existsSync(sibling)) return sibling;
  const marker = `${join('node', 'agent', 'prober')}`;
  const at = here.lastIndexOf(marker);
  return at < 0 ? sibling : join(here.slice(0, at), 'dist', marker, 'netns-probe.js');
}

function localHost(host: string, podIp: string): string {
  return host === '' || host === podIp ? '127.0.0.1' : host;
}

export class NetnsDialer implements ProbeDialer {
  constructor(
    private readonly runtime: CriRuntime,
    private readonly o: { readonly nsenterPath?: string; readonly nodePath?: string; readonly helperPath?: string } = {},
  ) {}

  async http(net: ProbeNet, t: HttpProbeTarget): Promise<ProbeOutcome> {
    const host = localHost(t.host, net.podIp);
    if (net.hostNetwork) return httpProbe({ ...t, host });
    const args = ['http', host, String(t.port), t.path, String(t.timeoutMs), t.scheme, JSON.stringify(t.headers)];
    return this.inNetns(net, args, t.timeoutMs);
  }

  async tcp(net: ProbeNet, t: TcpProbeTarget): Promise<ProbeOutcome> {
    const host = localHost(t.host, net.podIp);
    if (net.hostNetwork) return tcpProbe({ ...t, host });
    return this.inNetns(net, ['tcp', host, String(t.port), String(t.timeoutMs)], t.timeoutMs);
  }

  private async sandboxPid(sandboxId: string): Promise<number> {
    const res = await this.runtime.podSandboxStatus({ pod_sandbox_id: sandboxId, verbose: true });
    const text = res.info['info'];
    let pid: unknown;
    try {
      pid = text === undefined ? undefined : (JSON.parse(text) as { pid?: unknown }).pid;
    } catch {
      pid = undefined;
    }
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
      throw new AgentError(AgentErrorCode.ProbeError, `sandbox ${sandboxId} reports no process id (PodSandboxStatus verbose info "info" has no "pid")`);
    }
    return pid;
  }

  private async inNetns(net: ProbeNet, helperArgs: readonly string[], timeoutMs: number): Promise<ProbeOutcome> {
    const pid = await this.sandboxPid(net.sandboxId);
    const nsenter = this.o.nsenterPath ?? 'nsenter';
    const args = [`--net=/proc/${pid}/ns/net`, this.o.nodePath ?? process.execPath, this.o.helperPath ?? netnsProbeHelperPath(), ...helperArgs];
    return new Promise((resolve) => {
      const child = spawn(nsenter, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + HELPER_SLACK_MS);
      child.stdout.on('data', (b: Buffer) => (out.length < HELPER_OUTPUT_BYTES_MAX ? (out += b.toString('utf8')) : undefined));
      child.stderr.on('data', (b: Buffer) => (err.length < HELPER_OUTPUT_BYTES_MAX ? (err += b.toString('utf8')) : undefined));
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ ok: false, message: `could not run ${nsenter}: ${e.message}` });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const line = out.trim().split('\n').pop() ?? '';
        try {
          const parsed = JSON.parse(line) as { ok?: unknown; message?: unknown };
          resolve({ ok: parsed.ok === true, message: String(parsed.message ?? '') });
        } catch {
          resolve({ ok: false, message: `probe helper in sandbox ${net.sandboxId} ended (${signal ?? `exit ${code}`}) without a result: ${err.trim().slice(0, 500)}` });
        }
      });
    });
  }
}
