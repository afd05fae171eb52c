/**
 * A CRI runtime conformance suite, run over gRPC against any runtime endpoint:
 * the built-in runtime (runc and process isolation) today, containerd later.
 * `runtimeSuite` registers vitest tests; the target says which isolation
 * features it has, and the tests a target cannot pass are not registered for it
 * (process isolation has no namespaces and no cgroup limits).
 */
import { expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriRuntime } from '../../../node/cri/runtime.js';
import type * as cri from '../../../proto/cri/types.js';

export interface RuntimeSuiteEnv {
  client: CriRuntime;
  /** A busybox image the runtime has. */
  image: string;
  /** Pods' log directories go below this. */
  logDir: string;
}

export interface RuntimeSuiteTarget {
  /** The environment, ready once the suite's tests run (the caller's beforeAll fills it). */
  env: () => RuntimeSuiteEnv;
  /** Pods have their own network/UTS namespaces and containers cgroup limits. */
  isolated: boolean;
  /** A loopback port for in-pod servers (process isolation shares the host's loopback). */
  port: number;
}

/** Generous: container starts take 50-300 ms, but the machine is shared and loaded. */
export const WAIT_MS = 20_000;
export const SUITE_TEST_TIMEOUT_MS = 60_000;

let podSeq = 0;

