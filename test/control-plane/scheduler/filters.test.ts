/**
 * The simple filter plugins, on constructed NodeInfos: each answers Success
 * where Kubernetes would place the pod and its reason text where it would not.
 */
import { describe, expect, it } from 'vitest';
import { StatusCode } from '../../../control-plane/scheduler/framework.js';
import { PodInfo } from '../../../control-plane/scheduler/pod-info.js';
import { NodeAffinityPlugin } from '../../../control-plane/scheduler/plugins/node-affinity.js';
import { NodeNamePlugin } from '../../../control-plane/scheduler/plugins/node-name.js';
import { NodePortsPlugin } from '../../../control-plane/scheduler/plugins/node-ports.js';
import { NodeReadyPlugin } from '../../../control-plane/scheduler/plugins/node-ready.js';
import { NodeResourcesFitPlugin } from '../../../control-plane/scheduler/plugins/node-resources-fit.js';
import { NodeUnschedulablePlugin } from '../../../control-plane/scheduler/plugins/node-unschedulable.js';
import { TaintTolerationPlugin, tolerates } from '../../../control-plane/scheduler/plugins/taint-toleration.js';
import { filterOnly, makePod, nodeInfo, podInfo } from './fixtures.js';

describe('NodeReady', () => {
  const plugin = new NodeReadyPlugin();
  it('passes a Ready node and rejects a NotReady one as unresolvable', () => {
    expect(filterOnly(plugin, podInfo({ name: 'p' }), nodeInfo({ name: 'n' })).code).toBe(StatusCode.Success);
    const s = filterOnly(plugin, podInfo({ name: 'p' }), nodeInfo({ name: 'n', ready: false }));
    expect(s).toMatchObject({ code: StatusCode.UnschedulableAndUnresolvable, reasons: ['node(s) were not ready'] });
  });
});

describe('NodeUnschedulable', () => {
  const plugin = new NodeUnschedulablePlugin();
  it('rejects a cordoned node unless the pod tolerates node.kubernetes.io/unschedulable', () => {
    const cordoned = nodeInfo({ name: 'n', unschedulable: true });
    expect(filterOnly(plugin, podInfo({ name: 'p' }), cordoned)).toMatchObject({ code: StatusCode.UnschedulableAndUnresolvable, reasons: ['node(s) were unschedulable'] });
    const tolerant = podInfo({ name: 'ds', tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    expect(filterOnly(plugin, tolerant, cordoned).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, podInfo({ name: 'p' }), nodeInfo({ name: 'n' })).code).toBe(StatusCode.Success);
  });
});

describe('NodeName', () => {
  const plugin = new NodeNamePlugin();
  it('fits a pod naming a node only on that node', () => {
    const pod = podInfo({ name: 'p', nodeName: 'b' });
    expect(filterOnly(plugin, pod, nodeInfo({ name: 'b' })).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, pod, nodeInfo({ name: 'a' })).reasons).toEqual(["node(s) didn't match the requested node name"]);
    expect(filterOnly(plugin, podInfo({ name: 'free' }), nodeInfo({ name: 'a' })).code).toBe(StatusCode.Success);
  });
});

describe('NodePorts', () => {
  const plugin = new NodePortsPlugin();
  const withPort = (name: string, hostPort: number, hostIP?: string) =>
    makePod({ name, containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort, ...(hostIP === undefined ? {} : { hostIP }) }] }] });
  it('rejects a node where the host port is taken, on any IP when one side binds 0.0.0.0', () => {
    const node = nodeInfo({ name: 'n' }, [withPort('old', 8080)]);
    expect(filterOnly(plugin, podInfo({ name: 'x' }), node).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, new PodInfo(withPort('new', 8080, '10.0.0.1')), node).reasons).toEqual([
      "node(s) didn't have free ports for the requested pod ports",
    ]);
    const specific = nodeInfo({ name: 'n' }, [withPort('old', 8080, '10.0.0.1')]);
    const other = new PodInfo(withPort('new', 8080, '10.0.0.2'));
    expect(filterOnly(plugin, other, specific).code).toBe(StatusCode.Success);
  });
});

describe('TaintToleration filter', () => {
  const plugin = new TaintTolerationPlugin();
  const tainted = nodeInfo({ name: 'n', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });

  it('rejects an untolerated NoSchedule taint with Kubernetes\' message', () => {
    expect(filterOnly(plugin, podInfo({ name: 'p' }), tainted)).toMatchObject({
      code: StatusCode.UnschedulableAndUnresolvable,
      reasons: ['node(s) had untolerated taint {dedicated: gpu}'],
    });
  });

  it('accepts Equal with the right value, Exists on the key, and an empty key with Exists', () => {
    for (const t of [
      { key: 'dedicated', operator: 'Equal' as const, value: 'gpu', effect: 'NoSchedule' as const },
      { key: 'dedicated', operator: 'Exists' as const },
      { operator: 'Exists' as const },
    ]) {
      expect(filterOnly(plugin, podInfo({ name: 'p', tolerations: [t] }), tainted).code).toBe(StatusCode.Success);
    }
    const wrongValue = podInfo({ name: 'p', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }] });
    expect(filterOnly(plugin, wrongValue, tainted).code).toBe(StatusCode.UnschedulableAndUnresolvable);
    const wrongEffect = podInfo({ name: 'p', tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }] });
    expect(filterOnly(plugin, wrongEffect, tainted).code).toBe(StatusCode.UnschedulableAndUnresolvable);
  });

  it('filters NoExecute (the not-ready taint) too, but never PreferNoSchedule', () => {
    const notReady = nodeInfo({ name: 'n', taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] });
    expect(filterOnly(plugin, podInfo({ name: 'p' }), notReady).reasons).toEqual(['node(s) had untolerated taint {node.kubernetes.io/not-ready: }']);
    const soft = nodeInfo({ name: 'n', taints: [{ key: 'k', effect: 'PreferNoSchedule' }] });
    expect(filterOnly(plugin, podInfo({ name: 'p' }), soft).code).toBe(StatusCode.Success);
  });

  it('tolerates(): an empty operator means Equal, and a missing value equals an empty one', () => {
    expect(tolerates({ key: 'k' }, { key: 'k', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates({ key: 'k' }, { key: 'k', value: 'v', effect: 'NoSchedule' })).toBe(false);
  });
});

