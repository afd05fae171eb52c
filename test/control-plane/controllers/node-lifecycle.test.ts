/**
 * The node lifecycle controller against the in-memory API and a fake clock:
 * a node that stops renewing its Lease is judged silent by OUR clock after the
 * grace period (Ready=Unknown, unreachable taints), pods leave when their
 * toleration of the NoExecute taint runs out, taints go when the node is back,
 * eviction is rate-limited per zone, and nothing is evicted when every node
 * is silent at once (the control plane is the likelier culprit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Lease } from '../../../proto/k8s/coordination-v1.js';
import type { Node, Pod, Taint, Toleration } from '../../../proto/k8s/core-v1.js';
import { PatchType, Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import {
  NODE_LEASE_NAMESPACE,
  NodeLifecycleController,
  type NodeLifecycleControllerOptions,
} from '../../../control-plane/controllers/node-lifecycle/node-lifecycle-controller.js';
import { NodeLifecycleError } from '../../../control-plane/controllers/node-lifecycle/errors.js';
import { EventRecorder } from '../../../control-plane/client/events/event-recorder.js';
import type { Event } from '../../../proto/k8s/core-v1.js';
import { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE } from '../../../control-plane/controllers/node-lifecycle/taints.js';

const GRACE_MS = 40_000;
/** How often the fake kubelets renew their leases (the kubelet's default: a quarter of the 40 s lease). */
const RENEW_EVERY_S = 10;

/** Lets every promise chain started so far run to its end (the fake API answers without timers). */
async function settle(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function nodeObject(name: string, nowMs: number, labels: Record<string, string> = {}): Node {
  const heartbeat = new Date(nowMs).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat }] },
  };
}

function podObject(name: string, node: string, tolerations: Toleration[] = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }], tolerations },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const tolerateUnreachable = (seconds?: number): Toleration => ({
  key: TAINT_NODE_UNREACHABLE,
  operator: 'Exists',
  effect: 'NoExecute',
  ...(seconds === undefined ? {} : { tolerationSeconds: seconds }),
});

class Cluster {
  readonly clock = new FakeClock();
  readonly client = new FakeApiClient(this.clock);
  readonly logs: string[] = [];
  readonly silent = new Set<string>();
  /** Fake seconds since the start; kubelets renew every RENEW_EVERY_S of them. */
  private seconds = 0;
  private readonly abort = new AbortController();
  controller!: NodeLifecycleController;
  running!: Promise<void>;

