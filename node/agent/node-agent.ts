/**
 * NodeAgent: the kubelet-like agent of one node. It registers the Node,
 * keeps its Lease and status fresh (node-status.ts), and runs the pods bound
 * to it through a CRI runtime:
 *
 *   pod informer events ─┐
 *   PLEG relist (1 s) ───┼─▶ per-pod workers (one per uid, bounded) ─▶ syncPod
 *   probe results ───────┤        computePodActions → CRI calls → status patch
 *   resync (60 s) ───────┘
 *
 * The runtime is the source of truth for what runs: everything the agent
 * made carries labels naming its pod (labels.ts), so a restarted agent adopts
 * the containers it finds instead of restarting them, and kills what belongs
 * to no pod of the API any more (after its pod informer has synced).
 *
 * What it does to a pod's containers it also records as Events about the
 * pod (source `kubelet`, host = the node's name), in the kubelet's words,
 * so `kubectl describe pod` shows them (pod-events.ts).
 *
 *   const agent = new NodeAgent({ name, api, podInformer, runtime, rootDir, address: '127.0.0.1', serverPort });
 *   agent.start();
 *   await agent.registered;
 *   ...
 *   await agent.stop();      // pods keep running, as when a kubelet stops
 */
import { randomUUID } from 'node:crypto';
import { PatchType, Resources, isConflict, isNotFound, type ApiClient } from '../../control-plane/client/api-client.js';
import { realClock, type Clock } from '../../control-plane/client/clock.js';
import { EventRecorder, type EventSink } from '../../control-plane/client/events/event-recorder.js';
import type { Informer } from '../../control-plane/client/informer.js';
import type { ConfigMap, Pod, PodStatus, ResourceList, Secret } from '../../proto/k8s/core-v1.js';
import type { CriRuntime } from '../cri/runtime.js';
import { LEASE_DURATION_SECONDS_DEFAULT, LEASE_RENEW_MS_DEFAULT, NODE_STATUS_UPDATE_MS_DEFAULT } from '../node-objects.js';
import { Backoff } from './backoff.js';
import type { ObjectSources } from './env.js';
import { AgentError, AgentErrorCode, errorText } from './errors.js';
import { ImagePuller } from './image-puller.js';
import { findContainer, type FoundContainer } from './node-server-pods.js';
import { NodeStatusReporter, machineCapacity, type NodeApi } from './node-status.js';
import { Pleg, RELIST_MS_DEFAULT } from './pleg.js';
import { buildPodStatus, sameStatus, type WaitingReason } from './pod-status.js';
import { collectGarbage, orphanGraceSeconds, removePodParts, syncRunningPod, terminatePod, type PodSyncContext } from './pod-sync.js';
import { POD_WORKERS_DEFAULT, PodWorkers } from './pod-workers.js';
import { containerEventsTo, type ContainerEvents } from './pod-events.js';
import { NetnsDialer, type ProbeDialer, type ProbeNet } from './prober/netns-dial.js';
import { ProbeManager } from './prober/probe-manager.js';
import { RuntimeReader } from './runtime-reader.js';
import type { NodeServerPods } from './server/node-server-pods.js';
import { SandboxState, type PodRuntimeStatus } from './runtime-state.js';
import { removePodDir } from './volumes.js';

/** How often every pod is synced even without an event (the kubelet's syncFrequency). */
export const RESYNC_MS_DEFAULT = 60_000;
/** The events' source.component, as on a Kubernetes node. */
export const EVENT_SOURCE_COMPONENT = 'kubelet';
/** Retry of a failed registration: 200 ms doubling to 10 s. */
const REGISTER_RETRY_BASE_MS = 200;
const REGISTER_RETRY_MAX_MS = 10_000;

/** The API calls the agent makes (HttpApiClient in production, FakeApiClient in tests). */
export type AgentApi = Pick<ApiClient, 'get' | 'create' | 'update' | 'patch' | 'delete'>;

/** Opens the agent's pod informer; it must honour `fieldSelector` (spec.nodeName=<name>). */
export type PodInformerFactory = (o: { readonly fieldSelector: string }) => Informer<Pod>;

