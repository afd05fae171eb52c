/**
 * Test support for the ReplicaSet and Deployment controller suites:
 *  - `TestClient`: the FakeApiClient with deterministic generated names (so a
 *    seed replays exactly), watch events that can be held back (an informer
 *    that has not yet seen a write, for expectations), and a gate that can
 *    stall writes (a sync caught mid-flight by a shutdown);
 *  - builders for ReplicaSets and pods;
 *  - `settle()`: run every pending promise until the API is quiet.
 */
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import type { KubeObject, OwnerReference, Status } from '../../../proto/k8s/meta.js';
import type {
  ApiClient,
  DeleteOptions,
  ListOptions,
  ObjectList,
  PatchType,
  ResourceRef,
  WatchEvent,
  WatchOptions,
  WatchStream,
} from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { formatTime } from '../../../control-plane/controllers/controller-utils.js';

export const NS = 'default';
export const START_MS = 1_700_000_000_000;

export class TestClient implements ApiClient {
  readonly fake: FakeApiClient;
  private held: (() => void)[] | undefined;
  private nameSeq = 0;
  /** When set, every write waits for it before reaching the API. */
  writeGate: Promise<void> | undefined;
  /** Creates waiting at the gate now. */
  gatedCreates = 0;

  constructor(
    readonly clock: FakeClock = new FakeClock(START_MS),
    /** Event-loop turns each watch event waits before it reaches an informer (in order): caches lag the API. */
    private readonly watchLagTurns = 0,
  ) {
    this.fake = new FakeApiClient(clock);
  }

  /** Watch events wait (in order) until `releaseWatchEvents`: informers fall behind the API. */
  holdWatchEvents(): void {
    this.held ??= [];
  }

  releaseWatchEvents(): void {
    const pending = this.held ?? [];
    this.held = undefined;
    for (const deliver of pending) deliver();
  }

  get<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, name: string): Promise<T> {
    return this.fake.get<T>(r, ns, name);
  }

  list<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, o?: ListOptions): Promise<ObjectList<T>> {
    return this.fake.list<T>(r, ns, o);
  }

  watch<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchStream {
    const deliver = this.watchLagTurns > 0 ? lagged(onEvent, this.watchLagTurns) : onEvent;
    return this.fake.watch<T>(r, ns, o, (e) => (this.held === undefined ? deliver(e) : this.held.push(() => deliver(e))));
  }

  close(): Promise<void> {
    return this.fake.close();
  }

  async create<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, obj: T): Promise<T> {
    this.gatedCreates++;
    await this.writeGate;
    this.gatedCreates--;
    const named = obj.metadata.name === undefined && obj.metadata.generateName !== undefined ? { ...obj, metadata: { ...obj.metadata, name: `${obj.metadata.generateName}${String(++this.nameSeq).padStart(5, '0')}` } } : obj;
    return this.fake.create<T>(r, ns, named);
  }

  async update<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, obj: T, subresource?: 'status'): Promise<T> {
    await this.writeGate;
    return this.fake.update<T>(r, ns, obj, subresource);
  }

  async patch<T extends KubeObject = KubeObject>(r: ResourceRef, ns: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: 'status' | 'scale'): Promise<T> {
    await this.writeGate;
    return this.fake.patch<T>(r, ns, name, type, patch, subresource);
  }

  async delete(r: ResourceRef, ns: string | undefined, name: string, o?: DeleteOptions): Promise<KubeObject | Status> {
    await this.writeGate;
    return this.fake.delete(r, ns, name, o);
  }

  async createSubresource(r: ResourceRef, ns: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    await this.writeGate;
    return this.fake.createSubresource(r, ns, name, subresource, body);
  }
}

/** Delivers events `turns` event-loop turns late, in their order. */
function lagged<E>(deliver: (e: E) => void, turns: number): (e: E) => void {
  const pending: E[] = [];
  const later = async (): Promise<void> => {
    for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
    for (const e of pending.splice(0)) deliver(e);
  };
  return (e) => {
    pending.push(e);
    if (pending.length === 1) void later();
  };
}

