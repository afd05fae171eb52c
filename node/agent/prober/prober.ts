/**
 * Runs one probe of a container once: exec through CRI ExecSync, httpGet and
 * tcpSocket through a ProbeDialer (inside the pod's network namespace).
 * Named ports are looked up among the container's ports.
 */
import type { Container, IntOrString, Probe } from '../../../proto/k8s/core-v1.js';
import type { CriRuntime } from '../../cri/runtime.js';
import { execProbe } from './exec-probe.js';
import type { ProbeDialer, ProbeNet } from './netns-dial.js';
import type { ProbeOutcome } from './probe-result.js';

export const PROBE_TIMEOUT_SECONDS_DEFAULT = 1;

export interface ProbeTarget {
  readonly container: Container;
  readonly containerId: string;
  readonly net: ProbeNet;
}

function portOf(c: Container, port: IntOrString): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, target: ProbeTarget, runtime: Pick<CriRuntime, 'execSync'>, dialer: ProbeDialer): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? PROBE_TIMEOUT_SECONDS_DEFAULT) * 1000;
  const c = target.container;
  if (probe.exec !== undefined) return execProbe(runtime, target.containerId, probe.exec.command ?? [], timeoutMs);
  if (probe.httpGet !== undefined) {
    const g = probe.httpGet;
    const port = portOf(c, g.port);
    if (port === undefined) return { ok: false, message: `container ${c.name} has no port named ${String(g.port)}` };
    const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return dialer.http(target.net, { host: g.host ?? '', port, path: g.path ?? '/', scheme: g.scheme ?? 'HTTP', headers, timeoutMs });
  }
  if (probe.tcpSocket !== undefined) {
    const port = portOf(c, probe.tcpSocket.port);
    if (port === undefined) return { ok: false, message: `container ${c.name} has no port named ${String(probe.tcpSocket.port)}` };
    return dialer.tcp(target.net, { host: probe.tcpSocket.host ?? '', port, timeoutMs });
  }
  return { ok: false, message: 'probe has no handler this node supports (exec, httpGet, tcpSocket)' };
}
