/**
 * coordination.k8s.io/v1 Lease: leader election for the scheduler and the
 * controller manager, and node heartbeats (kube-node-lease namespace).
 */
import type { KubeObject } from './meta.js';
import type { Open } from './core-v1.js';

export interface LeaseSpec extends Open {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with microseconds, e.g. "2024-01-02T03:04:05.000006Z". */
  acquireTime?: string;
  /** MicroTime, as acquireTime. */
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}