describe('NodeAffinity filter', () => {
  const plugin = new NodeAffinityPlugin();
  const zoneA = nodeInfo({ name: 'a', labels: { zone: 'a', gen: '5' } });
  const zoneB = nodeInfo({ name: 'b', labels: { zone: 'b', gen: '3' } });
  const REASON = "node(s) didn't match Pod's node affinity/selector";

  it('nodeSelector needs every pair', () => {
    const pod = podInfo({ name: 'p', nodeSelector: { zone: 'a', gen: '5' } });
    expect(filterOnly(plugin, pod, zoneA).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, pod, zoneB)).toMatchObject({ code: StatusCode.UnschedulableAndUnresolvable, reasons: [REASON] });
  });

  const required = (terms: object[]) => podInfo({ name: 'p', affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } });

  it('terms are ORed, expressions inside a term ANDed', () => {
    const pod = required([
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'gen', operator: 'In', values: ['3'] }] },
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
    ]);
    expect(filterOnly(plugin, pod, zoneA).code).not.toBe(StatusCode.Success);
    expect(filterOnly(plugin, pod, zoneB).code).toBe(StatusCode.Success);
  });

  it.each([
    ['NotIn', { key: 'zone', operator: 'NotIn', values: ['a'] }, false, true],
    ['Exists', { key: 'gen', operator: 'Exists' }, true, true],
    ['DoesNotExist', { key: 'gpu', operator: 'DoesNotExist' }, true, true],
    ['Gt', { key: 'gen', operator: 'Gt', values: ['4'] }, true, false],
    ['Lt', { key: 'gen', operator: 'Lt', values: ['4'] }, false, true],
    ['Gt with a non-integer value', { key: 'zone', operator: 'Gt', values: ['1'] }, false, false],
  ])('%s', (_name, expression, onA, onB) => {
    const pod = required([{ matchExpressions: [expression] }]);
    expect(filterOnly(plugin, pod, zoneA).code === StatusCode.Success).toBe(onA);
    expect(filterOnly(plugin, pod, zoneB).code === StatusCode.Success).toBe(onB);
  });

  it('matchFields metadata.name picks nodes by name; an empty term and an empty term list match nothing', () => {
    const pod = required([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }]);
    expect(filterOnly(plugin, pod, zoneA).code).not.toBe(StatusCode.Success);
    expect(filterOnly(plugin, pod, zoneB).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, required([{}]), zoneA).code).not.toBe(StatusCode.Success);
    expect(filterOnly(plugin, required([]), zoneA).code).not.toBe(StatusCode.Success);
  });
});

describe('NodeResourcesFit', () => {
  const plugin = new NodeResourcesFitPlugin();

  it('counts the pods already on the node, and reports each resource short', () => {
    const node = nodeInfo({ name: 'n', cpu: '2', memory: '1Gi' }, [makePod({ name: 'a', cpu: '1500m', memory: '512Mi' })]);
    expect(filterOnly(plugin, podInfo({ name: 'p', cpu: '500m', memory: '512Mi' }), node).code).toBe(StatusCode.Success);
    expect(filterOnly(plugin, podInfo({ name: 'p', cpu: '501m' }), node)).toMatchObject({ code: StatusCode.Unschedulable, reasons: ['Insufficient cpu'] });
    expect(filterOnly(plugin, podInfo({ name: 'p', cpu: '1', memory: '1Gi' }), node).reasons).toEqual(['Insufficient cpu', 'Insufficient memory']);
  });

  it('checks the pod count against allocatable pods', () => {
    const node = nodeInfo({ name: 'n', pods: '1' }, [makePod({ name: 'a' })]);
    expect(filterOnly(plugin, podInfo({ name: 'p' }), node).reasons).toEqual(['Too many pods']);
  });

  it('checks extended resources the pod requests', () => {
    const node = nodeInfo({ name: 'n' });
    const gpuPod = podInfo({ name: 'p', containers: [{ name: 'c', resources: { requests: { 'example.com/gpu': '1' } } }] });
    expect(filterOnly(plugin, gpuPod, node).reasons).toEqual(['Insufficient example.com/gpu']);
  });

  it('an init container larger than the app containers sets the request', () => {
    const node = nodeInfo({ name: 'n', cpu: '2' });
    const pod = podInfo({ name: 'p', cpu: '500m', initContainers: [{ name: 'init', resources: { requests: { cpu: '3' } } }] });
    expect(filterOnly(plugin, pod, node).reasons).toEqual(['Insufficient cpu']);
  });
});
