/**
 * Reads the runtime into the agent's model (runtime-state.ts): lists the
 * sandboxes and containers the agent made (those carrying the pod uid label),
 * groups them by pod uid, and fills in what a list does not say (a
 * container's exit code and times, a sandbox's address) from PodSandboxStatus
 * and ContainerStatus.
 *
 * Those details never change while an object stays in one state, so they are
 * cached by (id, state): a relist of a steady node costs two list calls.
 * Bound: the cache holds only ids seen in the latest full list (or in the
 * latest read of their pod).
 */
import type * as cri from '../../proto/cri/types.js';
import { isCriError } from '../cri/errors.js';
import type { CriRuntime } from '../cri/runtime.js';
import { ContainerAnnotation, ContainerLabel, PodLabel } from './labels.js';
import { ContainerRunState, SandboxState, newestFirst, type ContainerRecord, type PodRuntimeStatus, type SandboxRecord } from './runtime-state.js';

const NS_PER_MS = 1_000_000;

function msOf(ns: number): number {
  return ns > 0 ? Math.floor(ns / NS_PER_MS) : 0;
}

function runStateOf(s: cri.ContainerState): ContainerRunState {
  switch (s) {
    case 'CONTAINER_CREATED':
      return ContainerRunState.Created;
    case 'CONTAINER_RUNNING':
      return ContainerRunState.Running;
    case 'CONTAINER_EXITED':
      return ContainerRunState.Exited;
    default:
      return ContainerRunState.Unknown;
  }
}

interface SandboxDetail {
  readonly ip: string;
  readonly hostNetwork: boolean | undefined;
}

interface CachedContainer {
  readonly state: cri.ContainerState;
  readonly status: cri.ContainerStatus | undefined;
}

export class RuntimeReader {
  private readonly sandboxDetails = new Map<string, { readonly state: cri.PodSandboxState; readonly detail: SandboxDetail }>();
  private readonly containerDetails = new Map<string, CachedContainer>();

  constructor(private readonly runtime: CriRuntime) {}

