/**
 * The simulated network: a seeded, virtual-time message queue that drops,
 * duplicates, delays (and so reorders) messages, and blocks directed links to
 * model partitions — including asymmetric ones, where A hears B but B does not
 * hear A. It only decides fates and timing; the simulator delivers.
 */
import type { Rng } from '../../raft/core/rng.js';
import type { Message } from '../../raft/core/types.js';
import { MessageType } from '../../raft/core/types.js';

/** Normal one-way latency, in time units (a tick is TIME_UNITS_PER_TICK units). */
export const LATENCY_UNITS_MIN = 1;
export const LATENCY_UNITS_MAX = 3;
/** A delayed message arrives up to this late: several ticks, enough to overtake heartbeats and votes. */
export const LONG_DELAY_UNITS_MAX = 60;
/**
 * Messages in flight at once. A 7-node cluster under load keeps a few hundred
 * in flight; past this bound the network drops, as a congested one would.
 */
export const IN_FLIGHT_MAX = 20_000;
/** Node ids stay below this (they are allocated sequentially from 1). */
const NODE_ID_SPAN = 0x1_0000;

export interface NetworkFaults {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  readonly longDelayProbability: number;
}

export const NO_NETWORK_FAULTS: NetworkFaults = { dropProbability: 0, duplicateProbability: 0, longDelayProbability: 0 };

export interface InFlight {
  readonly deliverAtUnits: number;
  readonly seq: number;
  readonly msg: Message;
  /**
   * The replica that put `msg` on the wire. Usually msg.from, but a forwarded
   * TransferLeader names the transferee in `from`.
   */
  readonly senderId: number;
  /** Incarnation of the sender when it sent `msg`. */
  readonly senderIncarnation: number;
}

export type SendFate = 'queued' | 'duplicated' | 'dropped' | 'overflow';

export class Network {
  private readonly heap: InFlight[] = [];
  private seq = 0;
  private readonly blocked = new Set<number>();
  faults: NetworkFaults;

  constructor(
    private readonly rng: Rng,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  get inFlight(): number {
    return this.heap.length;
  }

  /** Decides the fate of `msg` sent at `nowUnits` and queues the copies that will arrive. */
  send(msg: Message, senderId: number, senderIncarnation: number, nowUnits: number): SendFate {
    const f = this.faults;
    if (f.dropProbability > 0 && this.rng.nextFloat() < f.dropProbability) return 'dropped';
    if (this.heap.length >= IN_FLIGHT_MAX) return 'overflow';
    this.enqueue(msg, senderId, senderIncarnation, nowUnits + this.latencyUnits());
    // Snapshots travel over a reliable stream in a real transport: never duplicated.
    if (msg.type !== MessageType.Snap && f.duplicateProbability > 0 && this.rng.nextFloat() < f.duplicateProbability) {
      this.enqueue(msg, senderId, senderIncarnation, nowUnits + this.latencyUnits());
      return 'duplicated';
    }
    return 'queued';
  }

  /** The next message due at or before `nowUnits`, in (time, send order). */
  popDue(nowUnits: number): InFlight | undefined {
    const top = this.heap[0];
    if (top === undefined || top.deliverAtUnits > nowUnits) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /**
   * Drops every message in flight from this incarnation of `senderId`: a crash
   * takes the process's unsent transport buffers with it. Returns how many.
   */
  dropFrom(senderId: number, senderIncarnation: number): number {
    const before = this.heap.length;
    const kept = this.heap.filter((m) => m.senderId !== senderId || m.senderIncarnation !== senderIncarnation);
    if (kept.length === before) return 0;
    this.heap.length = 0;
    for (const m of kept) {
      this.heap.push(m);
      this.siftUp(this.heap.length - 1);
    }
    return before - kept.length;
  }

  /** Messages from `from` no longer reach `to` (the reverse direction is unaffected). */
  block(from: number, to: number): void {
    this.blocked.add(linkKey(from, to));
  }

  unblock(from: number, to: number): void {
    this.blocked.delete(linkKey(from, to));
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to));
  }

  get blockedLinks(): number {
    return this.blocked.size;
  }

  healPartitions(): void {
    this.blocked.clear();
  }

  private latencyUnits(): number {
    if (this.faults.longDelayProbability > 0 && this.rng.nextFloat() < this.faults.longDelayProbability) {
      return LATENCY_UNITS_MIN + this.rng.nextInt(LONG_DELAY_UNITS_MAX);
    }
    return LATENCY_UNITS_MIN + this.rng.nextInt(LATENCY_UNITS_MAX - LATENCY_UNITS_MIN + 1);
  }

  private enqueue(msg: Message, senderId: number, senderIncarnation: number, deliverAtUnits: number): void {
    this.heap.push({ deliverAtUnits, seq: this.seq++, msg, senderId, senderIncarnation });
    this.siftUp(this.heap.length - 1);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const item = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = item;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[child]!, item)) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = item;
  }
}

function before(a: InFlight, b: InFlight): boolean {
  return a.deliverAtUnits < b.deliverAtUnits || (a.deliverAtUnits === b.deliverAtUnits && a.seq < b.seq);
}

function linkKey(from: number, to: number): number {
  return from * NODE_ID_SPAN + to;
}
