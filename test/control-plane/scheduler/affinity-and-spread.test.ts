/**
 * InterPodAffinity and PodTopologySpread through their preFilter + filter (and
 * preScore + score), on constructed clusters.
 */
import { describe, expect, it } from 'vitest';
import { CycleState, type NodeScore, StatusCode } from '../../../control-plane/scheduler/framework.js';
import type { NodeInfo } from '../../../control-plane/scheduler/node-info.js';
import type { PodInfo } from '../../../control-plane/scheduler/pod-info.js';
import {
  AFFINITY_REASON,
  ANTI_AFFINITY_REASON,
  EXISTING_ANTI_AFFINITY_REASON,
  InterPodAffinityPlugin,
} from '../../../control-plane/scheduler/plugins/inter-pod-affinity.js';
import { PodTopologySpreadPlugin, SPREAD_MISSING_LABEL_REASON, SPREAD_REASON } from '../../../control-plane/scheduler/plugins/pod-topology-spread.js';
import type { Affinity } from '../../../proto/k8s/core-v1.js';
import { makePod, nodeInfo, podInfo } from './fixtures.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

type Plugin = InterPodAffinityPlugin | PodTopologySpreadPlugin;

/** preFilter over all nodes, then filter each: node name → status code (or the reason when rejected). */
function filterAll(plugin: Plugin, pod: PodInfo, nodes: NodeInfo[]): Record<string, string> {
  const state = new CycleState();
  expect(plugin.preFilter(state, pod, nodes).code).toBe(StatusCode.Success);
  return Object.fromEntries(nodes.map((n) => {
    const s = plugin.filter(state, pod, n);
    return [n.name, s.code === StatusCode.Success ? 'ok' : (s.reasons[0] ?? s.code)];
  }));
}

function scoreAll(plugin: Plugin, pod: PodInfo, nodes: NodeInfo[]): Record<string, number> {
  const state = new CycleState();
  plugin.preScore(state, pod, nodes, nodes);
  const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: plugin.score(state, pod, n) }));
  plugin.normalizeScores(state, pod, scores);
  return Object.fromEntries(scores.map((s) => [s.name, Math.round(s.score)]));
}

const term = (labels: Record<string, string>, topologyKey = HOST) => ({ labelSelector: { matchLabels: labels }, topologyKey });
const antiAffinity = (labels: Record<string, string>, topologyKey = HOST): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(labels, topologyKey)] } });
const affinity = (labels: Record<string, string>, topologyKey = HOST): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(labels, topologyKey)] } });

describe('InterPodAffinity filter', () => {
  const plugin = new InterPodAffinityPlugin();

  it('anti-affinity on hostname keeps replicas on different nodes', () => {
    const nodes = [nodeInfo({ name: 'a' }, [makePod({ name: 'web-1', labels: { app: 'web' } })]), nodeInfo({ name: 'b' })];
    const pod = podInfo({ name: 'web-2', labels: { app: 'web' }, affinity: antiAffinity({ app: 'web' }) });
    expect(filterAll(plugin, pod, nodes)).toEqual({ a: ANTI_AFFINITY_REASON, b: 'ok' });
  });

  it('anti-affinity on zone rejects every node of the zone', () => {
    const nodes = [
      nodeInfo({ name: 'a1', labels: { [ZONE]: 'a' } }, [makePod({ name: 'db-1', labels: { app: 'db' } })]),
      nodeInfo({ name: 'a2', labels: { [ZONE]: 'a' } }),
      nodeInfo({ name: 'b1', labels: { [ZONE]: 'b' } }),
    ];
    const pod = podInfo({ name: 'db-2', labels: { app: 'db' }, affinity: antiAffinity({ app: 'db' }, ZONE) });
    expect(filterAll(plugin, pod, nodes)).toEqual({ a1: ANTI_AFFINITY_REASON, a2: ANTI_AFFINITY_REASON, b1: 'ok' });
  });

  it('symmetry: an existing pod\'s anti-affinity keeps matching pods off its node', () => {
    const loner = makePod({ name: 'loner', labels: { app: 'loner' }, affinity: antiAffinity({ app: 'web' }) });
    const nodes = [nodeInfo({ name: 'a' }, [loner]), nodeInfo({ name: 'b' })];
    expect(filterAll(plugin, podInfo({ name: 'w', labels: { app: 'web' } }), nodes)).toEqual({ a: EXISTING_ANTI_AFFINITY_REASON, b: 'ok' });
    expect(filterAll(plugin, podInfo({ name: 'x', labels: { app: 'other' } }), nodes)).toEqual({ a: 'ok', b: 'ok' });
  });

  it('anti-affinity only looks at pods of the term\'s namespaces (default: the pod\'s own)', () => {
    const nodes = [nodeInfo({ name: 'a' }, [makePod({ name: 'web-1', namespace: 'other', labels: { app: 'web' } })])];
    const pod = podInfo({ name: 'web-2', labels: { app: 'web' }, affinity: antiAffinity({ app: 'web' }) });
    expect(filterAll(plugin, pod, nodes)).toEqual({ a: 'ok' });
  });

  it('affinity needs a matching pod in the node\'s domain', () => {
    const nodes = [nodeInfo({ name: 'a' }, [makePod({ name: 'cache', labels: { app: 'cache' } })]), nodeInfo({ name: 'b' })];
    const pod = podInfo({ name: 'web', labels: { app: 'web' }, affinity: affinity({ app: 'cache' }) });
    expect(filterAll(plugin, pod, nodes)).toEqual({ a: 'ok', b: AFFINITY_REASON });
  });

  it('the first pod of a self-affine group may go anywhere; a node without the topology label never', () => {
    const nodes = [nodeInfo({ name: 'a', labels: { [ZONE]: 'a' } }), nodeInfo({ name: 'nolabel' })];
    const first = podInfo({ name: 'g-1', labels: { app: 'g' }, affinity: affinity({ app: 'g' }, ZONE) });
    expect(filterAll(plugin, first, nodes)).toEqual({ a: 'ok', nolabel: AFFINITY_REASON });
    const stranger = podInfo({ name: 's', labels: { app: 's' }, affinity: affinity({ app: 'g' }, ZONE) });
    expect(filterAll(plugin, stranger, nodes)).toEqual({ a: AFFINITY_REASON, nolabel: AFFINITY_REASON });
  });
});

