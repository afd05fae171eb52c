/**
 * The event recorder against the in-memory API: events kubectl describe can
 * find (by involvedObject name/namespace/kind/uid), repeats folded into one
 * event with a growing count, a spam filter per source and object, a bounded
 * queue, and no error or delay ever reaching the caller.
 */
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../../proto/k8s/core-v1.js';
import type { KubeObject } from '../../../../proto/k8s/meta.js';
import { ApiStatusError, Resources } from '../../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../../control-plane/client/fake-client.js';
import { EventRecorder, type EventRecorderOptions } from '../../../../control-plane/client/events/event-recorder.js';
import { EventRecorderError } from '../../../../control-plane/client/events/errors.js';

const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-web-1', resourceVersion: '7' } };
const otherPod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-2', namespace: 'shop', uid: 'uid-web-2' } };
const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } };

function setup(o: Partial<EventRecorderOptions> = {}): { clock: FakeClock; client: FakeApiClient; recorder: EventRecorder; logs: string[] } {
  const clock = new FakeClock(Date.parse('2024-05-01T10:00:00Z'));
  const client = new FakeApiClient(clock);
  const logs: string[] = [];
  const recorder = new EventRecorder({ client, clock, component: 'node-controller', host: 'master-1', log: (l) => logs.push(l), ...o });
  return { clock, client, recorder, logs };
}

function events(client: FakeApiClient, namespace?: string): Event[] {
  return client.all(Resources.Events, namespace) as Event[];
}

const writes = (client: FakeApiClient, verb: 'create' | 'patch'): number => client.actions.filter((a) => a.plural === 'events' && a.verb === verb).length;

describe('writing events', () => {
  it('creates a core/v1 Event that kubectl describe finds by involvedObject', async () => {
    const { client, recorder } = setup();
    recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    await recorder.flush();
    const described = await client.list<Event>(Resources.Events, 'shop', {
      fieldSelector: 'involvedObject.name=web-1,involvedObject.namespace=shop,involvedObject.kind=Pod,involvedObject.uid=uid-web-1',
    });
    expect(described.items).toHaveLength(1);
    const e = described.items[0] as Event;
    expect(e.metadata.name).toMatch(/^web-1\.[0-9a-f]{16}$/);
    expect(e).toMatchObject({
      involvedObject: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid-web-1', apiVersion: 'v1', resourceVersion: '7' },
      type: 'Warning',
      reason: 'BackOff',
      message: 'Back-off restarting failed container',
      count: 1,
      firstTimestamp: '2024-05-01T10:00:00Z',
      lastTimestamp: '2024-05-01T10:00:00Z',
      source: { component: 'node-controller', host: 'master-1' },
    });
  });

  it('puts events about cluster-scoped objects in the default namespace', async () => {
    const { client, recorder } = setup();
    recorder.event(node, 'Normal', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
    await recorder.flush();
    const [e] = events(client, 'default');
    expect(e?.involvedObject).toEqual({ kind: 'Node', name: 'n1', uid: 'uid-n1', apiVersion: 'v1' });
  });
});

describe('aggregating repeats', () => {
  it('patches count and lastTimestamp of the first event instead of creating new ones', async () => {
    const { clock, client, recorder } = setup();
    for (let i = 0; i < 3; i++) {
      recorder.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
      await recorder.flush();
      clock.advance(10_000);
    }
    const all = events(client, 'shop');
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ count: 3, firstTimestamp: '2024-05-01T10:00:00Z', lastTimestamp: '2024-05-01T10:00:20Z' });
    expect([writes(client, 'create'), writes(client, 'patch')]).toEqual([1, 2]);
  });

  it('keeps events with another message, reason or object apart', async () => {
    const { client, recorder } = setup();
    recorder.event(pod, 'Normal', 'Pulled', 'image a');
    recorder.event(pod, 'Normal', 'Pulled', 'image b');
    recorder.event(pod, 'Normal', 'Created', 'image a');
    recorder.event(otherPod, 'Normal', 'Pulled', 'image a');
    await recorder.flush();
    expect(events(client, 'shop')).toHaveLength(4);
  });

  it('names the part of the object an event is about, and keeps events about different parts apart', async () => {
    const { client, recorder } = setup();
    recorder.event(pod, 'Normal', 'Started', 'Started container', { fieldPath: 'spec.containers{app}' });
    recorder.event(pod, 'Normal', 'Started', 'Started container', { fieldPath: 'spec.containers{app}' });
    recorder.event(pod, 'Normal', 'Started', 'Started container', { fieldPath: 'spec.initContainers{setup}' });
    await recorder.flush();
    const byPath = new Map(events(client, 'shop').map((e) => [e.involvedObject.fieldPath, e.count]));
    expect(byPath).toEqual(new Map([['spec.containers{app}', 2], ['spec.initContainers{setup}', 1]]));
  });

  it('writes a repeat of an event that has since expired again, under its name, keeping the count', async () => {
    const { client, recorder } = setup();
    recorder.event(pod, 'Warning', 'Failed', 'pull failed');
    await recorder.flush();
    const name = events(client, 'shop')[0]?.metadata.name ?? '';
    await client.delete(Resources.Events, 'shop', name);
    recorder.event(pod, 'Warning', 'Failed', 'pull failed');
    await recorder.flush();
    expect(events(client, 'shop').map((e) => [e.metadata.name, e.count])).toEqual([[name, 2]]);
  });
});

