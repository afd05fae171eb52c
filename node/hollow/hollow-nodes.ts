/**
 * HollowNodes: one process, many simulated nodes, real API traffic (what
 * Kubernetes' kubemark does). Each node `name-i` registers a Node, renews its
 * Lease in kube-node-lease and reports its status on the kubelet's schedule
 * (FACTS.md §4f: status every 10 s, lease of 40 s renewed every 10 s), and
 * reports the pods bound to it Running and Ready without starting anything.
 *
 *   const hollow = new HollowNodes({ name: 'h', count: 1000, api, podInformer });
 *   hollow.start();
 *   await hollow.registered;
 *   ...
 *   await hollow.stop();          // Nodes stay; their leases expire
 *
 * Traffic stays bounded as the node count grows: one informer over all bound
 * pods (a watch per node would be 1,000 watches), every write through one
 * WorkQueue served by `writesInFlightMax` workers (so at most that many calls
 * in flight), and heartbeats spread evenly over their period instead of all
 * at once.
 *
 * The API client, the informer and the clock are control-plane/client's
 * (ApiClient, Informer, Clock), the one part of control-plane/ that node/ may
 * import (test/raft/boundaries.test.ts): HttpApiClient in production,
 * FakeApiClient and FakeClock in tests.
 */
import { randomUUID } from 'node:crypto';
import { PatchType, Resources, isAlreadyExists, isNotFound, type ApiClient } from '../../control-plane/client/api-client.js';
import { realClock, type Clock } from '../../control-plane/client/clock.js';
import type { Informer } from '../../control-plane/client/informer.js';
import { WorkQueue, runWorkers } from '../../control-plane/client/work-queue.js';
import type { Lease } from '../../proto/k8s/coordination-v1.js';
import type { Node, NodeStatus, Pod, ResourceList } from '../../proto/k8s/core-v1.js';
import { NODE_ADDRESSES_MAX, POD_CIDRS_MAX, POD_IPS_PER_NODE_MAX, PodIpPool, nodeInternalIp, nodePodCidr } from './addresses.js';
import { HollowError, HollowErrorCode, errorText } from './errors.js';
import { HollowPods, type PodCounts, type PodHost } from './hollow-pods.js';
import { LEASE_DURATION_SECONDS_DEFAULT, LEASE_RENEW_MS_DEFAULT, NODE_STATUS_UPDATE_MS_DEFAULT } from '../node-objects.js';
import { DEFAULT_CAPACITY, NODE_LEASE_NAMESPACE, newLease, newNode, nodeLabels, nodeStatus, renewedLease, type HollowNodeIdentity } from './node-objects.js';

/** Nodes one process simulates at most; a two-core machine runs 1,000 comfortably, and the fake address ranges hold far more. */
export const HOLLOW_NODES_PER_PROCESS_MAX = 5_000;
export const POD_STARTUP_DELAY_MS_DEFAULT = { min: 0, max: 200 } as const;
/** API calls in flight per process: enough to register 1,000 nodes in seconds, few enough not to flood one master. */
export const WRITES_IN_FLIGHT_MAX_DEFAULT = 32;
export const SUMMARY_INTERVAL_MS_DEFAULT = 60_000;
/** Every bound pod: the informer's one watch. */
export const BOUND_PODS_FIELD_SELECTOR = 'spec.nodeName!=';
/**
 * Retry of a failed write: 200 ms doubling to 10 s, 8 times in a row (about 40 s); then the next heartbeat or resync.
 * Gentler than WorkQueue.addRateLimited (5 ms doubling, unbounded), which suits a few controllers, not thousands of node
 * writes against an API that is away, so the hollow nodes keep their own count and schedule retries with addAfter.
 */
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 10_000;
const RETRIES_MAX = 8;
/** Failed writes are counted and reported at most this often, not once each (an outage fails thousands). */
const ERROR_LOG_INTERVAL_MS = 10_000;
/** Deleting nodes on stop: calls in flight. */
const DELETES_IN_FLIGHT_MAX = 16;
/** DNS-1123 subdomain, the rule for Node names. */
const NODE_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NODE_NAME_CHARS_MAX = 253;

/** The API calls hollow nodes make (HttpApiClient in production). */
export type HollowApi = Pick<ApiClient, 'get' | 'create' | 'update' | 'patch' | 'delete'>;