export interface NodeAgentTiming {
  readonly nodeStatusUpdateMs?: number;
  readonly leaseRenewMs?: number;
  readonly leaseDurationSeconds?: number;
  readonly relistMs?: number;
  readonly resyncMs?: number;
  readonly podWorkers?: number;
  /** Crash-loop and image-pull back-off (10 s doubling to 300 s by default). */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
}

export interface NodeAgentOptions {
  readonly name: string;
  readonly api: AgentApi;
  readonly podInformer: PodInformerFactory;
  readonly runtime: CriRuntime;
  /** Volumes under <rootDir>/pods/<uid>/, logs under <rootDir>/logs/pods/. */
  readonly rootDir: string;
  /** The node's InternalIP (hostIP of its pods, podIP of host-network ones). */
  readonly address: string;
  /** The node server's port (status.daemonEndpoints.kubeletEndpoint.Port). */
  readonly serverPort: number;
  readonly capacity?: Readonly<ResourceList>;
  readonly podCidr?: string;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  readonly timing?: NodeAgentTiming;
  /** How HTTP and TCP probes reach pods (default: inside the pod's network namespace via nsenter). */
  readonly probeDialer?: ProbeDialer;
  /**
   * Where the pod events go (default: an EventRecorder over `api`, component
   * `kubelet`, host `name`, stopped with the agent). One passed in is the
   * caller's to flush and stop.
   */
  readonly events?: EventSink;
}

interface PodEntry {
  readonly uid: string;
  /** The newest copy from the informer; undefined once the pod left the API (or this node). */
  pod: Pod | undefined;
  /** The status last written, so an unchanged one is not written again. */
  lastWritten: PodStatus | undefined;
  deleteSent: boolean;
}

type Lifecycle = 'new' | 'running' | 'stopped';

export class NodeAgent implements NodeServerPods {
  readonly registered: Promise<void>;
  private resolveRegistered!: () => void;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly t: Required<NodeAgentTiming>;
  private readonly pods = new Map<string, PodEntry>();
  private readonly reader: RuntimeReader;
  private readonly backoff: Backoff;
  private readonly probes: ProbeManager;
  private readonly workers: PodWorkers;
  private readonly pleg: Pleg;
  private readonly reporter: NodeStatusReporter;
  private readonly ctx: PodSyncContext;
  /** The recorder the agent made (and stops); undefined when the caller passed one. */
  private readonly ownRecorder: EventRecorder | undefined;
  private informer: Informer<Pod> | undefined;
  private readonly timers = new Set<() => void>();
  private state: Lifecycle = 'new';
  private runtimeName = '';

  constructor(private readonly o: NodeAgentOptions) {
    if (o.name === '' || o.address === '') throw new AgentError(AgentErrorCode.InvalidOptions, `a node agent needs a name and an address, got "${o.name}" and "${o.address}"`);
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
    this.t = timingOf(o.timing);
    this.registered = new Promise((r) => (this.resolveRegistered = r));
    this.reader = new RuntimeReader(o.runtime);
    this.backoff = new Backoff({ initialMs: this.t.backoffInitialMs, maxMs: this.t.backoffMaxMs });
    const pullBackoff = new Backoff({ initialMs: this.t.backoffInitialMs, maxMs: this.t.backoffMaxMs });
    const recorder = eventSinkOf(o, this.clock, this.log);
    this.ownRecorder = recorder.own;
    const events: ContainerEvents = containerEventsTo(recorder.sink);
    this.probes = new ProbeManager({ clock: this.clock, runtime: o.runtime, dialer: o.probeDialer ?? new NetnsDialer(o.runtime), onChange: (uid) => this.workers.enqueue(uid), events, log: this.log });
    this.workers = new PodWorkers({ clock: this.clock, concurrency: this.t.podWorkers, sync: (uid) => this.syncPod(uid), onError: (uid, err) => this.log(`syncing pod ${this.describe(uid)} failed: ${errorText(err)}; retrying`) });
    this.pleg = new Pleg({
      clock: this.clock,
      relistMs: this.t.relistMs,
      list: () => this.reader.listAll(),
      onEvents: (events) => new Set(events.map((e) => e.uid)).forEach((uid) => this.workers.enqueue(uid)),
      onRelist: (pods) => this.noticeOrphans(pods),
      log: this.log,
    });
    this.reporter = new NodeStatusReporter({
      id: { name: o.name, internalIp: o.address, bootId: randomUUID(), ...(o.podCidr === undefined ? {} : { podCidr: o.podCidr }) },
      api: o.api as NodeApi,
      runtime: o.runtime,
      capacity: { ...machineCapacity(), ...o.capacity },
      daemonPort: o.serverPort,
      leaseDurationSeconds: this.t.leaseDurationSeconds,
      nowMs: () => this.clock.nowMs(),
      log: this.log,
    });
    this.ctx = {
      runtime: o.runtime,
      rootDir: o.rootDir,
      nodeName: o.name,
      nodeAddress: o.address,
      sources: this.objectSources(),
      backoff: this.backoff,
      puller: new ImagePuller(o.runtime, pullBackoff, this.clock, events),
      probes: this.probes,
      events,
      clock: this.clock,
      log: this.log,
    };
  }

