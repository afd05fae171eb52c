/**
 * The node lifecycle controller (Kubernetes' NodeLifecycleController with its
 * NoExecute taint manager):
 *  - watches nodes, their Leases in kube-node-lease and pods;
 *  - every `nodeMonitorPeriodMs` judges each node (node-health.ts), each
 *    zone's disruption (disruption.ts), and queues newly unhealthy nodes for
 *    a NoExecute taint; every `evictionPassMs` hands out the rate-limited
 *    permissions to taint (taint-queue.ts);
 *  - `sync(node)` is level-triggered and idempotent: Ready=Unknown for a
 *    silent node, the not-ready / unreachable taints, Ready=False on the
 *    node's pods once when it stops being Ready, and deletion of every pod
 *    whose toleration of the node's NoExecute taints has run out.
 *
 * The monitor pass only decides; every write happens in `sync`, on a worker.
 */
import type { Lease } from '../../../proto/k8s/coordination-v1.js';
import type { Node, Pod } from '../../../proto/k8s/core-v1.js';
import { isConflict, isNotFound, Resources, type ApiClient } from '../../client/api-client.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Informer, keyOf } from '../../client/informer.js';
import { runWorkers, WorkQueue } from '../../client/work-queue.js';
import type { EventSink } from '../../client/events/event-recorder.js';
import { countsAsReady, type EvictionRates, type ZoneCounts, zoneOf } from './disruption.js';
import { NodeLifecycleError, NodeLifecycleErrorCode } from './errors.js';
import { conditionOf, judgeReadiness, leaseRenewTime, NodeConditionType, ProbeTracker, silentNodeConditions, type GracePeriods, type Readiness } from './node-health.js';
import { PodsByNode } from './pods-by-node.js';
import { NoExecuteTaintQueue, type ZoneChange } from './taint-queue.js';
import { evictionDeadlineMs, planReadinessTaints, type NoExecuteTaint, type TaintContext } from './taints.js';

/** The kubelet renews its Lease here, named after the node. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLifecycleConfig extends GracePeriods, EvictionRates {
  /** How often every node and zone is judged (Kubernetes' node-monitor-period). */
  readonly nodeMonitorPeriodMs: number;
  /** How often queued nodes get their tokens (Kubernetes' NodeEvictionPeriod). */
  readonly evictionPassMs: number;
  readonly workers: number;
}

/** kube-controller-manager's defaults (node-monitor-grace-period 40 s, node-startup-grace-period 60 s, eviction 0.1 / 0.01 nodes/s, threshold 0.55, large cluster 50). */
export const NODE_LIFECYCLE_DEFAULTS: NodeLifecycleConfig = {
  nodeMonitorGracePeriodMs: 40_000,
  nodeStartupGracePeriodMs: 60_000,
  nodeMonitorPeriodMs: 5_000,
  evictionPassMs: 100,
  evictionRate: 0.1,
  secondaryEvictionRate: 0.01,
  unhealthyZoneThreshold: 0.55,
  largeClusterSize: 50,
  // Node syncs are mostly cache reads; a few workers keep one slow API call from holding up the rest.
  workers: 4,
};

export interface NodeLifecycleControllerOptions extends Partial<NodeLifecycleConfig> {
  readonly client: ApiClient;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  /** Where node and eviction events go (optional). */
  readonly recorder?: EventSink;
}

export class NodeLifecycleController {
  readonly config: NodeLifecycleConfig;
  private readonly client: ApiClient;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly recorder: EventSink | undefined;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private readonly probes = new ProbeTracker();
  private readonly taintQueue: NoExecuteTaintQueue;
  private readonly podsByNode = new PodsByNode();
  /** Per node, per NoExecute taint: when we first saw it (our clock). */
  private readonly noExecuteSeenMs = new Map<string, Map<string, number>>();
  /** Nodes whose pods were already marked not ready since they stopped being Ready (done once, so we never fight a live kubelet). */
  private readonly podsMarkedNotReady = new Set<string>();
  private readonly cancelTimers: Array<() => void> = [];
  private stopped = false;

  constructor(o: NodeLifecycleControllerOptions) {
    const { client, clock, log, recorder, ...overrides } = o;
    this.config = checkConfig({ ...NODE_LIFECYCLE_DEFAULTS, ...definedOnly(overrides) });
    this.client = client;
    this.clock = clock ?? realClock;
    this.log = log ?? (() => {});
    this.recorder = recorder;
    this.queue = new WorkQueue(this.clock);
    this.taintQueue = new NoExecuteTaintQueue(this.config);
    const informerOptions = { clock: this.clock, log: this.log };
    this.nodes = new Informer<Node>(client, Resources.Nodes, informerOptions);
    this.leases = new Informer<Lease>(client, Resources.Leases, { ...informerOptions, namespace: NODE_LEASE_NAMESPACE });
    this.pods = new Informer<Pod>(client, Resources.Pods, informerOptions);
    this.addHandlers();
  }

