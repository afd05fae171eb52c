/**
 * The scheduler cache (assumed pods, confirmation, forgetting, node removal)
 * and the keyed heap under the queue.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchedulerCache } from '../../../control-plane/scheduler/cache.js';
import { KeyedHeap } from '../../../control-plane/scheduler/heap.js';
import { PodInfo } from '../../../control-plane/scheduler/pod-info.js';
import { makeNode, makePod } from './fixtures.js';

function cacheWithNodes(...names: string[]): SchedulerCache {
  const cache = new SchedulerCache();
  for (const name of names) cache.addOrUpdateNode(makeNode({ name, cpu: '4' }));
  return cache;
}

const cpuOn = (cache: SchedulerCache, node: string): number => cache.nodeInfo(node)?.requested['cpu'] ?? 0;

describe('SchedulerCache', () => {
  it('an assumed pod counts at once; the informer confirming it changes nothing', () => {
    const cache = cacheWithNodes('a');
    const pod = makePod({ name: 'p', cpu: '1' });
    cache.assume(new PodInfo(pod), 'a');
    expect(cpuOn(cache, 'a')).toBe(1000);
    expect(cache.isAssumed('default/p')).toBe(true);
    cache.upsertPod(pod); // the API has not seen the binding yet: the assumption stays
    expect(cpuOn(cache, 'a')).toBe(1000);
    cache.upsertPod({ ...pod, spec: { ...pod.spec, nodeName: 'a' } });
    expect(cache.isAssumed('default/p')).toBe(false);
    expect(cpuOn(cache, 'a')).toBe(1000);
    cache.forget('default/p'); // confirmed pods are not forgotten
    expect(cpuOn(cache, 'a')).toBe(1000);
  });

  it('forget undoes an assumption; a pod bound elsewhere moves there', () => {
    const cache = cacheWithNodes('a', 'b');
    const pod = makePod({ name: 'p', cpu: '1' });
    cache.assume(new PodInfo(pod), 'a');
    cache.forget('default/p');
    expect(cpuOn(cache, 'a')).toBe(0);
    cache.assume(new PodInfo(pod), 'a');
    cache.upsertPod({ ...pod, spec: { ...pod.spec, nodeName: 'b' } });
    expect([cpuOn(cache, 'a'), cpuOn(cache, 'b')]).toEqual([0, 1000]);
  });

  it('finished pods free their resources; removed nodes are no longer offered', () => {
    const cache = cacheWithNodes('a', 'b');
    const pod = makePod({ name: 'p', cpu: '1', nodeName: 'a' });
    cache.upsertPod(pod);
    cache.upsertPod({ ...pod, status: { phase: 'Succeeded' } });
    expect(cpuOn(cache, 'a')).toBe(0);
    cache.removeNode('b');
    expect(cache.nodeInfos().map((n) => n.name)).toEqual(['a']);
  });

  it('a pod on a node not yet seen is kept, and counted once the node appears', () => {
    const cache = new SchedulerCache();
    cache.upsertPod(makePod({ name: 'p', cpu: '1', nodeName: 'late' }));
    expect(cache.nodeInfos()).toEqual([]);
    cache.addOrUpdateNode(makeNode({ name: 'late' }));
    expect(cpuOn(cache, 'late')).toBe(1000);
  });

  it('refuses to assume a pod twice (an invariant, not an operating error)', () => {
    const cache = cacheWithNodes('a');
    cache.assume(new PodInfo(makePod({ name: 'p' })), 'a');
    expect(() => cache.assume(new PodInfo(makePod({ name: 'p' })), 'a')).toThrow(/already placed/);
  });
});

describe('KeyedHeap', () => {
  it('pops in order under any mix of set, update and remove', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'remove'), fc.integer({ min: 0, max: 20 }), fc.integer({ min: -50, max: 50 })), { maxLength: 200 }), (ops) => {
        const heap = new KeyedHeap<number>((a, b) => a < b);
        const model = new Map<string, number>();
        for (const [op, k, v] of ops) {
          if (op === 'set') {
            heap.set(`k${k}`, v);
            model.set(`k${k}`, v);
          } else {
            expect(heap.remove(`k${k}`)).toBe(model.get(`k${k}`));
            model.delete(`k${k}`);
          }
        }
        const out: number[] = [];
        for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
        expect(out).toEqual([...model.values()].sort((a, b) => a - b));
      }),
    );
  });
});
