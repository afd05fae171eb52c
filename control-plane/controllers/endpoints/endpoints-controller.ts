/**
 * The endpoints controller: for every Service with a selector, an Endpoints
 * object of the same name listing the selected pods' addresses (ready and
 * not ready) and ports. Services without a selector are left alone (their
 * Endpoints are the user's); when a Service goes, so do its Endpoints.
 *
 * Keys are Service keys (`namespace/name`). Pod changes enqueue the services
 * that select the pod (before and after the change); changes to Endpoints we
 * own enqueue their service, so an edit by hand is undone. `sync` compares
 * canonically and writes only when something changed.
 */
import type { Endpoints, Pod, Service } from '../../../proto/k8s/core-v1.js';
import { isAlreadyExists, isNotFound, Resources, type ApiClient } from '../../client/api-client.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Informer, keyOf, splitKey } from '../../client/informer.js';
import { runWorkers, WorkQueue } from '../../client/work-queue.js';
import { SelectorError, type LabelSelector } from '../../selectors/label-selector.js';
import { CLUSTER_IP_NONE } from '../../../proto/k8s/core-v1.js';
import { desiredSubsets, HEADLESS_SERVICE_LABEL, sameSubsets, serviceSelector } from './endpoints-model.js';

/** kube-controller-manager's --concurrent-endpoint-syncs. */
export const ENDPOINTS_WORKERS_DEFAULT = 5;

export interface EndpointsControllerOptions {
  readonly client: ApiClient;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
  readonly workers?: number;
}

export const EndpointsErrorCode = { Stopped: 'ENDPOINTS_STOPPED', InvalidConfig: 'ENDPOINTS_INVALID_CONFIG' } as const;
export type EndpointsErrorCode = (typeof EndpointsErrorCode)[keyof typeof EndpointsErrorCode];