  /** Runs until `signal` aborts; after that it writes nothing. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.stopped) return;
    const stop = (): void => this.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const informer of [this.nodes, this.leases, this.pods]) informer.start();
      if (!(await syncedOrAborted([this.nodes, this.leases, this.pods], signal))) return;
      this.monitor();
      this.cancelTimers.push(every(this.clock, this.config.nodeMonitorPeriodMs, () => this.monitor()));
      this.cancelTimers.push(every(this.clock, this.config.evictionPassMs, () => this.grantTaints()));
      await runWorkers(this.queue, this.config.workers, (key) => this.sync(key), (key, err) => this.onSyncError(key, err));
    } finally {
      signal.removeEventListener('abort', stop);
      this.stop();
    }
  }

  /** Brings one node (named `key`) and its pods in line with its health. Idempotent. */
  async sync(key: string): Promise<void> {
    if (this.stopped) return;
    const node = this.nodes.getByKey(key);
    if (node === undefined) return this.forgetNode(key);
    this.observe(key);
    const nowMs = this.clock.nowMs();
    const readiness = this.judge(node, nowMs);
    const afterStatus = await this.maybeMarkUnknown(node, readiness, nowMs);
    const afterTaints = await this.maybeUpdateTaints(afterStatus, readiness, nowMs);
    await this.maybeMarkPodsNotReady(key, readiness, nowMs);
    await this.evictPods(afterTaints, nowMs);
  }

  private addHandlers(): void {
    this.nodes.addHandlers({
      onAdd: (node) => this.noteNode(node),
      onUpdate: (_old, node) => this.noteNode(node),
      onDelete: (node) => this.queue.add(keyOf(node)),
    });
    this.leases.addHandlers({ onAdd: (lease) => this.noteLease(lease), onUpdate: (_old, lease) => this.noteLease(lease) });
    this.pods.addHandlers({
      onAdd: (pod) => this.notePod(pod),
      onUpdate: (_old, pod) => this.notePod(pod),
      onDelete: (pod) => {
        const node = this.podsByNode.remove(pod);
        if (node !== undefined) this.queue.add(node);
      },
    });
  }

  private noteNode(node: Node): void {
    this.observe(keyOf(node));
    this.queue.add(keyOf(node));
  }

  private noteLease(lease: Lease): void {
    const name = lease.metadata.name ?? '';
    if (this.nodes.getByKey(name) === undefined) return; // the node's own add observes it
    this.observe(name);
    this.queue.add(name);
  }

  private notePod(pod: Pod): void {
    for (const node of this.podsByNode.put(pod, this.clock.nowMs())) if (node !== '') this.queue.add(node);
  }

  /** Notes the node's current heartbeat and lease renewal (a change is a sign of life, timed by our clock). */
  private observe(name: string): void {
    const node = this.nodes.getByKey(name);
    if (node === undefined) return;
    const heartbeat = conditionOf(node, NodeConditionType.Ready)?.lastHeartbeatTime;
    this.probes.observe(name, heartbeat, leaseRenewTime(this.leases.get(NODE_LEASE_NAMESPACE, name)), this.clock.nowMs());
  }

  private judge(node: Node, nowMs: number): Readiness {
    return judgeReadiness(node, this.probes.silentForMs(keyOf(node), nowMs), this.config);
  }

  private taintContext(name: string, nowMs: number): TaintContext {
    return { fullyDisrupted: this.taintQueue.isFullyDisrupted(), granted: this.taintQueue.isGranted(name), nowIso: isoSeconds(nowMs) };
  }

  /**
   * The monitor pass: judges every node and zone in one go, so zone states and
   * the taint queue never disagree (a half-judged cluster could look healthy
   * enough to evict while it is in fact entirely cut off). No API calls.
   */
  private monitor(): void {
    if (this.stopped) return;
    const nowMs = this.clock.nowMs();
    const counts = new Map<string, ZoneCounts>();
    const judged: Array<{ node: Node; zone: string; readiness: Readiness }> = [];
    for (const node of this.nodes.list()) {
      this.observe(keyOf(node));
      const readiness = this.judge(node, nowMs);
      const zone = zoneOf(node);
      const c = counts.get(zone) ?? { ready: 0, notReady: 0 };
      if (countsAsReady(readiness.status)) c.ready++;
      else c.notReady++;
      counts.set(zone, c);
      judged.push({ node, zone, readiness });
    }
    this.reportDisruption(this.taintQueue.updateZones(counts, nowMs), nowMs);
    for (const { node, zone, readiness } of judged) {
      const name = keyOf(node);
      const plan = planReadinessTaints(node.spec?.taints ?? [], readiness.status, this.taintContext(name, nowMs));
      if (plan.needsGrant) this.taintQueue.want(name, zone);
      else if (!plan.addsNoExecute) this.taintQueue.drop(name);
      this.queue.add(name);
    }
  }

