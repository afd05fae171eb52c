import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import { podPrinter } from '../../../control-plane/table/pods.js';
import { NOW_MS, ago, m, obj, s } from './fixtures.js';

const running = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  ready: true,
  restartCount: 0,
  image: 'nginx:1.27',
  imageID: '',
  started: true,
  state: { running: { startedAt: ago(m(30)) } },
  ...extra,
});

function pod(name: string, spec: Record<string, unknown>, status: Record<string, unknown>, metadata = {}): KubeObject {
  return obj('Pod', name, {
    metadata,
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
    status,
  });
}

const readyConditions = [
  { type: 'Initialized', status: 'True' },
  { type: 'Ready', status: 'True' },
  { type: 'ContainersReady', status: 'True' },
  { type: 'PodScheduled', status: 'True' },
];

const runningPod = pod(
  'web',
  { nodeName: 'node-1' },
  {
    phase: 'Running',
    conditions: readyConditions,
    podIP: '10.244.1.5',
    podIPs: [{ ip: '10.244.1.5' }],
    containerStatuses: [running('app')],
  },
);

/** NAME READY STATUS RESTARTS AGE of a pod. */
function narrow(p: KubeObject): unknown[] {
  return podPrinter.cells(p, NOW_MS).slice(0, 5);
}

function status(p: KubeObject): unknown {
  return podPrinter.cells(p, NOW_MS)[2];
}

