/**
 * The informer and the work queue that every controller is built from: an
 * informer's cache follows the API through watch breaks, relists after a 410,
 * turning the difference into callbacks, and replays everything on resync; the
 * queue deduplicates keys, never hands one key to two workers, and backs off
 * failures exponentially.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import { ApiStatusError, Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { Informer, keyOf, splitKey } from '../../../control-plane/client/informer.js';
import { RETRY_BASE_MS, WorkQueue, runWorkers } from '../../../control-plane/client/work-queue.js';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });

/** Lets queued promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 5));

function recorder(): { log: string[]; handlers: Parameters<Informer['addHandlers']>[0] } {
  const log: string[] = [];
  return {
    log,
    handlers: {
      onAdd: (o) => log.push(`add ${o.metadata.name}`),
      onUpdate: (old, o) => log.push(`update ${o.metadata.name}${old === o ? ' (resync)' : ''}`),
      onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    },
  };
}

describe('Informer', () => {
  it('lists, then follows the watch; the cache matches the API', async () => {
    const api = new FakeApiClient();
    await api.create(Resources.ConfigMaps, 'default', cm('a'));
    const inf = new Informer(api, Resources.ConfigMaps);
    const r = recorder();
    inf.addHandlers(r.handlers);
    inf.start();
    await inf.synced;
    await api.create(Resources.ConfigMaps, 'default', cm('b'));
    await api.update(Resources.ConfigMaps, 'default', { ...(await api.get(Resources.ConfigMaps, 'default', 'a')), data: { x: '1' } });
    await api.delete(Resources.ConfigMaps, 'default', 'b');
    await settle();
    expect(r.log).toEqual(['add a', 'add b', 'update a', 'delete b']);
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(inf.get('default', 'a')?.data).toEqual({ x: '1' });
    inf.stop();
  });

  it('re-watches from its last resourceVersion when the stream breaks, missing nothing', async () => {
    const api = new FakeApiClient();
    const inf = new Informer(api, Resources.ConfigMaps);
    const r = recorder();
    inf.addHandlers(r.handlers);
    inf.start();
    await inf.synced;
    api.breakWatches();
    await api.create(Resources.ConfigMaps, 'default', cm('during-break'));
    await settle();
    // Created while no watch was open: the re-watch from the last resourceVersion brings it.
    expect(inf.get('default', 'during-break')).toBeDefined();
    expect(r.log).toContain('add during-break');
    inf.stop();
  });

  it('relists after an error event and turns the difference into callbacks', async () => {
    const api = new FakeApiClient();
    await api.create(Resources.ConfigMaps, 'default', cm('stays'));
    await api.create(Resources.ConfigMaps, 'default', cm('goes'));
    const inf = new Informer(api, Resources.ConfigMaps);
    const r = recorder();
    inf.addHandlers(r.handlers);
    inf.start();
    await inf.synced;
    api.failWhen((a) => (a.verb === 'watch' ? new ApiStatusError(410, 'Expired', 'too old') : undefined));
    api.breakWatches();
    await settle();
    api.failWhen(undefined);
    // Changes made while the informer could not watch show up through the relist.
    await api.delete(Resources.ConfigMaps, 'default', 'goes');
    await api.create(Resources.ConfigMaps, 'default', cm('new'));
    await new Promise((res) => setTimeout(res, 400));
    expect(inf.list().map((o) => o.metadata.name).sort()).toEqual(['new', 'stays']);
    expect(r.log).toEqual(expect.arrayContaining(['delete goes', 'add new']));
    inf.stop();
  });

  it('replays every object as an update on each resync', async () => {
    const clock = new FakeClock();
    const api = new FakeApiClient(clock);
    await api.create(Resources.ConfigMaps, 'default', cm('a'));
    const inf = new Informer(api, Resources.ConfigMaps, { resyncMs: 30_000, clock });
    const r = recorder();
    inf.addHandlers(r.handlers);
    inf.start();
    await inf.synced;
    clock.advance(29_000);
    expect(r.log).toEqual(['add a']);
    clock.advance(1_000);
    clock.advance(30_000);
    expect(r.log).toEqual(['add a', 'update a (resync)', 'update a (resync)']);
    inf.stop();
  });

  it('keys objects as namespace/name, or name for cluster objects', () => {
    expect(keyOf(cm('x'))).toBe('default/x');
    expect(keyOf({ metadata: { name: 'n1' } })).toBe('n1');
    expect(splitKey('default/x')).toEqual({ namespace: 'default', name: 'x' });
    expect(splitKey('n1')).toEqual({ namespace: undefined, name: 'n1' });
  });
});

describe('WorkQueue', () => {
  it('holds a key once, and re-queues a key added while it is processed only after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
    q.done('a');
    expect(await q.get()).toBe('a');
  });

  it('backs off a failing key exponentially until it is forgotten', () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addRateLimited('k');
    expect(q.length).toBe(0);
    clock.advance(RETRY_BASE_MS);
    expect(q.length).toBe(1);
    void q.get().then((k) => q.done(k!));
    q.addRateLimited('k');
    q.addRateLimited('k');
    expect(q.retries('k')).toBe(3);
    q.forget('k');
    expect(q.retries('k')).toBe(0);
  });

  it('keeps the sooner of two delays for one key', () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('k', 10_000);
    q.addAfter('k', 1_000);
    clock.advance(1_000);
    expect(q.length).toBe(1);
    q.addAfter('j', 1_000);
    q.addAfter('j', 10_000);
    clock.advance(1_000);
    expect(q.length).toBe(2);
  });

  it('runs workers that retry failures and stop at shutdown', async () => {
    const q = new WorkQueue();
    const seen: string[] = [];
    let failOnce = true;
    const running = runWorkers(q, 2, async (key) => {
      seen.push(key);
      if (key === 'flaky' && failOnce) {
        failOnce = false;
        throw new Error('transient');
      }
    }, () => undefined);
    q.add('flaky');
    q.add('steady');
    await new Promise((r) => setTimeout(r, 50));
    q.shutDown();
    await running;
    expect(seen.filter((k) => k === 'flaky')).toHaveLength(2);
    expect(seen).toContain('steady');
  });
});
