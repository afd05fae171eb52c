/**
 * ClusterIP allocation for Services. Each allocated address is a key of its
 * own, claimed in the same txn that creates the Service (compare "key absent")
 * and released in the txn that deletes it, so two masters creating Services
 * at once can never hand out one address twice, and a crash between the two
 * writes cannot leak or double-book an address.
 */
import { randomInt } from 'node:crypto';
import type { KvCompare, KvOp } from '../../store/kv-backend.js';
import type { SideEffects } from './object-store.js';

/** Allocation keys live outside /registry/ so the watch cache (and clients) never see them. */
export const SERVICE_IP_PREFIX = '/registry-ranges/serviceips/';
/** Kubernetes' kubeadm default service range. */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** Random picks tried before the range counts as full (at low occupancy one almost always succeeds). */
export const ALLOCATE_ATTEMPTS_MAX = 32;

export class ServiceCidr {
  private readonly base: number;
  /** Usable addresses: the network address and the broadcast address are excluded. */
  readonly size: number;

  constructor(readonly cidr: string) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    const octets = m === null ? [] : m.slice(1, 5).map(Number);
    const bits = m === null ? NaN : Number(m[5]);
    if (octets.length !== 4 || octets.some((o) => o > 255) || !(bits >= 8 && bits <= 30)) {
      throw new RangeError(`service CIDR must be an IPv4 network with a prefix of 8 to 30 bits, got "${cidr}"`);
    }
    const addr = octets.reduce((acc, o) => acc * 256 + o, 0);
    const blockSize = 2 ** (32 - bits);
    this.base = addr - (addr % blockSize);
    this.size = blockSize - 2;
  }

  /** The n-th usable address (0-based): n = 0 is the first address after the network address. */
  address(n: number): string {
    const v = this.base + 1 + n;
    return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
  }

  contains(ip: string): boolean {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
    const v = parts.reduce((acc, o) => acc * 256 + o, 0);
    return v > this.base && v <= this.base + this.size;
  }

  /** A random usable address. The first one is left for the `kubernetes` Service, as Kubernetes does. */
  randomAddress(): string {
    return this.address(1 + randomInt(this.size - 1));
  }
}

export function serviceIpKey(ip: string): string {
  return `${SERVICE_IP_PREFIX}${ip}`;
}

/** Compares and writes that claim `ip` for the service `owner` ("namespace/name"). */
export function claimIp(ip: string, owner: string): SideEffects {
  const key = serviceIpKey(ip);
  const compare: KvCompare[] = [{ key, modRevision: 0 }];
  const ops: KvOp[] = [{ type: 'put', key, value: new TextEncoder().encode(owner) }];
  return { compare, ops };
}

export function releaseIps(ips: readonly string[]): KvOp[] {
  return ips.map((ip) => ({ type: 'delete', key: serviceIpKey(ip) }));
}
