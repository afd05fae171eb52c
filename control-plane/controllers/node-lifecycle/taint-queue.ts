/**
 * Which unhealthy nodes may be tainted NoExecute, and when: one FIFO queue and
 * one token bucket per zone (Kubernetes' zoneNoExecuteTainter). The monitor
 * pass queues nodes (`want`) and sets each zone's rate from its state
 * (`updateZones`); the eviction pass hands out tokens in queue order
 * (`grant`); the node's sync applies the taint and `consume`s the grant.
 *
 * Invariant: while every zone is fully disrupted nothing is queued or
 * granted. Bounds: at most one entry per node in all queues and grants
 * together (a node lives in one zone; `want` ignores a node already queued or
 * granted; `drop` clears it).
 */
import { TokenBucket } from '../../client/events/token-bucket.js';
import { allFullyDisrupted, evictionRateFor, type EvictionRates, type ZoneCounts, ZoneState, zoneState } from './disruption.js';

/** client-go's node eviction limiter burst: one node at a time. */
export const EVICTION_BURST = 1;

interface Zone {
  state: ZoneState;
  readonly bucket: TokenBucket;
  /** Insertion-ordered: the order nodes became unhealthy. */
  readonly pending: Set<string>;
}

export interface ZoneChange {
  readonly enteredFullDisruption: boolean;
  readonly leftFullDisruption: boolean;
}

export class NoExecuteTaintQueue {
  private readonly zones = new Map<string, Zone>();
  private readonly granted = new Set<string>();
  private fullyDisrupted = false;

  constructor(private readonly rates: EvictionRates) {}

  isFullyDisrupted(): boolean {
    return this.fullyDisrupted;
  }

  stateOf(zone: string): ZoneState | undefined {
    return this.zones.get(zone)?.state;
  }

  /** Re-judges every zone from fresh counts and sets its rate; zones without nodes are dropped. */
  updateZones(counts: ReadonlyMap<string, ZoneCounts>, nowMs: number): ZoneChange {
    for (const name of [...this.zones.keys()]) if (!counts.has(name)) this.zones.delete(name);
    const states = new Map<string, ZoneState>();
    for (const [name, c] of counts) states.set(name, zoneState(c, this.rates.unhealthyZoneThreshold));
    const wasFullyDisrupted = this.fullyDisrupted;
    this.fullyDisrupted = allFullyDisrupted(states.values());
    for (const [name, state] of states) {
      const c = counts.get(name) ?? { ready: 0, notReady: 0 };
      const rate = this.fullyDisrupted ? 0 : evictionRateFor(state, c.ready + c.notReady, this.rates);
      const zone = this.zones.get(name) ?? { state, bucket: new TokenBucket(rate, EVICTION_BURST, nowMs), pending: new Set<string>() };
      zone.state = state;
      zone.bucket.setRate(rate, nowMs);
      this.zones.set(name, zone);
    }
    if (this.fullyDisrupted) this.clear();
    return { enteredFullDisruption: this.fullyDisrupted && !wasFullyDisrupted, leftFullDisruption: wasFullyDisrupted && !this.fullyDisrupted };
  }

  /** Queues `node` for a NoExecute taint; ignored while fully disrupted or when already queued or granted. */
  want(node: string, zone: string): void {
    if (this.fullyDisrupted || this.granted.has(node)) return;
    const z = this.zones.get(zone);
    if (z === undefined) return; // a zone unknown to the last monitor pass: the next pass queues the node
    for (const [name, other] of this.zones) if (name !== zone) other.pending.delete(node);
    z.pending.add(node);
  }

  /** Forgets `node` (healthy again, or deleted). */
  drop(node: string): void {
    this.granted.delete(node);
    for (const z of this.zones.values()) z.pending.delete(node);
  }

  /** Moves queued nodes to granted, oldest first, as far as each zone's tokens allow; returns the newly granted. */
  grant(nowMs: number): string[] {
    const out: string[] = [];
    if (this.fullyDisrupted) return out;
    for (const z of this.zones.values()) {
      for (const node of z.pending) {
        if (!z.bucket.tryTake(nowMs)) break;
        z.pending.delete(node);
        this.granted.add(node);
        out.push(node);
      }
    }
    return out;
  }

  isGranted(node: string): boolean {
    return this.granted.has(node);
  }

  /** The taint was applied (or is no longer wanted): the grant is used up. */
  consume(node: string): void {
    this.granted.delete(node);
  }

  private clear(): void {
    this.granted.clear();
    for (const z of this.zones.values()) z.pending.clear();
  }
}