  /** Registers the node, then runs its pods until `stop()`. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.workers.start();
    void this.registerLoop(0);
    this.every(this.t.nodeStatusUpdateMs, () => this.reporter.registered && this.quietly('node status', () => this.reporter.heartbeat()));
    this.every(this.t.leaseRenewMs, () => this.quietly('lease renewal', () => this.reporter.renewLease()));
    this.every(this.t.resyncMs, () => {
      for (const uid of this.pods.keys()) this.workers.enqueue(uid);
      this.backoff.gc(this.clock.nowMs());
    });
    this.informer = this.o.podInformer({ fieldSelector: `spec.nodeName=${this.o.name}` });
    this.informer.addHandlers({
      onAdd: (pod) => this.observe(pod),
      onUpdate: (old, pod) => {
        if (old.metadata.uid !== pod.metadata.uid) this.gone(old);
        this.observe(pod);
      },
      onDelete: (pod) => this.gone(pod),
    });
    this.informer.start();
    this.pleg.start();
  }

  /** Stops watching, relisting, probing and syncing (waiting for syncs in flight); pods keep running. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.informer?.stop();
    this.probes.stop();
    await this.pleg.stop();
    await this.workers.stop();
    this.ownRecorder?.stop();
  }

  /** NodeServerPods: a container of a pod of this node, with its log file. */
  async findContainer(namespace: string, pod: string, container: string | undefined, previous: boolean): Promise<FoundContainer | undefined> {
    const entry = [...this.pods.values()].find((e) => e.pod?.metadata.namespace === namespace && e.pod.metadata.name === pod);
    return findContainer({ reader: this.reader, rootDir: this.o.rootDir, pod: entry?.pod, namespace, name: pod, container, previous });
  }

