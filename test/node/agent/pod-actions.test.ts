/**
 * computePodActions as a pure function: table tests of the kubelet's rules,
 * then a fast-check property over random pods and runtime states for the
 * invariants the sync loop relies on (no app container before init is done,
 * init containers in order and one at a time, at most one running instance
 * per container, back-off respected).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePodActions, type PodActions, type ProbeView } from '../../../node/agent/pod-actions.js';
import { ContainerRunState, SandboxState, instancesOf, type ContainerRecord, type PodRuntimeStatus } from '../../../node/agent/runtime-state.js';
import type { Container, Pod } from '../../../proto/k8s/core-v1.js';
import { T0, UID, backoffOf, container, noBackoff, podOf, record, runtimeOf, sandbox } from './pod-fixtures.js';

const NOW = T0 + 60_000;

function actions(pod: Pod, rs: PodRuntimeStatus, o: { backoffMs?: number; probes?: ProbeView } = {}): PodActions {
  return computePodActions({ pod, runtime: rs, backoff: o.backoffMs === undefined ? noBackoff : backoffOf(o.backoffMs), nowMs: NOW, ...(o.probes === undefined ? {} : { probes: o.probes }) });
}

const names = (a: PodActions): string[] => a.containersToStart.map((s) => s.name);

describe('computePodActions: sandbox', () => {
  it('a new pod gets a sandbox (attempt 0) and all its containers', () => {
    const pod = podOf({ containers: [container('a'), container('b')] });
    const a = actions(pod, runtimeOf([], []));
    expect(a).toMatchObject({ createSandbox: true, attempt: 0, killPod: false, initToStart: undefined });
    expect(names(a)).toEqual(['a', 'b']);
    expect(a.containersToStart.every((s) => s.restartCount === 0 && s.previousExitMs === undefined)).toBe(true);
  });

  it('a new pod with init containers starts only the first init container', () => {
    const pod = podOf({ initContainers: [container('i1'), container('i2')] });
    const a = actions(pod, runtimeOf([], []));
    expect(a.createSandbox).toBe(true);
    expect(a.initToStart?.name).toBe('i1');
    expect(a.containersToStart).toEqual([]);
  });

  it('a dead sandbox is replaced (attempt + 1), killing what still runs, and init containers run again', () => {
    const i1 = container('i1');
    const app = container('app');
    const pod = podOf({ initContainers: [i1], containers: [app] });
    const rs = runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [record(i1, { state: ContainerRunState.Exited }), record(app)]);
    const a = actions(pod, rs);
    expect(a).toMatchObject({ createSandbox: true, attempt: 1, killPod: true });
    expect(a.initToStart).toMatchObject({ name: 'i1', restartCount: 1 });
    expect(a.containersToStart).toEqual([]);
  });

  it('two ready sandboxes, or a changed host-network setting, mean a new sandbox', () => {
    const pod = podOf({});
    expect(actions(pod, runtimeOf([sandbox('sb1'), sandbox('sb2', { attempt: 1, createdAtMs: T0 + 1 })], [])).createSandbox).toBe(true);
    expect(actions(podOf({ hostNetwork: true }), runtimeOf([sandbox('sb1', { hostNetwork: false })], [])).createSandbox).toBe(true);
  });

  it('restartPolicy Never: a pod whose sandbox died after its containers ran gets no new sandbox', () => {
    const app = container('app');
    const pod = podOf({ restartPolicy: 'Never', containers: [app] });
    const a = actions(pod, runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [record(app, { state: ContainerRunState.Exited, exitCode: 1 })]));
    expect(a).toMatchObject({ createSandbox: false, killPod: false, containersToStart: [] });
  });

  it('restartPolicy OnFailure: a new sandbox restarts only the containers that did not succeed', () => {
    const ok = container('ok');
    const bad = container('bad');
    const pod = podOf({ restartPolicy: 'OnFailure', containers: [ok, bad] });
    const rs = runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [record(ok, { state: ContainerRunState.Exited }), record(bad, { state: ContainerRunState.Exited, exitCode: 2 })]);
    const a = actions(pod, rs);
    expect(a.createSandbox).toBe(true);
    expect(names(a)).toEqual(['bad']);
  });
});

describe('computePodActions: init containers', () => {
  const i1 = container('i1');
  const i2 = container('i2');
  const app = container('app');
  const pod = (policy: 'Always' | 'OnFailure' | 'Never' = 'Always'): Pod => podOf({ restartPolicy: policy, initContainers: [i1, i2], containers: [app] });

  it('run in order: the next one starts once the one before succeeded', () => {
    const a = actions(pod(), runtimeOf([sandbox('sb1')], [record(i1, { state: ContainerRunState.Exited })]));
    expect(a.initToStart?.name).toBe('i2');
    expect(a.containersToStart).toEqual([]);
  });

  it('nothing starts while one runs', () => {
    const a = actions(pod(), runtimeOf([sandbox('sb1')], [record(i1)]));
    expect(a.initToStart).toBeUndefined();
    expect(a.containersToStart).toEqual([]);
    expect(a.killPod).toBe(false);
  });

  it('app containers start once every init container succeeded', () => {
    const rs = runtimeOf([sandbox('sb1')], [record(i1, { state: ContainerRunState.Exited }), record(i2, { state: ContainerRunState.Exited })]);
    expect(names(actions(pod(), rs))).toEqual(['app']);
  });

  it('a failed init container is restarted (Always, OnFailure), with its restart count', () => {
    const rs = runtimeOf([sandbox('sb1')], [record(i1, { state: ContainerRunState.Exited, exitCode: 1, restartCount: 2 })]);
    for (const policy of ['Always', 'OnFailure'] as const) {
      expect(actions(pod(policy), rs).initToStart).toMatchObject({ name: 'i1', restartCount: 3, previousExitMs: T0 + 1000 });
    }
  });

  it('a failed init container fails the pod under restartPolicy Never', () => {
    const rs = runtimeOf([sandbox('sb1')], [record(i1, { state: ContainerRunState.Exited, exitCode: 1 })]);
    const a = actions(pod('Never'), rs);
    expect(a).toMatchObject({ initFailed: 'i1', killPod: true, initToStart: undefined, containersToStart: [] });
  });

  it('a failed init container inside its back-off waits (CrashLoopBackOff message names the back-off, container and pod)', () => {
    const rs = runtimeOf([sandbox('sb1')], [record(i1, { state: ContainerRunState.Exited, exitCode: 1, finishedAtMs: NOW - 4_000 })]);
    const a = actions(pod(), rs, { backoffMs: 10_000 });
    expect(a.initToStart).toBeUndefined();
    expect(a.backingOff).toEqual([{ name: 'i1', init: true, retryInMs: 6_000, message: `back-off 10s restarting failed container=i1 pod=p_default(${UID})` }]);
  });

  it('a sidecar (init container with restartPolicy Always) counts as done once running, and keeps running', () => {
    const side = container('side', { restartPolicy: 'Always' });
    const p = podOf({ initContainers: [side, i1], containers: [app] });
    expect(actions(p, runtimeOf([sandbox('sb1')], [])).containersToStart.map((s) => [s.name, s.init])).toEqual([['side', true]]);
    expect(actions(p, runtimeOf([sandbox('sb1')], [record(side)])).initToStart?.name).toBe('i1');
    const done = actions(p, runtimeOf([sandbox('sb1')], [record(side), record(i1, { state: ContainerRunState.Exited })]));
    expect(names(done)).toEqual(['app']);
    const sideDied = actions(p, runtimeOf([sandbox('sb1')], [record(side, { state: ContainerRunState.Exited, exitCode: 1 }), record(i1, { state: ContainerRunState.Exited }), record(app)]));
    expect(sideDied.containersToStart.map((s) => s.name)).toEqual(['side']);
  });
});

describe('computePodActions: app containers', () => {
  const app = container('app');

  it('a running container with an unchanged spec is left alone', () => {
    const a = actions(podOf({}), runtimeOf([sandbox('sb1')], [record(app)]));
    expect(a).toMatchObject({ createSandbox: false, killPod: false, containersToStart: [], containersToKill: [], sandboxId: 'sb1' });
  });

  it('a changed spec (hash) kills and restarts the container', () => {
    const old = record(container('app', { image: 'busybox:1.35' }));
    const a = actions(podOf({}), runtimeOf([sandbox('sb1')], [old]));
    expect(a.containersToKill).toEqual([expect.objectContaining({ id: old.id, reason: 'SpecChanged' })]);
    expect(a.containersToStart).toEqual([{ name: 'app', init: false, restartCount: 1, previousExitMs: NOW }]);
  });

  it('a failed liveness probe kills and restarts the container; inside the back-off it only kills', () => {
    const r = record(app);
    const probes: ProbeView = { restartWanted: (id) => (id === r.id ? 'liveness' : undefined) };
    const a = actions(podOf({}), runtimeOf([sandbox('sb1')], [r]), { probes });
    expect(a.containersToKill).toEqual([expect.objectContaining({ id: r.id, reason: 'Unhealthy', message: 'Container app failed liveness probe, will be restarted' })]);
    expect(names(a)).toEqual(['app']);
    const waiting = actions(podOf({}), runtimeOf([sandbox('sb1')], [r]), { probes, backoffMs: 10_000 });
    expect(waiting.containersToKill).toHaveLength(1);
    expect(waiting.containersToStart).toEqual([]);
    expect(waiting.backingOff.map((b) => b.name)).toEqual(['app']);
    expect(waiting.killPod).toBe(false);
  });

  it('restart policies decide what an exited container does', () => {
    const exited = (code: number): PodRuntimeStatus => runtimeOf([sandbox('sb1')], [record(app, { state: ContainerRunState.Exited, exitCode: code })]);
    const table: Array<[policy: 'Always' | 'OnFailure' | 'Never', exitCode: number, restarts: boolean]> = [
      ['Always', 0, true],
      ['Always', 1, true],
      ['OnFailure', 0, false],
      ['OnFailure', 1, true],
      ['Never', 0, false],
      ['Never', 1, false],
    ];
    for (const [policy, code, restarts] of table) {
      const a = actions(podOf({ restartPolicy: policy }), exited(code));
      expect({ policy, code, started: names(a) }).toEqual({ policy, code, started: restarts ? ['app'] : [] });
      // A pod with nothing left running and nothing to start is done: its sandbox is stopped.
      expect({ policy, code, killPod: a.killPod }).toEqual({ policy, code, killPod: !restarts });
    }
  });

  it('a crashed container inside its back-off waits and the pod is not killed', () => {
    const rs = runtimeOf([sandbox('sb1')], [record(app, { state: ContainerRunState.Exited, exitCode: 1, finishedAtMs: NOW - 1_000, restartCount: 3 })]);
    const a = actions(podOf({}), rs, { backoffMs: 40_000 });
    expect(a).toMatchObject({ killPod: false, containersToStart: [] });
    expect(a.backingOff).toEqual([{ name: 'app', init: false, retryInMs: 39_000, message: `back-off 40s restarting failed container=app pod=p_default(${UID})` }]);
  });

  it('of two running instances of a container the older one is killed; unknown names are killed', () => {
    const older = record(app, { createdAtMs: T0 });
    const newer = record(app, { createdAtMs: T0 + 5, restartCount: 1 });
    const stray = record(container('gone'));
    const a = actions(podOf({}), runtimeOf([sandbox('sb1')], [older, newer, stray]));
    expect(a.containersToKill.map((k) => [k.id, k.reason]).sort()).toEqual([[older.id, 'Duplicate'], [stray.id, 'NotInSpec']].sort());
    expect(a.containersToStart).toEqual([]);
  });

  it('a finished pod (phase Succeeded or Failed) never starts anything; what is left is stopped', () => {
    const pod = podOf({}, { status: { phase: 'Failed' } });
    expect(actions(pod, runtimeOf([], []))).toMatchObject({ createSandbox: false, killPod: false, containersToStart: [] });
    expect(actions(pod, runtimeOf([sandbox('sb1')], [record(app)]))).toMatchObject({ createSandbox: false, killPod: true, containersToStart: [] });
  });
});

// ---------------------------------------------------------------- property

const POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const STATES = [ContainerRunState.Running, ContainerRunState.Exited, ContainerRunState.Created, ContainerRunState.Unknown] as const;

interface Scenario {
  readonly pod: Pod;
  readonly rs: PodRuntimeStatus;
  readonly backoffMs: number;
  readonly livenessFails: ReadonlySet<string>;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    policy: fc.constantFrom(...POLICIES),
    inits: fc.array(fc.boolean(), { maxLength: 3 }),
    apps: fc.integer({ min: 1, max: 3 }),
    hostNetwork: fc.boolean(),
    sandboxes: fc.array(fc.record({ ready: fc.boolean(), host: fc.boolean() }), { maxLength: 2 }),
    instances: fc.array(
      fc.record({ which: fc.nat(5), state: fc.constantFrom(...STATES), exitCode: fc.constantFrom(0, 1, 137), restart: fc.nat(4), age: fc.nat(100_000), staleSpec: fc.boolean(), liveFail: fc.boolean() }),
      { maxLength: 8 },
    ),
    backoffMs: fc.constantFrom(0, 10_000, 300_000),
  })
  .map((r) => {
    const inits: Container[] = r.inits.map((sidecar, i) => container(`init${i}`, sidecar ? { restartPolicy: 'Always' } : {}));
    const apps: Container[] = Array.from({ length: r.apps }, (_, i) => container(`app${i}`));
    const all = [...inits, ...apps];
    const pod = podOf({ restartPolicy: r.policy, initContainers: inits, containers: apps, hostNetwork: r.hostNetwork });
    const sandboxes = r.sandboxes.map((s, i) => sandbox(`sb${i}`, { attempt: i, createdAtMs: T0 + i, state: s.ready ? SandboxState.Ready : SandboxState.NotReady, hostNetwork: s.host }));
    const livenessFails = new Set<string>();
    const containers: ContainerRecord[] = r.instances.map((x) => {
      const spec = all[x.which % all.length]!;
      const made = record(x.staleSpec ? { ...spec, image: 'other:1' } : spec, {
        state: x.state,
        exitCode: x.state === ContainerRunState.Exited ? x.exitCode : 0,
        restartCount: x.restart,
        createdAtMs: T0 - x.age,
        finishedAtMs: x.state === ContainerRunState.Exited ? NOW - x.age / 10 : 0,
      });
      if (x.liveFail) livenessFails.add(made.id);
      return made;
    });
    return { pod, rs: runtimeOf(sandboxes, containers), backoffMs: r.backoffMs, livenessFails };
  });

function checkInvariants({ pod, rs, backoffMs, livenessFails }: Scenario, compute: typeof computePodActions = computePodActions): void {
  const probes: ProbeView = { restartWanted: (id) => (livenessFails.has(id) ? 'liveness' : undefined) };
  const a = compute({ pod, runtime: rs, backoff: backoffOf(backoffMs), probes, nowMs: NOW });
  const regularInits = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  const succeeded = (name: string): boolean => {
    const l = instancesOf(rs, name).latest;
    return l?.state === ContainerRunState.Exited && l.exitCode === 0;
  };
  const appStarts = a.containersToStart.filter((s) => !s.init);
  // 1. No app container before every regular init container succeeded (in the sandbox they run in).
  if (appStarts.length > 0 && regularInits.length > 0) {
    expect(a.createSandbox).toBe(false);
    expect(regularInits.every((c) => succeeded(c.name))).toBe(true);
  }
  // 2. The init container started is the first regular one not yet succeeded (or the first of all in a new sandbox).
  if (a.initToStart !== undefined) {
    const expected = a.createSandbox ? pod.spec.initContainers?.[0]?.name : regularInits.find((c) => !succeeded(c.name))?.name;
    expect(a.initToStart.name).toBe(expected);
    expect(appStarts).toEqual([]);
  }
  // 3. At most one instance of a container runs after the actions.
  const starts = [...(a.initToStart === undefined ? [] : [a.initToStart]), ...a.containersToStart];
  const killed = new Set(a.containersToKill.map((k) => k.id));
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const stillRunning = a.killPod ? 0 : rs.containers.filter((r) => r.name === c.name && r.state === ContainerRunState.Running && !killed.has(r.id)).length;
    const started = starts.filter((s) => s.name === c.name).length;
    expect(stillRunning + started, `instances of ${c.name}`).toBeLessThanOrEqual(1);
  }
  // 4. Nothing both starts and waits; a pod killed for good starts nothing.
  const waiting = new Set(a.backingOff.map((b) => b.name));
  expect(starts.filter((s) => waiting.has(s.name))).toEqual([]);
  if (a.killPod && !a.createSandbox) expect(starts).toEqual([]);
  // 5. A restart inside the back-off never starts (previous exit within backoffMs of now).
  for (const s of starts) if (s.previousExitMs !== undefined) expect(NOW - s.previousExitMs).toBeGreaterThanOrEqual(backoffMs);
  // 6. Restart counts grow: a new instance counts one more than the newest before it.
  for (const s of starts) {
    const latest = instancesOf(rs, s.name).latest;
    expect(s.restartCount).toBe(latest === undefined ? 0 : latest.restartCount + 1);
  }
  // 7. Under restartPolicy Never an app container that exited never starts again (one created or unknown is made again, as by the kubelet).
  if (pod.spec.restartPolicy === 'Never') for (const s of appStarts) expect(instancesOf(rs, s.name).latest?.state).not.toBe(ContainerRunState.Exited);
}

describe('computePodActions: invariants (fast-check)', () => {
  it('hold for random pods, runtime states, back-offs and probe failures', () => {
    fc.assert(fc.property(scenarioArb, (s) => checkInvariants(s)), { numRuns: 2_000 });
  });

  it('the checker catches planted bugs (an app container started during init; a second instance started)', () => {
    const i1 = container('i1');
    const app = container('app');
    const during = { pod: podOf({ initContainers: [i1], containers: [app] }), rs: runtimeOf([sandbox('sb1')], [record(i1)]), backoffMs: 0, livenessFails: new Set<string>() };
    const startsApp: typeof computePodActions = (i) => ({ ...computePodActions(i), containersToStart: [{ name: 'app', init: false, restartCount: 0, previousExitMs: undefined }] });
    expect(() => checkInvariants(during, startsApp)).toThrow();
    const running = { pod: podOf({ containers: [app] }), rs: runtimeOf([sandbox('sb1')], [record(app)]), backoffMs: 0, livenessFails: new Set<string>() };
    const startsTwice: typeof computePodActions = (i) => ({ ...computePodActions(i), containersToStart: [{ name: 'app', init: false, restartCount: 1, previousExitMs: undefined }] });
    expect(() => checkInvariants(running, startsTwice)).toThrow();
    expect(() => checkInvariants(running)).not.toThrow();
  });
});