  constructor(readonly nodeNames: readonly string[], labels: (name: string) => Record<string, string> = () => ({})) {
    for (const name of nodeNames) {
      this.client.seed(Resources.Nodes, nodeObject(name, this.clock.nowMs(), labels(name)));
      const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NODE_LEASE_NAMESPACE }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: isoMicro(this.clock.nowMs()) } };
      this.client.seed(Resources.Leases, lease);
    }
  }

  async start(o: Partial<NodeLifecycleControllerOptions> = {}): Promise<void> {
    this.controller = new NodeLifecycleController({ client: this.client, clock: this.clock, log: (line) => this.logs.push(line), ...o });
    this.running = this.controller.run(this.abort.signal);
    await settle();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Advances the fake clock one second at a time; kubelets of nodes not silent renew their leases. */
  async advanceSeconds(n: number, each: () => void = () => {}): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.seconds++;
      if (this.seconds % RENEW_EVERY_S === 0) {
        for (const name of this.nodeNames) if (!this.silent.has(name)) await this.renew(name);
      }
      this.clock.advance(1000);
      await settle();
      each();
    }
  }

  async renew(name: string): Promise<void> {
    await this.client.patch(Resources.Leases, NODE_LEASE_NAMESPACE, name, PatchType.Merge, { spec: { renewTime: isoMicro(this.clock.nowMs()) } });
  }

  /** The kubelet posts its Ready condition (with a fresh heartbeat). */
  async postReady(name: string, status: 'True' | 'False'): Promise<void> {
    const node = await this.client.get<Node>(Resources.Nodes, undefined, name);
    const now = new Date(this.clock.nowMs()).toISOString();
    const others = (node.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
    const ready = { type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady', lastHeartbeatTime: now, lastTransitionTime: now };
    await this.client.update(Resources.Nodes, undefined, { ...node, status: { ...node.status, conditions: [...others, ready] } }, 'status');
  }

  node(name: string): Node {
    const found = this.client.all(Resources.Nodes).find((n) => n.metadata.name === name);
    if (found === undefined) throw new Error(`no node ${name}`);
    return found as Node;
  }

  ready(name: string): string | undefined {
    return this.node(name).status?.conditions?.find((c) => c.type === 'Ready')?.status;
  }

  taints(name: string): string[] {
    return ((this.node(name).spec?.taints ?? []) as Taint[]).map((t) => `${t.key}:${t.effect}`).sort();
  }

  podNames(): string[] {
    return this.client.all(Resources.Pods).map((p) => p.metadata.name ?? '').sort();
  }

  addPod(pod: Pod): void {
    this.client.seed(Resources.Pods, pod);
  }
}

let cluster: Cluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('node health, judged by our own clock', () => {
  it('keeps a renewing node Ready; a silent one becomes Unknown and unreachable only after the grace period', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    await c.start();
    c.silent.add('n1');
    await c.advanceSeconds(GRACE_MS / 1000 - 5);
    expect(c.ready('n1')).toBe('True');
    expect(c.taints('n1')).toEqual([]);
    await c.advanceSeconds(11);
    const ready = c.node('n1').status?.conditions?.find((cond) => cond.type === 'Ready');
    expect(ready).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(c.taints('n1')).toEqual([`${TAINT_NODE_UNREACHABLE}:NoExecute`, `${TAINT_NODE_UNREACHABLE}:NoSchedule`]);
    expect(c.ready('n2')).toBe('True');
    expect(c.taints('n2')).toEqual([]);
  });

  it('never compares the node clock with ours: a lease stamped in the past that keeps changing is healthy, a future stamp that stops is not', async () => {
    const c = (cluster = new Cluster(['skewed-slow', 'skewed-fast', 'n3']));
    await c.start();
    c.silent.add('skewed-slow');
    c.silent.add('skewed-fast');
    const stamp = (ms: number): Promise<unknown> =>
      c.client.patch(Resources.Leases, NODE_LEASE_NAMESPACE, 'skewed-slow', PatchType.Merge, { spec: { renewTime: isoMicro(ms) } });
    await c.client.patch(Resources.Leases, NODE_LEASE_NAMESPACE, 'skewed-fast', PatchType.Merge, { spec: { renewTime: isoMicro(c.clock.nowMs() + 3_600_000) } });
    const yearAgoMs = c.clock.nowMs() - 365 * 24 * 3_600_000;
    for (let s = 1; s <= 12; s++) {
      await c.advanceSeconds(10);
      await stamp(yearAgoMs + s * 10_000);
    }
    expect(c.ready('skewed-slow')).toBe('True');
    expect(c.ready('skewed-fast')).toBe('Unknown');
  });

  it('taints a node that reports Ready=False not-ready, marks its pods not ready, and untaints it when Ready again', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    c.addPod(podObject('web', 'n1', [{ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]));
    await c.start();
    await c.postReady('n1', 'False');
    await c.advanceSeconds(6);
    expect(c.taints('n1')).toEqual([`${TAINT_NODE_NOT_READY}:NoExecute`, `${TAINT_NODE_NOT_READY}:NoSchedule`]);
    const pod = c.client.all(Resources.Pods)[0] as Pod;
    expect(pod.status?.conditions?.find((cond) => cond.type === 'Ready')?.status).toBe('False');
    await c.postReady('n1', 'True');
    await c.advanceSeconds(6);
    expect(c.taints('n1')).toEqual([]);
    expect(c.podNames()).toEqual(['web']);
  });

  it('removes the taints when a silent node comes back, and keeps taints it does not own', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    const own: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
    const node = c.node('n1');
    await c.client.update(Resources.Nodes, undefined, { ...node, spec: { taints: [own] } });
    await c.start();
    c.silent.add('n1');
    await c.advanceSeconds(50);
    expect(c.taints('n1')).toEqual(['dedicated:NoSchedule', `${TAINT_NODE_UNREACHABLE}:NoExecute`, `${TAINT_NODE_UNREACHABLE}:NoSchedule`]);
    c.silent.delete('n1');
    await c.postReady('n1', 'True');
    await c.renew('n1');
    await c.advanceSeconds(6);
    expect(c.ready('n1')).toBe('True');
    expect(c.taints('n1')).toEqual(['dedicated:NoSchedule']);
  });
});

