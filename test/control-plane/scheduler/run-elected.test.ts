/**
 * The scheduler as a master runs it (leader-elected): while this master holds
 * the kube-scheduler lease it binds pods and reports them as
 * `default-scheduler` from this master, as `kubectl describe pod` shows.
 */
import { describe, expect, it } from 'vitest';
import { Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { runElectedScheduler } from '../../../control-plane/scheduler/run-elected.js';
import type { Event } from '../../../proto/k8s/core-v1.js';
import { eventually, makeNode, makePod, nodeOf } from './fixtures.js';

describe('runElectedScheduler', () => {
  it('binds pods while leading and records Scheduled as default-scheduler from this master', async () => {
    const clock = new FakeClock();
    const api = new FakeApiClient(clock);
    api.seed(Resources.Nodes, makeNode({ name: 'n1' }));
    await api.create(Resources.Pods, 'default', makePod({ name: 'web' }));
    const ac = new AbortController();
    const done = runElectedScheduler({ client: api, identity: 'master-1', clock, log: () => {} }, ac.signal);
    try {
      await eventually(() => expect(api.all(Resources.Events, 'default')).toHaveLength(1));
      expect(nodeOf(api, 'default', 'web')).toBe('n1');
      expect(api.all(Resources.Events, 'default')[0] as Event).toMatchObject({
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned default/web to n1',
        involvedObject: { kind: 'Pod', namespace: 'default', name: 'web' },
        source: { component: 'default-scheduler', host: 'master-1' },
        reportingComponent: 'default-scheduler',
        reportingInstance: 'master-1',
      });
    } finally {
      ac.abort();
      await done;
    }
  });
});
