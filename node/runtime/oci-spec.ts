/**
 * OCI runtime specs (runc's config.json) for sandboxes and containers, built
 * from CRI configs and the image's runtime config. Pure: no fs, no processes;
 * the caller resolves paths (rootfs, namespace files, cgroup path) first.
 *
 * Kubernetes rules applied here (the same as containerd's CRI plugin):
 * - process args: CRI command replaces the image Entrypoint and then the image
 *   Cmd is dropped; CRI args replace the image Cmd; empty result is an error.
 * - env: image Env first, CRI envs after, a later key replaces an earlier one.
 * - working dir: CRI working_dir, else the image WorkingDir, else "/".
 */
import type * as cri from '../../proto/cri/types.js';
import { CriError, CriErrorCode } from '../cri/errors.js';

/** The parts of an image config a container's process is built from. */
export interface ImageProcessConfig {
  Entrypoint: string[];
  Cmd: string[];
  Env: string[];
  WorkingDir: string;
  User: string;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'ipc' | 'uts' | 'mount';
  path?: string;
}

export interface OciResources {
  devices: { allow: boolean; access: string }[];
  memory?: { limit: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
}

export interface OciLinux {
  cgroupsPath: string;
  resources: OciResources;
  namespaces: OciNamespace[];
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl?: Record<string, string>;
}

/** Docker's default capability set, which containerd gives unprivileged containers too. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const MASKED_PATHS = ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** /dev/shm of a container, as Docker sizes it by default. */
const SHM_BYTES = 64 * 1024 * 1024;
const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The argv of a container: CRI command/args merged with the image Entrypoint/Cmd (containerd's rules). */
export function processArgs(config: Pick<cri.ContainerConfig, 'command' | 'args'>, image: Pick<ImageProcessConfig, 'Entrypoint' | 'Cmd'>): string[] {
  let command = [...config.command];
  let args = [...config.args];
  if (command.length === 0) {
    if (args.length === 0) args = [...image.Cmd];
    if (!(image.Entrypoint.length === 1 && image.Entrypoint[0] === '')) command = [...image.Entrypoint];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) throw new CriError(CriErrorCode.InvalidArgument, 'no command specified: the container config has no command or args and the image has no Entrypoint or Cmd');
  return argv;
}

/** Image Env then CRI envs; a later KEY replaces an earlier one in place. PATH defaults when neither sets it. */
export function processEnv(imageEnv: readonly string[], envs: readonly cri.KeyValue[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  const put = (kv: string): void => {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(kv);
    } else out[at] = kv;
  };
  for (const e of imageEnv) put(e);
  for (const e of envs) put(`${e.key}=${e.value}`);
  if (!index.has('PATH')) out.unshift(DEFAULT_PATH_ENV);
  return out;
}

export function workingDir(config: Pick<cri.ContainerConfig, 'working_dir'>, image: Pick<ImageProcessConfig, 'WorkingDir'>): string {
  return config.working_dir || image.WorkingDir || '/';
}

/** The standard mounts every container gets (runc's default set plus /dev/shm). */
export function standardMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${SHM_BYTES}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
}

/** CRI bind mounts; a read-only one gets `ro`. Propagation other than private becomes rslave/rshared. */
export function criMounts(mounts: readonly cri.Mount[]): OciMount[] {
  return mounts.map((m) => {
    const propagation = m.propagation === 'PROPAGATION_BIDIRECTIONAL' ? 'rshared' : m.propagation === 'PROPAGATION_HOST_TO_CONTAINER' ? 'rslave' : 'rprivate';
    return { destination: m.container_path, type: 'bind', source: m.host_path, options: ['rbind', propagation, ...(m.readonly ? ['ro'] : ['rw'])] };
  });
}

/**
 * runc's linux.resources from CRI's. Memory swap is pinned to the limit when the
 * host accounts swap (`swapAccounting`), so a hog is OOM-killed instead of swapping.
 * oom_score_adj is never negative: lowering it needs CAP_SYS_RESOURCE.
 */
export function ociResources(r: cri.LinuxContainerResources | null | undefined, o: { swapAccounting: boolean; pidsMax: number | undefined }): OciResources {
  const out: OciResources = { devices: [{ allow: false, access: 'rwm' }] };
  if (o.pidsMax !== undefined) out.pids = { limit: o.pidsMax };
  if (r === null || r === undefined) return out;
  if (r.memory_limit_in_bytes > 0) {
    out.memory = { limit: r.memory_limit_in_bytes };
    if (o.swapAccounting) out.memory.swap = Math.max(r.memory_limit_in_bytes, r.memory_swap_limit_in_bytes);
  }
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.cpu_shares > 0) cpu.shares = r.cpu_shares;
  if (r.cpu_quota > 0) cpu.quota = r.cpu_quota;
  if (r.cpu_period > 0) cpu.period = r.cpu_period;
  if (r.cpuset_cpus !== '') cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems !== '') cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  return out;
}

export function oomScoreAdj(r: cri.LinuxContainerResources | null | undefined): number | undefined {
  if (r === null || r === undefined || r.oom_score_adj <= 0) return undefined;
  return Math.min(r.oom_score_adj, 1000);
}

