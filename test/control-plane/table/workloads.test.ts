import { describe, expect, it } from 'vitest';
import { deploymentPrinter, replicaSetPrinter } from '../../../control-plane/table/workloads.js';
import { NOW_MS, h, m, obj } from './fixtures.js';

const template = {
  metadata: { labels: { app: 'web' } },
  spec: {
    containers: [
      { name: 'web', image: 'nginx:1.27' },
      { name: 'log', image: 'busybox:1.36' },
    ],
  },
};

describe('deployments table', () => {
  it('2/3 ready: READY, UP-TO-DATE and AVAILABLE, then the wide cells', () => {
    const deploy = obj(
      'Deployment',
      'web',
      {
        spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
        status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
      },
      h(4) + m(5),
    );
    expect(deploymentPrinter.cells(deploy, NOW_MS)).toEqual([
      'web',
      '2/3',
      3,
      2,
      '4h5m',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=web',
    ]);
    expect(deploymentPrinter.columns.map((c) => `${c.name}:${c.type}:${c.priority}`)).toEqual([
      'Name:string:0',
      'Ready:string:0',
      'Up-to-date:string:0',
      'Available:string:0',
      'Age:string:0',
      'Containers:string:1',
      'Images:string:1',
      'Selector:string:1',
    ]);
  });

  it('a new deployment without status: 0/N and zero counts; replicas default to 1', () => {
    const deploy = obj('Deployment', 'new', { spec: { selector: { matchLabels: { app: 'x' } }, template } });
    expect(deploymentPrinter.cells(deploy, NOW_MS).slice(0, 4)).toEqual(['new', '0/1', 0, 0]);
    const scaledToZero = obj('Deployment', 'zero', { spec: { replicas: 0, template } });
    expect(deploymentPrinter.cells(scaledToZero, NOW_MS).slice(1, 2)).toEqual(['0/0']);
  });

  it('SELECTOR joins matchLabels and expressions sorted by key; empty when there is none', () => {
    const selector = {
      matchLabels: { tier: 'front', app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['qa', 'prod'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'canary', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['b'] },
      ],
    };
    const deploy = obj('Deployment', 'web', { spec: { selector, template } });
    expect(deploymentPrinter.cells(deploy, NOW_MS)[7]).toBe('app=web,canary,env in (prod,qa),!legacy,tier=front,zone notin (b)');
    expect(deploymentPrinter.cells(obj('Deployment', 'x', { spec: { template } }), NOW_MS)[7]).toBe('');
    const bad = obj('Deployment', 'x', { spec: { template, selector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } } });
    expect(deploymentPrinter.cells(bad, NOW_MS)[7]).toBe('<invalid>');
  });
});

describe('replicasets table', () => {
  it('DESIRED CURRENT READY as integers, then the wide cells', () => {
    const rs = obj('ReplicaSet', 'web-7d4b9c8f5', {
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c8f5' } }, template },
      status: { replicas: 3, readyReplicas: 1 },
    });
    expect(replicaSetPrinter.cells(rs, NOW_MS)).toEqual([
      'web-7d4b9c8f5',
      3,
      3,
      1,
      '34m',
      'web,log',
      'nginx:1.27,busybox:1.36',
      'app=web,pod-template-hash=7d4b9c8f5',
    ]);
    expect(replicaSetPrinter.columns.slice(1, 4).map((c) => c.type)).toEqual(['integer', 'integer', 'integer']);
  });

  it('SELECTOR is <none> when the selector is missing or empty', () => {
    expect(replicaSetPrinter.cells(obj('ReplicaSet', 'x', { spec: { template } }), NOW_MS)[7]).toBe('<none>');
    expect(replicaSetPrinter.cells(obj('ReplicaSet', 'x', { spec: { template, selector: {} } }), NOW_MS)[7]).toBe('<none>');
  });
});