describe('taint-based eviction', () => {
  it('evicts each pod when its toleration of the unreachable taint runs out', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    c.addPod(podObject('no-toleration', 'n1'));
    c.addPod(podObject('tolerates-not-ready-only', 'n1', [{ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]));
    c.addPod(podObject('tolerates-300s', 'n1', [tolerateUnreachable(300)]));
    c.addPod(podObject('tolerates-forever', 'n1', [tolerateUnreachable()]));
    c.addPod(podObject('on-healthy-node', 'n2'));
    await c.start();
    c.silent.add('n1');
    let taintedAtS: number | undefined;
    let second = 0;
    await c.advanceSeconds(50, () => {
      second++;
      if (taintedAtS === undefined && c.taints('n1').includes(`${TAINT_NODE_UNREACHABLE}:NoExecute`)) taintedAtS = second;
    });
    expect(taintedAtS).toBeDefined();
    expect(c.podNames()).toEqual(['on-healthy-node', 'tolerates-300s', 'tolerates-forever']);
    const remainingS = 300 - (50 - (taintedAtS ?? 0));
    await c.advanceSeconds(remainingS - 2);
    expect(c.podNames()).toContain('tolerates-300s');
    await c.advanceSeconds(3);
    expect(c.podNames()).toEqual(['on-healthy-node', 'tolerates-forever']);
    await c.advanceSeconds(600);
    expect(c.podNames()).toEqual(['on-healthy-node', 'tolerates-forever']);
  });

  it('gives a pod bound to an already tainted node its whole toleration from when it arrived', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    await c.start();
    c.silent.add('n1');
    await c.advanceSeconds(100);
    expect(c.taints('n1')).toContain(`${TAINT_NODE_UNREACHABLE}:NoExecute`);
    c.addPod(podObject('late', 'n1', [tolerateUnreachable(60)]));
    await c.advanceSeconds(58);
    expect(c.podNames()).toEqual(['late']);
    await c.advanceSeconds(3);
    expect(c.podNames()).toEqual([]);
  });

  it('limits how many nodes per second are tainted NoExecute (0.1 nodes/s, burst 1)', async () => {
    const names = Array.from({ length: 100 }, (_, i) => `node-${String(i).padStart(3, '0')}`);
    const c = (cluster = new Cluster(names));
    const silent = names.slice(0, 30);
    for (const name of silent) c.addPod(podObject(`pod-of-${name}`, name));
    await c.start();
    for (const name of silent) c.silent.add(name);
    const evictedBySecond: number[] = [];
    await c.advanceSeconds(150, () => evictedBySecond.push(30 - c.podNames().filter((p) => p.startsWith('pod-of-')).length));
    const first = evictedBySecond.findIndex((n) => n > 0);
    expect(first).toBeGreaterThan(GRACE_MS / 1000 - 1);
    evictedBySecond.forEach((n, s) => {
      const allowed = s < first ? 0 : 1 + Math.floor(0.1 * (s - first));
      expect(n, `after ${s + 1} s`).toBeLessThanOrEqual(allowed);
    });
    expect(evictedBySecond.at(-1)).toBeGreaterThanOrEqual(9);
    // Every silent node is tainted NoSchedule at once; only NoExecute waits for its turn.
    for (const name of silent) expect(c.taints(name)).toContain(`${TAINT_NODE_UNREACHABLE}:NoSchedule`);
  });

  it('slows to the secondary rate (0.01 nodes/s) when more than 55% of a large zone is unhealthy', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `node-${String(i).padStart(3, '0')}`);
    const c = (cluster = new Cluster(names));
    const silent = names.slice(0, 40);
    for (const name of silent) c.addPod(podObject(`pod-of-${name}`, name));
    await c.start();
    for (const name of silent) c.silent.add(name);
    await c.advanceSeconds(45 + 150);
    const evicted = 40 - c.podNames().length;
    // 150 s at 0.01 nodes/s after the zone's bucket starts full: 1 + 1.
    expect(evicted).toBeGreaterThanOrEqual(1);
    expect(evicted).toBeLessThanOrEqual(3);
  });

  it('evicts nothing when every node goes silent (full disruption), and resumes once a node is back', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    for (const name of c.nodeNames) c.addPod(podObject(`pod-of-${name}`, name));
    await c.start();
    for (const name of c.nodeNames) c.silent.add(name);
    await c.advanceSeconds(600);
    expect(c.podNames()).toEqual(['pod-of-n1', 'pod-of-n2', 'pod-of-n3']);
    for (const name of c.nodeNames) {
      expect(c.ready(name)).toBe('Unknown');
      expect(c.taints(name)).toEqual([`${TAINT_NODE_UNREACHABLE}:NoSchedule`]);
    }
    expect(c.logs.some((l) => l.includes('evicting nothing'))).toBe(true);
    c.silent.delete('n3');
    await c.postReady('n3', 'True');
    await c.renew('n3');
    await c.advanceSeconds(60);
    expect(c.podNames()).toEqual(['pod-of-n3']);
  });

  it('stops evicting in a small zone that is partially disrupted (below largeClusterSize the rate is 0)', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
    const c = (cluster = new Cluster(names));
    for (const name of names.slice(0, 6)) c.addPod(podObject(`pod-of-${name}`, name));
    await c.start();
    for (const name of names.slice(0, 6)) c.silent.add(name);
    await c.advanceSeconds(300);
    expect(c.podNames()).toHaveLength(6);
  });

  it('judges zones separately: a dead zone is evicted while the others are healthy', async () => {
    const names = ['a1', 'a2', 'b1', 'b2'];
    const c = (cluster = new Cluster(names, (name) => ({ 'topology.kubernetes.io/zone': name.slice(0, 1) })));
    for (const name of names) c.addPod(podObject(`pod-of-${name}`, name));
    await c.start();
    c.silent.add('a1');
    c.silent.add('a2');
    await c.advanceSeconds(60);
    expect(c.podNames()).toEqual(['pod-of-b1', 'pod-of-b2']);
  });
});

