/**
 * One HTTP GET the way the kubelet probes: any status in [200, 400) is a
 * success; a connection error, a timeout or any other status a failure.
 * HTTPS certificates are not verified (the kubelet does not either). Runs in
 * the caller's network namespace: the agent calls it directly only for
 * host-network pods; for the others netns-probe.ts runs it inside the pod's
 * namespace.
 */
import http from 'node:http';
import https from 'node:https';
import type { ProbeOutcome } from './probe-result.js';

export interface HttpProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly scheme: 'HTTP' | 'HTTPS';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Body bytes read at most (the kubelet reads 10 KiB for its message and drops the rest). */
const BODY_BYTES_MAX = 10 * 1024;

export function httpProbe(t: HttpProbeTarget): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const lib = t.scheme === 'HTTPS' ? https : http;
    let settled = false;
    const done = (o: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(o);
    };
    const path = t.path.startsWith('/') ? t.path : `/${t.path}`;
    const req = lib.request(
      { host: t.host, port: t.port, path, method: 'GET', headers: { 'User-Agent': 'strake-probe/1.0', ...t.headers }, rejectUnauthorized: false, agent: false },
      (res) => {
        const code = res.statusCode ?? 0;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > BODY_BYTES_MAX) done({ ok: code >= 200 && code < 400, message: `HTTP probe got status ${code}` });
        });
        res.on('end', () => done({ ok: code >= 200 && code < 400, message: `HTTP probe got status ${code}` }));
        res.on('error', (err) => done({ ok: false, message: `HTTP probe failed: ${err.message}` }));
      },
    );
    const timer = setTimeout(() => done({ ok: false, message: `HTTP probe to ${t.host}:${t.port}${path} timed out after ${t.timeoutMs} ms` }), t.timeoutMs);
    req.on('error', (err) => done({ ok: false, message: `HTTP probe to ${t.host}:${t.port}${path} failed: ${err.message}` }));
    req.end();
  });
}
