import { describe, expect, it } from 'vitest';
import { buildPodStatus, phaseOf, sameStatus, type PodStatusInput, type ProbeResults } from '../../../node/agent/pod-status.js';
import { ContainerRunState, SandboxState } from '../../../node/agent/runtime-state.js';
import { timeOf } from '../../../node/node-objects.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { T0, container, podOf, record, runtimeOf, sandbox } from './pod-fixtures.js';

const NOW = T0 + 30_000;
const noProbes: ProbeResults = { ready: () => undefined, started: () => undefined };

function input(pod: Pod, rs: ReturnType<typeof runtimeOf>, o: Partial<PodStatusInput> = {}): PodStatusInput {
  return { pod, runtime: rs, nodeAddress: '127.0.0.1', runtimeName: 'containerd', probes: noProbes, waiting: new Map(), nowMs: NOW, ...o };
}

describe('buildPodStatus', () => {
  const app = container('app');

  it('a running pod: phase Running, all conditions True, addresses, container state with ids and times', () => {
    const r = record(app, { id: 'abc', startedAtMs: T0 + 1_000 });
    const s = buildPodStatus(input(podOf({}), runtimeOf([sandbox('sb1', { ip: '10.244.0.7' })], [r])));
    expect(s).toMatchObject({ phase: 'Running', hostIP: '127.0.0.1', podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }], startTime: timeOf(NOW) });
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['ContainersReady', 'True'],
      ['Ready', 'True'],
    ]);
    expect(s.containerStatuses?.[0]).toEqual({
      name: 'app',
      image: 'busybox:1.36',
      imageID: 'sha256:busybox:1.36',
      restartCount: 0,
      containerID: 'containerd://abc',
      state: { running: { startedAt: timeOf(T0 + 1_000) } },
      lastState: {},
      ready: true,
      started: true,
    });
  });

  it('host-network pods report the node address as podIP', () => {
    const s = buildPodStatus(input(podOf({ hostNetwork: true }), runtimeOf([sandbox('sb1', { ip: '' })], [record(app)])));
    expect(s.podIP).toBe('127.0.0.1');
  });

  it('a container waiting for its restart shows the reason and the exit as lastState', () => {
    const r = record(app, { state: ContainerRunState.Exited, exitCode: 2, restartCount: 3, finishedAtMs: T0 + 5_000 });
    const waiting = new Map([['app', { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=app pod=p_default(uid-1)' }]]);
    const s = buildPodStatus(input(podOf({}), runtimeOf([sandbox('sb1')], [r]), { waiting }));
    const cs = s.containerStatuses?.[0];
    expect(cs?.state).toEqual({ waiting: { reason: 'CrashLoopBackOff', message: waiting.get('app')!.message } });
    expect(cs?.lastState?.terminated).toMatchObject({ exitCode: 2, reason: 'Error', finishedAt: timeOf(T0 + 5_000), containerID: `containerd://${r.id}` });
    expect(cs?.restartCount).toBe(3);
    expect(s.phase).toBe('Running');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]' });
  });

  it('a container never started waits as ContainerCreating; app containers during init as PodInitializing', () => {
    const i1 = container('i1');
    const s = buildPodStatus(input(podOf({ initContainers: [i1] }), runtimeOf([sandbox('sb1')], [record(i1)])));
    expect(s.phase).toBe('Pending');
    expect(s.initContainerStatuses?.[0]?.state?.running).toBeDefined();
    expect(s.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    expect(s.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [i1]' });
    const fresh = buildPodStatus(input(podOf({}), runtimeOf([], [])));
    expect(fresh.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(fresh.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('False');
  });

  it('readiness and startup probes gate ready and started', () => {
    const probed = container('app', { readinessProbe: { exec: { command: ['x'] } }, startupProbe: { exec: { command: ['y'] } } });
    const r = record(probed);
    const at = (ready: boolean | undefined, started: boolean | undefined) =>
      buildPodStatus(input(podOf({ containers: [probed] }), runtimeOf([sandbox('sb1')], [r]), { probes: { ready: () => ready, started: () => started } })).containerStatuses?.[0];
    expect(at(true, undefined)).toMatchObject({ started: false, ready: false });
    expect(at(false, true)).toMatchObject({ started: true, ready: false });
    expect(at(true, true)).toMatchObject({ started: true, ready: true });
  });

  it('conditions keep their lastTransitionTime while unchanged', () => {
    const pod = podOf({});
    const rs = runtimeOf([sandbox('sb1')], [record(app)]);
    const first = buildPodStatus(input(pod, rs));
    const later = buildPodStatus({ ...input({ ...pod, status: first }, rs), nowMs: NOW + 60_000 });
    expect(later.conditions).toEqual(first.conditions);
    expect(sameStatus(first, later)).toBe(true);
    const notReady = buildPodStatus({ ...input({ ...pod, status: first }, runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [record(app, { state: ContainerRunState.Exited, exitCode: 1 })])), nowMs: NOW + 60_000 });
    expect(notReady.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(timeOf(NOW + 60_000));
    expect(sameStatus(first, notReady)).toBe(false);
  });

  it('phase follows the kubelet: restart policy, success, failure, init failure', () => {
    const term = (exitCode: number) => ({ name: 'c', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode } } });
    const running = { name: 'c', ready: true, restartCount: 0, image: '', imageID: '', state: { running: {} } };
    const p = (policy: 'Always' | 'OnFailure' | 'Never') => podOf({ restartPolicy: policy });
    expect(phaseOf(p('Never'), false, false, [term(0), term(0)])).toBe('Succeeded');
    expect(phaseOf(p('Never'), false, false, [term(0), term(1)])).toBe('Failed');
    expect(phaseOf(p('OnFailure'), false, false, [term(1)])).toBe('Running');
    expect(phaseOf(p('Always'), false, false, [term(0)])).toBe('Running');
    expect(phaseOf(p('Never'), false, false, [running, term(1)])).toBe('Running');
    expect(phaseOf(p('Always'), true, false, [])).toBe('Pending');
    expect(phaseOf(p('Never'), true, true, [])).toBe('Failed');
  });

  it('a finished pod stays finished and is not Ready (PodCompleted)', () => {
    const pod = podOf({ restartPolicy: 'Never' }, { status: { phase: 'Succeeded' } });
    const s = buildPodStatus(input(pod, runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [record(app, { state: ContainerRunState.Exited })])));
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });
});
