import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import {
  TableWatchEncoder,
  columnDefinitionsFor,
  objectTable,
  printerFor,
  tableRowFor,
  toTable,
} from '../../../control-plane/table/index.js';
import { defaultPrinter } from '../../../control-plane/table/default-printer.js';
import { deploymentPrinter } from '../../../control-plane/table/workloads.js';
import { NOW_MS, m, obj } from './fixtures.js';

const pods: KubeObject[] = [
  obj('Pod', 'a', {
    apiVersion: 'v1',
    metadata: { namespace: 'default', uid: 'u-a', labels: { app: 'a' } },
    spec: { containers: [{ name: 'c' }], nodeName: 'n1' },
    status: { phase: 'Running', podIPs: [{ ip: '10.0.0.1' }], containerStatuses: [{ name: 'c', ready: true, state: { running: {} } }] },
  }),
  obj('Pod', 'b', {
    apiVersion: 'v1',
    metadata: { namespace: 'default', uid: 'u-b', resourceVersion: '43' },
    spec: { containers: [{ name: 'c' }] },
    status: { phase: 'Succeeded' },
  }, m(3)),
];

describe('toTable (a LIST answer)', () => {
  it('is a meta.k8s.io/v1 Table with every column and one row per object, in order', () => {
    const table = toTable('pods', pods, {
      nowMs: NOW_MS,
      includeObject: 'Metadata',
      listMeta: { resourceVersion: '100', continue: 'token', remainingItemCount: 7 },
    });
    expect(table.kind).toBe('Table');
    expect(table.apiVersion).toBe('meta.k8s.io/v1');
    expect(table.metadata).toEqual({ resourceVersion: '100', continue: 'token', remainingItemCount: 7 });
    expect(table.columnDefinitions?.map((c) => c.name)).toEqual([
      'Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates',
    ]);
    expect(table.rows.map((r) => r.cells)).toEqual([
      ['a', '1/1', 'Running', '0', '34m', '10.0.0.1', 'n1', '<none>', '<none>'],
      ['b', '0/1', 'Succeeded', '0', '3m', '<none>', '<none>', '<none>', '<none>'],
    ]);
    expect(table.rows[0]?.conditions).toBeUndefined();
    expect(table.rows[1]?.conditions).toEqual([
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ]);
  });

  it('list metadata holds only the fields that are set; an empty list has no rows', () => {
    const table = toTable('pods', [], { nowMs: NOW_MS, includeObject: 'Metadata', listMeta: { resourceVersion: '9' } });
    expect(table.metadata).toEqual({ resourceVersion: '9' });
    expect(table.rows).toEqual([]);
    expect(toTable('pods', [], { nowMs: NOW_MS, includeObject: 'Metadata' }).metadata).toEqual({});
  });

  it('serializes like Kubernetes: format and priority on every column, cells then conditions then object', () => {
    const json = JSON.stringify(toTable('pods', pods, { nowMs: NOW_MS, includeObject: 'None' }));
    expect(json).toContain('{"name":"Name","type":"string","format":"name","description":"Name must be unique');
    expect(json).toContain('"name":"Ready","type":"string","format":"","description":"The aggregate readiness state of this pod for accepting traffic.","priority":0}');
    expect(json).toContain('"rows":[{"cells":["a","1/1","Running","0","34m","10.0.0.1","n1","<none>","<none>"],"object":null}');
    expect(json).toContain('"cells":["b","0/1","Succeeded","0","3m","<none>","<none>","<none>","<none>"],"conditions":[{');
  });
});

describe('includeObject', () => {
  const pod = pods[0] as KubeObject;

  it('Metadata (the default): a PartialObjectMetadata with the whole ObjectMeta', () => {
    expect(tableRowFor('pods', pod, { nowMs: NOW_MS, includeObject: 'Metadata' }).object).toEqual({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: pod.metadata,
    });
  });

  it('Object: the object itself', () => {
    expect(tableRowFor('pods', pod, { nowMs: NOW_MS, includeObject: 'Object' }).object).toBe(pod);
  });

  it('None: null, as Go writes an empty RawExtension', () => {
    expect(tableRowFor('pods', pod, { nowMs: NOW_MS, includeObject: 'None' }).object).toBeNull();
  });
});

describe('objectTable (a GET answer) and TableWatchEncoder (a WATCH)', () => {
  it('one row; metadata.resourceVersion is the object’s', () => {
    const table = objectTable('pods', pods[1] as KubeObject, { nowMs: NOW_MS, includeObject: 'Metadata' });
    expect(table.metadata).toEqual({ resourceVersion: '43' });
    expect(table.rows).toHaveLength(1);
    expect(table.columnDefinitions).toHaveLength(9);
  });

  it('column definitions go with the first event only; later events carry null', () => {
    const encoder = new TableWatchEncoder('pods', 'Metadata');
    const first = encoder.encode(pods[0] as KubeObject, NOW_MS);
    const second = encoder.encode(pods[1] as KubeObject, NOW_MS);
    const third = encoder.encode(pods[0] as KubeObject, NOW_MS + m(1));
    expect(first.columnDefinitions).toEqual(columnDefinitionsFor('pods'));
    expect(second.columnDefinitions).toBeNull();
    expect(third.columnDefinitions).toBeNull();
    expect(third.rows[0]?.cells[4]).toBe('35m');
    expect(JSON.stringify(second)).toContain('"columnDefinitions":null');
    // a new stream starts with headers again
    expect(new TableWatchEncoder('pods', 'Metadata').encode(pods[0] as KubeObject, NOW_MS).columnDefinitions).not.toBeNull();
  });
});

describe('printerFor', () => {
  it('takes bare plurals and group-qualified names', () => {
    expect(printerFor('deployments')).toBe(deploymentPrinter);
    expect(printerFor('deployments.apps')).toBe(deploymentPrinter);
    expect(printerFor('leases').columns.map((c) => c.name)).toEqual(['Name', 'Holder', 'Age']);
    expect(printerFor('events.events.k8s.io')).toBe(printerFor('events'));
  });

  it('falls back to NAME / CREATED AT: roles, clusterroles, unknown and same-named custom resources', () => {
    for (const resource of ['roles', 'clusterroles', 'roles.rbac.authorization.k8s.io', 'widgets.example.com', 'deployments.example.com']) {
      expect(printerFor(resource)).toBe(defaultPrinter);
    }
  });

  it('column definitions are copies: a caller cannot alter the printer', () => {
    const columns = columnDefinitionsFor('pods');
    (columns[0] as { name: string }).name = 'Changed';
    expect(columnDefinitionsFor('pods')[0]?.name).toBe('Name');
  });
});

describe('every printer gives exactly one cell per column', () => {
  const resources = [
    'pods', 'nodes', 'namespaces', 'services', 'endpoints', 'configmaps', 'secrets', 'serviceaccounts', 'events',
    'events.events.k8s.io', 'deployments', 'replicasets', 'leases', 'rolebindings', 'clusterrolebindings', 'roles',
  ];
  const shapes: KubeObject[] = [{ metadata: {} }, { metadata: { name: 'x' }, spec: null, status: 7 }, ...pods];

  it.each(resources)('%s', (resource) => {
    const width = columnDefinitionsFor(resource).length;
    for (const shape of shapes) {
      const cells = tableRowFor(resource, shape, { nowMs: NOW_MS, includeObject: 'None' }).cells;
      expect(cells).toHaveLength(width);
      for (const cell of cells) expect(['string', 'number', 'boolean']).toContain(typeof cell);
    }
  });
});