/** Most event-loop turns `settle` waits for the API to go quiet; a controller busy past it is spinning. */
const SETTLE_TURNS_MAX = 2_000;
/** Turns without a new API call that count as quiet; more than any watch lag a test uses. */
const QUIET_TURNS = 6;

/** Lets every pending promise run until no API call happened for a few turns of the event loop. */
export async function settle(fake: FakeApiClient): Promise<void> {
  let quiet = 0;
  for (let turn = 0; turn < SETTLE_TURNS_MAX; turn++) {
    const before = fake.actions.length;
    await new Promise<void>((r) => setImmediate(r));
    quiet = fake.actions.length === before ? quiet + 1 : 0;
    if (quiet >= QUIET_TURNS) return;
  }
  throw new Error(`controllers still busy after ${SETTLE_TURNS_MAX} event-loop turns (${fake.actions.length} API calls so far)`);
}

/** Watches `r` from the API's current revision on (the fake replays older events; a test helper wants only what comes next). */
export async function watchFromNow<T extends KubeObject>(fake: FakeApiClient, r: ResourceRef, onEvent: (e: WatchEvent<T>) => void): Promise<void> {
  const now = await fake.list(r, undefined, { limit: 1 });
  fake.watch<T>(r, undefined, { resourceVersion: now.metadata.resourceVersion ?? '' }, onEvent);
}

/** Something with `run(signal)` and `whenSynced()`: starts it and returns how to stop it. */
export async function start(controller: { run(signal: AbortSignal): Promise<void>; whenSynced(): Promise<void> }): Promise<{ stop: () => Promise<void>; done: Promise<void> }> {
  const ac = new AbortController();
  const done = controller.run(ac.signal);
  await controller.whenSynced();
  return {
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

export interface ReplicaSetShape {
  readonly name: string;
  readonly replicas: number;
  readonly labels?: Record<string, string>;
  readonly minReadySeconds?: number;
  readonly image?: string;
}

export function newReplicaSet(o: ReplicaSetShape): ReplicaSet {
  const labels = o.labels ?? { app: o.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: o.name, namespace: NS },
    spec: {
      replicas: o.replicas,
      ...(o.minReadySeconds === undefined ? {} : { minReadySeconds: o.minReadySeconds }),
      selector: { matchLabels: { ...labels } },
      template: { metadata: { labels: { ...labels } }, spec: { containers: [{ name: 'c', image: o.image ?? 'nginx:1' }] } },
    },
  };
}

export interface PodShape {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly owner?: OwnerReference;
  readonly nodeName?: string;
  readonly phase?: 'Pending' | 'Running' | 'Unknown' | 'Succeeded' | 'Failed';
  /** Ready since this time (ms); absent: not ready. */
  readonly readySinceMs?: number;
  readonly restarts?: number;
  readonly createdMs?: number;
}

export function newPod(o: PodShape): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: NS, labels: { ...o.labels }, ...(o.owner === undefined ? {} : { ownerReferences: [o.owner] }) },
    spec: { containers: [{ name: 'c', image: 'nginx:1' }], ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }) },
    status: {
      phase: o.phase ?? (o.readySinceMs === undefined ? 'Pending' : 'Running'),
      conditions: o.readySinceMs === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: formatTime(o.readySinceMs) }],
      containerStatuses: [{ name: 'c', ready: o.readySinceMs !== undefined, restartCount: o.restarts ?? 0, image: 'nginx:1', imageID: '' }],
    },
  };
  if (o.createdMs !== undefined) pod.metadata.creationTimestamp = formatTime(o.createdMs);
  return pod;
}

/** The controllerRef a ReplicaSet stamps, for pods seeded as already owned. */
export function ownerRefTo(rs: KubeObject): OwnerReference {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name ?? '', uid: rs.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}