/** Opens the one pod informer of a HollowNodes; it must honour `fieldSelector` (or deliver more: foreign pods are ignored). */
export type PodInformerFactory = (o: { readonly fieldSelector: string }) => Informer<Pod>;

export interface HollowNodesOptions {
  /** Nodes are named `${name}-0` … `${name}-${count - 1}`. */
  readonly name: string;
  readonly count: number;
  readonly api: HollowApi;
  /** Opens the pod informer (cli/node.ts: the client's Informer over pods). */
  readonly podInformer: PodInformerFactory;
  readonly clock?: Clock;
  /** In [0, 1); start-up delays and heartbeat phases. */
  readonly random?: () => number;
  readonly log?: (line: string) => void;
  /** Merged over DEFAULT_CAPACITY; reported as capacity and allocatable. */
  readonly capacity?: Readonly<ResourceList>;
  readonly nodeStatusUpdateMs?: number;
  readonly leaseRenewMs?: number;
  readonly leaseDurationSeconds?: number;
  readonly podStartupDelayMs?: { readonly min: number; readonly max: number };
  readonly writesInFlightMax?: number;
  /** How often a one-line summary is logged and pods needing work are queued again. */
  readonly summaryIntervalMs?: number;
}

export interface HollowStats extends PodCounts {
  readonly nodes: number;
  readonly registered: number;
  /** API requests sent (every verb, whatever the answer). */
  readonly apiCalls: number;
  /** Syncs that failed and were retried (or left to the next heartbeat or resync). */
  readonly syncErrors: number;
}

interface NodeState extends PodHost {
  readonly id: HollowNodeIdentity;
  /** Set once registered; cleared when the Node turns out deleted. */
  uid: string | undefined;
  /** Registered at least once by this process. */
  everRegistered: boolean;
  /** When this process first reported the node Ready. */
  readySinceMs: number | undefined;
  /** The lease as last written (its resourceVersion makes the next renewal a compare-and-swap). */
  lease: Lease | undefined;
}

type Settings = Required<Omit<HollowNodesOptions, 'api' | 'podInformer' | 'log' | 'name' | 'count'>>;

/** Queue keys: the kind of object, then its name (pods: namespace/name). */
const KeyKind = { Node: 'node:', Lease: 'lease:', Pod: 'pod:' } as const;

const Lifecycle = { New: 'new', Running: 'running', Stopped: 'stopped' } as const;
type Lifecycle = (typeof Lifecycle)[keyof typeof Lifecycle];

export class HollowNodes {
  readonly nodeNames: readonly string[];
  /** Resolves once every node has registered (it keeps trying while the API is away). */
  readonly registered: Promise<void>;
  private resolveRegistered!: () => void;
  private readonly nodes = new Map<string, NodeState>();
  private readonly s: Settings;
  /** Every API write of the process: one key per node heartbeat, lease and pod. */
  private readonly queue: WorkQueue;
  /** The workers serving `queue`; resolves once it is shut down and they are idle. */
  private workers: Promise<void> | undefined;
  /** Failed syncs in a row, per key (cleared on success or when the retries run out). */
  private readonly failures = new Map<string, number>();
  private readonly pods: HollowPods;
  private informer: Informer<Pod> | undefined;
  private readonly timers = new Set<() => void>();
  private registeredCount = 0;
  private startedAtMs = 0;
  private state: Lifecycle = Lifecycle.New;
  private readonly calls = { count: 0 };
  private syncErrors = 0;
  private readonly api: HollowApi;
  private errorsUnlogged = 0;
  private lastErrorLogMs = -Infinity;

  constructor(private readonly o: HollowNodesOptions) {
    this.s = settingsOf(o);
    this.api = counting(o.api, this.calls);
    this.registered = new Promise((r) => (this.resolveRegistered = r));
    const bootId = randomUUID();
    for (let i = 0; i < o.count; i++) {
      const name = `${o.name}-${i}`;
      const id = { name, internalIp: nodeInternalIp(i), podCidr: nodePodCidr(i), bootId };
      this.nodes.set(name, { id, name, internalIp: id.internalIp, pool: new PodIpPool(id.podCidr), uid: undefined, everRegistered: false, readySinceMs: undefined, lease: undefined });
    }
    this.nodeNames = [...this.nodes.keys()];
    this.queue = new WorkQueue(this.s.clock);
    this.pods = new HollowPods({
      api: this.api,
      clock: this.s.clock,
      startupDelayMs: this.s.podStartupDelayMs,
      random: this.s.random,
      hostOf: (name) => this.nodes.get(name),
      enqueue: (key, ms) => this.queue.addAfter(KeyKind.Pod + key, ms ?? 0),
    });
  }

