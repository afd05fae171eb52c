/**
 * The node agent's Events, read back from the fake API as `kubectl describe
 * pod` would find them: the kubelet's reasons and words, the Pod as
 * involvedObject with the container's fieldPath, source `kubelet` on this
 * node, and repeats folded into one Event whose count grows, so a
 * crash-looping container cannot flood the API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Resources } from '../../../control-plane/client/api-client.js';
import type { Container, Event, Pod } from '../../../proto/k8s/core-v1.js';
import { NODE, T0, advance, createPod, getPod, harness, ready, runCleanups, statusOf, until, type Harness } from './agent-harness.js';

afterEach(runCleanups);

/** The Events about pod `name`, oldest first, selected as kubectl describe selects them. */
async function eventsAbout(h: Harness, name: string): Promise<Event[]> {
  const list = await h.api.list<Event>(Resources.Events, 'default', { fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` });
  return (list.items as Event[]).sort((a, b) => (a.firstTimestamp ?? '').localeCompare(b.firstTimestamp ?? ''));
}

const summary = (e: Event): string => `${e.type} ${e.reason} ${e.message}`;

async function hasEvent(h: Harness, name: string, reason: string, message?: string): Promise<boolean> {
  return (await eventsAbout(h, name)).some((e) => e.reason === reason && (message === undefined || e.message === message));
}

describe('NodeAgent: events', () => {
  it('a started pod: Pulled (already present), Created, Started, about the pod and its container, from the kubelet on this node', async () => {
    const h = await harness();
    h.runtime.images.add('busybox:1.36');
    h.agent.start();
    await createPod(h, 'web', {});
    await until(h, () => ready(h, 'web'), 'pod Ready');
    await until(h, () => hasEvent(h, 'web', 'Started'), 'the Started event');
    const pod = (await getPod(h, 'web'))!;
    const events = await eventsAbout(h, 'web');
    expect(events.map(summary)).toEqual([
      'Normal Pulled Container image "busybox:1.36" already present on machine',
      'Normal Created Created container app',
      'Normal Started Started container app',
    ]);
    for (const e of events) {
      expect(e.involvedObject).toMatchObject({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'web', uid: pod.metadata.uid, fieldPath: 'spec.containers{app}' });
      expect(e.involvedObject.resourceVersion).toMatch(/^\d+$/);
      expect(e).toMatchObject({ source: { component: 'kubelet', host: NODE }, reportingComponent: 'kubelet', reportingInstance: NODE, count: 1 });
    }
  });

  it('pulls an image it lacks (Pulling, Pulled in a duration) and names init containers by their own fieldPath', async () => {
    const h = await harness();
    h.runtime.behaviour = (cfg) => (cfg.metadata.name === 'setup' ? { exitAfterMs: 500, exitCode: 0 } : {});
    h.agent.start();
    await createPod(h, 'init', { initContainers: [{ name: 'setup', image: 'busybox:1.36' }] });
    await until(h, () => ready(h, 'init'), 'pod Ready');
    await until(h, async () => (await eventsAbout(h, 'init')).filter((e) => e.reason === 'Started').length === 2, 'two Started events');
    const events = await eventsAbout(h, 'init');
    const setup = events.filter((e) => e.involvedObject.fieldPath === 'spec.initContainers{setup}').map(summary);
    expect(setup).toEqual(['Normal Pulling Pulling image "busybox:1.36"', 'Normal Pulled Successfully pulled image "busybox:1.36" in 0s', 'Normal Created Created container setup', 'Normal Started Started container setup']);
    const app = events.filter((e) => e.involvedObject.fieldPath === 'spec.containers{app}').map(summary);
    expect(app).toEqual(['Normal Pulled Container image "busybox:1.36" already present on machine', 'Normal Created Created container app', 'Normal Started Started container app']);
  });

  it('a crash-looping container: one BackOff Event whose count grows, and the API writes stay bounded', async () => {
    const h = await harness();
    h.runtime.images.add('busybox:1.36');
    h.runtime.behaviour = () => ({ exitAfterMs: 1_000, exitCode: 3 });
    h.agent.start();
    await createPod(h, 'crash', {});
    await until(h, async () => (await statusOf(h, 'crash'))?.restartCount === 3, 'three restarts');
    await until(h, async () => ((await eventsAbout(h, 'crash')).find((e) => e.reason === 'BackOff')?.count ?? 0) >= 2, 'a BackOff event counted twice');
    const pod = (await getPod(h, 'crash'))!;
    const backOffs = (await eventsAbout(h, 'crash')).filter((e) => e.reason === 'BackOff');
    expect(backOffs).toHaveLength(1);
    expect(backOffs[0]).toMatchObject({
      type: 'Warning',
      message: `Back-off restarting failed container app in pod crash_default(${pod.metadata.uid})`,
      involvedObject: { kind: 'Pod', name: 'crash', uid: pod.metadata.uid, fieldPath: 'spec.containers{app}' },
    });
    // Each start is the same Started Event again, not a new one.
    const started = (await eventsAbout(h, 'crash')).filter((e) => e.reason === 'Started');
    expect(started).toHaveLength(1);
    expect(started[0]!.count).toBeGreaterThanOrEqual(3);

    // Five more minutes of crash-looping: the recorder's spam filter (25 at once, then one per 5 minutes
    // per pod) caps the writes however often the container restarts.
    await advance(h, 300_000);
    expect((await statusOf(h, 'crash'))?.restartCount).toBeGreaterThanOrEqual(6);
    const eventWrites = h.api.actions.filter((a) => a.plural === 'events' && (a.verb === 'create' || a.verb === 'patch')).length;
    expect(eventWrites).toBeLessThanOrEqual(25 + 1);
    expect((await eventsAbout(h, 'crash')).length).toBeLessThanOrEqual(6);
  });

  it('a failing readiness probe: Warning Unhealthy with the probe output, folded into one Event', async () => {
    const h = await harness();
    h.runtime.images.add('busybox:1.36');
    h.runtime.execHandler = () => ({ exitCode: 1, stdout: 'not yet' });
    h.agent.start();
    const app: Container = { name: 'app', image: 'busybox:1.36', readinessProbe: { exec: { command: ['ready'] }, periodSeconds: 1, failureThreshold: 1 } };
    await createPod(h, 'rd', { containers: [app] });
    await until(h, async () => ((await eventsAbout(h, 'rd')).find((e) => e.reason === 'Unhealthy')?.count ?? 0) >= 3, 'Unhealthy three times');
    const unhealthy = (await eventsAbout(h, 'rd')).filter((e) => e.reason === 'Unhealthy');
    expect(unhealthy).toHaveLength(1);
    expect(unhealthy[0]!.type).toBe('Warning');
    expect(unhealthy[0]!.message).toMatch(/^Readiness probe failed: .*not yet/);
    expect(unhealthy[0]!.involvedObject.fieldPath).toBe('spec.containers{app}');
    expect(await ready(h, 'rd')).toBe(false);
  });

  it('a failing liveness probe: Unhealthy, then Killing with the reason for the restart', async () => {
    const h = await harness();
    h.runtime.images.add('busybox:1.36');
    let healthy = true;
    h.runtime.execHandler = () => ({ exitCode: healthy ? 0 : 1 });
    h.agent.start();
    const app: Container = { name: 'app', image: 'busybox:1.36', livenessProbe: { exec: { command: ['live'] }, periodSeconds: 1, failureThreshold: 2 } };
    await createPod(h, 'live', { containers: [app] });
    await until(h, () => ready(h, 'live'), 'pod Ready');
    healthy = false;
    await until(h, () => hasEvent(h, 'live', 'Killing'), 'the Killing event');
    healthy = true;
    const events = (await eventsAbout(h, 'live')).map(summary);
    expect(events).toContainEqual(expect.stringMatching(/^Warning Unhealthy Liveness probe failed: /));
    expect(events).toContain('Normal Killing Container app failed liveness probe, will be restarted');
  });

  it('an image that cannot be pulled: Pulling, Failed with the error, Error: ErrImagePull, then the pull back-off', async () => {
    const h = await harness();
    h.runtime.unpullable.add('nowhere/app:1');
    h.agent.start();
    await createPod(h, 'img', { containers: [{ name: 'app', image: 'nowhere/app:1' }] });
    await until(h, () => hasEvent(h, 'img', 'Failed', 'Error: ImagePullBackOff'), 'Error: ImagePullBackOff');
    const events = (await eventsAbout(h, 'img')).map(summary);
    expect(events).toContain('Normal Pulling Pulling image "nowhere/app:1"');
    expect(events).toContainEqual(expect.stringMatching(/^Warning Failed Failed to pull image "nowhere\/app:1": .+/));
    expect(events).toContain('Warning Failed Error: ErrImagePull');
    expect(events).toContain('Normal BackOff Back-off pulling image "nowhere/app:1"');
  });

  it('deletion: Killing "Stopping container" for each running container', async () => {
    const h = await harness();
    h.runtime.images.add('busybox:1.36');
    h.agent.start();
    await createPod(h, 'gone', { containers: [{ name: 'app', image: 'busybox:1.36' }, { name: 'sidecar', image: 'busybox:1.36' }], terminationGracePeriodSeconds: 5 });
    await until(h, () => ready(h, 'gone'), 'pod Ready');
    const p = (await getPod(h, 'gone'))!;
    h.api.seed(Resources.Pods, { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(T0 + 3_600_000).toISOString(), deletionGracePeriodSeconds: 5 } } satisfies Pod);
    await until(h, async () => (await eventsAbout(h, 'gone')).filter((e) => e.reason === 'Killing').length === 2, 'two Killing events');
    const killing = (await eventsAbout(h, 'gone')).filter((e) => e.reason === 'Killing');
    expect(killing.map((e) => [e.involvedObject.fieldPath, e.message]).sort()).toEqual([
      ['spec.containers{app}', 'Stopping container app'],
      ['spec.containers{sidecar}', 'Stopping container sidecar'],
    ]);
  });
});
