/**
 * The cgroup files the runtime reads itself: OOM kills, CPU and memory usage, and
 * the removal of a sandbox's parent cgroup. runc creates and limits the cgroups
 * (cgroupfs driver); this module only looks at them. cgroup v1 hierarchies at
 * /sys/fs/cgroup/<controller>/ come first; a pure cgroup v2 host is read through
 * the unified files (memory.events, memory.current, cpu.stat).
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** v1 controllers whose directories runc creates for a container and we remove for a sandbox. */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'cpuset', 'blkio', 'devices', 'freezer', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc', 'systemd'];

export function isCgroupV1(): boolean {
  return existsSync(join(CGROUP_ROOT, 'memory', 'memory.limit_in_bytes'));
}

/** True when the memory cgroup accounts swap (memory.memsw.*), so a swap limit can be set. */
export function swapAccounting(): boolean {
  return existsSync(join(CGROUP_ROOT, 'memory', 'memory.memsw.limit_in_bytes'));
}

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

async function readKeyed(file: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k !== undefined && v !== undefined && k !== '') out.set(k, Number(v));
    }
  } catch {
    // absent cgroup: empty
  }
  return out;
}

/**
 * OOM kills recorded for the cgroup at `cgroupsPath` (absolute, as given to runc):
 * v1 memory.oom_control `oom_kill`, v2 memory.events `oom_kill`. Must be read
 * before the cgroup is removed (runc run --keep leaves it until `runc delete`).
 */
export async function oomKills(cgroupsPath: string): Promise<number> {
  if (isCgroupV1()) return (await readKeyed(join(CGROUP_ROOT, 'memory', cgroupsPath, 'memory.oom_control'))).get('oom_kill') ?? 0;
  return (await readKeyed(join(CGROUP_ROOT, cgroupsPath, 'memory.events'))).get('oom_kill') ?? 0;
}

export interface CgroupUsage {
  /** Total CPU time in nanoseconds. */
  cpuNs: number | undefined;
  /** Usage minus inactive file pages (what the kubelet calls the working set). */
  workingSetBytes: number | undefined;
  usageBytes: number | undefined;
  rssBytes: number | undefined;
}

export async function usage(cgroupsPath: string): Promise<CgroupUsage> {
  if (isCgroupV1()) {
    const mem = join(CGROUP_ROOT, 'memory', cgroupsPath);
    const usageBytes = await readNumber(join(mem, 'memory.usage_in_bytes'));
    const stat = await readKeyed(join(mem, 'memory.stat'));
    const inactive = stat.get('total_inactive_file') ?? 0;
    return {
      cpuNs: await readNumber(join(CGROUP_ROOT, 'cpuacct', cgroupsPath, 'cpuacct.usage')),
      usageBytes,
      workingSetBytes: usageBytes === undefined ? undefined : Math.max(0, usageBytes - inactive),
      rssBytes: stat.get('total_rss'),
    };
  }
  const dir = join(CGROUP_ROOT, cgroupsPath);
  const usageBytes = await readNumber(join(dir, 'memory.current'));
  const stat = await readKeyed(join(dir, 'memory.stat'));
  const cpu = await readKeyed(join(dir, 'cpu.stat'));
  const usec = cpu.get('usage_usec');
  return {
    cpuNs: usec === undefined ? undefined : usec * 1000,
    usageBytes,
    workingSetBytes: usageBytes === undefined ? undefined : Math.max(0, usageBytes - (stat.get('inactive_file') ?? 0)),
    rssBytes: stat.get('anon'),
  };
}

/**
 * Removes a cgroup directory tree (deepest first) in every hierarchy. Only empty
 * cgroups can go; one still holding a process stays and is reported.
 */
export async function removeCgroupTree(cgroupsPath: string): Promise<string[]> {
  const left: string[] = [];
  const bases = isCgroupV1() ? V1_CONTROLLERS.map((c) => join(CGROUP_ROOT, c)).filter((d) => existsSync(d)) : [CGROUP_ROOT];
  if (isCgroupV1() && existsSync(join(CGROUP_ROOT, 'unified'))) bases.push(join(CGROUP_ROOT, 'unified'));
  for (const base of bases) {
    const top = join(base, cgroupsPath);
    for (const dir of subtreeDeepestFirst(top)) {
      try {
        await rmdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
      }
    }
  }
  return left;
}

function subtreeDeepestFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  for (const e of entries) out.push(...subtreeDeepestFirst(join(dir, e)));
  out.push(dir);
  return out;
}