  /** Registers the nodes, then keeps them alive and runs their pods until `stop()`. */
  start(): void {
    if (this.state !== Lifecycle.New) return;
    this.state = Lifecycle.Running;
    this.startedAtMs = this.s.clock.nowMs();
    // syncOrRetry never throws, so runWorkers' own back-off (addRateLimited) never applies.
    this.workers = runWorkers(this.queue, this.s.writesInFlightMax, (key) => this.syncOrRetry(key), () => {});
    let i = 0;
    for (const name of this.nodeNames) {
      this.queue.add(KeyKind.Node + name);
      // Spread each kind of heartbeat evenly over its period, so 1,000 nodes are 100 writes a second, not 1,000 at once.
      const phase = (i++ + this.s.random()) / this.nodeNames.length;
      this.every(this.s.nodeStatusUpdateMs, phase, () => this.queue.add(KeyKind.Node + name));
      this.every(this.s.leaseRenewMs, phase, () => this.queue.add(KeyKind.Lease + name));
    }
    this.every(this.s.summaryIntervalMs, 1, () => {
      this.o.log?.(this.summary());
      this.pods.resync();
    });
    this.informer = this.o.podInformer({ fieldSelector: BOUND_PODS_FIELD_SELECTOR });
    this.informer.addHandlers(this.pods.handlers());
    this.informer.start();
  }

  /**
   * Stops heartbeats, the informer and the write queue (waiting for the writes
   * in flight). Nodes stay registered unless `deleteNodes`: their leases then
   * expire and the node lifecycle controller marks them NotReady, as after a
   * kubelet stops.
   */
  async stop(o: { readonly deleteNodes?: boolean } = {}): Promise<void> {
    if (this.state === Lifecycle.Stopped) return;
    this.state = Lifecycle.Stopped;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.informer?.stop();
    this.queue.shutDown();
    await this.workers;
    this.failures.clear();
    if (o.deleteNodes === true) await this.deleteNodes();
  }

  stats(): HollowStats {
    return { nodes: this.nodes.size, registered: this.registeredCount, apiCalls: this.calls.count, syncErrors: this.syncErrors, ...this.pods.counts() };
  }

  summary(): string {
    const st = this.stats();
    return (
      `hollow nodes: ${st.registered}/${st.nodes} registered; pods running ${st.running}, pending ${st.pending}, ` +
      `succeeded ${st.succeeded}, failed ${st.failed}, terminating ${st.terminating}; API calls ${st.apiCalls}, failed syncs ${st.syncErrors}`
    );
  }

  private every(periodMs: number, phase: number, fn: () => void): void {
    let cancel: () => void;
    const tick = (): void => {
      this.timers.delete(cancel);
      if (this.state !== Lifecycle.Running) return;
      fn();
      cancel = this.s.clock.after(periodMs, tick);
      this.timers.add(cancel);
    };
    cancel = this.s.clock.after(Math.floor(periodMs * phase), tick);
    this.timers.add(cancel);
  }

