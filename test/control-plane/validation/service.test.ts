/**
 * Services and Endpoints.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { expectCauses, expectValid, service, type Json } from './helpers.js';

const { Required, Invalid, Duplicate, NotSupported, Forbidden } = FieldErrorType;

type Case = readonly [string, (s: Json) => void, [string, string][]];

describe('valid services', () => {
  it('ClusterIP, NodePort, headless and ExternalName services', () => {
    expectValid('Service', service());
    const nodePort = service();
    nodePort['spec'].type = 'NodePort';
    nodePort['spec'].ports[0].nodePort = 30080;
    expectValid('Service', nodePort);
    const headless = service();
    headless['spec'] = { clusterIP: 'None', selector: { app: 'db' } };
    expectValid('Service', headless);
    expectValid('Service', { metadata: { name: 'ext', namespace: 'd' }, spec: { type: 'ExternalName', externalName: 'db.example.com.' } });
    const allocated = service();
    allocated['spec'].clusterIP = '10.96.0.10';
    expectValid('Service', allocated);
  });

  it('several named ports with int and named targets', () => {
    const s = service();
    s['spec'].ports.push({ name: 'metrics', port: 9090, targetPort: 9090 }, { name: 'dns', port: 53, protocol: 'UDP' });
    expectValid('Service', s);
  });
});

describe('service mistakes', () => {
  const cases: Case[] = [
    ['name not a DNS-1035 label', (s) => (s['metadata'].name = '1web'), [['metadata.name', Invalid]]],
    ['no ports', (s) => (s['spec'].ports = []), [['spec.ports', Required]]],
    ['port 0', (s) => (s['spec'].ports[0].port = 0), [['spec.ports[0].port', Invalid]]],
    ['port too large', (s) => (s['spec'].ports[0].port = 65536), [['spec.ports[0].port', Invalid]]],
    ['unnamed port among several', (s) => s['spec'].ports.push({ port: 81 }), [['spec.ports[1].name', Required]]],
    ['duplicate port names', (s) => s['spec'].ports.push({ name: 'http', port: 81 }), [['spec.ports[1].name', Duplicate]]],
    ['duplicate port and protocol', (s) => s['spec'].ports.push({ name: 'alt', port: 80 }), [['spec.ports[1]', Duplicate]]],
    ['port name not a DNS label', (s) => (s['spec'].ports[0].name = 'HTTP'), [['spec.ports[0].name', Invalid]]],
    ['protocol unknown', (s) => (s['spec'].ports[0].protocol = 'ICMP'), [['spec.ports[0].protocol', NotSupported]]],
    ['targetPort name invalid', (s) => (s['spec'].ports[0].targetPort = 'my--port'), [['spec.ports[0].targetPort', Invalid]]],
    ['targetPort number invalid', (s) => (s['spec'].ports[0].targetPort = 70000), [['spec.ports[0].targetPort', Invalid]]],
    ['type unknown', (s) => (s['spec'].type = 'Ingress'), [['spec.type', NotSupported]]],
    ['nodePort on ClusterIP', (s) => (s['spec'].ports[0].nodePort = 30080), [['spec.ports[0].nodePort', Forbidden]]],
    [
      'nodePort outside the range',
      (s) => Object.assign(s['spec'], { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }),
      [['spec.ports[0].nodePort', Invalid]],
    ],
    ['headless NodePort', (s) => Object.assign(s['spec'], { type: 'NodePort', clusterIP: 'None' }), [['spec.clusterIPs[0]', Invalid]]],
    ['clusterIP not an IP', (s) => (s['spec'].clusterIP = '10.96.0.300'), [['spec.clusterIPs[0]', Invalid]]],
    ['clusterIPs not starting with clusterIP', (s) => Object.assign(s['spec'], { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.2'] }), [['spec.clusterIPs[0]', Invalid]]],
    ['sessionAffinity unknown', (s) => (s['spec'].sessionAffinity = 'Cookie'), [['spec.sessionAffinity', NotSupported]]],
    ['selector value invalid', (s) => (s['spec'].selector = { app: '-web' }), [['spec.selector', Invalid]]],
    ['externalTrafficPolicy on ClusterIP', (s) => (s['spec'].externalTrafficPolicy = 'Local'), [['spec.externalTrafficPolicy', Invalid]]],
    ['ExternalName without a name', (s) => (s['spec'] = { type: 'ExternalName' }), [['spec.externalName', Required]]],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const s = service();
    mutate(s);
    expectCauses('Service', s, expected);
  });

  it('reports the supported service types sorted, as Kubernetes does', () => {
    const s = service();
    s['spec'].type = 'Ingress';
    const [error] = expectCauses('Service', s, [['spec.type', NotSupported]]);
    expect(error?.message).toBe('Unsupported value: "Ingress": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
  });
});

describe('service updates', () => {
  const allocated = (): Json => {
    const s = service();
    s['spec'].clusterIP = '10.96.0.10';
    return s;
  };

  it('clusterIP may not change or be dropped', () => {
    expectValid('Service', allocated(), allocated());
    const moved = allocated();
    moved['spec'].clusterIP = '10.96.0.11';
    moved['spec'].clusterIPs = ['10.96.0.11'];
    expectCauses('Service', moved, [['spec.clusterIPs[0]', Invalid]], allocated());
    expectCauses('Service', service(), [['spec.clusterIPs[0]', Invalid]], allocated());
  });

  it('becoming ExternalName releases the clusterIP', () => {
    expectValid('Service', { metadata: { name: 'web', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'x.example.com' } }, allocated());
  });
});

describe('endpoints', () => {
  const endpoints = (): Json => ({
    metadata: { name: 'web', namespace: 'default' },
    subsets: [
      {
        addresses: [{ ip: '10.244.1.5', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-0' } }],
        notReadyAddresses: [{ ip: '10.244.2.7' }],
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
  });

  it('a valid endpoints object passes', () => expectValid('Endpoints', endpoints()));

  const cases: Case[] = [
    ['bad IP', (e) => (e['subsets'][0].addresses[0].ip = 'web-0'), [['subsets[0].addresses[0].ip', Invalid]]],
    ['no addresses', (e) => (e['subsets'][0] = { ports: [{ port: 80 }] }), [['subsets[0]', Required]]],
    ['port out of range', (e) => (e['subsets'][0].ports[0].port = 0), [['subsets[0].ports[0].port', Invalid]]],
    ['unnamed port among several', (e) => e['subsets'][0].ports.push({ port: 9090 }), [['subsets[0].ports[1].name', Required]]],
    ['protocol unknown', (e) => (e['subsets'][0].ports[0].protocol = 'QUIC'), [['subsets[0].ports[0].protocol', NotSupported]]],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const e = endpoints();
    mutate(e);
    expectCauses('Endpoints', e, expected);
  });
});
