/** Pure parts of the pod network: CIDR parsing, addresses, veth names. */
import { describe, expect, it } from 'vitest';
import { formatIp, hostVethName, parseCidr } from '../../../node/runtime/pod-network.js';
import { exitReason } from '../../../node/runtime/cri-views.js';

describe('pod network helpers', () => {
  it('parses a CIDR to its network base', () => {
    const c = parseCidr('10.1.2.77/24');
    expect(formatIp(c.base)).toBe('10.1.2.0');
    expect(c.prefix).toBe(24);
    expect(() => parseCidr('10.1.2.0')).toThrow(/CIDR/);
    expect(() => parseCidr('300.1.2.0/24')).toThrow(/CIDR/);
  });
  it('names bridge-side veths within IFNAMSIZ, stable per sandbox', () => {
    const n = hostVethName('a'.repeat(64));
    expect(n.length).toBeLessThanOrEqual(15);
    expect(hostVethName('a'.repeat(64))).toBe(n);
    expect(hostVethName('b'.repeat(64))).not.toBe(n);
  });
});

describe('exit reasons', () => {
  it('follows containerd: Completed, Error, OOMKilled, Unknown', () => {
    expect(exitReason({ code: 0, oomKilled: false })).toBe('Completed');
    expect(exitReason({ code: 3, oomKilled: false })).toBe('Error');
    expect(exitReason({ code: 137, oomKilled: true })).toBe('OOMKilled');
    expect(exitReason({ code: undefined, oomKilled: false })).toBe('Unknown');
  });
});
