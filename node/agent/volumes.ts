/**
 * A pod's volumes on the node's disk, in the kubelet's layout:
 *   <rootDir>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>/
 *   <rootDir>/pods/<uid>/volumes/kubernetes.io~configmap/<name>/<key files>
 *   <rootDir>/pods/<uid>/volumes/kubernetes.io~secret/<name>/<key files>
 * plus hostPath volumes, which are the host's own directories. Volume mounts
 * of a container become CRI mounts (read-only ones, subPath ones).
 *
 * ConfigMap and Secret files are written when the pod's containers are
 * started (and again on later starts, so a restarted container sees new
 * values); emptyDir content lives as long as the pod's uid on this node and
 * is removed with it (`removePodDir`).
 */
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { Container, KeyToPath, Pod, Volume } from '../../proto/k8s/core-v1.js';
import type { Mount } from '../../proto/cri/types.js';
import { configMapValues, secretValues, type ObjectSources } from './env.js';
import { AgentError, AgentErrorCode } from './errors.js';

/** The files' mode unless the volume says otherwise (the API server's default too). */
const DEFAULT_FILE_MODE = 0o644;
/** Files one ConfigMap or Secret volume may write: an object holds at most 1 MiB, so far fewer keys in practice. */
const VOLUME_FILES_MAX = 1_000;

export interface PreparedVolume {
  readonly hostPath: string;
  /** ConfigMap and Secret volumes are always mounted read-only (the kubelet's rule). */
  readonly readOnly: boolean;
  /** A directory the agent made (a subPath may be created inside it). */
  readonly owned: boolean;
}

function configError(message: string): AgentError {
  return new AgentError(AgentErrorCode.CreateContainerConfigError, message);
}

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, 'pods', uid);
}

/** A relative path that stays below its base (no absolute paths, no `..` steps). */
export function safeRelative(path: string, what: string): string {
  const n = normalize(path);
  if (path === '' || isAbsolute(path) || n === '..' || n.startsWith(`..${sep}`) || n.split(sep).includes('..')) {
    throw configError(`${what} "${path}" must be a relative path without '..'`);
  }
  return n;
}

async function writeKeyFiles(dir: string, values: Record<string, string>, items: readonly KeyToPath[] | undefined, defaultMode: number | undefined, what: string): Promise<void> {
  const wanted: Array<{ path: string; value: string; mode: number }> = [];
  if (items !== undefined && items.length > 0) {
    for (const it of items) {
      const value = values[it.key];
      if (value === undefined) throw configError(`${what}: key ${it.key} not found`);
      wanted.push({ path: safeRelative(it.path, `${what} item path`), value, mode: it.mode ?? defaultMode ?? DEFAULT_FILE_MODE });
    }
  } else {
    for (const [key, value] of Object.entries(values)) wanted.push({ path: safeRelative(key, `${what} key`), value, mode: defaultMode ?? DEFAULT_FILE_MODE });
  }
  if (wanted.length > VOLUME_FILES_MAX) throw configError(`${what} has ${wanted.length} files; at most ${VOLUME_FILES_MAX}`);
  await mkdir(dir, { recursive: true });
  const keep = new Set(wanted.map((w) => w.path.split(sep)[0] ?? ''));
  for (const entry of await readdir(dir)) if (!keep.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  for (const w of wanted) {
    const file = join(dir, w.path);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, w.value, { mode: w.mode });
    await chmod(file, w.mode);
  }
}

async function prepareOne(pod: Pod, v: Volume, base: string, sources: ObjectSources): Promise<PreparedVolume> {
  const ns = pod.metadata.namespace ?? 'default';
  if (v.emptyDir !== undefined) {
    const dir = join(base, 'kubernetes.io~empty-dir', v.name);
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777);
    return { hostPath: dir, readOnly: false, owned: true };
  }
  if (v.configMap !== undefined) {
    const dir = join(base, 'kubernetes.io~configmap', v.name);
    const name = v.configMap.name ?? '';
    const cm = await sources.configMap(ns, name);
    if (cm === undefined && v.configMap.optional !== true) throw configError(`configmap "${name}" not found (volume ${v.name})`);
    await writeKeyFiles(dir, cm === undefined ? {} : configMapValues(cm), v.configMap.items, v.configMap.defaultMode, `configmap ${ns}/${name}`);
    return { hostPath: dir, readOnly: true, owned: true };
  }
  if (v.secret !== undefined) {
    const dir = join(base, 'kubernetes.io~secret', v.name);
    const name = v.secret.secretName ?? '';
    const s = await sources.secret(ns, name);
    if (s === undefined && v.secret.optional !== true) throw configError(`secret "${name}" not found (volume ${v.name})`);
    await writeKeyFiles(dir, s === undefined ? {} : secretValues(s), v.secret.items, v.secret.defaultMode, `secret ${ns}/${name}`);
    return { hostPath: dir, readOnly: true, owned: true };
  }
  if (v.hostPath !== undefined) {
    const type = v.hostPath.type ?? '';
    if (type === 'DirectoryOrCreate') await mkdir(v.hostPath.path, { recursive: true });
    else if (type === 'Directory' || type === 'File') {
      const st = await stat(v.hostPath.path).catch(() => undefined);
      if (st === undefined || (type === 'Directory' ? !st.isDirectory() : !st.isFile())) throw configError(`hostPath ${v.hostPath.path} is not a ${type === 'File' ? 'file' : 'directory'} (volume ${v.name})`);
    }
    return { hostPath: v.hostPath.path, readOnly: false, owned: false };
  }
  throw configError(`volume ${v.name} has no source this node supports (emptyDir, configMap, secret, hostPath)`);
}

/** Makes (or refreshes) the pod's volumes; by volume name. */
export async function prepareVolumes(pod: Pod, rootDir: string, sources: ObjectSources): Promise<Map<string, PreparedVolume>> {
  const base = join(podDir(rootDir, pod.metadata.uid ?? ''), 'volumes');
  const out = new Map<string, PreparedVolume>();
  for (const v of pod.spec.volumes ?? []) out.set(v.name, await prepareOne(pod, v, base, sources));
  return out;
}

/** The container's volume mounts as CRI mounts (subPath directories made inside volumes the agent owns). */
export async function mountsOf(c: Container, volumes: ReadonlyMap<string, PreparedVolume>): Promise<Mount[]> {
  const out: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const v = volumes.get(vm.name);
    if (v === undefined) throw configError(`container ${c.name} mounts volume ${vm.name}, which the pod does not have`);
    let hostPath = v.hostPath;
    if (vm.subPath !== undefined && vm.subPath !== '') {
      hostPath = join(v.hostPath, safeRelative(vm.subPath, `subPath of volume mount ${vm.name}`));
      if (v.owned && !v.readOnly) await mkdir(hostPath, { recursive: true });
    }
    out.push({ container_path: vm.mountPath, host_path: hostPath, readonly: vm.readOnly === true || v.readOnly, selinux_relabel: false, propagation: 'PROPAGATION_PRIVATE' });
  }
  return out;
}

/** Removes everything the agent keeps for a pod (its volumes) once the pod is gone. */
export async function removePodDir(rootDir: string, uid: string): Promise<void> {
  if (uid === '' || uid.includes('/') || uid.includes('..')) return;
  await rm(podDir(rootDir, uid), { recursive: true, force: true });
}
