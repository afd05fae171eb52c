/**
 * Property: for random node capacities and pod requests (and pods arriving
 * before or while the scheduler runs),
 *  - safety: no node is ever assigned more cpu, memory or pods than its
 *    allocatable;
 *  - liveness: every pod ends bound or reported PodScheduled=False, and a pod
 *    left unbound really fits nowhere (greedy check against the final
 *    placement: placements only add up here, so what did not fit then does not
 *    fit now).
 * Some bindings fail (500) at random, so assumptions are forgotten and pods
 * retried along the way.
 * fast-check prints the seed and the shrunk case on failure;
 * SCHEDULER_PROPERTY_SEED replays one. The checker is proven against a
 * planted over-commit at the end.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiStatusError, Resources } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { Scheduler } from '../../../control-plane/scheduler/index.js';
import { nodeAllocatable, podRequests } from '../../../control-plane/scheduler/resources.js';
import type { Node, Pod } from '../../../proto/k8s/core-v1.js';
import { makeNode, makePod, seededRng, storedPods, turn } from './fixtures.js';

const RUNS = 100;
/** Rounds of (let the scheduler run, advance the clock 1 s): more than enough back-off steps for 30 pods. */
const SETTLE_ROUNDS_MAX = 200;

interface Plan {
  readonly nodes: { cpuMilli: number; memoryMi: number; pods: number }[];
  readonly pods: { cpuMilli: number; memoryMi: number; priority: number; late: boolean }[];
  readonly rngSeed: number;
  /** Chance in percent that a binding call fails with a 500. */
  readonly bindFailurePercent: number;
}

const plan: fc.Arbitrary<Plan> = fc.record({
  nodes: fc.array(fc.record({ cpuMilli: fc.integer({ min: 1, max: 16 }).map((n) => n * 500), memoryMi: fc.integer({ min: 1, max: 16 }).map((n) => n * 512), pods: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 6 }),
  pods: fc.array(
    fc.record({ cpuMilli: fc.integer({ min: 0, max: 40 }).map((n) => n * 100), memoryMi: fc.integer({ min: 0, max: 16 }).map((n) => n * 256), priority: fc.integer({ min: 0, max: 2 }), late: fc.boolean() }),
    { minLength: 1, maxLength: 30 },
  ),
  rngSeed: fc.integer(),
  bindFailurePercent: fc.constantFrom(0, 0, 10, 30),
});

/** Nodes given more than their allocatable, with what overflowed; empty when the placement is safe. */
function overcommitted(nodes: readonly Node[], pods: readonly Pod[]): string[] {
  const out: string[] = [];
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const allocatable = nodeAllocatable(node);
    const on = pods.filter((p) => p.spec.nodeName === name);
    const used: Record<string, number> = { pods: on.length };
    for (const p of on) for (const [r, v] of Object.entries(podRequests(p))) used[r] = (used[r] ?? 0) + v;
    for (const [r, v] of Object.entries(used)) if (v > (allocatable[r] ?? 0)) out.push(`${name}: ${r} ${v} > ${allocatable[r] ?? 0}`);
  }
  return out;
}

/** Whether the unbound pod would fit on some node given the pods bound now. */
function fitsSomewhere(pod: Pod, nodes: readonly Node[], pods: readonly Pod[]): boolean {
  return nodes.some((node) => overcommitted([node], [...pods, { ...pod, spec: { ...pod.spec, nodeName: node.metadata.name ?? '' } }]).length === 0);
}

function isReportedUnschedulable(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}

async function runPlan(p: Plan): Promise<void> {
  const api = new FakeApiClient();
  const clock = new FakeClock();
  p.nodes.forEach((n, i) => api.seed(Resources.Nodes, makeNode({ name: `n${i}`, cpu: `${n.cpuMilli}m`, memory: `${n.memoryMi}Mi`, pods: String(n.pods) })));
  const podSpec = (i: number) => {
    const x = p.pods[i] ?? { cpuMilli: 0, memoryMi: 0, priority: 0 };
    return makePod({ name: `p${i}`, cpu: `${x.cpuMilli}m`, memory: `${x.memoryMi}Mi`, priority: x.priority });
  };
  const failRng = seededRng(p.rngSeed ^ 0x5eed);
  api.failWhen((a) => (a.subresource === 'binding' && failRng() * 100 < p.bindFailurePercent ? new ApiStatusError(500, 'InternalError', 'injected') : undefined));
  const early = p.pods.map((x, i) => [x, i] as const).filter(([x]) => !x.late);
  for (const [, i] of early) await api.create(Resources.Pods, 'default', podSpec(i));
  const scheduler = new Scheduler({ client: api, clock, rng: seededRng(p.rngSeed) });
  const ac = new AbortController();
  const done = scheduler.run(ac.signal);
  try {
    for (const [x, i] of p.pods.map((x, i) => [x, i] as const)) {
      if (!x.late) continue;
      await api.create(Resources.Pods, 'default', podSpec(i));
      await turn();
    }
    await settle(api, clock, scheduler);
    const nodes = api.all(Resources.Nodes) as Node[];
    const pods = storedPods(api);
    expect(overcommitted(nodes, pods)).toEqual([]);
    for (const pod of pods.filter((x) => x.spec.nodeName === undefined)) {
      expect(isReportedUnschedulable(pod), `${pod.metadata.name} neither bound nor reported`).toBe(true);
      expect(fitsSomewhere(pod, nodes, pods), `${pod.metadata.name} left unbound but fits`).toBe(false);
    }
  } finally {
    ac.abort();
    await done;
  }
}

/** Runs the scheduler (advancing the fake clock through back-offs) until every pod is bound or reported and nothing is queued to run. */
async function settle(api: FakeApiClient, clock: FakeClock, scheduler: Scheduler): Promise<void> {
  for (let round = 0; round < SETTLE_ROUNDS_MAX; round++) {
    for (let i = 0; i < 5; i++) await turn();
    const q = scheduler.metrics().queue;
    const allAnswered = storedPods(api).every((pod) => pod.spec.nodeName !== undefined || isReportedUnschedulable(pod));
    if (allAnswered && q.active === 0 && q.backoff === 0) return;
    clock.advance(1_000);
  }
}

describe('scheduler property: capacity is never exceeded and every pod gets an answer', () => {
  it('holds for random clusters and workloads', async () => {
    const seedText = process.env['SCHEDULER_PROPERTY_SEED'];
    await fc.assert(fc.asyncProperty(plan, runPlan), { numRuns: RUNS, ...(seedText === undefined ? {} : { seed: Number(seedText) }) });
  });

  it('the checker catches a planted over-commit and a pod left unbound that fits', () => {
    const node = makeNode({ name: 'n', cpu: '1', pods: '2' });
    const a = makePod({ name: 'a', cpu: '600m', nodeName: 'n' });
    const b = makePod({ name: 'b', cpu: '600m', nodeName: 'n' });
    expect(overcommitted([node], [a, b])).toEqual(['n: cpu 1200 > 1000']);
    expect(fitsSomewhere(makePod({ name: 'c', cpu: '400m' }), [node], [a])).toBe(true);
    expect(fitsSomewhere(makePod({ name: 'c', cpu: '400m' }), [node], [a, makePod({ name: 'd', nodeName: 'n' })])).toBe(false);
  });
});
