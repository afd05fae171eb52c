/**
 * The agent's Node object: registration, the status heartbeat (every 10 s)
 * and the Lease in kube-node-lease (40 s, renewed every 10 s), on the
 * kubelet's schedule (FACTS.md §4f), with the Node and Lease builders shared
 * with the hollow nodes (node/node-objects.ts).
 *
 * Ready follows the runtime: True (KubeletReady) while CRI Status reports
 * RuntimeReady and NetworkReady, else False (KubeletNotReady) with the
 * runtime's own reason and message. nodeInfo names the runtime as
 * `<runtime_name>://<runtime_version>` from CRI Version.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { PatchType, Resources, isAlreadyExists, isNotFound, type ApiClient } from '../../control-plane/client/api-client.js';
import type { Lease } from '../../proto/k8s/coordination-v1.js';
import type { Node, NodeSystemInfo, ResourceList } from '../../proto/k8s/core-v1.js';
import type { RuntimeService } from '../cri/runtime.js';
import { MAX_PODS_DEFAULT, NODE_LEASE_NAMESPACE, baseNodeLabels, newLease, newNodeObject, nodeStatusOf, renewedLease, type NodeIdentity, type NodeReadiness } from '../node-objects.js';
import { errorText } from './errors.js';

export const AGENT_KUBELET_VERSION = 'v1.32.0-strake';
const UNKNOWN_RUNTIME = 'unknown://';

export type NodeApi = Pick<ApiClient, 'get' | 'create' | 'update' | 'patch'>;

/** The machine's CPUs, memory and the kubelet's default pod limit. */
export function machineCapacity(): ResourceList {
  return { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: String(MAX_PODS_DEFAULT) };
}

function archOf(): string {
  const a = os.arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

/** The Ready condition a runtime's Status implies (the kubelet's runtime state check). */
export async function runtimeReadiness(runtime: Pick<RuntimeService, 'status'>): Promise<{ ready: boolean; reason: string; message: string }> {
  try {
    const res = await runtime.status({ verbose: false });
    const conditions = res.status?.conditions ?? [];
    const failing = ['RuntimeReady', 'NetworkReady'].map((type) => ({ type, c: conditions.find((x) => x.type === type) })).filter(({ c }) => c?.status !== true);
    if (failing.length === 0) return { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' };
    const what = failing.map(({ type, c }) => `${type}=false reason:${c?.reason ?? ''} message:${c?.message ?? 'not reported'}`).join(', ');
    return { ready: false, reason: 'KubeletNotReady', message: `container runtime not ready: ${what}` };
  } catch (err) {
    return { ready: false, reason: 'KubeletNotReady', message: `container runtime is down: ${errorText(err)}` };
  }
}

export interface NodeStatusReporterOptions {
  readonly id: NodeIdentity;
  readonly api: NodeApi;
  readonly runtime: Pick<RuntimeService, 'status' | 'version'>;
  readonly capacity: Readonly<ResourceList>;
  readonly daemonPort: number;
  readonly leaseDurationSeconds: number;
  readonly nowMs: () => number;
  readonly log?: (line: string) => void;
}

export class NodeStatusReporter {
  private uid: string | undefined;
  private lease: Lease | undefined;
  private readiness: NodeReadiness | undefined;
  private nodeInfo: NodeSystemInfo | undefined;
  private readonly since: number;

  constructor(private readonly o: NodeStatusReporterOptions) {
    this.since = o.nowMs();
  }

  get registered(): boolean {
    return this.uid !== undefined;
  }

  get ready(): boolean {
    return this.readiness?.ready === true;
  }

  /** Status heartbeat: registers first when needed (or when the Node was deleted), else a merge patch of the whole status. */
  async heartbeat(): Promise<void> {
    const status = await this.status();
    if (this.uid !== undefined) {
      try {
        await this.o.api.patch(Resources.Nodes, undefined, this.o.id.name, PatchType.Merge, { status }, 'status');
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.o.log?.(`node ${this.o.id.name} was deleted; registering it again`);
        this.uid = undefined;
        this.lease = undefined;
      }
    }
    await this.register();
  }

  /** Renews the lease: a compare-and-swap on the copy last written; after any failure, read (or create) it again. */
  async renewLease(): Promise<void> {
    if (this.uid === undefined) return;
    const now = this.o.nowMs();
    const name = this.o.id.name;
    const duration = this.o.leaseDurationSeconds;
    try {
      if (this.lease === undefined) {
        try {
          this.lease = await this.o.api.create<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, newLease(name, this.uid, duration, now));
          return;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          this.lease = await this.o.api.get<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, name);
        }
      }
      this.lease = await this.o.api.update<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, renewedLease(this.lease, name, duration, now));
    } catch (err) {
      this.lease = undefined;
      throw err;
    }
  }

  private async register(): Promise<void> {
    const status = await this.status();
    const labels = baseNodeLabels(this.o.id.name);
    labels['kubernetes.io/arch'] = archOf();
    let node: Node;
    try {
      node = await this.o.api.create<Node>(Resources.Nodes, undefined, newNodeObject(this.o.id, labels, status));
      this.o.log?.(`registered node ${this.o.id.name}`);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // A Node left by an earlier run (the agent restarted): adopted, our labels patched in, its status replaced.
      const existing = await this.o.api.get<Node>(Resources.Nodes, undefined, this.o.id.name);
      if (Object.entries(labels).some(([k, v]) => existing.metadata.labels?.[k] !== v)) {
        await this.o.api.patch(Resources.Nodes, undefined, this.o.id.name, PatchType.Merge, { metadata: { labels } });
      }
      node = await this.o.api.patch<Node>(Resources.Nodes, undefined, this.o.id.name, PatchType.Merge, { status }, 'status');
    }
    this.uid = node.metadata.uid;
    await this.renewLease();
  }

  private async status(): Promise<ReturnType<typeof nodeStatusOf>> {
    const now = this.o.nowMs();
    const r = await runtimeReadiness(this.o.runtime);
    if (this.readiness === undefined || this.readiness.ready !== r.ready) {
      if (this.readiness !== undefined) this.o.log?.(`node ${this.o.id.name} is ${r.ready ? 'Ready' : `NotReady: ${r.message}`}`);
      this.readiness = { ...r, sinceMs: now };
    } else {
      this.readiness = { ...r, sinceMs: this.readiness.sinceMs };
    }
    const nodeInfo = this.nodeInfo ?? (await this.systemInfo());
    // Kept once the runtime has answered Version; asked again on the next heartbeat until then.
    if (nodeInfo.containerRuntimeVersion !== UNKNOWN_RUNTIME) this.nodeInfo = nodeInfo;
    return nodeStatusOf({ id: this.o.id, capacity: this.o.capacity, readiness: this.readiness, nodeInfo, nowMs: now, daemonPort: this.o.daemonPort, pressureSinceMs: this.since });
  }

  private async systemInfo(): Promise<NodeSystemInfo> {
    let runtimeVersion = UNKNOWN_RUNTIME;
    try {
      const v = await this.o.runtime.version({ version: 'v1' });
      runtimeVersion = `${v.runtime_name}://${v.runtime_version}`;
    } catch (err) {
      this.o.log?.(`runtime Version failed: ${errorText(err)}`);
    }
    return {
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: runtimeVersion,
      kubeletVersion: AGENT_KUBELET_VERSION,
      kubeProxyVersion: AGENT_KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: archOf(),
    };
  }
}
