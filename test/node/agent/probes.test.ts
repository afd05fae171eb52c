/**
 * Probes: the HTTP and TCP checks against loopback servers (ports 29320-29329),
 * exec probes through CRI ExecSync, the probe workers' thresholds and
 * gating on a FakeClock, and the netns dialer: host-network pods are probed
 * on 127.0.0.1 directly, other pods from inside their network namespace (a
 * namespace this test makes with unshare, the probe helper run with nsenter).
 * Needs root, unshare, nsenter, ip and a build (`npm run build`: the helper
 * runs from dist/); it fails with the reason when one is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { execProbe } from '../../../node/agent/prober/exec-probe.js';
import { httpProbe } from '../../../node/agent/prober/http-probe.js';
import { NetnsDialer, netnsProbeHelperPath, type ProbeDialer } from '../../../node/agent/prober/netns-dial.js';
import { ProbeManager } from '../../../node/agent/prober/probe-manager.js';
import { tcpProbe } from '../../../node/agent/prober/tcp-probe.js';
import type { CriRuntime } from '../../../node/cri/runtime.js';
import { FakeRuntime } from './fake-runtime.js';
import { container, podOf, record, runtimeOf, sandbox } from './pod-fixtures.js';

const HTTP_PORT = 29320;
const CLOSED_PORT = 29321;
const NETNS_PORT = 29322;

let server: http.Server;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthz' ? 200 : req.url === '/redirect' ? 302 : 500;
    res.end(req.headers['x-probe'] ?? '');
  });
  await new Promise<void>((r) => server.listen(HTTP_PORT, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('HTTP and TCP checks', () => {
  it('HTTP: 2xx and 3xx succeed, other statuses, refused connections and timeouts fail', async () => {
    const t = { host: '127.0.0.1', port: HTTP_PORT, scheme: 'HTTP' as const, headers: { 'X-Probe': '1' }, timeoutMs: 2_000 };
    expect((await httpProbe({ ...t, path: '/healthz' })).ok).toBe(true);
    expect((await httpProbe({ ...t, path: 'redirect' })).ok).toBe(true);
    expect(await httpProbe({ ...t, path: '/fail' })).toEqual({ ok: false, message: 'HTTP probe got status 500' });
    expect((await httpProbe({ ...t, port: CLOSED_PORT, path: '/' })).message).toMatch(/ECONNREFUSED/);
  });

  it('HTTP: a server that never answers times out', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => void sockets.add(sock));
    await new Promise<void>((r) => silent.listen(CLOSED_PORT + 2, '127.0.0.1', r));
    try {
      const o = await httpProbe({ host: '127.0.0.1', port: CLOSED_PORT + 2, path: '/', scheme: 'HTTP', headers: {}, timeoutMs: 200 });
      expect(o).toEqual({ ok: false, message: `HTTP probe to 127.0.0.1:${CLOSED_PORT + 2}/ timed out after 200 ms` });
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('TCP: a listening port succeeds, a closed one fails', async () => {
    expect((await tcpProbe({ host: '127.0.0.1', port: HTTP_PORT, timeoutMs: 1_000 })).ok).toBe(true);
    expect((await tcpProbe({ host: '127.0.0.1', port: CLOSED_PORT, timeoutMs: 1_000 })).ok).toBe(false);
  });

  it('exec: exit 0 succeeds, anything else fails', async () => {
    const rt = new FakeRuntime(new FakeClock());
    const sandboxConfig = { metadata: { name: 'p', uid: 'u', namespace: 'd', attempt: 0 }, hostname: '', log_directory: '', port_mappings: [], labels: {}, annotations: {} };
    const sb = await rt.runPodSandbox({ config: sandboxConfig, runtime_handler: '' });
    const id = (await rt.createContainer({ pod_sandbox_id: sb.pod_sandbox_id, config: { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox', annotations: {} }, command: [], args: [], working_dir: '', envs: [], mounts: [], devices: [], labels: {}, annotations: {}, log_path: '', stdin: false, stdin_once: false, tty: false }, sandbox_config: sandboxConfig })).container_id;
    await rt.startContainer({ container_id: id });
    rt.execHandler = (_id, cmd) => ({ exitCode: cmd[0] === 'ok' ? 0 : 7, stdout: 'out' });
    expect(await execProbe(rt, id, ['ok'], 1_000)).toEqual({ ok: true, message: 'out' });
    expect((await execProbe(rt, id, ['bad'], 1_000)).message).toBe('command ["bad"] exited with 7: out');
  });
});

describe('ProbeManager', () => {
  function setup(outcomes: () => boolean) {
    const clock = new FakeClock();
    const changes: string[] = [];
    let calls = 0;
    const dialer: ProbeDialer = {
      http: async () => {
        calls++;
        return { ok: outcomes(), message: '' };
      },
      tcp: async () => ({ ok: true, message: '' }),
    };
    const m = new ProbeManager({ clock, runtime: new FakeRuntime(clock), dialer, onChange: (uid) => changes.push(uid) });
    const flush = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100);
        for (let i = 0; i < 5; i++) await Promise.resolve();
      }
    };
    return { clock, m, changes, flush, calls: () => calls };
  }

  it('readiness: starts failing, turns ready after successThreshold, unready after failureThreshold', async () => {
    let ok = true;
    const s = setup(() => ok);
    const c = container('app', { readinessProbe: { httpGet: { port: 80, path: '/' }, periodSeconds: 1, successThreshold: 2, failureThreshold: 2, initialDelaySeconds: 3 } });
    const r = record(c, { startedAtMs: s.clock.nowMs() });
    s.m.syncPod(podOf({ containers: [c] }), runtimeOf([sandbox('sb1')], [r]), { sandboxId: 'sb1', hostNetwork: false, podIp: '10.244.0.5' });
    expect(s.m.ready(r.id)).toBe(false);
    await s.flush(2_900);
    expect(s.calls()).toBe(0);
    await s.flush(200);
    expect(s.calls()).toBe(1);
    expect(s.m.ready(r.id)).toBe(false);
    await s.flush(1_000);
    expect(s.m.ready(r.id)).toBe(true);
    ok = false;
    await s.flush(1_000);
    expect(s.m.ready(r.id)).toBe(true);
    await s.flush(1_000);
    expect(s.m.ready(r.id)).toBe(false);
    expect(s.changes).toEqual(['uid-1', 'uid-1']);
    // The container is gone: its worker stops.
    s.m.syncPod(podOf({ containers: [c] }), runtimeOf([sandbox('sb1')], []), undefined);
    expect(s.m.size).toBe(0);
  });

  it('a startup probe gates liveness; failed liveness or startup asks for a restart', async () => {
    let ok = false;
    const s = setup(() => ok);
    const c = container('app', {
      startupProbe: { httpGet: { port: 80 }, periodSeconds: 1, failureThreshold: 5 },
      livenessProbe: { httpGet: { port: 80 }, periodSeconds: 1, failureThreshold: 1 },
    });
    const r = record(c, { startedAtMs: s.clock.nowMs() });
    s.m.syncPod(podOf({ containers: [c] }), runtimeOf([sandbox('sb1')], [r]), { sandboxId: 'sb1', hostNetwork: false, podIp: '' });
    await s.flush(3_000);
    // Liveness has not probed (startup not passed), so no restart yet.
    expect(s.m.restartWanted(r.id)).toBeUndefined();
    expect(s.m.started(r.id)).toBeUndefined();
    await s.flush(3_000);
    expect(s.m.restartWanted(r.id)).toBe('startup');
    const r2 = record(c, { startedAtMs: s.clock.nowMs() });
    s.m.syncPod(podOf({ containers: [c] }), runtimeOf([sandbox('sb1')], [r2]), { sandboxId: 'sb1', hostNetwork: false, podIp: '' });
    ok = true;
    await s.flush(1_500);
    expect(s.m.started(r2.id)).toBe(true);
    expect(s.m.restartWanted(r2.id)).toBeUndefined();
    ok = false;
    await s.flush(2_000);
    expect(s.m.restartWanted(r2.id)).toBe('liveness');
  });
});

// ---------------------------------------------------------------- netns dialer

function need(cond: boolean, why: string): void {
  if (!cond) throw new Error(`this test needs ${why}`);
}

function runtimeWithPid(pid: number): Pick<CriRuntime, 'podSandboxStatus'> {
  return {
    podSandboxStatus: async (r) => ({
      status: { id: r.pod_sandbox_id, metadata: { name: 'p', uid: 'u', namespace: 'd', attempt: 0 }, state: 'SANDBOX_READY', created_at: 0, labels: {}, annotations: {}, runtime_handler: '' },
      info: r.verbose ? { info: JSON.stringify({ pid }) } : ({} as Record<string, string>),
    }),
  };
}

describe('NetnsDialer', () => {
  let ns: ChildProcess | undefined;
  let srv: ChildProcess | undefined;

  afterAll(() => {
    if (srv?.pid !== undefined) srv.kill('SIGKILL');
    if (ns?.pid !== undefined) ns.kill('SIGKILL');
  });

  it('probes a host-network pod on 127.0.0.1 directly', async () => {
    const d = new NetnsDialer(runtimeWithPid(1) as CriRuntime);
    expect((await d.http({ sandboxId: 's', hostNetwork: true, podIp: '192.0.2.10' }, { host: '', port: HTTP_PORT, path: '/healthz', scheme: 'HTTP', headers: {}, timeoutMs: 1_000 })).ok).toBe(true);
    expect((await d.tcp({ sandboxId: 's', hostNetwork: true, podIp: '192.0.2.10' }, { host: '192.0.2.10', port: HTTP_PORT, timeoutMs: 1_000 })).ok).toBe(true);
  });

  it("probes another pod from inside its network namespace (the pod's address becomes 127.0.0.1 there)", async () => {
    need(process.getuid?.() === 0, 'root (to make a network namespace)');
    for (const tool of ['unshare', 'nsenter', 'ip']) need(spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0, `${tool} on PATH`);
    need(existsSync(netnsProbeHelperPath()), `the built probe helper at ${netnsProbeHelperPath()} (run npm run build)`);
    ns = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec sleep 60'], { stdio: 'ignore' });
    const pid = ns.pid!;
    // Wait for lo to come up in the new namespace.
    for (let i = 0; i < 50 && spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-o', 'link', 'show', 'lo']).stdout?.toString().includes('UP') !== true; i++) await new Promise((r) => setTimeout(r, 20));
    const script = `require('http').createServer((q,s)=>{s.statusCode=q.url==='/ok'?200:503;s.end()}).listen(${NETNS_PORT},'127.0.0.1',()=>console.log('up'))`;
    srv = spawn('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      srv!.stdout!.once('data', () => resolve());
      srv!.once('exit', (code) => reject(new Error(`the in-namespace server exited with ${code}`)));
    });
    const d = new NetnsDialer(runtimeWithPid(pid) as CriRuntime);
    const pod = { sandboxId: 'sb', hostNetwork: false, podIp: '10.250.0.2' };
    expect(await d.http(pod, { host: '', port: NETNS_PORT, path: '/ok', scheme: 'HTTP', headers: {}, timeoutMs: 2_000 })).toEqual({ ok: true, message: 'HTTP probe got status 200' });
    expect(await d.http(pod, { host: '10.250.0.2', port: NETNS_PORT, path: '/bad', scheme: 'HTTP', headers: {}, timeoutMs: 2_000 })).toEqual({ ok: false, message: 'HTTP probe got status 503' });
    expect((await d.tcp(pod, { host: '', port: NETNS_PORT, timeoutMs: 2_000 })).ok).toBe(true);
    // The host's own listener on HTTP_PORT is not visible from inside the pod's namespace.
    expect((await d.tcp(pod, { host: '', port: HTTP_PORT, timeoutMs: 2_000 })).ok).toBe(false);
    await expect(new NetnsDialer(runtimeWithPid(0) as CriRuntime).tcp(pod, { host: '', port: 1, timeoutMs: 100 })).rejects.toMatchObject({ code: 'ProbeError' });
  });
});