describe('pods table', () => {
  it('declares the 1.32 columns; IP, Node, Nominated Node and Readiness Gates are wide', () => {
    expect(podPrinter.columns.map((c) => [c.name, c.type, c.format, c.priority])).toEqual([
      ['Name', 'string', 'name', 0],
      ['Ready', 'string', '', 0],
      ['Status', 'string', '', 0],
      ['Restarts', 'string', '', 0],
      ['Age', 'string', '', 0],
      ['IP', 'string', '', 1],
      ['Node', 'string', '', 1],
      ['Nominated Node', 'string', '', 1],
      ['Readiness Gates', 'string', '', 1],
    ]);
  });

  it('a running pod: 1/1 Running 0, with its IP and node in the wide cells', () => {
    expect(podPrinter.cells(runningPod, NOW_MS)).toEqual([
      'web',
      '1/1',
      'Running',
      '0',
      '34m',
      '10.244.1.5',
      'node-1',
      '<none>',
      '<none>',
    ]);
    expect(podPrinter.conditions?.(runningPod)).toBeUndefined();
  });

  it('a crash-looping pod shows the waiting reason and the restarts with the time of the last one', () => {
    const p = pod(
      'crash',
      {},
      {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(s(150)) } },
          },
        ],
      },
    );
    expect(narrow(p)).toEqual(['crash', '0/1', 'CrashLoopBackOff', '5 (2m30s ago)', '34m']);
  });

  it('the last restart is the latest termination among the containers', () => {
    const p = pod(
      'two',
      { containers: [{ name: 'a' }, { name: 'b' }] },
      {
        phase: 'Running',
        conditions: readyConditions,
        containerStatuses: [
          running('a', { restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: ago(m(50)) } } }),
          running('b', { restartCount: 1, lastState: { terminated: { exitCode: 137, finishedAt: ago(s(45)) } } }),
        ],
      },
    );
    expect(narrow(p)).toEqual(['two', '2/2', 'Running', '3 (45s ago)', '34m']);
  });

  it('a pod being deleted is Terminating, unless it already finished or its node was lost', () => {
    const deleting = { deletionTimestamp: ago(s(5)), deletionGracePeriodSeconds: 30 };
    expect(status({ ...runningPod, metadata: { ...runningPod.metadata, ...deleting } })).toBe('Terminating');

    const succeeded = pod(
      'done',
      {},
      { phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
      deleting,
    );
    expect(status(succeeded)).toBe('Completed');

    const lost = pod('lost', {}, { phase: 'Running', reason: 'NodeLost', containerStatuses: [running('app')] }, deleting);
    expect(status(lost)).toBe('Unknown');
  });

  it('a completed pod: 0/1 Completed, with the Completed row condition', () => {
    const p = pod(
      'job-x',
      { restartPolicy: 'Never' },
      {
        phase: 'Succeeded',
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      },
    );
    expect(narrow(p)).toEqual(['job-x', '0/1', 'Completed', '0', '34m']);
    expect(podPrinter.conditions?.(p)).toEqual([
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ]);
  });

  it('a failed pod shows the terminated reason: Error, OOMKilled, or the signal or exit code without one', () => {
    const failed = (terminated: Record<string, unknown>) =>
      pod('f', {}, { phase: 'Failed', containerStatuses: [{ name: 'app', ready: false, state: { terminated } }] });
    expect(status(failed({ exitCode: 1, reason: 'Error' }))).toBe('Error');
    expect(status(failed({ exitCode: 137, reason: 'OOMKilled' }))).toBe('OOMKilled');
    expect(status(failed({ exitCode: 137, signal: 9 }))).toBe('Signal:9');
    expect(status(failed({ exitCode: 3 }))).toBe('ExitCode:3');
    expect(podPrinter.conditions?.(failed({ exitCode: 1, reason: 'Error' }))).toEqual([
      { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
    ]);
  });

  it('a pending pod: its phase before any status, then the waiting reason', () => {
    expect(narrow(pod('p', {}, { phase: 'Pending' }))).toEqual(['p', '0/1', 'Pending', '0', '34m']);
    const creating = pod(
      'p',
      { nodeName: 'node-1' },
      { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, state: { waiting: { reason: 'ContainerCreating' } } }] },
    );
    expect(narrow(creating)).toEqual(['p', '0/1', 'ContainerCreating', '0', '34m']);
  });

  it('status.reason replaces the phase (an evicted pod)', () => {
    const evicted = pod('e', {}, { phase: 'Failed', reason: 'Evicted', message: 'low on memory' });
    expect(status(evicted)).toBe('Evicted');
  });

  it('a pod held by scheduling gates is SchedulingGated', () => {
    const gated = pod(
      'g',
      { schedulingGates: [{ name: 'example.com/wait' }] },
      { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] },
    );
    expect(status(gated)).toBe('SchedulingGated');
  });

  describe('init containers', () => {
    const initSpec = { initContainers: [{ name: 'migrate' }, { name: 'warm' }] };
    const waitingApp = [{ name: 'app', ready: false, state: { waiting: { reason: 'PodInitializing' } } }];
    const initPod = (initContainerStatuses: unknown[]) =>
      pod('i', initSpec, {
        phase: 'Pending',
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses,
        containerStatuses: waitingApp,
      });

    it('Init:N/M names how many init containers finished', () => {
      expect(narrow(initPod([running('migrate', { ready: false }), { name: 'warm', state: { waiting: { reason: 'PodInitializing' } } }]))).toEqual(
        ['i', '0/1', 'Init:0/2', '0', '34m'],
      );
      const firstDone = [
        { name: 'migrate', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        running('warm', { ready: false }),
      ];
      expect(status(initPod(firstDone))).toBe('Init:1/2');
    });

    it('an init container waiting or failing names the status, with its restarts counted', () => {
      const pulling = [{ name: 'migrate', restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }];
      expect(status(initPod(pulling))).toBe('Init:ImagePullBackOff');

      const crashing = [
        {
          name: 'migrate',
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(s(20)) } },
        },
      ];
      expect(narrow(initPod(crashing))).toEqual(['i', '0/1', 'Init:CrashLoopBackOff', '3 (20s ago)', '34m']);

      expect(status(initPod([{ name: 'migrate', state: { terminated: { exitCode: 1, reason: 'Error' } } }]))).toBe('Init:Error');
      expect(status(initPod([{ name: 'migrate', state: { terminated: { exitCode: 2 } } }]))).toBe('Init:ExitCode:2');
      expect(status(initPod([{ name: 'migrate', state: { terminated: { exitCode: 137, signal: 9 } } }]))).toBe('Init:Signal:9');
    });

    it('after initialization, only app containers (and sidecars) name the status and count restarts', () => {
      const p = pod('i', initSpec, {
        phase: 'Running',
        conditions: readyConditions,
        initContainerStatuses: [
          { name: 'migrate', restartCount: 2, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'warm', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
        containerStatuses: [running('app')],
      });
      expect(narrow(p)).toEqual(['i', '1/1', 'Running', '0', '34m']);
    });

    it('a started sidecar (restartPolicy Always) counts toward READY and its restarts stay counted', () => {
      const p = pod(
        'side',
        { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
        {
          phase: 'Running',
          conditions: readyConditions,
          initContainerStatuses: [
            running('proxy', { restartCount: 1, lastState: { terminated: { exitCode: 1, finishedAt: ago(m(3)) } } }),
          ],
          containerStatuses: [running('app')],
        },
      );
      expect(narrow(p)).toEqual(['side', '2/2', 'Running', '1 (3m ago)', '34m']);
    });
  });

  it('the first container with a reason names the status (statuses are read last to first)', () => {
    const p = pod(
      'multi',
      { containers: [{ name: 'a' }, { name: 'b' }] },
      {
        phase: 'Running',
        containerStatuses: [
          { name: 'a', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } },
          { name: 'b', ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    );
    expect(status(p)).toBe('ImagePullBackOff');
  });

  it('one container completed while another runs: Running if the pod is Ready, else NotReady', () => {
    const statuses = [
      running('a'),
      { name: 'b', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
    ];
    const spec = { containers: [{ name: 'a' }, { name: 'b' }] };
    const ready = pod('x', spec, { phase: 'Running', conditions: readyConditions, containerStatuses: statuses });
    expect(narrow(ready)).toEqual(['x', '1/2', 'Running', '0', '34m']);
    const notReady = pod('x', spec, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: statuses,
    });
    expect(status(notReady)).toBe('NotReady');
  });

  it('wide cells: podIP when podIPs is absent, nominated node, readiness gates true/total', () => {
    const p = pod(
      'gated',
      { readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
      {
        phase: 'Pending',
        podIP: '10.0.0.9',
        nominatedNodeName: 'node-2',
        conditions: [
          { type: 'example.com/lb', status: 'True' },
          { type: 'example.com/dns', status: 'False' },
        ],
      },
    );
    expect(podPrinter.cells(p, NOW_MS).slice(5)).toEqual(['10.0.0.9', '<none>', 'node-2', '1/2']);
  });

  it('AGE is <unknown> without a creationTimestamp', () => {
    const p = { ...runningPod, metadata: { name: 'web' } };
    expect(podPrinter.cells(p, NOW_MS)[4]).toBe('<unknown>');
  });

  it('never throws on a malformed object', () => {
    const garbage = { metadata: { name: 'g' }, spec: 'x', status: { containerStatuses: [null, 3, { state: null }] } };
    expect(podPrinter.cells(garbage, NOW_MS)).toEqual(['g', '0/0', '', '0', '<unknown>', '<none>', '<none>', '<none>', '<none>']);
  });
});