describe('limits', () => {
  it('lets 25 events about one object through at once, then one per 5 minutes; other objects are not affected', async () => {
    const { clock, client, recorder } = setup();
    for (let i = 0; i < 30; i++) recorder.event(pod, 'Normal', 'Tick', `tick ${i}`);
    recorder.event(otherPod, 'Normal', 'Tick', 'tick 0');
    await recorder.flush();
    expect(events(client, 'shop').filter((e) => e.involvedObject.name === 'web-1')).toHaveLength(25);
    expect(events(client, 'shop').filter((e) => e.involvedObject.name === 'web-2')).toHaveLength(1);
    expect(recorder.dropped).toBe(5);
    clock.advance(299_000);
    recorder.event(pod, 'Normal', 'Tick', 'later');
    await recorder.flush();
    expect(events(client, 'shop')).toHaveLength(26);
    clock.advance(2_000);
    recorder.event(pod, 'Normal', 'Tick', 'later still');
    await recorder.flush();
    expect(events(client, 'shop')).toHaveLength(27);
  });

  it('drops events beyond its queue bound instead of growing', async () => {
    const { client, recorder } = setup({ queuedEventsMax: 3 });
    for (let i = 0; i < 10; i++) recorder.event(pod, 'Normal', 'Tick', `tick ${i}`);
    await recorder.flush();
    // The first event goes straight to the writer; three wait; six are dropped.
    expect(events(client, 'shop')).toHaveLength(4);
    expect(recorder.dropped).toBe(6);
  });
});

describe('never in the caller’s way', () => {
  it('returns at once and never throws, even when the API fails or the object is malformed', async () => {
    const { client, recorder, logs } = setup();
    client.failWhen((a) => (a.plural === 'events' ? new ApiStatusError(503, 'ServiceUnavailable', 'etcd is down') : undefined));
    expect(() => recorder.event(pod, 'Warning', 'BackOff', 'x')).not.toThrow();
    expect(() => recorder.event({} as KubeObject, 'Warning', 'BackOff', 'x')).not.toThrow();
    await recorder.flush();
    expect(logs.some((l) => l.includes('etcd is down'))).toBe(true);
    client.failWhen(undefined);
    recorder.event(pod, 'Warning', 'BackOff', 'recovered');
    await recorder.flush();
    expect(events(client, 'shop')).toHaveLength(1);
  });

  it('writes nothing once stopped', async () => {
    const { client, recorder } = setup();
    recorder.stop();
    recorder.event(pod, 'Normal', 'Tick', 'x');
    await recorder.flush();
    expect(events(client)).toHaveLength(0);
  });

  it('rejects a configuration it cannot honour with a typed error', () => {
    expect(() => setup({ spamBurst: 0 })).toThrow(EventRecorderError);
    expect(() => setup({ component: '' })).toThrow(/component/);
  });
});
