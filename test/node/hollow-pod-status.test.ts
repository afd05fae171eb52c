/**
 * The pure parts of hollow nodes: which step a pod needs next, what its
 * status looks like running and exited, and the fake addresses (never
 * routable, unique per node and per pod).
 */
import { describe, expect, it } from 'vitest';
import { NODE_ADDRESSES_MAX, POD_IPS_PER_NODE_MAX, PodIpPool, nodeInternalIp, nodePodCidr } from '../../node/hollow/addresses.js';
import { microTimeOf, timeOf } from '../../node/hollow/node-objects.js';
import { EXIT_CODE_ANNOTATION, exitedStatus, podAction, PodActionKind, runningStatus } from '../../node/hollow/pod-status.js';
import type { Pod } from '../../proto/k8s/core-v1.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

function pod(o: { restartPolicy?: 'Always' | 'Never' | 'OnFailure'; exit?: string; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name: 'p',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      ...(o.exit === undefined ? {} : { annotations: { [EXIT_CODE_ANNOTATION]: o.exit } }),
      ...(o.deleting === true ? { deletionTimestamp: '2024-01-02T03:04:05Z' } : {}),
    },
    spec: {
      nodeName: 'h-0',
      ...(o.restartPolicy === undefined ? {} : { restartPolicy: o.restartPolicy }),
      initContainers: [{ name: 'init', image: 'busybox' }, { name: 'sidecar', image: 'envoy', restartPolicy: 'Always' }],
      containers: [{ name: 'c', image: 'busybox' }],
    },
    status: { phase: 'Pending' },
  };
}

const placement = { podIp: '10.128.0.2', hostIp: '198.18.0.1' };

describe('podAction', () => {
  it('runs a pending pod, then has nothing more to do', () => {
    const p = pod();
    expect(podAction(p)).toEqual({ kind: PodActionKind.Run });
    expect(podAction({ ...p, status: runningStatus(p, placement, T0) })).toEqual({ kind: PodActionKind.None });
  });

  it('runs again a pod whose Ready condition someone else turned False (the node was NotReady)', () => {
    const p = pod();
    const s = runningStatus(p, placement, T0);
    const notReady = { ...s, conditions: s.conditions?.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const } : c)) };
    expect(podAction({ ...p, status: notReady })).toEqual({ kind: PodActionKind.Run });
  });

  it('deletes a pod marked for deletion whatever its phase', () => {
    expect(podAction(pod({ deleting: true }))).toEqual({ kind: PodActionKind.Delete });
    const finished = pod({ deleting: true, restartPolicy: 'Never', exit: '0' });
    expect(podAction({ ...finished, status: exitedStatus(finished, placement, 0, T0) })).toEqual({ kind: PodActionKind.Delete });
  });

  it.each([
    ['Never', '0', { kind: PodActionKind.Exit, exitCode: 0 }],
    ['OnFailure', '137', { kind: PodActionKind.Exit, exitCode: 137 }],
    ['Always', '0', { kind: PodActionKind.Run }],
    ['Never', '256', { kind: PodActionKind.Run }],
    ['Never', '-1', { kind: PodActionKind.Run }],
    ['Never', 'x', { kind: PodActionKind.Run }],
  ] as const)('restartPolicy %s with exit annotation %s → %o', (restartPolicy, exit, action) => {
    expect(podAction(pod({ restartPolicy, exit }))).toEqual(action);
  });

  it('leaves a finished pod alone', () => {
    const p = pod({ restartPolicy: 'Never', exit: '1' });
    expect(podAction({ ...p, status: exitedStatus(p, placement, 1, T0) })).toEqual({ kind: PodActionKind.None });
  });
});

