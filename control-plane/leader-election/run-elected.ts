/**
 * Runs a component (scheduler, controller manager) only while this master
 * holds its leader lease: `work(signal)` starts when the lease is won and
 * its signal aborts when the lease is lost (before it can expire for the
 * others) or when the master stops. Another master's copy then takes over,
 * carrying on from the API state.
 */
import type { ApiClient } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import { LeaderElector } from './leader-elector.js';

/** Where the leader leases live (Kubernetes' convention). */
export const LEADER_LEASE_NAMESPACE = 'kube-system';

export interface ElectionTimings {
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

export interface ElectedComponentOptions {
  readonly client: ApiClient;
  /** The lease: kube-scheduler, kube-controller-manager. */
  readonly leaseName: string;
  /** The master's --name (the lease's holderIdentity). */
  readonly identity: string;
  readonly timings?: ElectionTimings;
  readonly clock?: Clock;
  readonly log: (line: string) => void;
  readonly work: (signal: AbortSignal) => Promise<void>;
}

/** Resolves once `signal` aborts and the component has stopped. */
export async function runElected(o: ElectedComponentOptions, signal: AbortSignal): Promise<void> {
  const elector = new LeaderElector({
    client: o.client,
    namespace: LEADER_LEASE_NAMESPACE,
    name: o.leaseName,
    identity: o.identity,
    ...(o.timings ?? {}),
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    log: o.log,
    onStartedLeading: async (leading) => {
      o.log(`${o.leaseName}: leading; starting`);
      await o.work(leading);
    },
    onStoppedLeading: () => o.log(`${o.leaseName}: not leading; stopped`),
    onNewLeader: (holder) => {
      if (holder !== o.identity) o.log(`${o.leaseName}: the leader is ${holder}`);
    },
  });
  await elector.run(signal);
}
