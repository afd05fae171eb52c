/**
 * Zones and how disrupted they are, as Kubernetes' node lifecycle controller
 * judges them, to decide how fast nodes may be tainted NoExecute (which is
 * what evicts their pods):
 *  - Normal: evict at `evictionRate` nodes/s;
 *  - PartialDisruption (at least 3 not-ready nodes and at least
 *    `unhealthyZoneThreshold` of the zone): `secondaryEvictionRate` in a zone
 *    larger than `largeClusterSize`, else 0 — when half a zone drops at once
 *    the likelier cause is the network, not the nodes;
 *  - FullDisruption (no ready node in the zone): the normal rate, since the
 *    zone is simply gone — unless EVERY zone is fully disrupted, which most
 *    likely means the control plane is cut off, and then nothing is evicted.
 */
import type { ConditionStatus, Node } from '../../../proto/k8s/core-v1.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';

/** Kubernetes needs more than 2 not-ready nodes before it calls a zone partially disrupted. */
export const PARTIAL_DISRUPTION_NOT_READY_MIN = 3;

export const ZoneState = { Normal: 'Normal', PartialDisruption: 'PartialDisruption', FullDisruption: 'FullDisruption' } as const;
export type ZoneState = (typeof ZoneState)[keyof typeof ZoneState];

export interface EvictionRates {
  /** Nodes per second tainted NoExecute in a healthy zone. */
  readonly evictionRate: number;
  /** Nodes per second in a partially disrupted zone larger than largeClusterSize. */
  readonly secondaryEvictionRate: number;
  /** Fraction (0, 1] of not-ready nodes from which a zone counts as partially disrupted. */
  readonly unhealthyZoneThreshold: number;
  /** Zones with more nodes than this keep evicting (slowly) when partially disrupted. */
  readonly largeClusterSize: number;
}

export interface ZoneCounts {
  ready: number;
  notReady: number;
}

/** Region and zone labels together, as Kubernetes keys zones; '' and ':' mean "no zone". */
export function zoneOf(node: Node): string {
  const labels = node.metadata.labels ?? {};
  return `${labels[REGION_LABEL] ?? ''}:${labels[ZONE_LABEL] ?? ''}`;
}

/** Only a True Ready condition counts as ready; False, Unknown and "not reported yet" do not. */
export function countsAsReady(status: ConditionStatus | undefined): boolean {
  return status === 'True';
}

export function zoneState(counts: ZoneCounts, unhealthyZoneThreshold: number): ZoneState {
  const { ready, notReady } = counts;
  if (ready === 0 && notReady > 0) return ZoneState.FullDisruption;
  if (notReady >= PARTIAL_DISRUPTION_NOT_READY_MIN && notReady / (ready + notReady) >= unhealthyZoneThreshold) return ZoneState.PartialDisruption;
  return ZoneState.Normal;
}

/** How many nodes per second may be tainted NoExecute in a zone of `zoneSize` nodes in `state`. */
export function evictionRateFor(state: ZoneState, zoneSize: number, rates: EvictionRates): number {
  switch (state) {
    case ZoneState.Normal:
    case ZoneState.FullDisruption:
      return rates.evictionRate;
    case ZoneState.PartialDisruption:
      return zoneSize > rates.largeClusterSize ? rates.secondaryEvictionRate : 0;
    default: {
      const unexpected: never = state;
      throw new Error(`unexpected zone state ${String(unexpected)}`);
    }
  }
}

/** True when there is at least one zone and every one is fully disrupted: the control plane, not the nodes, is likely cut off. */
export function allFullyDisrupted(states: Iterable<ZoneState>): boolean {
  let any = false;
  for (const state of states) {
    if (state !== ZoneState.FullDisruption) return false;
    any = true;
  }
  return any;
}
