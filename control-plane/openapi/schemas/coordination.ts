/** coordination.k8s.io/v1 Lease: leader election and node heartbeats. */
import {
  COORDINATION, MICRO_TIME,
  gvk, int32, kind, object, ref, str,
  type Definitions,
} from './builders.js';

export const COORDINATION_DEFINITIONS: Definitions = {
  [`${COORDINATION}Lease`]: kind(gvk('coordination.k8s.io', 'v1', 'Lease'), 'A lease held by one holder at a time: leader election, node heartbeats.', {
    spec: ref(`${COORDINATION}LeaseSpec`, 'The lease.'),
  }),
  [`${COORDINATION}LeaseSpec`]: object('Who holds a lease and until when.', {
    holderIdentity: str('Identity of the current holder.'),
    leaseDurationSeconds: int32('Seconds the lease stays valid after renewTime; candidates wait this long.'),
    acquireTime: ref(MICRO_TIME, 'When the current holder acquired the lease.'),
    renewTime: ref(MICRO_TIME, 'When the current holder last renewed the lease.'),
    leaseTransitions: int32('How many times the lease has changed holder.'),
  }),
};
