/** OCI spec generation from CRI configs and image configs (pure; no runc). */
import { describe, expect, it } from 'vitest';
import type * as cri from '../../../proto/cri/types.js';
import { CriErrorCode, isCriError } from '../../../node/cri/errors.js';
import { containerSpec, ociResources, processArgs, processEnv, processUser, sandboxSpec, workingDir, type ImageProcessConfig } from '../../../node/runtime/oci-spec.js';

const image: ImageProcessConfig = { Entrypoint: ['/entry'], Cmd: ['--default'], Env: ['PATH=/bin', 'A=image'], WorkingDir: '/srv', User: '' };

function config(o: Partial<cri.ContainerConfig> = {}): cri.ContainerConfig {
  return {
    metadata: { name: 'c', attempt: 0 },
    image: { image: 'busybox', annotations: {} },
    command: [],
    args: [],
    working_dir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    log_path: '',
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: null,
    ...o,
  };
}

const resources = (o: Partial<cri.LinuxContainerResources>): cri.LinuxContainerResources => ({
  cpu_period: 0, cpu_quota: 0, cpu_shares: 0, memory_limit_in_bytes: 0, oom_score_adj: 0, cpuset_cpus: '', cpuset_mems: '', unified: {}, memory_swap_limit_in_bytes: 0, ...o,
});

describe('processArgs (Kubernetes command/args rules)', () => {
  it('uses the image Entrypoint and Cmd when the container sets neither', () => {
    expect(processArgs(config(), image)).toEqual(['/entry', '--default']);
  });
  it('replaces the image Cmd with CRI args and keeps the Entrypoint', () => {
    expect(processArgs(config({ args: ['x', 'y'] }), image)).toEqual(['/entry', 'x', 'y']);
  });
  it('replaces both with a CRI command; the image Cmd is dropped', () => {
    expect(processArgs(config({ command: ['sh', '-c'] }), image)).toEqual(['sh', '-c']);
    expect(processArgs(config({ command: ['sh'], args: ['-c', 'true'] }), image)).toEqual(['sh', '-c', 'true']);
  });
  it('treats an Entrypoint of [""] as none', () => {
    expect(processArgs(config(), { Entrypoint: [''], Cmd: ['sh'] })).toEqual(['sh']);
  });
  it('rejects an empty result with InvalidArgument', () => {
    let err: unknown;
    try {
      processArgs(config(), { Entrypoint: [], Cmd: [] });
    } catch (e) {
      err = e;
    }
    expect(isCriError(err, CriErrorCode.InvalidArgument)).toBe(true);
  });
});

describe('environment, working dir and user', () => {
  it('puts CRI envs after the image Env, replacing a key in place', () => {
    expect(processEnv(image.Env, [{ key: 'A', value: 'cri' }, { key: 'B', value: '1' }])).toEqual(['PATH=/bin', 'A=cri', 'B=1']);
  });
  it('adds a default PATH when none is set', () => {
    expect(processEnv([], [])[0]).toMatch(/^PATH=.*\/bin/);
  });
  it('takes the CRI working dir, else the image one, else /', () => {
    expect(workingDir(config({ working_dir: '/w' }), image)).toBe('/w');
    expect(workingDir(config(), image)).toBe('/srv');
    expect(workingDir(config(), { WorkingDir: '' })).toBe('/');
  });
  it('resolves numeric and named image users; run_as_user wins', () => {
    const lookup = (n: string) => (n === 'app' ? { uid: 1000, gid: 1001 } : undefined);
    expect(processUser(null, '', lookup)).toEqual({ uid: 0, gid: 0 });
    expect(processUser(null, '42:7', lookup)).toEqual({ uid: 42, gid: 7 });
    expect(processUser(null, 'app', lookup)).toEqual({ uid: 1000, gid: 1001 });
    expect(() => processUser(null, 'ghost', lookup)).toThrow(/ghost/);
    const sc = { privileged: false, run_as_username: '', readonly_rootfs: false, supplemental_groups: [], no_new_privs: false, run_as_user: { value: 5 } };
    expect(processUser(sc, 'app', lookup)).toEqual({ uid: 5, gid: 1001 });
  });
});

describe('resources', () => {
  it('maps memory and CPU limits, pinning swap to the limit when swap is accounted', () => {
    const r = ociResources(resources({ memory_limit_in_bytes: 32 << 20, cpu_quota: 20_000, cpu_period: 100_000, cpu_shares: 512 }), { swapAccounting: true, pidsMax: 64 });
    expect(r.memory).toEqual({ limit: 32 << 20, swap: 32 << 20 });
    expect(r.cpu).toEqual({ quota: 20_000, period: 100_000, shares: 512 });
    expect(r.pids).toEqual({ limit: 64 });
    expect(ociResources(resources({ memory_limit_in_bytes: 1 << 20 }), { swapAccounting: false, pidsMax: undefined }).memory).toEqual({ limit: 1 << 20 });
  });
  it('never asks for a negative oom_score_adj (it needs CAP_SYS_RESOURCE)', () => {
    const spec = containerSpec({
      config: config({ command: ['true'], linux: { resources: resources({ oom_score_adj: -998 }), security_context: null } }),
      image, rootfs: '/r', cgroupsPath: '/s/p/c', sandboxNamespaces: {}, extraMounts: [], swapAccounting: false, pidsMax: undefined, lookupUser: () => undefined,
    });
    expect(spec.process.oomScoreAdj).toBeUndefined();
  });
});

describe('containerSpec and sandboxSpec', () => {
  it('gives a container its own PID and mount namespaces and joins the sandbox ones', () => {
    const spec = containerSpec({
      config: config({ command: ['sh'], mounts: [{ container_path: '/data', host_path: '/h', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE' }] }),
      image, rootfs: '/r', cgroupsPath: '/strake/sb/c', swapAccounting: false, pidsMax: undefined, lookupUser: () => undefined,
      sandboxNamespaces: { network: '/proc/9/ns/net', ipc: '/proc/9/ns/ipc', uts: '/proc/9/ns/uts' },
      extraMounts: [],
    });
    expect(spec.linux.namespaces).toEqual([{ type: 'pid' }, { type: 'mount' }, { type: 'network', path: '/proc/9/ns/net' }, { type: 'ipc', path: '/proc/9/ns/ipc' }, { type: 'uts', path: '/proc/9/ns/uts' }]);
    expect(spec.hostname).toBeUndefined();
    expect(spec.linux.cgroupsPath).toBe('/strake/sb/c');
    expect(spec.mounts.map((m) => m.destination)).toEqual(expect.arrayContaining(['/proc', '/dev', '/dev/shm', '/sys', '/data']));
    expect(spec.mounts.find((m) => m.destination === '/data')).toEqual({ destination: '/data', type: 'bind', source: '/h', options: ['rbind', 'rprivate', 'ro'] });
  });
  it('makes the pause process own network, IPC and UTS namespaces with the pod hostname', () => {
    const spec = sandboxSpec({ rootfs: '/pause', hostname: 'web-0', cgroupsPath: '/strake/sb/pause', network: 'new', hostIpc: false, sysctls: {} });
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.hostname).toBe('web-0');
    expect(spec.process.oomScoreAdj).toBeUndefined();
    const host = sandboxSpec({ rootfs: '/pause', hostname: 'web-0', cgroupsPath: '/x', network: 'host', hostIpc: true, sysctls: {} });
    expect(host.linux.namespaces.map((n) => n.type).sort()).toEqual(['mount', 'pid']);
    expect(host.hostname).toBeUndefined();
  });
});
