/**
 * The node agent's harness for its end-to-end tests on fake time: a
 * FakeApiClient, a FakeClock, the in-memory FakeRuntime, an informer on the
 * fake API and helpers that move time until something holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resources, type ApiClient } from '../../../control-plane/client/api-client.js';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { FakeApiClient } from '../../../control-plane/client/fake-client.js';
import { Informer } from '../../../control-plane/client/informer.js';
import { NodeAgent, type NodeAgentOptions } from '../../../node/agent/node-agent.js';
import type { ProbeDialer } from '../../../node/agent/prober/netns-dial.js';
import type { ContainerStatus, Pod, PodSpec } from '../../../proto/k8s/core-v1.js';
import { FakeRuntime } from './fake-runtime.js';

export const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
export const NODE = 'n1';
const STEP_MS = 100;

export interface Harness {
  clock: FakeClock;
  api: FakeApiClient;
  runtime: FakeRuntime;
  rootDir: string;
  agent: NodeAgent;
  logs: string[];
  newAgent(extra?: Partial<NodeAgentOptions>): NodeAgent;
}

/** Run after each test (`afterEach(runCleanups)`): agents stopped, files removed, also after a failed test. */
export const cleanups: Array<() => Promise<void>> = [];
export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

const httpDialer: ProbeDialer = { http: async () => ({ ok: true, message: '' }), tcp: async () => ({ ok: true, message: '' }) };

export async function harness(extra: Partial<NodeAgentOptions> = {}): Promise<Harness> {
  const clock = new FakeClock(T0);
  const api = new FakeApiClient(clock);
  const runtime = new FakeRuntime(clock);
  const rootDir = await mkdtemp(join(tmpdir(), 'strake-agent-'));
  const logs: string[] = [];
  const agents: NodeAgent[] = [];
  cleanups.push(async () => {
    for (const a of agents) await a.stop();
    await rm(rootDir, { recursive: true, force: true });
  });
  const newAgent = (more: Partial<NodeAgentOptions> = {}): NodeAgent => {
    const a = new NodeAgent({
      name: NODE,
      api,
      podInformer: ({ fieldSelector }) => new Informer<Pod>(api as ApiClient, Resources.Pods, { fieldSelector, clock }),
      runtime,
      rootDir,
      address: '127.0.0.1',
      serverPort: 29310,
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      clock,
      log: (l) => logs.push(l),
      probeDialer: httpDialer,
      ...extra,
      ...more,
    });
    agents.push(a);
    return a;
  };
  const agent = newAgent();
  return { clock, api, runtime, rootDir, agent, logs, newAgent };
}

/** Moves fake time in small steps (letting the agent's promises and file I/O run) until `pred` holds. */
export async function until(h: Harness, pred: () => boolean | Promise<boolean>, what: string, maxMs = 120_000): Promise<void> {
  for (let t = 0; t <= maxMs; t += STEP_MS) {
    if (await pred()) return;
    h.clock.advance(STEP_MS);
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out after ${maxMs} fake ms waiting for ${what}; agent log:\n${h.logs.slice(-20).join('\n')}`);
}

export async function advance(h: Harness, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += STEP_MS) {
    h.clock.advance(STEP_MS);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export function podSpec(spec: Partial<PodSpec>): PodSpec {
  return { nodeName: NODE, restartPolicy: 'Always', containers: [{ name: 'app', image: 'busybox:1.36' }], ...spec };
}

export async function createPod(h: Harness, name: string, spec: Partial<PodSpec>): Promise<Pod> {
  return h.api.create<Pod>(Resources.Pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: podSpec(spec) });
}

export async function getPod(h: Harness, name: string): Promise<Pod | undefined> {
  try {
    return await h.api.get<Pod>(Resources.Pods, 'default', name);
  } catch {
    return undefined;
  }
}

export async function statusOf(h: Harness, name: string, container = 'app'): Promise<ContainerStatus | undefined> {
  const p = await getPod(h, name);
  return [...(p?.status?.containerStatuses ?? []), ...(p?.status?.initContainerStatuses ?? [])].find((c) => c.name === container);
}

export function condition(p: Pod | undefined, type: string): string | undefined {
  return p?.status?.conditions?.find((c) => c.type === type)?.status;
}

export const ready = async (h: Harness, name: string): Promise<boolean> => condition(await getPod(h, name), 'Ready') === 'True';
