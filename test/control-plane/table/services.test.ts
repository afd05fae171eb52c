import { describe, expect, it } from 'vitest';
import { endpointsPrinter, formatEndpoints, servicePrinter } from '../../../control-plane/table/services.js';
import { NOW_MS, d, obj } from './fixtures.js';

function service(name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}) {
  return obj('Service', name, { spec, status }, d(12));
}

describe('services table', () => {
  it('a ClusterIP service', () => {
    const svc = service('web', {
      type: 'ClusterIP',
      clusterIP: '10.96.12.7',
      clusterIPs: ['10.96.12.7'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: 'web', tier: 'front' },
    });
    expect(servicePrinter.cells(svc, NOW_MS)).toEqual([
      'web',
      'ClusterIP',
      '10.96.12.7',
      '<none>',
      '80/TCP',
      '12d',
      'app=web,tier=front',
    ]);
  });

  it('a NodePort service shows port:nodePort/protocol for each port', () => {
    const svc = service('np', {
      type: 'NodePort',
      clusterIPs: ['10.96.0.20'],
      ports: [
        { port: 80, nodePort: 30080, protocol: 'TCP' },
        { port: 53, nodePort: 30053, protocol: 'UDP' },
      ],
      externalIPs: ['203.0.113.4'],
    });
    expect(servicePrinter.cells(svc, NOW_MS).slice(1, 5)).toEqual([
      'NodePort',
      '10.96.0.20',
      '203.0.113.4',
      '80:30080/TCP,53:30053/UDP',
    ]);
  });

  it('a LoadBalancer service: <pending> until it has an address; addresses sorted, deduplicated, then externalIPs', () => {
    const spec = { type: 'LoadBalancer', clusterIPs: ['10.96.0.30'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] };
    expect(servicePrinter.cells(service('lb', spec), NOW_MS)[3]).toBe('<pending>');
    const status = { loadBalancer: { ingress: [{ ip: '198.51.100.9' }, { hostname: 'lb.example.com' }, { ip: '198.51.100.9' }] } };
    expect(servicePrinter.cells(service('lb', spec, status), NOW_MS)[3]).toBe('198.51.100.9,lb.example.com');
    const withExternal = { ...spec, externalIPs: ['203.0.113.1'] };
    expect(servicePrinter.cells(service('lb', withExternal, status), NOW_MS)[3]).toBe(
      '198.51.100.9,lb.example.com,203.0.113.1',
    );
  });

  it('headless, ExternalName and port-less services', () => {
    const headless = service('db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432, protocol: 'TCP' }] });
    expect(servicePrinter.cells(headless, NOW_MS).slice(1, 5)).toEqual(['ClusterIP', 'None', '<none>', '5432/TCP']);
    const external = service('ext', { type: 'ExternalName', externalName: 'db.example.com' });
    expect(servicePrinter.cells(external, NOW_MS).slice(1, 5)).toEqual(['ExternalName', '<none>', 'db.example.com', '<none>']);
    expect(servicePrinter.cells(external, NOW_MS)[6]).toBe('<none>');
  });

  it('fills what Kubernetes defaulting would have: type ClusterIP, protocol TCP, clusterIPs from clusterIP', () => {
    const svc = service('bare', { clusterIP: '10.96.0.5', ports: [{ port: 8080 }] });
    expect(servicePrinter.cells(svc, NOW_MS).slice(1, 5)).toEqual(['ClusterIP', '10.96.0.5', '<none>', '8080/TCP']);
  });
});

describe('endpoints table', () => {
  const address = (ip: string) => ({ ip, targetRef: { kind: 'Pod', name: `p-${ip}` } });

  it('shows the first three address:port pairs and counts the rest', () => {
    const ep = obj(
      'Endpoints',
      'web',
      {
        subsets: [
          {
            addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map(address),
            notReadyAddresses: [address('10.0.0.9')],
            ports: [{ port: 80, protocol: 'TCP' }],
          },
        ],
      },
      d(3),
    );
    expect(endpointsPrinter.cells(ep, NOW_MS)).toEqual(['web', '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...', '3d']);
  });

  it('every port of a subset pairs with every address; counts span subsets', () => {
    const subsets = [
      { addresses: [address('10.0.0.1'), address('10.0.0.2')], ports: [{ port: 80 }, { port: 443 }] },
      { addresses: [address('10.0.1.1')], ports: [{ port: 80 }] },
    ];
    expect(formatEndpoints(subsets)).toBe('10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...');
  });

  it('exactly three is not "more"; IPv6 in brackets; a subset without ports lists bare IPs', () => {
    expect(formatEndpoints([{ addresses: [address('10.0.0.1'), address('fd00::1'), address('10.0.0.3')], ports: [{ port: 80 }] }])).toBe(
      '10.0.0.1:80,[fd00::1]:80,10.0.0.3:80',
    );
    expect(formatEndpoints([{ addresses: [address('10.0.0.1'), address('10.0.0.2')] }])).toBe('10.0.0.1,10.0.0.2');
  });

  it('<none> without subsets; empty when no address is ready', () => {
    expect(formatEndpoints(undefined)).toBe('<none>');
    expect(formatEndpoints([])).toBe('<none>');
    expect(formatEndpoints([{ notReadyAddresses: [address('10.0.0.1')], ports: [{ port: 80 }] }])).toBe('');
  });
});
