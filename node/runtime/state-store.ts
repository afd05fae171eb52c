/**
 * The runtime's records on disk: one JSON file per sandbox and per container,
 * written atomically (temp file + rename), so a restarted runtime process lists,
 * stops and removes what an earlier one created.
 *
 *   <rootDir>/sandboxes/<id>/sandbox.json
 *   <rootDir>/containers/<id>/container.json
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as cri from '../../proto/cri/types.js';
import type { ProcessHandle } from './container-process.js';
import type { PodNetworkAttachment } from './pod-network.js';

export type Isolation = 'runc' | 'process';

export interface SandboxRecord {
  id: string;
  /** `<rootDir>/sandboxes/<id>`. */
  dir: string;
  config: cri.PodSandboxConfig;
  runtimeHandler: string;
  createdAtNs: number;
  state: cri.PodSandboxState;
  isolation: Isolation;
  /** The pause process (host PID) and its supervisor; absent once stopped. */
  process: ProcessHandle | undefined;
  network: PodNetworkAttachment;
  /** `/<parent>/<sandbox id>`: every container's cgroup lives below it (runc isolation). */
  cgroupParent: string;
}

export interface ContainerRecord {
  id: string;
  /** `<rootDir>/containers/<id>`. */
  dir: string;
  sandboxId: string;
  config: cri.ContainerConfig;
  /** The image id (config digest) the container was created from. */
  imageId: string;
  createdAtNs: number;
  startedAtNs: number;
  finishedAtNs: number;
  state: cri.ContainerState;
  exitCode: number;
  reason: string;
  message: string;
  /** `<sandbox log_directory>/<log_path>`, or '' when the sandbox has no log directory. */
  logFile: string;
  /** The container's cgroup path as runc got it (runc isolation). */
  cgroupsPath: string;
  process: ProcessHandle | undefined;
  /** The writable rootfs (removed with the container). */
  rootfs: { path: string; mode: 'overlay' | 'copy' };
}

export class StateStore {
  constructor(readonly rootDir: string) {}

  sandboxDir(id: string): string {
    return join(this.rootDir, 'sandboxes', id);
  }

  containerDir(id: string): string {
    return join(this.rootDir, 'containers', id);
  }

  async saveSandbox(r: SandboxRecord): Promise<void> {
    await writeJsonAtomic(join(this.sandboxDir(r.id), 'sandbox.json'), r);
  }

  async saveContainer(r: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.containerDir(r.id), 'container.json'), r);
  }

  async loadSandboxes(): Promise<SandboxRecord[]> {
    return loadAll<SandboxRecord>(join(this.rootDir, 'sandboxes'), 'sandbox.json');
  }

  async loadContainers(): Promise<ContainerRecord[]> {
    return loadAll<ContainerRecord>(join(this.rootDir, 'containers'), 'container.json');
  }

  async removeSandboxDir(id: string): Promise<void> {
    await rm(this.sandboxDir(id), { recursive: true, force: true });
  }

  async removeContainerDir(id: string): Promise<void> {
    await rm(this.containerDir(id), { recursive: true, force: true });
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = join(file, '..');
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp`;
  // Records hold container envs (which may carry secrets): owner-only.
  await writeFile(tmp, JSON.stringify(value, null, 1), { mode: 0o600 });
  await rename(tmp, file);
}

/** Records of a folder; a directory without a readable record (a half-made one) is skipped. */
async function loadAll<T>(dir: string, name: string): Promise<T[]> {
  const out: T[] = [];
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    try {
      out.push(JSON.parse(await readFile(join(dir, id, name), 'utf8')) as T);
    } catch {
      // Created but never saved (a crash inside create): nothing references it.
    }
  }
  return out;
}