  /** NodeServerPods: runs `cmd` in a container to its end (CRI ExecSync). */
  async execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const res = await this.o.runtime.execSync({ container_id: containerId, cmd, timeout: Math.max(1, Math.ceil(timeoutMs / 1000)) });
    return { stdout: res.stdout, stderr: res.stderr, exitCode: res.exit_code };
  }

  /** Pods the agent tracks (the informer's, plus ones whose remains it is still removing). */
  get podCount(): number {
    return this.pods.size;
  }

  private async registerLoop(attempt: number): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.reporter.heartbeat();
      this.resolveRegistered();
    } catch (err) {
      const delayMs = Math.min(REGISTER_RETRY_MAX_MS, REGISTER_RETRY_BASE_MS * 2 ** attempt);
      this.log(`registering node ${this.o.name} failed: ${errorText(err)}; retrying in ${delayMs} ms`);
      this.after(delayMs, () => void this.registerLoop(attempt + 1));
    }
  }

  private async quietly(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log(`${what} of node ${this.o.name} failed: ${errorText(err)}`);
    }
  }

  private after(ms: number, fn: () => void): void {
    const cancel = this.clock.after(ms, () => {
      this.timers.delete(cancel);
      if (this.state === 'running') fn();
    });
    this.timers.add(cancel);
  }

  private every(periodMs: number, fn: () => unknown): void {
    this.after(periodMs, () => {
      void fn();
      this.every(periodMs, fn);
    });
  }

  private observe(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    if (uid === '' || (pod.spec.nodeName !== undefined && pod.spec.nodeName !== this.o.name)) return;
    const entry = this.pods.get(uid);
    if (entry === undefined) this.pods.set(uid, { uid, pod, lastWritten: undefined, deleteSent: false });
    else if (entry.pod === undefined || !olderThan(pod, entry.pod)) entry.pod = pod;
    this.workers.enqueue(uid);
  }

  private gone(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const entry = this.pods.get(uid);
    if (entry === undefined) return;
    entry.pod = undefined;
    this.workers.enqueue(uid);
  }

  /** Runtime pods no API pod claims are orphans; only once the informer has listed everything (else a restart would kill adoptees). */
  private noticeOrphans(pods: ReadonlyMap<string, PodRuntimeStatus>): void {
    if (this.informer?.hasSynced() !== true) return;
    for (const [uid, rs] of pods) {
      if (this.pods.get(uid)?.pod !== undefined) continue;
      const anything = rs.sandboxes.length > 0 || rs.containers.length > 0;
      if (!anything) continue;
      if (!this.pods.has(uid)) this.pods.set(uid, { uid, pod: undefined, lastWritten: undefined, deleteSent: false });
      this.workers.enqueue(uid);
    }
  }

  private describe(uid: string): string {
    const p = this.pods.get(uid)?.pod;
    return p === undefined ? uid : `${p.metadata.namespace}/${p.metadata.name} (${uid})`;
  }

  private async syncPod(uid: string): Promise<void> {
    if (this.state !== 'running') return;
    const entry = this.pods.get(uid);
    if (entry === undefined) return;
    const pod = entry.pod;
    if (pod === undefined) return this.removeOrphan(entry);
    const rs = await this.reader.podStatus(uid, pod.metadata.name ?? '', pod.metadata.namespace ?? 'default');
    if (pod.metadata.deletionTimestamp !== undefined) return this.terminate(entry, pod, rs);
    const outcome = await syncRunningPod(this.ctx, pod, rs);
    let after = await this.reader.podStatus(uid, pod.metadata.name ?? '', pod.metadata.namespace ?? 'default');
    if ((await collectGarbage(this.o.runtime, after)) > 0) after = await this.reader.podStatus(uid, pod.metadata.name ?? '', pod.metadata.namespace ?? 'default');
    this.probes.syncPod(pod, after, probeNetOf(pod, after, this.o.address));
    await this.writeStatus(entry, pod, after, outcome.waiting);
    if (outcome.requeueInMs !== undefined) this.workers.enqueue(uid, outcome.requeueInMs);
  }

  /** The pod left the API (or this node): whatever is left of it in the runtime goes, with its volumes. */
  private async removeOrphan(entry: PodEntry): Promise<void> {
    const rs = await this.reader.podStatus(entry.uid, '', '');
    if (rs.sandboxes.length > 0 || rs.containers.length > 0) {
      this.log(`removing pod ${rs.namespace}/${rs.name} (${entry.uid}): it is not bound to this node in the API any more`);
      await removePodParts(this.o.runtime, rs, orphanGraceSeconds(rs));
    }
    await this.forget(entry.uid);
  }

  private async forget(uid: string): Promise<void> {
    this.probes.removePod(uid);
    this.backoff.resetPrefix(`${uid}/`);
    await removePodDir(this.o.rootDir, uid);
    if (this.pods.get(uid)?.pod === undefined) {
      this.pods.delete(uid);
      this.workers.forget(uid);
    }
  }

  /** Graceful deletion: stop everything within the grace period, then delete the pod object for good (grace 0, uid precondition). */
  private async terminate(entry: PodEntry, pod: Pod, rs: PodRuntimeStatus): Promise<void> {
    this.probes.removePod(entry.uid);
    if (rs.sandboxes.length > 0 || rs.containers.length > 0) await terminatePod(this.ctx, pod, rs);
    if (entry.deleteSent) return;
    try {
      await this.o.api.delete(Resources.Pods, pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: entry.uid } });
    } catch (err) {
      // Gone already, or replaced by a pod of the same name: nothing of ours left to delete.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    entry.deleteSent = true;
    await removePodDir(this.o.rootDir, entry.uid);
  }

  private async writeStatus(entry: PodEntry, pod: Pod, rs: PodRuntimeStatus, waiting: ReadonlyMap<string, WaitingReason>): Promise<void> {
    const status = buildPodStatus({ pod, runtime: rs, nodeAddress: this.o.address, runtimeName: await this.runtimeNameOf(), probes: this.probes, waiting, nowMs: this.clock.nowMs() });
    if (sameStatus(entry.lastWritten ?? pod.status, status)) return;
    try {
      const written = await this.o.api.patch<Pod>(Resources.Pods, pod.metadata.namespace, pod.metadata.name ?? '', PatchType.Merge, { metadata: { uid: entry.uid }, status }, 'status');
      entry.lastWritten = status;
      if (entry.pod !== undefined && !olderThan(written, entry.pod)) entry.pod = written;
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  private async runtimeNameOf(): Promise<string> {
    if (this.runtimeName === '') {
      try {
        this.runtimeName = (await this.o.runtime.version({ version: 'v1' })).runtime_name;
      } catch (err) {
        this.log(`runtime Version failed: ${errorText(err)}`);
        return 'cri';
      }
    }
    return this.runtimeName;
  }

  /** ConfigMaps and Secrets read straight from the API when a container starts (not cached: the kubelet's "Get" strategy). */
  private objectSources(): ObjectSources {
    const read = async <T extends ConfigMap | Secret>(r: typeof Resources.ConfigMaps | typeof Resources.Secrets, ns: string, name: string): Promise<T | undefined> => {
      try {
        return await this.o.api.get<T>(r, ns, name);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    return { configMap: (ns, name) => read<ConfigMap>(Resources.ConfigMaps, ns, name), secret: (ns, name) => read<Secret>(Resources.Secrets, ns, name) };
  }
}

/** The caller's event sink, or a recorder of the agent's own (which it stops with itself). */
function eventSinkOf(o: NodeAgentOptions, clock: Clock, log: (line: string) => void): { sink: EventSink; own: EventRecorder | undefined } {
  if (o.events !== undefined) return { sink: o.events, own: undefined };
  const own = new EventRecorder({ client: o.api, component: EVENT_SOURCE_COMPONENT, host: o.name, clock, log });
  return { sink: own, own };
}

function probeNetOf(pod: Pod, rs: PodRuntimeStatus, nodeAddress: string): ProbeNet | undefined {
  const sandbox = rs.sandboxes[0];
  if (sandbox === undefined || sandbox.state !== SandboxState.Ready) return undefined;
  const hostNetwork = pod.spec.hostNetwork === true;
  return { sandboxId: sandbox.id, hostNetwork, podIp: hostNetwork ? nodeAddress : sandbox.ip };
}

/** Whether `a` is an older copy than `b` (resourceVersions are store revisions: decimal integers). */
function olderThan(a: Pod, b: Pod): boolean {
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isSafeInteger(ra) && Number.isSafeInteger(rb) && ra < rb;
}

function timingOf(t: NodeAgentTiming = {}): Required<NodeAgentTiming> {
  const out: Required<NodeAgentTiming> = {
    nodeStatusUpdateMs: t.nodeStatusUpdateMs ?? NODE_STATUS_UPDATE_MS_DEFAULT,
    leaseRenewMs: t.leaseRenewMs ?? LEASE_RENEW_MS_DEFAULT,
    leaseDurationSeconds: t.leaseDurationSeconds ?? LEASE_DURATION_SECONDS_DEFAULT,
    relistMs: t.relistMs ?? RELIST_MS_DEFAULT,
    resyncMs: t.resyncMs ?? RESYNC_MS_DEFAULT,
    podWorkers: t.podWorkers ?? POD_WORKERS_DEFAULT,
    backoffInitialMs: t.backoffInitialMs ?? 10_000,
    backoffMaxMs: t.backoffMaxMs ?? 300_000,
  };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v <= 0) throw new AgentError(AgentErrorCode.InvalidOptions, `timing.${k} must be a positive number, got ${v}`);
  }
  if (out.leaseDurationSeconds * 1000 <= out.leaseRenewMs) {
    throw new AgentError(AgentErrorCode.InvalidOptions, `leaseDurationSeconds (${out.leaseDurationSeconds}) must be longer than the renewal interval (${out.leaseRenewMs} ms)`);
  }
  return out;
}
