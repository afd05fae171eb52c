/**
 * Fake addresses for hollow nodes and their pods. They are only strings in
 * Node and Pod status: nothing listens there and nothing may ever be sent
 * there, so they come from ranges that are never routed on the Internet.
 *
 * - Node InternalIP: 198.18.0.0/15 (RFC 2544, reserved for benchmarking). The
 *   documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) hold
 *   only 762 hosts together, fewer than one 1,000-node run needs.
 * - Pod CIDR: one /24 per node from 10.128.0.0/9, clear of the default
 *   Service range 10.96.0.0/12.
 *
 * Addresses depend only on the node's index in its process, so two hollow
 * processes in one cluster hand out the same addresses: harmless, since no
 * one connects to them, but visible in `kubectl get pods -o wide`.
 */
import { assert } from './assert.js';

/** 198.18.0.0 as a 32-bit number. */
const NODE_IP_BASE = (198 << 24) + (18 << 16);
/** Hosts in 198.18.0.0/15 after skipping the network and broadcast addresses. */
export const NODE_ADDRESSES_MAX = 2 ** 17 - 2;

/** The first two octets of the pod range 10.128.0.0/9, as [10, 128]. */
const POD_RANGE_FIRST_OCTET = 10;
const POD_RANGE_SECOND_OCTET_BASE = 128;
/** /24 blocks in 10.128.0.0/9. */
export const POD_CIDRS_MAX = 2 ** 15;

/** Pod IPs per node: .2 … .254 of its /24 (.1 would be the bridge, .255 broadcast). */
const POD_HOST_FIRST = 2;
const POD_HOST_LAST = 254;
export const POD_IPS_PER_NODE_MAX = POD_HOST_LAST - POD_HOST_FIRST + 1;

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function nodeInternalIp(index: number): string {
  assert(Number.isInteger(index) && index >= 0 && index < NODE_ADDRESSES_MAX, `node index ${index} is outside 0..${NODE_ADDRESSES_MAX - 1}`);
  return dotted(NODE_IP_BASE + index + 1);
}

export function nodePodCidr(index: number): string {
  assert(Number.isInteger(index) && index >= 0 && index < POD_CIDRS_MAX, `node index ${index} is outside 0..${POD_CIDRS_MAX - 1}`);
  return `${POD_RANGE_FIRST_OCTET}.${POD_RANGE_SECOND_OCTET_BASE + (index >>> 8)}.${index & 255}.0/24`;
}

/**
 * The pod IPs of one node's /24: each pod (by uid) holds one until released.
 * A pod that already reports an IP of this CIDR (seen again after a restart of
 * the hollow process) keeps it.
 */
export class PodIpPool {
  /** `a.b.c.` of the node's /24. */
  private readonly prefix: string;
  private readonly byUid = new Map<string, number>();
  private readonly used = new Set<number>();

  constructor(podCidr: string) {
    const m = /^(\d+\.\d+\.\d+\.)0\/24$/.exec(podCidr);
    assert(m !== null, `pod CIDR ${podCidr} is not a /24`);
    this.prefix = m[1]!;
  }

  /** The pod's IP: the one it holds, else `preferred` when it is ours and free, else the lowest free one; undefined when full. */
  acquire(uid: string, preferred?: string): string | undefined {
    const held = this.byUid.get(uid);
    if (held !== undefined) return this.prefix + held;
    const wanted = preferred?.startsWith(this.prefix) === true ? Number(preferred.slice(this.prefix.length)) : NaN;
    let host = Number.isInteger(wanted) && wanted >= POD_HOST_FIRST && wanted <= POD_HOST_LAST && !this.used.has(wanted) ? wanted : undefined;
    for (let h = POD_HOST_FIRST; host === undefined && h <= POD_HOST_LAST; h++) if (!this.used.has(h)) host = h;
    if (host === undefined) return undefined;
    this.used.add(host);
    this.byUid.set(uid, host);
    return this.prefix + host;
  }

  release(uid: string): void {
    const host = this.byUid.get(uid);
    if (host === undefined) return;
    this.byUid.delete(uid);
    this.used.delete(host);
  }

  get size(): number {
    return this.byUid.size;
  }
}
