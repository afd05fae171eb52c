/**
 * The controller manager: every controller of the cluster in one component,
 * run on every master but active on one only — the holder of the
 * `kube-system/kube-controller-manager` Lease (run-elected.ts). Controllers
 * see the cluster only through the HTTP API (informers), never the store, so
 * a new leader simply lists the state and carries on where the old one was.
 */
import type { ApiClient } from '../client/api-client.js';
import { realClock, type Clock } from '../client/clock.js';
import { DeploymentController } from '../controllers/deployment/deployment-controller.js';
import { EndpointsController } from '../controllers/endpoints/endpoints-controller.js';
import { EventRecorder } from '../client/events/event-recorder.js';
import { GarbageCollector } from '../controllers/garbage-collector/garbage-collector.js';
import { NodeLifecycleController, type NodeLifecycleControllerOptions } from '../controllers/node-lifecycle/node-lifecycle-controller.js';
import { ReplicaSetController } from '../controllers/replicaset/replicaset-controller.js';
import { runElected, type ElectionTimings } from '../leader-election/run-elected.js';

export const CONTROLLER_MANAGER_LEASE = 'kube-controller-manager';

export interface ControllerManagerOptions {
  readonly client: ApiClient;
  /** The master's --name: the lease holder's identity. */
  readonly identity: string;
  readonly timings?: ElectionTimings;
  /** Node lifecycle settings (grace period, eviction rates); Kubernetes' defaults otherwise. */
  readonly nodeLifecycle?: Omit<NodeLifecycleControllerOptions, 'client' | 'clock' | 'log' | 'recorder'>;
  readonly clock?: Clock;
  readonly log: (line: string) => void;
}

/** Runs for leadership until `signal` aborts; while leading, runs every controller. */
export function runControllerManager(o: ControllerManagerOptions, signal: AbortSignal): Promise<void> {
  return runElected({ client: o.client, leaseName: CONTROLLER_MANAGER_LEASE, identity: o.identity, log: o.log, ...(o.timings === undefined ? {} : { timings: o.timings }), ...(o.clock === undefined ? {} : { clock: o.clock }), work: (leading) => runControllers(o, leading) }, signal);
}

/** Every controller, until `signal` aborts; a controller that fails is logged and the others go on. */
export async function runControllers(o: ControllerManagerOptions, signal: AbortSignal): Promise<void> {
  const common = { client: o.client, clock: o.clock ?? realClock };
  const log = (name: string) => (line: string) => o.log(`${name}: ${line}`);
  const recorder = new EventRecorder({ ...common, component: 'controller-manager', host: o.identity, log: log('events') });
  const controllers: Array<[string, { run(signal: AbortSignal): Promise<void> }]> = [
    ['replicaset', new ReplicaSetController({ ...common, recorder, log: log('replicaset') })],
    ['deployment', new DeploymentController({ ...common, recorder, log: log('deployment') })],
    ['endpoints', new EndpointsController({ ...common, log: log('endpoints') })],
    ['garbage-collector', new GarbageCollector({ ...common, log: log('garbage-collector') })],
    ['node-lifecycle', new NodeLifecycleController({ ...common, ...(o.nodeLifecycle ?? {}), recorder, log: log('node-lifecycle') })],
  ];
  await Promise.all(
    controllers.map(async ([name, c]) => {
      try {
        await c.run(signal);
      } catch (err) {
        o.log(`${name}: stopped with an error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }),
  );
  recorder.stop();
}
