/**
 * Pod networking of the built-in runtime.
 *
 * - `host`: the pod uses the node's network namespace (namespace_options.network
 *   == NODE); its IP is the node's loopback address here.
 * - `loopback` (no pod CIDR): each pod has its own network namespace with only
 *   `lo` up (runc sets it up); containers of the pod talk over 127.0.0.1 and the
 *   pod IP is reported as 127.0.0.1.
 * - `bridge` (a pod CIDR): a bridge `br0` lives inside a network namespace the
 *   runtime owns (`strake-<node>`), never in the host's; each pod gets a veth pair
 *   whose one end is `eth0` in the pod (an address of the CIDR, default route via
 *   the bridge address) and whose other end is a port of the bridge. Pods reach
 *   each other through the bridge. The host namespace has no route to the CIDR
 *   and nothing here ever connects to a pod address from it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { runTool } from './tools.js';

export interface PodNetworkAttachment {
  mode: 'host' | 'loopback' | 'bridge';
  ip: string;
  /** The bridge-side veth (bridge mode). */
  hostVeth?: string;
}

/** ip(8) and nsenter answer in milliseconds; under load give them seconds. */
const IP_TIMEOUT_MS = 15_000;

async function ip(args: string[]): Promise<void> {
  const r = await runTool('ip', args, { timeoutMs: IP_TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

async function inPod(pid: number, args: string[]): Promise<void> {
  const r = await runTool('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args], { timeoutMs: IP_TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} in the network namespace of PID ${pid} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

export interface PodNetwork {
  readonly mode: 'loopback' | 'bridge';
  /** Wires the pod whose namespace-holding process is `pid`. */
  attach(sandboxId: string, pid: number): Promise<PodNetworkAttachment>;
  /** Releases the pod's address and links; a pod already gone is fine. */
  detach(a: PodNetworkAttachment): Promise<void>;
  /** Addresses held by pods of an earlier runtime process (from their records). */
  reserve(ips: readonly string[]): void;
  /** What NetworkReady reports. */
  describe(): string;
  /** Sets up the node side (the bridge) ahead of the first pod, so that pod does not wait for it. */
  prepare(): Promise<void>;
  /** Removes what the network set up on the node (the runtime calls it when it closes with no pod sandbox left). */
  destroy(): Promise<void>;
}

export class LoopbackNetwork implements PodNetwork {
  readonly mode = 'loopback' as const;
  async attach(): Promise<PodNetworkAttachment> {
    return { mode: 'loopback', ip: '127.0.0.1' };
  }
  async detach(): Promise<void> {}
  reserve(): void {}
  async prepare(): Promise<void> {}
  async destroy(): Promise<void> {}
  describe(): string {
    return 'loopback-only pod networks: each pod has its own network namespace with lo; pod IPs are 127.0.0.1';
  }
}

interface Cidr {
  base: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text);
  const parts = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (m === null || parts.some((p) => p > 255) || prefix < 8 || prefix > 30) throw new Error(`pod CIDR "${text}" is not an IPv4 CIDR with a prefix of 8..30`);
  const addr = parts.reduce((a, p) => a * 256 + p, 0);
  const size = 2 ** (32 - prefix);
  return { base: addr - (addr % size), prefix };
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function parseIp(text: string): number {
  return text.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

/** Name of the bridge-side veth of a sandbox: at most 15 characters (IFNAMSIZ). */
export function hostVethName(sandboxId: string): string {
  return `sv${createHash('sha256').update(sandboxId).digest('hex').slice(0, 11)}`;
}

export class BridgeNetwork implements PodNetwork {
  readonly mode = 'bridge' as const;
  private readonly cidr: Cidr;
  private readonly used = new Set<number>();
  private ready: Promise<void> | undefined;

  /** `netns`: the runtime's bridge namespace, e.g. `strake-<node name>`. */
  constructor(
    podCidr: string,
    readonly netns: string,
  ) {
    this.cidr = parseCidr(podCidr);
  }

  get gateway(): string {
    return formatIp(this.cidr.base + 1);
  }

  reserve(ips: readonly string[]): void {
    for (const a of ips) this.used.add(parseIp(a));
  }

  describe(): string {
    return `bridge pod network ${formatIp(this.cidr.base)}/${this.cidr.prefix} inside network namespace ${this.netns}`;
  }

  prepare(): Promise<void> {
    return this.ensureBridge();
  }

  /** Creates the bridge namespace and br0 once (kept across runtime restarts; `destroy` removes it). */
  private ensureBridge(): Promise<void> {
    this.ready ??= (async () => {
      if (!existsSync(`/run/netns/${this.netns}`)) await ip(['netns', 'add', this.netns]);
      const r = await runTool('ip', ['-n', this.netns, 'link', 'show', 'br0'], { timeoutMs: IP_TIMEOUT_MS });
      if (r.code !== 0) {
        await ip(['-n', this.netns, 'link', 'add', 'br0', 'type', 'bridge']);
        await ip(['-n', this.netns, 'addr', 'add', `${this.gateway}/${this.cidr.prefix}`, 'dev', 'br0']);
      }
      await ip(['-n', this.netns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', this.netns, 'link', 'set', 'br0', 'up']);
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private allocate(): number {
    const size = 2 ** (32 - this.cidr.prefix);
    // .0 is the network, .1 the bridge, the last the broadcast address.
    for (let i = 2; i < size - 1; i++) {
      const a = this.cidr.base + i;
      if (!this.used.has(a)) {
        this.used.add(a);
        return a;
      }
    }
    throw new Error(`pod CIDR ${formatIp(this.cidr.base)}/${this.cidr.prefix} has no free address`);
  }

  async attach(sandboxId: string, pid: number): Promise<PodNetworkAttachment> {
    await this.ensureBridge();
    const addr = this.allocate();
    const veth = hostVethName(sandboxId);
    try {
      await ip(['-n', this.netns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
      await ip(['-n', this.netns, 'link', 'set', veth, 'master', 'br0', 'up']);
      await inPod(pid, ['addr', 'add', `${formatIp(addr)}/${this.cidr.prefix}`, 'dev', 'eth0']);
      await inPod(pid, ['link', 'set', 'eth0', 'up']);
      await inPod(pid, ['route', 'add', 'default', 'via', this.gateway]);
    } catch (err) {
      this.used.delete(addr);
      await runTool('ip', ['-n', this.netns, 'link', 'del', veth], { timeoutMs: IP_TIMEOUT_MS });
      throw err;
    }
    return { mode: 'bridge', ip: formatIp(addr), hostVeth: veth };
  }

  async detach(a: PodNetworkAttachment): Promise<void> {
    if (a.mode !== 'bridge') return;
    if (a.hostVeth !== undefined) {
      const r = await runTool('ip', ['-n', this.netns, 'link', 'del', a.hostVeth], { timeoutMs: IP_TIMEOUT_MS });
      if (r.code !== 0 && !/Cannot find device|does not exist|No such file/.test(r.stderr)) throw new Error(`ip link del ${a.hostVeth} failed: ${r.stderr.trim()}`);
    }
    this.used.delete(parseIp(a.ip));
  }

  /** Removes the bridge namespace (and with it br0 and every bridge-side veth). */
  async destroy(): Promise<void> {
    if (existsSync(`/run/netns/${this.netns}`)) await ip(['netns', 'del', this.netns]);
    this.ready = undefined;
  }
}
