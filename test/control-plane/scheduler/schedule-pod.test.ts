/**
 * One scheduling decision (schedulePod): feasibility, Kubernetes' failure
 * message, the adaptive number of nodes to find, start-index rotation, and
 * random tie-breaking.
 */
import { describe, expect, it } from 'vitest';
import { StatusCode, type FilterPlugin, type Profile } from '../../../control-plane/scheduler/framework.js';
import { defaultProfile } from '../../../control-plane/scheduler/plugins/index.js';
import { NO_NODES_MESSAGE, numFeasibleNodesToFind, schedulePod, selectHost } from '../../../control-plane/scheduler/schedule-pod.js';
import { makePod, nodeInfo, podInfo, seededRng } from './fixtures.js';

const profile = defaultProfile();
const run = (pod: ReturnType<typeof podInfo>, nodes: ReturnType<typeof nodeInfo>[], o: { percentage?: number; start?: number; seed?: number; profile?: Profile } = {}) =>
  schedulePod({ profile: o.profile ?? profile, pod, nodes, percentageOfNodesToScore: o.percentage ?? 0, startIndex: o.start ?? 0, rng: seededRng(o.seed ?? 1) });

describe('schedulePod', () => {
  it('places the pod on the only feasible node', () => {
    const nodes = [nodeInfo({ name: 'small', cpu: '1' }), nodeInfo({ name: 'big', cpu: '8' })];
    expect(run(podInfo({ name: 'p', cpu: '2' }), nodes)).toMatchObject({ kind: 'scheduled', nodeName: 'big', feasibleNodes: 1 });
  });

  it('prefers the least allocated node', () => {
    const nodes = [nodeInfo({ name: 'busy', cpu: '4' }, [makePod({ name: 'x', cpu: '3' })]), nodeInfo({ name: 'idle', cpu: '4' })];
    expect(run(podInfo({ name: 'p', cpu: '500m' }), nodes)).toMatchObject({ kind: 'scheduled', nodeName: 'idle' });
  });

  it("reports Kubernetes' message: reasons counted per node and sorted", () => {
    const nodes = [
      nodeInfo({ name: 'a', cpu: '1', labels: { disk: 'ssd' } }),
      nodeInfo({ name: 'b', labels: { disk: 'hdd' } }),
      nodeInfo({ name: 'c', labels: { disk: 'hdd' } }),
    ];
    const r = run(podInfo({ name: 'p', cpu: '2', nodeSelector: { disk: 'ssd' } }), nodes);
    expect(r.kind).toBe('unschedulable');
    if (r.kind !== 'unschedulable') return;
    expect(r.message).toBe("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
    expect([...r.plugins].sort()).toEqual(['NodeAffinity', 'NodeResourcesFit']);
    expect(r.nodeStatuses.get('a')).toMatchObject({ code: StatusCode.Unschedulable, plugin: 'NodeResourcesFit' });
  });

  it('with no nodes at all says so', () => {
    expect(run(podInfo({ name: 'p' }), [])).toMatchObject({ kind: 'unschedulable', message: NO_NODES_MESSAGE });
  });

  it('stops filtering once enough feasible nodes are found, and starts where told', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => nodeInfo({ name: `n${i}` }));
    const r = run(podInfo({ name: 'p' }), nodes, { percentage: 10, start: 500 });
    expect(r).toMatchObject({ kind: 'scheduled', feasibleNodes: 100, evaluatedNodes: 100 });
    if (r.kind !== 'scheduled') return;
    const index = Number(r.nodeName.slice(1));
    expect(index).toBeGreaterThanOrEqual(500);
    expect(index).toBeLessThan(600);
  });

  it('a plugin error fails the attempt rather than the node', () => {
    const broken: FilterPlugin = { name: 'Broken', filter: () => ({ code: StatusCode.Error, reasons: ['boom'] }) };
    const r = run(podInfo({ name: 'p' }), [nodeInfo({ name: 'a' })], { profile: { ...profile, filters: [broken] } });
    expect(r).toMatchObject({ kind: 'error', message: 'Broken: boom (node a)' });
  });
});

describe('numFeasibleNodesToFind (adaptive like Kubernetes)', () => {
  it.each([
    [0, 50, 50],
    [0, 99, 99],
    [0, 100, 100],
    [0, 1000, 420], // 50 − 1000/125 = 42%
    [0, 5000, 500], // 50 − 40 = 10%
    [0, 10000, 500], // floor at 5%
    [0, 1500, 570], // 50 - 12 = 38%
    [10, 500, 100], // never fewer than 100
    [50, 1000, 500],
    [100, 5000, 5000],
  ])('percentage %i of %i nodes → %i', (percentage, nodes, expected) => {
    expect(numFeasibleNodesToFind(percentage, nodes)).toBe(expected);
  });
});

describe('selectHost', () => {
  it('always picks the best score', () => {
    expect(selectHost([{ name: 'a', score: 10 }, { name: 'b', score: 30 }, { name: 'c', score: 20 }], Math.random)).toBe('b');
  });

  it('breaks ties uniformly with the injected RNG', () => {
    const rng = seededRng(7);
    const picks = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const name = selectHost([{ name: 'a', score: 5 }, { name: 'b', score: 5 }, { name: 'c', score: 5 }, { name: 'd', score: 1 }], rng);
      picks.set(name, (picks.get(name) ?? 0) + 1);
    }
    expect(picks.get('d')).toBeUndefined();
    for (const n of ['a', 'b', 'c']) expect(picks.get(n)).toBeGreaterThan(850);
  });
});
