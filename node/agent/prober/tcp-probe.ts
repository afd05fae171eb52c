/**
 * One TCP connect the way the kubelet probes: success when the connection is
 * established within the timeout (it is closed at once). Runs in the
 * caller's network namespace (see http-probe.ts).
 */
import net from 'node:net';
import type { ProbeOutcome } from './probe-result.js';

export interface TcpProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

export function tcpProbe(t: TcpProbeTarget): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host: t.host, port: t.port });
    const done = (o: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ ok: false, message: `TCP probe to ${t.host}:${t.port} timed out after ${t.timeoutMs} ms` }), t.timeoutMs);
    socket.once('connect', () => done({ ok: true, message: `TCP probe connected to ${t.host}:${t.port}` }));
    socket.once('error', (err) => done({ ok: false, message: `TCP probe to ${t.host}:${t.port} failed: ${err.message}` }));
  });
}