export function sandboxConfig(env: RuntimeSuiteEnv, name: string, o: { hostname?: string; hostNetwork?: boolean } = {}): cri.PodSandboxConfig {
  const uid = `uid-${name}-${process.pid}-${++podSeq}`;
  return {
    metadata: { name, uid, namespace: 'suite', attempt: 0 },
    hostname: o.hostname ?? name,
    log_directory: join(env.logDir, uid),
    dns_config: null,
    port_mappings: [],
    labels: { suite: 'cri', pod: name },
    annotations: {},
    linux: {
      cgroup_parent: '',
      sysctls: {},
      security_context: {
        namespace_options: { network: o.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' },
        readonly_rootfs: false,
        supplemental_groups: [],
        privileged: false,
      },
    },
  };
}

export function containerConfig(
  env: RuntimeSuiteEnv,
  name: string,
  command: string[],
  o: { attempt?: number; memoryBytes?: number; envs?: cri.KeyValue[]; labels?: cri.StringMap } = {},
): cri.ContainerConfig {
  const attempt = o.attempt ?? 0;
  return {
    metadata: { name, attempt },
    image: { image: env.image, annotations: {} },
    command,
    args: [],
    working_dir: '',
    envs: o.envs ?? [],
    mounts: [],
    devices: [],
    labels: { container: name, ...(o.labels ?? {}) },
    annotations: {},
    log_path: `${name}/${attempt}.log`,
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: {
      resources: { cpu_period: 0, cpu_quota: 0, cpu_shares: 0, memory_limit_in_bytes: o.memoryBytes ?? 0, oom_score_adj: 0, cpuset_cpus: '', cpuset_mems: '', unified: {}, memory_swap_limit_in_bytes: 0 },
      security_context: null,
    },
  };
}

export async function runSandbox(env: RuntimeSuiteEnv, config: cri.PodSandboxConfig): Promise<string> {
  return (await env.client.runPodSandbox({ config, runtime_handler: '' })).pod_sandbox_id;
}

export async function startContainer(env: RuntimeSuiteEnv, sandboxId: string, sandbox: cri.PodSandboxConfig, config: cri.ContainerConfig): Promise<string> {
  const { container_id } = await env.client.createContainer({ pod_sandbox_id: sandboxId, config, sandbox_config: sandbox });
  await env.client.startContainer({ container_id });
  return container_id;
}

export async function waitExited(env: RuntimeSuiteEnv, id: string, timeoutMs = WAIT_MS): Promise<cri.ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await env.client.containerStatus({ container_id: id, verbose: false });
    if (status.state === 'CONTAINER_EXITED') return status;
    if (Date.now() > deadline) throw new Error(`container ${id} still ${status.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ExecSync until it exits 0 (a server in the pod may still be starting). */
export async function execUntilOk(env: RuntimeSuiteEnv, id: string, cmd: string[], timeoutMs = WAIT_MS): Promise<cri.ExecSyncResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await env.client.execSync({ container_id: id, cmd, timeout: 10 });
    if (r.exit_code === 0) return r;
    if (Date.now() > deadline) throw new Error(`${cmd.join(' ')} kept failing: exit ${r.exit_code}, ${r.stderr.toString()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Sleeps in a loop with SIGTERM ending it cleanly: a long-running container that stops at once. */
export const IDLE = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'];

const LOG_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/;

export interface LogRecord {
  time: string;
  stream: string;
  tag: string;
  content: string;
}

export async function readCriLog(path: string): Promise<LogRecord[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = LOG_RE.exec(l);
      if (m === null) throw new Error(`not a CRI log line: ${JSON.stringify(l.slice(0, 200))}`);
      return { time: m[1]!, stream: m[2]!, tag: m[3]!, content: m[4]! };
    });
}

export function runtimeSuite(t: RuntimeSuiteTarget): void {
  const opts = { timeout: SUITE_TEST_TIMEOUT_MS };

  it('answers Version and Status with both conditions', async () => {
    const { client } = t.env();
    const v = await client.version({ version: 'v1' });
    expect(v.runtime_api_version).toBe('v1');
    const s = await client.status({ verbose: false });
    const types = (s.status?.conditions ?? []).filter((c) => c.status).map((c) => c.type);
    expect(types).toEqual(expect.arrayContaining(['RuntimeReady', 'NetworkReady']));
  });

  it('runs two containers of a pod that share localhost' + (t.isolated ? ' and the hostname' : ''), opts, async () => {
    const env = t.env();
    const pod = sandboxConfig(env, 'share', { hostname: 'pod-share' });
    const sb = await runSandbox(env, pod);
    const serve = `mkdir -p /tmp/www && echo hello-from-a > /tmp/www/index.html && exec httpd -f -p 127.0.0.1:${t.port} -h /tmp/www`;
    const a = await startContainer(env, sb, pod, containerConfig(env, 'a', ['sh', '-c', serve]));
    const b = await startContainer(env, sb, pod, containerConfig(env, 'b', IDLE));
    const got = await execUntilOk(env, b, ['wget', '-q', '-O-', `http://127.0.0.1:${t.port}/`]);
    expect(got.stdout.toString()).toBe('hello-from-a\n');
    if (t.isolated) {
      const ha = await env.client.execSync({ container_id: a, cmd: ['hostname'], timeout: 10 });
      const hb = await env.client.execSync({ container_id: b, cmd: ['hostname'], timeout: 10 });
      expect(ha.stdout.toString().trim()).toBe('pod-share');
      expect(hb.stdout.toString().trim()).toBe('pod-share');
      // Each container has a PID namespace of its own: its command is PID 1.
      const ps = await env.client.execSync({ container_id: b, cmd: ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'], timeout: 10 });
      expect(ps.stdout.toString()).toContain('while true');
    }
    const st = await env.client.podSandboxStatus({ pod_sandbox_id: sb, verbose: true });
    expect(st.status.state).toBe('SANDBOX_READY');
    expect(st.status.network?.ip).not.toBe('');
    expect(JSON.parse(st.info['info'] ?? '{}').pid).toBeGreaterThan(0);
    const stats = await env.client.containerStats({ container_id: a });
    expect(stats.stats?.memory?.working_set_bytes?.value ?? 0).toBeGreaterThan(0);
    const listed = await env.client.listContainers({ filter: { id: '', pod_sandbox_id: sb, state: { state: 'CONTAINER_RUNNING' }, label_selector: {} } });
    expect(listed.containers.map((c) => c.id).sort()).toEqual([a, b].sort());
    await env.client.stopPodSandbox({ pod_sandbox_id: sb });
    expect((await env.client.containerStatus({ container_id: a, verbose: false })).status.state).toBe('CONTAINER_EXITED');
    expect((await env.client.podSandboxStatus({ pod_sandbox_id: sb, verbose: false })).status.state).toBe('SANDBOX_NOTREADY');
    await env.client.removePodSandbox({ pod_sandbox_id: sb });
    expect((await env.client.listPodSandbox({ filter: { id: sb, label_selector: {} } })).items).toEqual([]);
    expect((await env.client.listContainers({ filter: { id: '', pod_sandbox_id: sb, label_selector: {} } })).containers).toEqual([]);
    // Stop and remove are idempotent.
    await env.client.stopPodSandbox({ pod_sandbox_id: sb });
    await env.client.removePodSandbox({ pod_sandbox_id: sb });
  });

  if (t.isolated) {
    it('OOM-kills a container over its memory limit: exit 137, reason OOMKilled', opts, async () => {
      const env = t.env();
      const pod = sandboxConfig(env, 'oom');
      const sb = await runSandbox(env, pod);
      try {
        const c = await startContainer(env, sb, pod, containerConfig(env, 'hog', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M'], { memoryBytes: 32 * 1024 * 1024 }));
        const s = await waitExited(env, c);
        expect(s.exit_code).toBe(137);
        expect(s.reason).toBe('OOMKilled');
        expect(s.finished_at).toBeGreaterThanOrEqual(s.started_at);
      } finally {
        await env.client.removePodSandbox({ pod_sandbox_id: sb });
      }
    });
  }

  it('reports a crash (exit 3, Error) and runs the next attempt in the same sandbox', opts, async () => {
    const env = t.env();
    const pod = sandboxConfig(env, 'crash');
    const sb = await runSandbox(env, pod);
    try {
      const c0 = await startContainer(env, sb, pod, containerConfig(env, 'app', ['sh', '-c', 'echo going; exit 3']));
      const s0 = await waitExited(env, c0);
      expect(s0.exit_code).toBe(3);
      expect(s0.reason).toBe('Error');
      expect(s0.started_at).toBeGreaterThan(0);
      expect(s0.finished_at).toBeGreaterThanOrEqual(s0.started_at);
      const c1 = await startContainer(env, sb, pod, containerConfig(env, 'app', ['sh', '-c', 'exit 0'], { attempt: 1 }));
      const s1 = await waitExited(env, c1);
      expect(s1.exit_code).toBe(0);
      expect(s1.reason).toBe('Completed');
      expect(s1.metadata.attempt).toBe(1);
      await env.client.removeContainer({ container_id: c0 });
      await env.client.removeContainer({ container_id: c0 });
      const left = await env.client.listContainers({ filter: { id: '', pod_sandbox_id: sb, label_selector: {} } });
      expect(left.containers.map((x) => x.id)).toEqual([c1]);
    } finally {
      await env.client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('stops with grace: a SIGTERM handler exits in time, an ignorer is killed at the timeout', opts, async () => {
    const env = t.env();
    const pod = sandboxConfig(env, 'grace');
    const sb = await runSandbox(env, pod);
    try {
      const polite = await startContainer(env, sb, pod, containerConfig(env, 'polite', ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done']));
      const stubborn = await startContainer(env, sb, pod, containerConfig(env, 'stubborn', ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']));
      await new Promise((r) => setTimeout(r, 500));
      let t0 = Date.now();
      await env.client.stopContainer({ container_id: polite, timeout: 10 });
      expect(Date.now() - t0).toBeLessThan(5_000);
      const sp = await env.client.containerStatus({ container_id: polite, verbose: false });
      expect(sp.status.state).toBe('CONTAINER_EXITED');
      expect(sp.status.exit_code).toBe(0);
      t0 = Date.now();
      await env.client.stopContainer({ container_id: stubborn, timeout: 2 });
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(10_000);
      const ss = await env.client.containerStatus({ container_id: stubborn, verbose: false });
      expect(ss.status.exit_code).toBe(137);
      expect(ss.status.reason).toBe('Error');
      const log = await readCriLog(sp.status.log_path);
      expect(log.map((r) => r.content)).toContain('got-term');
    } finally {
      await env.client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('writes stdout and stderr to the CRI log, splitting long lines into P records', opts, async () => {
    const env = t.env();
    const pod = sandboxConfig(env, 'logs');
    const sb = await runSandbox(env, pod);
    try {
      const script = 'echo out-1; echo err-1 >&2; echo out-2; head -c 20000 /dev/zero | tr "\\0" x; echo; printf tail-without-newline';
      const c = await startContainer(env, sb, pod, containerConfig(env, 'talker', ['sh', '-c', script]));
      const s = await waitExited(env, c);
      expect(s.log_path).toBe(join(pod.log_directory, 'talker/0.log'));
      const recs = await readCriLog(s.log_path);
      const out = recs.filter((r) => r.stream === 'stdout');
      expect(recs.filter((r) => r.stream === 'stderr').map((r) => `${r.tag} ${r.content}`)).toEqual(['F err-1']);
      expect(out.slice(0, 2).map((r) => `${r.tag} ${r.content}`)).toEqual(['F out-1', 'F out-2']);
      // The 20000-byte line: P records then an F, joined back to the whole line.
      const long = out.slice(2, -1);
      expect(long.at(-1)?.tag).toBe('F');
      expect(long.slice(0, -1).every((r) => r.tag === 'P')).toBe(true);
      expect(long.length).toBeGreaterThanOrEqual(2);
      expect(long.map((r) => r.content).join('')).toBe('x'.repeat(20000));
      expect(out.at(-1)).toMatchObject({ tag: 'P', content: 'tail-without-newline' });
    } finally {
      await env.client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });

  it('ExecSync returns output and exit codes, and fails at its timeout', opts, async () => {
    const env = t.env();
    const pod = sandboxConfig(env, 'exec');
    const sb = await runSandbox(env, pod);
    try {
      const c = await startContainer(env, sb, pod, containerConfig(env, 'idle', IDLE, { envs: [{ key: 'GREETING', value: 'hi there' }] }));
      const r = await env.client.execSync({ container_id: c, cmd: ['sh', '-c', 'echo "$GREETING"; echo oops >&2; exit 7'], timeout: 10 });
      expect(r.stdout.toString()).toBe('hi there\n');
      expect(r.stderr.toString()).toBe('oops\n');
      expect(r.exit_code).toBe(7);
      const t0 = Date.now();
      await expect(env.client.execSync({ container_id: c, cmd: ['sleep', '30'], timeout: 1 })).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await env.client.removePodSandbox({ pod_sandbox_id: sb });
    }
  });
}