describe('InterPodAffinity score', () => {
  it('preferred affinity pulls towards matching pods, preferred anti-affinity pushes away', () => {
    const nodes = [nodeInfo({ name: 'a' }, [makePod({ name: 'cache', labels: { app: 'cache' } })]), nodeInfo({ name: 'b' })];
    const likes = podInfo({ name: 'p', affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'cache' }) }] } } });
    expect(scoreAll(new InterPodAffinityPlugin(), likes, nodes)).toEqual({ a: 100, b: 0 });
    const avoids = podInfo({ name: 'p', affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: 'cache' }) }] } } });
    expect(scoreAll(new InterPodAffinityPlugin(), avoids, nodes)).toEqual({ a: 0, b: 100 });
  });
});

describe('PodTopologySpread', () => {
  const plugin = new PodTopologySpreadPlugin();
  const spread = (when: 'DoNotSchedule' | 'ScheduleAnyway', maxSkew = 1, topologyKey = ZONE) => ({
    topologySpreadConstraints: [{ maxSkew, topologyKey, whenUnsatisfiable: when, labelSelector: { matchLabels: { app: 'web' } } }],
  });
  const web = (name: string) => makePod({ name, labels: { app: 'web' } });

  it('DoNotSchedule keeps the skew within maxSkew and rejects nodes missing the key', () => {
    const nodes = [
      nodeInfo({ name: 'a1', labels: { [ZONE]: 'a' } }, [web('w1')]),
      nodeInfo({ name: 'a2', labels: { [ZONE]: 'a' } }, [web('w2')]),
      nodeInfo({ name: 'b1', labels: { [ZONE]: 'b' } }, [web('w3')]),
      nodeInfo({ name: 'none' }),
    ];
    const pod = podInfo({ name: 'w4', labels: { app: 'web' }, extra: spread('DoNotSchedule') });
    // zone a has 2, zone b 1: another in a makes skew 3 − 1 = 2 > 1.
    expect(filterAll(plugin, pod, nodes)).toEqual({ a1: SPREAD_REASON, a2: SPREAD_REASON, b1: 'ok', none: SPREAD_MISSING_LABEL_REASON });
    const loose = podInfo({ name: 'w4', labels: { app: 'web' }, extra: spread('DoNotSchedule', 2) });
    expect(filterAll(plugin, loose, nodes)).toMatchObject({ a1: 'ok', b1: 'ok' });
  });

  it('domains are counted only over nodes the pod\'s node selector admits', () => {
    const nodes = [
      nodeInfo({ name: 'a1', labels: { [ZONE]: 'a', pool: 'x' } }, [web('w1')]),
      nodeInfo({ name: 'b1', labels: { [ZONE]: 'b', pool: 'y' } }),
    ];
    const pod = podInfo({ name: 'w2', labels: { app: 'web' }, nodeSelector: { pool: 'x' }, extra: spread('DoNotSchedule') });
    // Zone b is not eligible, so zone a's minimum is itself: skew 2 − 1 = 1.
    expect(filterAll(plugin, pod, nodes)).toMatchObject({ a1: 'ok' });
  });

  it('ScheduleAnyway prefers the domain with fewer matching pods', () => {
    const nodes = [nodeInfo({ name: 'a1', labels: { [ZONE]: 'a' } }, [web('w1'), web('w2')]), nodeInfo({ name: 'b1', labels: { [ZONE]: 'b' } })];
    const s = scoreAll(plugin, podInfo({ name: 'w3', labels: { app: 'web' }, extra: spread('ScheduleAnyway') }), nodes);
    expect(s['b1']).toBe(100);
    expect(s['a1']).toBeLessThan(100);
  });
});