export class EndpointsError extends Error {
  override readonly name = 'EndpointsError';
  constructor(
    readonly code: EndpointsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class EndpointsController {
  private readonly client: ApiClient;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly workers: number;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly queue: WorkQueue;
  private stopped = false;

  constructor(o: EndpointsControllerOptions) {
    this.client = o.client;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
    this.workers = o.workers ?? ENDPOINTS_WORKERS_DEFAULT;
    if (!(Number.isInteger(this.workers) && this.workers >= 1)) {
      throw new EndpointsError(EndpointsErrorCode.InvalidConfig, `workers is ${this.workers}; it must be an integer >= 1`);
    }
    this.queue = new WorkQueue(this.clock);
    const informerOptions = { clock: this.clock, log: this.log };
    this.services = new Informer<Service>(o.client, Resources.Services, informerOptions);
    this.pods = new Informer<Pod>(o.client, Resources.Pods, informerOptions);
    this.endpoints = new Informer<Endpoints>(o.client, Resources.Endpoints, informerOptions);
    this.addHandlers();
  }

  /** Runs until `signal` aborts; after that it writes nothing. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.stopped) return;
    const stop = (): void => this.stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const informer of this.informers()) informer.start();
      if (!(await syncedOrAborted(this.informers(), signal))) return;
      await runWorkers(this.queue, this.workers, (key) => this.sync(key), (key, err) => this.onSyncError(key, err));
    } finally {
      signal.removeEventListener('abort', stop);
      this.stop();
    }
  }

  /** Makes the Endpoints of service `namespace/name` match its pods. Idempotent. */
  async sync(key: string): Promise<void> {
    if (this.stopped) return;
    const { namespace, name } = splitKey(key);
    const service = this.services.getByKey(key);
    if (service === undefined) return this.deleteEndpoints(namespace, name);
    const selector = this.selectorOf(service);
    if (selector === undefined) return;
    const desired = desiredEndpoints(service, desiredSubsets(service, selector, this.pods.list(namespace)));
    const current = this.endpoints.getByKey(key);
    if (current !== undefined && sameEndpoints(current, desired)) return;
    await this.write(namespace, current, desired);
  }

  private informers(): Array<Informer<Service> | Informer<Pod> | Informer<Endpoints>> {
    return [this.services, this.pods, this.endpoints];
  }

  private addHandlers(): void {
    this.services.addHandlers({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (_old, s) => this.queue.add(keyOf(s)),
      onDelete: (s) => this.queue.add(keyOf(s)),
    });
    this.pods.addHandlers({
      onAdd: (pod) => this.enqueueServicesOf([pod]),
      onUpdate: (old, pod) => this.enqueueServicesOf([old, pod]),
      onDelete: (pod) => this.enqueueServicesOf([pod]),
    });
    // Only Endpoints of services we manage: an Endpoints written before its selector-less Service is the user's.
    const maybeRepair = (e: Endpoints): void => {
      const service = this.services.getByKey(keyOf(e));
      if (service !== undefined && this.selectorOf(service) !== undefined) this.queue.add(keyOf(e));
    };
    this.endpoints.addHandlers({ onUpdate: (_old, e) => maybeRepair(e), onDelete: maybeRepair });
  }

  /** Enqueues every service of the pods' namespace that selects one of `pods` (a pod's old and new self). */
  private enqueueServicesOf(pods: readonly Pod[]): void {
    const namespace = pods[0]?.metadata.namespace;
    for (const service of this.services.list(namespace)) {
      const selector = this.selectorOf(service);
      if (selector !== undefined && pods.some((p) => selector.matches(p.metadata.labels ?? {}))) this.queue.add(keyOf(service));
    }
  }

  /** The service's selector; undefined without one, or with one that does not parse (logged: nothing to do until it changes). */
  private selectorOf(service: Service): LabelSelector | undefined {
    try {
      return serviceSelector(service);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      this.log(`endpoints: service ${keyOf(service)} has an invalid selector (${err.message}); leaving its endpoints alone`);
      return undefined;
    }
  }

  private async write(namespace: string | undefined, current: Endpoints | undefined, desired: Endpoints): Promise<void> {
    this.mustBeRunning();
    if (current !== undefined) {
      const next: Endpoints = { ...current, metadata: { ...current.metadata, labels: desired.metadata.labels ?? {} }, subsets: desired.subsets ?? [] };
      try {
        await this.client.update<Endpoints>(Resources.Endpoints, namespace, next);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err; // a conflict retries with back-off from a fresher cache
      }
    }
    try {
      await this.client.create<Endpoints>(Resources.Endpoints, namespace, desired);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.updateLive(namespace, desired);
    }
  }

  /** Our cache has not seen an Endpoints that exists: compare with the live one instead. */
  private async updateLive(namespace: string | undefined, desired: Endpoints): Promise<void> {
    const live = await this.client.get<Endpoints>(Resources.Endpoints, namespace, desired.metadata.name ?? '');
    if (sameEndpoints(live, desired)) return;
    this.mustBeRunning();
    await this.client.update<Endpoints>(Resources.Endpoints, namespace, { ...live, metadata: { ...live.metadata, labels: desired.metadata.labels ?? {} }, subsets: desired.subsets ?? [] });
  }

  private async deleteEndpoints(namespace: string | undefined, name: string): Promise<void> {
    this.mustBeRunning();
    try {
      await this.client.delete(Resources.Endpoints, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private mustBeRunning(): void {
    if (this.stopped) throw new EndpointsError(EndpointsErrorCode.Stopped, 'endpoints controller stopped; not writing');
  }

  private onSyncError(key: string, err: unknown): void {
    if (this.stopped) return;
    this.log(`endpoints: sync of service ${key} failed (retrying with back-off): ${err instanceof Error ? err.message : String(err)}`);
  }

  private stop(): void {
    this.stopped = true;
    this.queue.shutDown();
    for (const informer of this.informers()) informer.stop();
  }
}

/** The Endpoints object for `service`: same name, the service's labels (plus the headless label), these subsets. */
export function desiredEndpoints(service: Service, subsets: Endpoints['subsets']): Endpoints {
  const labels: Record<string, string> = { ...(service.metadata.labels ?? {}) };
  if (service.spec?.clusterIP === CLUSTER_IP_NONE) labels[HEADLESS_SERVICE_LABEL] = '';
  else delete labels[HEADLESS_SERVICE_LABEL];
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name ?? '', namespace: service.metadata.namespace ?? '', labels },
    subsets: subsets ?? [],
  };
}

/** Same subsets (canonically) and same labels: nothing to write. */
export function sameEndpoints(current: Endpoints, desired: Endpoints): boolean {
  return sameSubsets(current.subsets, desired.subsets) && sameLabels(current.metadata.labels, desired.metadata.labels);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const entries = (m: Record<string, string> | undefined): string => JSON.stringify(Object.entries(m ?? {}).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return entries(a) === entries(b);
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
