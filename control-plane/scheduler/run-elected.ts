/**
 * The scheduler as a master runs it: on every master, active on one only —
 * the holder of the `kube-system/kube-scheduler` Lease. A fresh Scheduler per
 * term, so nothing from an earlier term (assumed pods, queues) outlives it;
 * the new term lists the pending pods again (nothing is lost across leaders).
 * Its events are written as `default-scheduler` (Kubernetes' source
 * component) from this master.
 */
import type { ApiClient } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import { EventRecorder } from '../client/events/event-recorder.js';
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
      work: (leading) => runTerm(o, leading),
    },
    signal,
  );
}

/** One term of leadership: a fresh Scheduler and its own EventRecorder, both done with when the term ends. */
async function runTerm(o: ElectedSchedulerOptions, leading: AbortSignal): Promise<void> {
  const clock = o.clock === undefined ? {} : { clock: o.clock };
  const recorder = new EventRecorder({ client: o.client, component: 'default-scheduler', host: o.identity, log: (line) => o.log(`scheduler: ${line}`), ...clock });
  try {
    await new Scheduler({ client: o.client, recorder, log: (line) => o.log(`scheduler: ${line}`), ...clock }).run(leading);
  } finally {
    // A deposed leader's queued events would report what the next leader now decides.
    recorder.stop();
  }
}