  /** Every pod the runtime holds something of, by uid. */
  async listAll(): Promise<Map<string, PodRuntimeStatus>> {
    const [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandbox({ filter: null }),
      this.runtime.listContainers({ filter: null }),
    ]);
    const ours = sandboxes.items.filter((s) => s.labels[PodLabel.Uid] !== undefined);
    const oursC = containers.containers.filter((c) => c.labels[PodLabel.Uid] !== undefined);
    this.prune(new Set(ours.map((s) => s.id)), new Set(oursC.map((c) => c.id)));
    return this.assemble(ours, oursC);
  }

  /** One pod's sandboxes and containers as the runtime shows them now. */
  async podStatus(uid: string, name: string, namespace: string): Promise<PodRuntimeStatus> {
    const labelSelector = { [PodLabel.Uid]: uid };
    const [sandboxes, containers] = await Promise.all([
      this.runtime.listPodSandbox({ filter: { id: '', state: null, label_selector: labelSelector } }),
      this.runtime.listContainers({ filter: { id: '', state: null, pod_sandbox_id: '', label_selector: labelSelector } }),
    ]);
    const pods = await this.assemble(sandboxes.items, containers.containers);
    return pods.get(uid) ?? { uid, name, namespace, sandboxes: [], containers: [] };
  }

  /** Forgets cached details of objects gone from the runtime. */
  private prune(sandboxIds: ReadonlySet<string>, containerIds: ReadonlySet<string>): void {
    for (const id of this.sandboxDetails.keys()) if (!sandboxIds.has(id)) this.sandboxDetails.delete(id);
    for (const id of this.containerDetails.keys()) if (!containerIds.has(id)) this.containerDetails.delete(id);
  }

  private async assemble(sandboxes: readonly cri.PodSandbox[], containers: readonly cri.Container[]): Promise<Map<string, PodRuntimeStatus>> {
    const sRecords = await Promise.all(sandboxes.map(async (s) => [s, await this.sandboxRecord(s)] as const));
    const cRecords = await Promise.all(containers.map(async (c) => [c, await this.containerRecord(c)] as const));
    const pods = new Map<string, { uid: string; name: string; namespace: string; sandboxes: SandboxRecord[]; containers: ContainerRecord[] }>();
    const podOf = (labels: cri.StringMap, fallback: { name: string; namespace: string }) => {
      const uid = labels[PodLabel.Uid] ?? '';
      let p = pods.get(uid);
      if (p === undefined) {
        p = { uid, name: labels[PodLabel.Name] ?? fallback.name, namespace: labels[PodLabel.Namespace] ?? fallback.namespace, sandboxes: [], containers: [] };
        pods.set(uid, p);
      }
      return p;
    };
    for (const [s, rec] of sRecords) podOf(s.labels, s.metadata).sandboxes.push(rec);
    for (const [c, rec] of cRecords) if (rec !== undefined) podOf(c.labels, { name: '', namespace: '' }).containers.push(rec);
    const out = new Map<string, PodRuntimeStatus>();
    for (const [uid, p] of pods) {
      out.set(uid, { ...p, sandboxes: newestFirst(p.sandboxes, (s) => s.attempt), containers: newestFirst(p.containers, (c) => c.restartCount) });
    }
    return out;
  }

  private async sandboxRecord(s: cri.PodSandbox): Promise<SandboxRecord> {
    let cached = this.sandboxDetails.get(s.id);
    if (cached === undefined || cached.state !== s.state) {
      cached = { state: s.state, detail: await this.sandboxDetail(s.id) };
      this.sandboxDetails.set(s.id, cached);
    }
    return {
      id: s.id,
      attempt: s.metadata.attempt,
      state: s.state === 'SANDBOX_READY' ? SandboxState.Ready : SandboxState.NotReady,
      createdAtMs: msOf(s.created_at),
      ip: cached.detail.ip,
      hostNetwork: cached.detail.hostNetwork,
    };
  }

  private async sandboxDetail(id: string): Promise<SandboxDetail> {
    try {
      const { status } = await this.runtime.podSandboxStatus({ pod_sandbox_id: id, verbose: false });
      const mode = status.linux?.namespaces?.options?.network;
      return { ip: status.network?.ip ?? '', hostNetwork: mode === undefined ? undefined : mode === 'NODE' };
    } catch (err) {
      if (isCriError(err, 'NotFound')) return { ip: '', hostNetwork: undefined };
      throw err;
    }
  }

  /** undefined when the container vanished between the list and its status. */
  private async containerRecord(c: cri.Container): Promise<ContainerRecord | undefined> {
    let cached = this.containerDetails.get(c.id);
    if (cached === undefined || cached.state !== c.state) {
      let status: cri.ContainerStatus | undefined;
      try {
        status = (await this.runtime.containerStatus({ container_id: c.id, verbose: false })).status;
      } catch (err) {
        if (!isCriError(err, 'NotFound')) throw err;
        return undefined;
      }
      // Cache under the state the status saw: the container may have moved on since the list.
      cached = { state: status.state, status };
      this.containerDetails.set(c.id, cached);
    }
    return containerRecordOf(c, cached.status);
  }
}

export function containerRecordOf(c: cri.Container, st: cri.ContainerStatus | undefined): ContainerRecord {
  const restart = Number(c.annotations[ContainerAnnotation.RestartCount]);
  const grace = Number(c.annotations[ContainerAnnotation.TerminationGracePeriod] ?? 'x');
  return {
    id: c.id,
    name: c.labels[ContainerLabel.Name] ?? c.metadata.name,
    sandboxId: c.pod_sandbox_id,
    state: runStateOf(st?.state ?? c.state),
    restartCount: Number.isInteger(restart) && restart >= 0 ? restart : c.metadata.attempt,
    hash: c.annotations[ContainerAnnotation.Hash] ?? '',
    image: st?.image?.image ?? c.image?.image ?? '',
    imageRef: st?.image_ref ?? c.image_ref,
    createdAtMs: msOf(c.created_at),
    startedAtMs: msOf(st?.started_at ?? 0),
    finishedAtMs: msOf(st?.finished_at ?? 0),
    exitCode: st?.exit_code ?? 0,
    reason: st?.reason ?? '',
    message: st?.message ?? '',
    logPath: st?.log_path ?? '',
    graceSeconds: Number.isFinite(grace) && grace >= 0 ? grace : undefined,
  };
}
