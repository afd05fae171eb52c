/**
 * The scheduler as a master runs it: on every master, active on one only —
 * the holder of the `kube-system/kube-scheduler` Lease. A fresh Scheduler per
 * term, so nothing from an earlier term (assumed pods, queues) outlives it;
 * the new term lists the pending pods again (nothing is lost across leaders).
 */
import type { ApiClient } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import { runElected, type ElectionTimings } from '../leader-election/run-elected.js';
import { Scheduler } from './scheduler.js';

export const SCHEDULER_LEASE = 'kube-scheduler';

export interface ElectedSchedulerOptions {
  readonly client: ApiClient;
  readonly identity: string;
  readonly timings?: ElectionTimings;
  readonly clock?: Clock;
  readonly log: (line: string) => void;
}

export function runElectedScheduler(o: ElectedSchedulerOptions, signal: AbortSignal): Promise<void> {
  return runElected(
    {
      client: o.client,
      leaseName: SCHEDULER_LEASE,
      identity: o.identity,
      log: o.log,
      ...(o.timings === undefined ? {} : { timings: o.timings }),
      ...(o.clock === undefined ? {} : { clock: o.clock }),
      work: (leading) => new Scheduler({ client: o.client, log: (line) => o.log(`scheduler: ${line}`), ...(o.clock === undefined ? {} : { clock: o.clock }) }).run(leading),
    },
    signal,
  );
}