  private reportDisruption(change: ZoneChange, nowMs: number): void {
    if (change.enteredFullDisruption) {
      this.log('node lifecycle: every node is not ready; assuming the control plane is cut off and evicting nothing');
    }
    if (change.leftFullDisruption) {
      // Nodes could not reach us while we were cut off: give each a fresh grace period before judging it silent.
      this.probes.restartAll(nowMs);
      this.log('node lifecycle: some nodes are ready again; evicting at the normal rates');
    }
  }

  private grantTaints(): void {
    if (this.stopped) return;
    for (const node of this.taintQueue.grant(this.clock.nowMs())) this.queue.add(node);
  }

  private async maybeMarkUnknown(node: Node, readiness: Readiness, nowMs: number): Promise<Node> {
    if (!readiness.silent) return node;
    const conditions = silentNodeConditions(node, isoSeconds(nowMs));
    if (conditions === undefined) return node;
    this.mustBeRunning();
    const updated = await this.client.update<Node>(Resources.Nodes, undefined, { ...node, status: { ...node.status, conditions } }, 'status');
    const name = keyOf(node);
    this.log(`node ${name}: no heartbeat or lease renewal for ${this.probes.silentForMs(name, nowMs)} ms; conditions set to Unknown`);
    this.recorder?.event(updated, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    return updated;
  }

  private async maybeUpdateTaints(node: Node, readiness: Readiness, nowMs: number): Promise<Node> {
    const name = keyOf(node);
    const plan = planReadinessTaints(node.spec?.taints ?? [], readiness.status, this.taintContext(name, nowMs));
    if (!plan.addsNoExecute) this.taintQueue.consume(name);
    if (!plan.changed) return node;
    this.mustBeRunning();
    const updated = await this.client.update<Node>(Resources.Nodes, undefined, { ...node, spec: { ...node.spec, taints: plan.taints } });
    if (plan.addsNoExecute) this.taintQueue.consume(name);
    this.log(`node ${name}: taints now [${plan.taints.map((t) => `${t.key}:${t.effect}`).join(', ')}]`);
    return updated;
  }

  /** Kubernetes' MarkPodsNotReady, once per not-ready spell (a live kubelet owns its pods' readiness after that). */
  private async maybeMarkPodsNotReady(name: string, readiness: Readiness, nowMs: number): Promise<void> {
    if (readiness.status === 'True') this.podsMarkedNotReady.delete(name);
    if (readiness.status === 'True' || readiness.status === undefined || this.podsMarkedNotReady.has(name)) return;
    for (const pod of this.podsOn(name)) await this.markPodNotReady(pod, nowMs);
    this.podsMarkedNotReady.add(name);
  }

  private async markPodNotReady(pod: Pod, nowMs: number): Promise<void> {
    const conditions = pod.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready === undefined || ready.status === 'False') return;
    const next = conditions.map((c) => (c === ready ? { ...c, status: 'False' as const, lastTransitionTime: isoSeconds(nowMs) } : c));
    this.mustBeRunning();
    try {
      await this.client.update<Pod>(Resources.Pods, pod.metadata.namespace, { ...pod, status: { ...pod.status, conditions: next } }, 'status');
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.recorder?.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
  }

  /** The taint manager: deletes pods whose tolerations ran out; wakes up again when the next one runs out. */
  private async evictPods(node: Node, nowMs: number): Promise<void> {
    const name = keyOf(node);
    const taints = this.trackNoExecute(node, nowMs);
    if (taints.length === 0) return;
    let nextMs = Infinity;
    for (const pod of this.podsOn(name)) {
      if (pod.metadata.deletionTimestamp !== undefined) continue;
      const podSeenMs = this.podsByNode.seenMs(keyOf(pod)) ?? nowMs;
      const exposure = taints.map(({ taint, sinceMs }) => ({ taint, sinceMs: Math.max(sinceMs, podSeenMs) }));
      const deadlineMs = evictionDeadlineMs(pod.spec?.tolerations, exposure);
      if (deadlineMs <= nowMs) await this.evict(pod);
      else nextMs = Math.min(nextMs, deadlineMs);
    }
    // The queue keeps the soonest of several wake-ups per node; a wake-up that finds nothing to do is harmless.
    if (Number.isFinite(nextMs)) this.queue.addAfter(name, nextMs - nowMs);
  }

  /** The node's NoExecute taints with when we first saw each; forgets the ones that are gone. */
  private trackNoExecute(node: Node, nowMs: number): NoExecuteTaint[] {
    const name = keyOf(node);
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    const before = this.noExecuteSeenMs.get(name) ?? new Map<string, number>();
    const after = new Map<string, number>();
    const out: NoExecuteTaint[] = [];
    for (const taint of taints) {
      const id = `${taint.key}=${taint.value ?? ''}`;
      const sinceMs = before.get(id) ?? nowMs;
      after.set(id, sinceMs);
      out.push({ taint, sinceMs });
    }
    if (after.size === 0) this.noExecuteSeenMs.delete(name);
    else this.noExecuteSeenMs.set(name, after);
    return out;
  }

  private async evict(pod: Pod): Promise<void> {
    const ref = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    this.mustBeRunning();
    try {
      await this.client.delete(Resources.Pods, pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid ?? '' } });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return; // already gone, or a new pod of the same name
      throw err;
    }
    this.log(`node ${pod.spec.nodeName ?? ''}: evicted pod ${ref} (its toleration of the node's NoExecute taints ran out)`);
    this.recorder?.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ref}`);
  }

  private podsOn(node: string): Pod[] {
    const pods: Pod[] = [];
    for (const key of this.podsByNode.keysOn(node)) {
      const pod = this.pods.getByKey(key);
      if (pod !== undefined && pod.spec?.nodeName === node) pods.push(pod);
    }
    return pods;
  }

  private forgetNode(name: string): void {
    this.probes.forget(name);
    this.taintQueue.drop(name);
    this.noExecuteSeenMs.delete(name);
    this.podsMarkedNotReady.delete(name);
  }

  private mustBeRunning(): void {
    if (this.stopped) throw new NodeLifecycleError(NodeLifecycleErrorCode.Stopped, 'node lifecycle controller stopped; not writing');
  }

  private onSyncError(key: string, err: unknown): void {
    if (this.stopped) return;
    this.log(`node lifecycle: sync of node ${key} failed (retrying with back-off): ${err instanceof Error ? err.message : String(err)}`);
  }

  private stop(): void {
    this.stopped = true;
    this.queue.shutDown();
    for (const informer of [this.nodes, this.leases, this.pods]) informer.stop();
    for (const cancel of this.cancelTimers.splice(0)) cancel();
  }
}

function checkConfig(c: NodeLifecycleConfig): NodeLifecycleConfig {
  const bad = (field: string, value: number, rule: string): never => {
    throw new NodeLifecycleError(NodeLifecycleErrorCode.InvalidConfig, `${field} is ${value}; it must be ${rule}`);
  };
  for (const field of ['nodeMonitorGracePeriodMs', 'nodeStartupGracePeriodMs', 'nodeMonitorPeriodMs', 'evictionPassMs'] as const) {
    if (!(Number.isFinite(c[field]) && c[field] > 0)) bad(field, c[field], 'a finite number > 0');
  }
  for (const field of ['evictionRate', 'secondaryEvictionRate', 'largeClusterSize'] as const) {
    if (!(Number.isFinite(c[field]) && c[field] >= 0)) bad(field, c[field], 'a finite number >= 0');
  }
  if (!(c.unhealthyZoneThreshold > 0 && c.unhealthyZoneThreshold <= 1)) bad('unhealthyZoneThreshold', c.unhealthyZoneThreshold, 'in (0, 1]');
  if (!(Number.isInteger(c.workers) && c.workers >= 1)) bad('workers', c.workers, 'an integer >= 1');
  return c;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Calls `fn` every `periodMs` until the returned function is called. */
function every(clock: Clock, periodMs: number, fn: () => void): () => void {
  let cancel = clock.after(periodMs, tick);
  function tick(): void {
    fn();
    cancel = clock.after(periodMs, tick);
  }
  return () => cancel();
}

/** Resolves true once every informer has listed, false if `signal` aborts first. */
async function syncedOrAborted(informers: readonly { readonly synced: Promise<void> }[], signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort = (): void => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([Promise.all(informers.map((i) => i.synced)), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return !signal.aborted;
}

/** RFC 3339 with whole seconds, as Kubernetes' metav1.Time. */
function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