describe('status builders', () => {
  it('running: init containers completed, sidecars and containers running, ids naming the pod uid', () => {
    const s = runningStatus(pod(), placement, T0);
    expect(s).toMatchObject({ phase: 'Running', podIP: '10.128.0.2', hostIP: '198.18.0.1', startTime: '2024-01-02T03:04:05Z' });
    expect(s.initContainerStatuses?.map((c) => [c.name, Object.keys(c.state ?? {})[0]])).toEqual([['init', 'terminated'], ['sidecar', 'running']]);
    expect(s.containerStatuses?.[0]).toEqual({
      name: 'c', ready: true, started: true, restartCount: 0, image: 'busybox', imageID: 'hollow://busybox',
      containerID: 'hollow://u1-c', state: { running: { startedAt: '2024-01-02T03:04:05Z' } },
    });
  });

  it('keeps transition times, start time and startedAt across rewrites', () => {
    const p = pod();
    const first = runningStatus(p, placement, T0);
    const again = runningStatus({ ...p, status: first }, placement, T0 + 60_000);
    expect(again.startTime).toBe(first.startTime);
    expect(again.conditions).toEqual(first.conditions);
    expect(again.containerStatuses).toEqual(first.containerStatuses);
  });

  it('exited: terminal phase by exit code, terminated containers keep their start, Ready False (PodCompleted)', () => {
    const p = pod({ restartPolicy: 'Never', exit: '2' });
    const runningAt = runningStatus(p, placement, T0);
    const s = exitedStatus({ ...p, status: runningAt }, placement, 2, T0 + 5_000);
    expect(s.phase).toBe('Failed');
    expect(s.containerStatuses?.[0]?.state?.terminated).toEqual({
      exitCode: 2, reason: 'Error', startedAt: '2024-01-02T03:04:05Z', finishedAt: '2024-01-02T03:04:10Z', containerID: 'hollow://u1-c',
    });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted', lastTransitionTime: '2024-01-02T03:04:10Z' });
    expect(exitedStatus(p, placement, 0, T0).phase).toBe('Succeeded');
  });

  it('formats Time in whole seconds and MicroTime with six digits', () => {
    expect(timeOf(T0)).toBe('2024-01-02T03:04:05Z');
    expect(microTimeOf(T0)).toBe('2024-01-02T03:04:05.678000Z');
  });
});

describe('fake addresses', () => {
  it('puts node addresses in 198.18.0.0/15 and pod CIDRs in 10.128.0.0/9, one per node', () => {
    expect(nodeInternalIp(0)).toBe('198.18.0.1');
    expect(nodeInternalIp(255)).toBe('198.18.1.0');
    expect(nodeInternalIp(NODE_ADDRESSES_MAX - 1)).toBe('198.19.255.254');
    expect(() => nodeInternalIp(NODE_ADDRESSES_MAX)).toThrow(/outside/);
    expect(nodePodCidr(0)).toBe('10.128.0.0/24');
    expect(nodePodCidr(999)).toBe('10.131.231.0/24');
    const cidrs = new Set(Array.from({ length: 5_000 }, (_, i) => nodePodCidr(i)));
    expect(cidrs.size).toBe(5_000);
  });

  it('hands each pod its own IP, keeps a reported one, reuses released ones, and says when full', () => {
    const pool = new PodIpPool('10.128.3.0/24');
    expect(pool.acquire('a')).toBe('10.128.3.2');
    expect(pool.acquire('a')).toBe('10.128.3.2');
    expect(pool.acquire('b', '10.128.3.77')).toBe('10.128.3.77');
    expect(pool.acquire('c', '10.128.3.77')).toBe('10.128.3.3'); // taken: the lowest free one instead
    expect(pool.acquire('d', '10.9.9.9')).toBe('10.128.3.4'); // not ours
    pool.release('a');
    expect(pool.acquire('e')).toBe('10.128.3.2');
    for (let i = pool.size; i < POD_IPS_PER_NODE_MAX; i++) expect(pool.acquire(`x${i}`)).toBeDefined();
    expect(pool.acquire('one-too-many')).toBeUndefined();
  });
});
