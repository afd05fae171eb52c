import { describe, expect, it } from 'vitest';
import { nodePrinter, nodeRoles } from '../../../control-plane/table/nodes.js';
import { NOW_MS, d, h, obj } from './fixtures.js';

const nodeInfo = {
  kubeletVersion: 'v1.32.2',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  kernelVersion: '6.1.0-31-amd64',
  containerRuntimeVersion: 'containerd://1.7.24',
};

function node(name: string, opts: { ready?: string; unschedulable?: boolean; labels?: Record<string, string> } = {}) {
  return obj(
    'Node',
    name,
    {
      metadata: { labels: opts.labels ?? {} },
      spec: opts.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False' },
          ...(opts.ready === undefined ? [] : [{ type: 'Ready', status: opts.ready }]),
        ],
        addresses: [
          { type: 'InternalIP', address: '192.168.1.10' },
          { type: 'Hostname', address: name },
        ],
        nodeInfo,
      },
    },
    d(2) + h(3),
  );
}

describe('nodes table', () => {
  it('a cordoned control-plane node: Ready,SchedulingDisabled control-plane', () => {
    const n = node('cp-1', {
      ready: 'True',
      unschedulable: true,
      labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'cp-1' },
    });
    expect(nodePrinter.cells(n, NOW_MS)).toEqual([
      'cp-1',
      'Ready,SchedulingDisabled',
      'control-plane',
      '2d3h',
      'v1.32.2',
      '192.168.1.10',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0-31-amd64',
      'containerd://1.7.24',
    ]);
  });

  it('STATUS: NotReady for a False or Unknown Ready condition, Unknown without one', () => {
    expect(nodePrinter.cells(node('a', { ready: 'False' }), NOW_MS).slice(1, 3)).toEqual(['NotReady', '<none>']);
    expect(nodePrinter.cells(node('a', { ready: 'Unknown' }), NOW_MS)[1]).toBe('NotReady');
    expect(nodePrinter.cells(node('a'), NOW_MS)[1]).toBe('Unknown');
    expect(nodePrinter.cells(node('a', { unschedulable: true }), NOW_MS)[1]).toBe('Unknown,SchedulingDisabled');
  });

  it('ROLES: every node-role label and the legacy kubernetes.io/role label, sorted and deduplicated', () => {
    expect(
      nodeRoles({
        'node-role.kubernetes.io/worker': '',
        'node-role.kubernetes.io/control-plane': '',
        'node-role.kubernetes.io/': '',
        'kubernetes.io/role': 'worker',
        'example.com/role': 'ingress',
      }),
    ).toEqual(['control-plane', 'worker']);
  });

  it('wide cells fall back to <none> and <unknown> when the node has not reported them', () => {
    const bare = obj('Node', 'new', { status: {} });
    expect(nodePrinter.cells(bare, NOW_MS)).toEqual([
      'new',
      'Unknown',
      '<none>',
      '34m',
      '',
      '<none>',
      '<none>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ]);
  });

  it('declares the wide columns with priority 1', () => {
    expect(nodePrinter.columns.map((c) => `${c.name}:${c.priority}`)).toEqual([
      'Name:0',
      'Status:0',
      'Roles:0',
      'Age:0',
      'Version:0',
      'Internal-IP:1',
      'External-IP:1',
      'OS-Image:1',
      'Kernel-Version:1',
      'Container-Runtime:1',
    ]);
  });
});
