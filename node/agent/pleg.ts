/**
 * The pod lifecycle event generator (the kubelet's "generic PLEG"): every
 * relist period (1 s) it lists the runtime's sandboxes and containers,
 * compares each pod's with the previous relist and emits an event per
 * change, so a container that exits is noticed within a second without the
 * runtime having to push anything. The relists are serialized (the next one
 * is scheduled when the last has finished); a failed relist is logged and
 * tried again on the next period.
 */
import type { Clock } from '../../control-plane/client/clock.js';
import { errorText } from './errors.js';
import type { PodRuntimeStatus } from './runtime-state.js';

export const RELIST_MS_DEFAULT = 1_000;

export const PlegEventType = {
  SandboxChanged: 'SandboxChanged',
  ContainerStarted: 'ContainerStarted',
  ContainerDied: 'ContainerDied',
  ContainerRemoved: 'ContainerRemoved',
  ContainerChanged: 'ContainerChanged',
} as const;
export type PlegEventType = (typeof PlegEventType)[keyof typeof PlegEventType];

export interface PlegEvent {
  readonly uid: string;
  readonly type: PlegEventType;
  /** The container or sandbox id. */
  readonly id: string;
}

/** Per pod: object id → state, the part of a relist that events are made of. */
export type RelistSnapshot = ReadonlyMap<string, ReadonlyMap<string, string>>;

export function snapshotOf(pods: ReadonlyMap<string, PodRuntimeStatus>): RelistSnapshot {
  const out = new Map<string, Map<string, string>>();
  for (const [uid, p] of pods) {
    const m = new Map<string, string>();
    for (const s of p.sandboxes) m.set(`s:${s.id}`, s.state);
    for (const c of p.containers) m.set(`c:${c.id}`, c.state);
    out.set(uid, m);
  }
  return out;
}

function eventOf(uid: string, key: string, before: string | undefined, after: string | undefined): PlegEvent | undefined {
  if (before === after) return undefined;
  const id = key.slice(2);
  if (key.startsWith('s:')) return { uid, type: PlegEventType.SandboxChanged, id };
  if (after === 'running') return { uid, type: PlegEventType.ContainerStarted, id };
  if (after === 'exited') return { uid, type: PlegEventType.ContainerDied, id };
  if (after === undefined) return { uid, type: PlegEventType.ContainerRemoved, id };
  return { uid, type: PlegEventType.ContainerChanged, id };
}

/** The events between two relists, pod by pod. */
export function diffRelist(prev: RelistSnapshot, next: RelistSnapshot): PlegEvent[] {
  const out: PlegEvent[] = [];
  for (const uid of new Set([...prev.keys(), ...next.keys()])) {
    const a = prev.get(uid) ?? new Map<string, string>();
    const b = next.get(uid) ?? new Map<string, string>();
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      const e = eventOf(uid, key, a.get(key), b.get(key));
      if (e !== undefined) out.push(e);
    }
  }
  return out;
}

export interface PlegOptions {
  readonly clock: Clock;
  readonly relistMs?: number;
  readonly list: () => Promise<Map<string, PodRuntimeStatus>>;
  readonly onEvents: (events: readonly PlegEvent[]) => void;
  /** Every successful relist, with what it saw (orphan detection). */
  readonly onRelist?: (pods: ReadonlyMap<string, PodRuntimeStatus>) => void;
  readonly log?: (line: string) => void;
}

export class Pleg {
  private prev: RelistSnapshot = new Map();
  private cancel: (() => void) | undefined;
  private running = false;
  private inFlight: Promise<void> | undefined;
  private lastError = '';

  constructor(private readonly o: PlegOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops relisting; resolves once a relist in flight has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancel?.();
    await this.inFlight;
  }

  /** One relist now (tests, and the first one at start). */
  async relist(): Promise<void> {
    let pods: Map<string, PodRuntimeStatus>;
    try {
      pods = await this.o.list();
    } catch (err) {
      const text = errorText(err);
      if (text !== this.lastError) this.o.log?.(`relisting the runtime failed: ${text}; trying again every ${this.o.relistMs ?? RELIST_MS_DEFAULT} ms`);
      this.lastError = text;
      return;
    }
    this.lastError = '';
    const next = snapshotOf(pods);
    const events = diffRelist(this.prev, next);
    this.prev = next;
    if (events.length > 0) this.o.onEvents(events);
    this.o.onRelist?.(pods);
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.cancel = this.o.clock.after(ms, () => {
      this.inFlight = this.relist().finally(() => this.schedule(this.o.relistMs ?? RELIST_MS_DEFAULT));
    });
  }
}
