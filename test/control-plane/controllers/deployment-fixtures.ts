/**
 * A tiny cluster for the Deployment suites: the fake API, a fake clock, the
 * ReplicaSet and Deployment controllers running with workers, and a kubelet
 * stand-in that binds each new pod to a node and marks it Running and Ready
 * (Ready condition with lastTransitionTime) `readyAfterMs` of fake time after
 * it first saw it. Time moves only in `step()`, so a run is deterministic.
 */
import type { Deployment, DeploymentSpec, ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { IntOrString, Pod } from '../../../proto/k8s/core-v1.js';
import { PatchType, Resources } from '../../../control-plane/client/api-client.js';
import type { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { controllerRefOf, formatTime, isPodAvailable } from '../../../control-plane/controllers/controller-utils.js';
import { DeploymentController } from '../../../control-plane/controllers/deployment/deployment-controller.js';
import { ReplicaSetController } from '../../../control-plane/controllers/replicaset/replicaset-controller.js';
import { NS, settle, start, START_MS, TestClient, watchFromNow } from './replicaset-fixtures.js';

export interface DeploymentShape {
  readonly name?: string;
  readonly replicas: number;
  readonly image?: string;
  readonly strategy?: 'RollingUpdate' | 'Recreate';
  readonly maxSurge?: IntOrString;
  readonly maxUnavailable?: IntOrString;
  readonly minReadySeconds?: number;
  readonly revisionHistoryLimit?: number;
  readonly progressDeadlineSeconds?: number;
  readonly paused?: boolean;
}

export function newDeployment(o: DeploymentShape): Deployment {
  const name = o.name ?? 'web';
  const spec: DeploymentSpec = {
    replicas: o.replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: o.image ?? 'app:v1' }] } },
    strategy:
      o.strategy === 'Recreate'
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge ?? '25%', maxUnavailable: o.maxUnavailable ?? '25%' } },
  };
  if (o.minReadySeconds !== undefined) spec.minReadySeconds = o.minReadySeconds;
  if (o.revisionHistoryLimit !== undefined) spec.revisionHistoryLimit = o.revisionHistoryLimit;
  if (o.progressDeadlineSeconds !== undefined) spec.progressDeadlineSeconds = o.progressDeadlineSeconds;
  if (o.paused !== undefined) spec.paused = o.paused;
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS }, spec };
}

/** What `kubectl rollout status` waits for (rollout_status.go). */
export function rolloutComplete(d: Deployment): boolean {
  const s = d.status;
  if (s === undefined || (d.metadata.generation ?? 0) > (s.observedGeneration ?? 0)) return false;
  const replicas = d.spec.replicas ?? 1;
  return (s.updatedReplicas ?? 0) >= replicas && (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) && (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
}

/** Marks pods Running and Ready some fake time after it first saw them, as a node would. */
export class KubeletStandIn {
  private readonly seenAtMs = new Map<string, number>();
  private readonly ready = new Set<string>();

  constructor(
    private readonly fake: FakeApiClient,
    private readonly clock: FakeClock,
    /** Infinity: pods never become ready. */
    public readyAfterMs: number,
  ) {}

  async start(): Promise<void> {
    await watchFromNow<Pod>(this.fake, Resources.Pods, (e) => {
      const name = e.object.metadata.name ?? '';
      if (e.type === 'ADDED') this.seenAtMs.set(name, this.clock.nowMs());
      if (e.type === 'DELETED') {
        this.seenAtMs.delete(name);
        this.ready.delete(name);
      }
    });
  }

  /** Brings every due pod up. */
  async tick(): Promise<void> {
    const now = this.clock.nowMs();
    for (const [name, seen] of [...this.seenAtMs]) {
      if (this.ready.has(name) || seen + this.readyAfterMs > now) continue;
      this.ready.add(name);
      try {
        await this.fake.createSubresource(Resources.Pods, NS, name, 'binding', { target: { name: 'node-1' } });
        const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: formatTime(now) }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: '', imageID: '' }] };
        await this.fake.patch(Resources.Pods, NS, name, PatchType.Merge, { status }, 'status');
      } catch {
        // Deleted meanwhile: nothing to run.
      }
    }
  }
}

export interface ClusterOptions {
  readonly readyAfterMs?: number;
  readonly workers?: number;
  /** Event-loop turns watch events take to reach the controllers' informers (at most 4; see settle). */
  readonly watchLagTurns?: number;
  /** The controllers' log lines (sync errors, conflicts included). */
  readonly log?: (line: string) => void;
}

export class Cluster {
  readonly client: TestClient;
  readonly fake: FakeApiClient;
  readonly clock: FakeClock;
  readonly kubelet: KubeletStandIn;
  readonly rsc: ReplicaSetController;
  readonly dc: DeploymentController;
  private stops: (() => Promise<void>)[] = [];

  private constructor(o: ClusterOptions) {
    this.client = new TestClient(new FakeClock(START_MS), o.watchLagTurns ?? 0);
    this.fake = this.client.fake;
    this.clock = this.client.clock;
    this.kubelet = new KubeletStandIn(this.fake, this.clock, o.readyAfterMs ?? 2000);
    const common = { client: this.client, clock: this.clock, workers: o.workers ?? 2, ...(o.log === undefined ? {} : { log: o.log }) };
    this.rsc = new ReplicaSetController(common);
    this.dc = new DeploymentController(common);
  }

  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(o);
    await c.kubelet.start();
    c.stops.push((await start(c.rsc)).stop, (await start(c.dc)).stop);
    return c;
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) await stop();
  }

  /** The kubelet acts, time moves `ms`, and the controllers catch up. */
  async step(ms = 1000): Promise<void> {
    await this.kubelet.tick();
    await settle(this.fake);
    this.clock.advance(ms);
    await settle(this.fake);
  }

  /** Steps until `done()` or `maxSteps`; returns the steps taken, or throws. */
  async runUntil(done: () => boolean, maxSteps: number, what: string): Promise<number> {
    await settle(this.fake);
    for (let i = 0; i < maxSteps; i++) {
      if (done()) return i;
      await this.step();
    }
    if (done()) return maxSteps;
    throw new Error(`${what}: not reached after ${maxSteps} steps`);
  }

  deployment(name = 'web'): Deployment {
    return this.fake.all(Resources.Deployments, NS).find((d) => d.metadata.name === name) as Deployment;
  }

  replicaSets(): ReplicaSet[] {
    return this.fake.all(Resources.ReplicaSets, NS) as ReplicaSet[];
  }

  pods(): Pod[] {
    return this.fake.all(Resources.Pods, NS) as Pod[];
  }

  /** Pods that have not finished (terminating ones included): what occupies nodes. */
  livePods(): Pod[] {
    return this.pods().filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  }

  availablePods(minReadySeconds = 0): Pod[] {
    return this.pods().filter((p) => p.metadata.deletionTimestamp === undefined && isPodAvailable(p, minReadySeconds, this.clock.nowMs()));
  }

  /** The image each live pod runs, by the ReplicaSet that owns it. */
  imageOf(p: Pod): string {
    return p.spec.containers[0]?.image ?? '';
  }

  ownerName(p: Pod): string {
    return controllerRefOf(p)?.name ?? '';
  }

  async setImage(image: string, name = 'web'): Promise<void> {
    await this.fake.patch(Resources.Deployments, NS, name, PatchType.Strategic, { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
  }

  async patchSpec(spec: Partial<DeploymentSpec>, name = 'web'): Promise<void> {
    await this.fake.patch(Resources.Deployments, NS, name, PatchType.Merge, { spec });
  }
}