/** uid/gid of the process: CRI run_as_user/run_as_group, else the image User when numeric ("1000" or "1000:1000"), else root. */
export function processUser(sc: cri.LinuxContainerSecurityContext | null | undefined, imageUser: string, lookup: (name: string) => { uid: number; gid: number } | undefined): { uid: number; gid: number; additionalGids?: number[] } {
  let uid = 0;
  let gid = 0;
  const [userPart = '', groupPart] = imageUser.split(':');
  if (userPart !== '') {
    if (/^\d+$/.test(userPart)) uid = Number(userPart);
    else {
      const found = lookup(userPart);
      if (found === undefined) throw new CriError(CriErrorCode.InvalidArgument, `image user "${userPart}" is not in the image's /etc/passwd`);
      uid = found.uid;
      gid = found.gid;
    }
  }
  if (groupPart !== undefined && /^\d+$/.test(groupPart)) gid = Number(groupPart);
  if (sc?.run_as_user) uid = sc.run_as_user.value;
  if (sc?.run_as_group) gid = sc.run_as_group.value;
  const extra = sc?.supplemental_groups ?? [];
  return extra.length > 0 ? { uid, gid, additionalGids: [...extra] } : { uid, gid };
}

export interface ContainerSpecInput {
  config: cri.ContainerConfig;
  image: ImageProcessConfig;
  rootfs: string;
  cgroupsPath: string;
  /** Namespace files of the sandbox to join (`/proc/<pid>/ns/net`, ...); an absent kind is the host's. */
  sandboxNamespaces: { network?: string; ipc?: string; uts?: string };
  /** Extra mounts from the runtime (/etc/hostname, /etc/resolv.conf of the sandbox). */
  extraMounts: OciMount[];
  swapAccounting: boolean;
  pidsMax: number | undefined;
  lookupUser: (name: string) => { uid: number; gid: number } | undefined;
}

export function containerSpec(i: ContainerSpecInput): OciSpec {
  const sc = i.config.linux?.security_context;
  const resources = i.config.linux?.resources;
  const caps = capabilities(sc);
  const adj = oomScoreAdj(resources);
  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'mount' }];
  for (const kind of ['network', 'ipc', 'uts'] as const) {
    const path = i.sandboxNamespaces[kind];
    if (path !== undefined) namespaces.push({ type: kind, path });
  }
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: processUser(sc, i.image.User, i.lookupUser),
      args: processArgs(i.config, i.image),
      env: processEnv(i.image.Env, i.config.envs),
      cwd: workingDir(i.config, i.image),
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sc?.no_new_privs ?? false,
      ...(adj === undefined ? {} : { oomScoreAdj: adj }),
    },
    root: { path: i.rootfs, readonly: sc?.readonly_rootfs ?? false },
    mounts: [...standardMounts(), ...i.extraMounts, ...criMounts(i.config.mounts)],
    linux: {
      cgroupsPath: i.cgroupsPath,
      resources: ociResources(resources, { swapAccounting: i.swapAccounting, pidsMax: i.pidsMax }),
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}

function capabilities(sc: cri.LinuxContainerSecurityContext | null | undefined): string[] {
  const norm = (c: string): string => (c.startsWith('CAP_') ? c : `CAP_${c}`).toUpperCase();
  const add = (sc?.capabilities?.add_capabilities ?? []).map(norm);
  const drop = new Set((sc?.capabilities?.drop_capabilities ?? []).map(norm));
  if (drop.has('CAP_ALL')) return add.filter((c) => c !== 'CAP_ALL');
  return [...new Set([...DEFAULT_CAPABILITIES, ...add])].filter((c) => !drop.has(c) && c !== 'CAP_ALL');
}

export interface SandboxSpecInput {
  /** A directory holding bin/busybox (static); mounted read-only as the pause process's root. */
  rootfs: string;
  hostname: string;
  cgroupsPath: string;
  /** Path of a network namespace to join (the pod network's), or 'host' for the node's, or 'new'. */
  network: string;
  /** Share the host's IPC namespace (namespace_options.ipc == NODE). */
  hostIpc: boolean;
  sysctls: Record<string, string>;
}

/**
 * The pause process: PID 1 of its own PID namespace is a shell that traps
 * SIGTERM and waits on a sleeping child, so a stop ends it at once and the
 * shell reaps what it must. It holds the pod's network, IPC and UTS namespaces.
 */
export function sandboxSpec(i: SandboxSpecInput): OciSpec {
  const caps = ['CAP_KILL'];
  const namespaces: OciNamespace[] = [{ type: 'pid' }, { type: 'mount' }];
  if (i.network === 'new') namespaces.push({ type: 'network' });
  else if (i.network !== 'host') namespaces.push({ type: 'network', path: i.network });
  if (!i.hostIpc) namespaces.push({ type: 'ipc' });
  const hostNetwork = i.network === 'host';
  if (!hostNetwork) namespaces.push({ type: 'uts' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/bin/busybox', 'sh', '-c', 'trap "exit 0" TERM INT; /bin/busybox sleep 2147483647 & wait'],
      env: [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: i.rootfs, readonly: true },
    ...(hostNetwork || i.hostname === '' ? {} : { hostname: i.hostname }),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${SHM_BYTES}`] },
    ],
    linux: {
      cgroupsPath: i.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      ...(Object.keys(i.sysctls).length > 0 ? { sysctl: i.sysctls } : {}),
    },
  };
}