  /**
   * Runs one queued key: a failure is retried after a back-off, at most RETRIES_MAX times in a row; then the key
   * waits for its next add (heartbeat or resync), so an API outage costs at most one pending timer per key.
   * After stop() the keys still queued are dropped, not synced.
   */
  private async syncOrRetry(key: string): Promise<void> {
    if (this.state !== Lifecycle.Running) return;
    try {
      await this.sync(key);
      this.failures.delete(key);
    } catch (err) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.onSyncError(key, err);
      if (n > RETRIES_MAX) {
        this.failures.delete(key);
        return;
      }
      this.failures.set(key, n);
      this.queue.addAfter(key, Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (n - 1)));
    }
  }

  private async sync(key: string): Promise<void> {
    if (key.startsWith(KeyKind.Pod)) return this.pods.sync(key.slice(KeyKind.Pod.length));
    const isLease = key.startsWith(KeyKind.Lease);
    const node = this.nodes.get(key.slice(isLease ? KeyKind.Lease.length : KeyKind.Node.length));
    if (node === undefined) return;
    return isLease ? this.syncLease(node) : this.syncNode(node);
  }

  /** Heartbeat: the whole status, as a merge patch (no read, no conflict); registers first when needed. */
  private async syncNode(node: NodeState): Promise<void> {
    const now = this.s.clock.nowMs();
    if (node.uid !== undefined) {
      try {
        await this.api.patch(Resources.Nodes, undefined, node.name, PatchType.Merge, { status: this.statusOf(node, now) }, 'status');
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.o.log?.(`node ${node.name} was deleted; registering it again`);
        node.uid = undefined;
        node.lease = undefined;
      }
    }
    await this.register(node, now);
  }

  private statusOf(node: NodeState, nowMs: number): NodeStatus {
    node.readySinceMs ??= nowMs;
    return nodeStatus(node.id, this.s.capacity, node.readySinceMs, nowMs);
  }

  /** Create; a Node left by an earlier run is adopted: our labels patched in, its status replaced by ours. */
  private async register(node: NodeState, nowMs: number): Promise<void> {
    let registered: Node;
    try {
      node.readySinceMs ??= nowMs;
      registered = await this.api.create<Node>(Resources.Nodes, undefined, newNode(node.id, this.s.capacity, node.readySinceMs, nowMs));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.api.get<Node>(Resources.Nodes, undefined, node.name);
      const labels = nodeLabels(node.name);
      if (Object.entries(labels).some(([k, v]) => existing.metadata.labels?.[k] !== v)) {
        await this.api.patch(Resources.Nodes, undefined, node.name, PatchType.Merge, { metadata: { labels } });
      }
      registered = await this.api.patch<Node>(Resources.Nodes, undefined, node.name, PatchType.Merge, { status: this.statusOf(node, nowMs) }, 'status');
    }
    node.uid = registered.metadata.uid;
    this.queue.add(KeyKind.Lease + node.name);
    if (node.everRegistered) return;
    node.everRegistered = true;
    if (++this.registeredCount === this.nodeNames.length) this.allRegistered();
  }

  private allRegistered(): void {
    const seconds = ((this.s.clock.nowMs() - this.startedAtMs) / 1000).toFixed(1);
    const range = this.nodeNames.length === 1 ? this.nodeNames[0] : `${this.nodeNames[0]} … ${this.nodeNames[this.nodeNames.length - 1]}`;
    this.o.log?.(`registered ${this.nodeNames.length} hollow node(s) (${range}) in ${seconds} s`);
    this.resolveRegistered();
  }

  /** Renews the node's lease: a compare-and-swap on the copy last written; after any failure, read (or create) it again. */
  private async syncLease(node: NodeState): Promise<void> {
    if (node.uid === undefined) return; // the lease is created right after registration
    const now = this.s.clock.nowMs();
    const duration = this.s.leaseDurationSeconds;
    try {
      if (node.lease === undefined) {
        try {
          node.lease = await this.api.create<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, newLease(node.name, node.uid, duration, now));
          return;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          node.lease = await this.api.get<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, node.name);
        }
      }
      node.lease = await this.api.update<Lease>(Resources.Leases, NODE_LEASE_NAMESPACE, renewedLease(node.lease, node.name, duration, now));
    } catch (err) {
      node.lease = undefined;
      throw err;
    }
  }

  private onSyncError(key: string, err: unknown): void {
    this.syncErrors++;
    this.errorsUnlogged++;
    const now = this.s.clock.nowMs();
    if (now - this.lastErrorLogMs < ERROR_LOG_INTERVAL_MS) return;
    const more = this.errorsUnlogged > 1 ? ` (and ${this.errorsUnlogged - 1} more failed writes since the last report)` : '';
    this.o.log?.(`${key.replace(':', ' ')}: ${errorText(err)}; retrying with backoff${more}`);
    this.errorsUnlogged = 0;
    this.lastErrorLogMs = now;
  }

  private async deleteNodes(): Promise<void> {
    const names = [...this.nodeNames];
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      for (let name = names.shift(); name !== undefined; name = names.shift()) {
        for (const [r, ns] of [[Resources.Nodes, undefined], [Resources.Leases, NODE_LEASE_NAMESPACE]] as const) {
          try {
            await this.api.delete(r, ns, name);
          } catch (err) {
            if (!isNotFound(err)) failures.push(`${r.plural}/${name}: ${errorText(err)}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT_MAX, this.nodeNames.length) }, worker));
    if (failures.length > 0) this.o.log?.(`could not delete ${failures.length} object(s), first: ${failures[0]}`);
  }
}

/** `api` with every request counted. */
function counting(api: HollowApi, calls: { count: number }): HollowApi {
  const n = <T>(p: Promise<T>): Promise<T> => {
    calls.count++;
    return p;
  };
  return {
    get: (r, ns, name) => n(api.get(r, ns, name)),
    create: (r, ns, obj) => n(api.create(r, ns, obj)),
    update: (r, ns, obj, sub) => n(api.update(r, ns, obj, sub)),
    patch: (r, ns, name, type, patch, sub) => n(api.patch(r, ns, name, type, patch, sub)),
    delete: (r, ns, name, o) => n(api.delete(r, ns, name, o)),
  };
}

function settingsOf(o: HollowNodesOptions): Settings {
  const s: Settings = {
    clock: o.clock ?? realClock,
    random: o.random ?? Math.random,
    capacity: { ...DEFAULT_CAPACITY, ...o.capacity },
    nodeStatusUpdateMs: o.nodeStatusUpdateMs ?? NODE_STATUS_UPDATE_MS_DEFAULT,
    leaseRenewMs: o.leaseRenewMs ?? LEASE_RENEW_MS_DEFAULT,
    leaseDurationSeconds: o.leaseDurationSeconds ?? LEASE_DURATION_SECONDS_DEFAULT,
    podStartupDelayMs: o.podStartupDelayMs ?? POD_STARTUP_DELAY_MS_DEFAULT,
    writesInFlightMax: o.writesInFlightMax ?? WRITES_IN_FLIGHT_MAX_DEFAULT,
    summaryIntervalMs: o.summaryIntervalMs ?? SUMMARY_INTERVAL_MS_DEFAULT,
  };
  validate(o, s);
  return s;
}

function invalid(message: string): HollowError {
  return new HollowError(HollowErrorCode.InvalidOptions, message);
}

function validate(o: HollowNodesOptions, s: Settings): void {
  const countMax = Math.min(HOLLOW_NODES_PER_PROCESS_MAX, NODE_ADDRESSES_MAX, POD_CIDRS_MAX);
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > countMax) throw invalid(`count must be an integer between 1 and ${countMax}, got ${o.count}`);
  const longest = `${o.name}-${o.count - 1}`;
  if (longest.length > NODE_NAME_CHARS_MAX || !NODE_NAME_RE.test(longest)) {
    throw invalid(`node name "${longest}" is not a valid DNS subdomain (lower-case letters, digits, '-' and '.', at most ${NODE_NAME_CHARS_MAX} characters)`);
  }
  const pods = Number(s.capacity['pods']);
  if (!Number.isInteger(pods) || pods < 0 || pods > POD_IPS_PER_NODE_MAX) {
    throw invalid(`capacity pods must be an integer between 0 and ${POD_IPS_PER_NODE_MAX} (the fake pod IPs of one node's /24), got "${s.capacity['pods']}"`);
  }
  for (const [what, ms] of [['nodeStatusUpdateMs', s.nodeStatusUpdateMs], ['leaseRenewMs', s.leaseRenewMs], ['summaryIntervalMs', s.summaryIntervalMs]] as const) {
    if (!Number.isFinite(ms) || ms <= 0) throw invalid(`${what} must be a positive number of milliseconds, got ${ms}`);
  }
  if (!Number.isInteger(s.leaseDurationSeconds) || s.leaseDurationSeconds * 1000 <= s.leaseRenewMs) {
    throw invalid(`leaseDurationSeconds (${s.leaseDurationSeconds}) must be an integer longer than the renewal interval (${s.leaseRenewMs} ms)`);
  }
  const { min, max } = s.podStartupDelayMs;
  if (!(min >= 0 && max >= min && Number.isFinite(max))) throw invalid(`podStartupDelayMs must satisfy 0 <= min <= max, got ${min}..${max}`);
  if (!Number.isInteger(s.writesInFlightMax) || s.writesInFlightMax < 1) throw invalid(`writesInFlightMax must be a positive integer, got ${s.writesInFlightMax}`);
}