describe('events', () => {
  it('tells users why a node went NotReady and why its pods were deleted', async () => {
    const c = (cluster = new Cluster(['n1', 'n2', 'n3']));
    c.addPod(podObject('p', 'n1'));
    const recorder = new EventRecorder({ client: c.client, clock: c.clock, component: 'node-controller' });
    await c.start({ recorder });
    c.silent.add('n1');
    await c.advanceSeconds(50);
    await recorder.flush();
    const events = c.client.all(Resources.Events) as Event[];
    const about = (kind: string, name: string): string[] => events.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name).map((e) => e.reason ?? '');
    expect(about('Node', 'n1')).toEqual(['NodeNotReady']);
    expect(about('Pod', 'p').sort()).toEqual(['NodeNotReady', 'TaintManagerEviction']);
  });
});

describe('running and stopping', () => {
  it('writes nothing after run() is aborted', async () => {
    const c = new Cluster(['n1', 'n2', 'n3']);
    c.addPod(podObject('p', 'n1'));
    await c.start();
    c.silent.add('n1');
    await c.advanceSeconds(20);
    await c.stop();
    const writes = (): number => c.client.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch' && a.plural !== 'leases').length;
    const before = writes();
    await c.advanceSeconds(400);
    expect(writes()).toBe(before);
    expect(c.ready('n1')).toBe('True');
    expect(c.podNames()).toEqual(['p']);
  });

  it('rejects a configuration it cannot honour with a typed error naming the value', () => {
    const client = new FakeApiClient();
    expect(() => new NodeLifecycleController({ client, nodeMonitorGracePeriodMs: 0 })).toThrow(NodeLifecycleError);
    expect(() => new NodeLifecycleController({ client, unhealthyZoneThreshold: 1.5 })).toThrow(/unhealthyZoneThreshold is 1.5/);
  });
});
