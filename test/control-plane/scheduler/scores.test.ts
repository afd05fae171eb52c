/**
 * Score plugins: the node Kubernetes would prefer gets the higher score, and
 * normalized scores land in 0..100.
 */
import { describe, expect, it } from 'vitest';
import { CycleState, type NodeScore, type ScorePlugin } from '../../../control-plane/scheduler/framework.js';
import type { NodeInfo } from '../../../control-plane/scheduler/node-info.js';
import type { PodInfo } from '../../../control-plane/scheduler/pod-info.js';
import { NodeAffinityPlugin } from '../../../control-plane/scheduler/plugins/node-affinity.js';
import { BalancedAllocationPlugin, LeastAllocatedPlugin } from '../../../control-plane/scheduler/plugins/resource-scores.js';
import { TaintTolerationPlugin } from '../../../control-plane/scheduler/plugins/taint-toleration.js';
import { podRequests } from '../../../control-plane/scheduler/resources.js';
import { makePod, nodeInfo, podInfo } from './fixtures.js';

/** Scores every node and normalizes, as the framework does; by node name. */
function scoresOf(plugin: ScorePlugin, pod: PodInfo, nodes: NodeInfo[]): Record<string, number> {
  const state = new CycleState();
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: plugin.score(state, pod, n) }));
  plugin.normalizeScores?.(state, pod, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}

describe('LeastAllocated', () => {
  it('prefers the emptier node, and scores the free share after placing the pod', () => {
    const busy = nodeInfo({ name: 'busy', cpu: '4', memory: '4Gi' }, [makePod({ name: 'x', cpu: '3', memory: '3Gi' })]);
    const idle = nodeInfo({ name: 'idle', cpu: '4', memory: '4Gi' });
    const s = scoresOf(new LeastAllocatedPlugin(), podInfo({ name: 'p', cpu: '1', memory: '1Gi' }), [busy, idle]);
    expect(s['busy']).toBe(0);
    expect(s['idle']).toBe(75);
  });

  it('counts 100m cpu / 200Mi memory for containers without requests, so request-less pods still spread', () => {
    const withFive = nodeInfo({ name: 'five', cpu: '1', memory: '1Gi' }, [1, 2, 3, 4, 5].map((i) => makePod({ name: `b${i}` })));
    const empty = nodeInfo({ name: 'empty', cpu: '1', memory: '1Gi' });
    const s = scoresOf(new LeastAllocatedPlugin(), podInfo({ name: 'p' }), [withFive, empty]);
    expect(s['empty']).toBeGreaterThan(s['five'] ?? Infinity);
  });
});

describe('BalancedAllocation', () => {
  it('prefers the node where cpu and memory end up used in the same proportion', () => {
    const cpuHeavy = nodeInfo({ name: 'cpu-heavy', cpu: '4', memory: '4Gi' }, [makePod({ name: 'x', cpu: '3' })]);
    const even = nodeInfo({ name: 'even', cpu: '4', memory: '4Gi' }, [makePod({ name: 'y', cpu: '1', memory: '1Gi' })]);
    const s = scoresOf(new BalancedAllocationPlugin(), podInfo({ name: 'p', cpu: '1', memory: '1Gi' }), [cpuHeavy, even]);
    expect(s['even']).toBe(100);
    expect(s['cpu-heavy']).toBeCloseTo((1 - Math.abs(1 - 0.25) / 2) * 100);
  });
});

describe('TaintToleration score', () => {
  it('fewer untolerated PreferNoSchedule taints score higher; tolerated ones do not count', () => {
    const two = nodeInfo({ name: 'two', taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] });
    const one = nodeInfo({ name: 'one', taints: [{ key: 'a', effect: 'PreferNoSchedule' }] });
    const none = nodeInfo({ name: 'none' });
    const s = scoresOf(new TaintTolerationPlugin(), podInfo({ name: 'p' }), [two, one, none]);
    expect(s).toEqual({ two: 0, one: 50, none: 100 });
    const tolerant = podInfo({ name: 'p', tolerations: [{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }] });
    expect(scoresOf(new TaintTolerationPlugin(), tolerant, [two, one, none])).toEqual({ two: 0, one: 100, none: 100 });
  });
});

describe('NodeAffinity score', () => {
  it('sums the weights of matching preferred terms, the best node scaled to 100', () => {
    const pod = podInfo({
      name: 'p',
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 80, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
          ],
        },
      },
    });
    const nodes = [nodeInfo({ name: 'ssd-a', labels: { disk: 'ssd', zone: 'a' } }), nodeInfo({ name: 'ssd', labels: { disk: 'ssd' } }), nodeInfo({ name: 'plain' })];
    expect(scoresOf(new NodeAffinityPlugin(), pod, nodes)).toEqual({ 'ssd-a': 100, ssd: 80, plain: 0 });
  });
});

describe('podRequests', () => {
  it('sums app containers, takes the init peak (sidecars run beside later init and app containers), adds overhead', () => {
    const pod = makePod({
      name: 'p',
      containers: [
        { name: 'a', resources: { requests: { cpu: '200m', memory: '100Mi' } } },
        { name: 'b', resources: { requests: { cpu: '300m' } } },
      ],
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
        { name: 'init', resources: { requests: { cpu: '900m', memory: '50Mi' } } },
      ],
      extra: { overhead: { cpu: '10m' } },
    });
    // app: 500m + sidecar 100m = 600m; init step: 900m + sidecar 100m = 1000m.
    expect(podRequests(pod)).toEqual({ cpu: 1010, memory: 100 * 1024 * 1024 });
    expect(podRequests(makePod({ name: 'q' }), true)).toEqual({ cpu: 100, memory: 200 * 1024 * 1024 });
  });
});
