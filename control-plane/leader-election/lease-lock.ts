/**
 * The lock of leader election: one coordination.k8s.io/v1 Lease, read and
 * written through the ApiClient, as client-go's LeaseLock. Every write after
 * the create carries the resourceVersion that was read, so two candidates
 * taking over the same expired lease cannot both win (the loser gets 409).
 */
import type { Lease, LeaseSpec } from '../../proto/k8s/coordination-v1.js';
import { isNotFound, Resources, type ApiClient } from '../client/api-client.js';

/** What the lease says about its holder: client-go's LeaderElectionRecord. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  /** MicroTime. */
  readonly acquireTime: string;
  /** MicroTime. */
  readonly renewTime: string;
  readonly leaseTransitions: number;
}

/** A lease as read (or as written by us): its record and the resourceVersion a compare-and-swap needs. */
export interface ObservedLease {
  readonly record: LeaderElectionRecord;
  readonly resourceVersion: string;
  /** The whole object, so an update keeps fields we do not own (labels, annotations). */
  readonly lease: Lease;
}

export interface LeaseLockOptions {
  readonly client: ApiClient;
  readonly namespace: string;
  readonly name: string;
}

export class LeaseLock {
  constructor(private readonly o: LeaseLockOptions) {}

  /** The lease, or undefined when it does not exist. */
  async get(): Promise<ObservedLease | undefined> {
    try {
      return observed(await this.o.client.get<Lease>(Resources.Leases, this.o.namespace, this.o.name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Creates the lease; 409 AlreadyExists when another candidate created it first. */
  async create(record: LeaderElectionRecord): Promise<ObservedLease> {
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.o.name, namespace: this.o.namespace },
      spec: specOf(record),
    };
    return observed(await this.o.client.create<Lease>(Resources.Leases, this.o.namespace, lease));
  }

  /** Writes `record` over `prev` if the lease is still at prev's resourceVersion (409 Conflict otherwise). */
  async update(prev: ObservedLease, record: LeaderElectionRecord): Promise<ObservedLease> {
    const lease: Lease = {
      ...prev.lease,
      metadata: { ...prev.lease.metadata, resourceVersion: prev.resourceVersion },
      spec: { ...prev.lease.spec, ...specOf(record) },
    };
    return observed(await this.o.client.update<Lease>(Resources.Leases, this.o.namespace, lease));
  }

  /** `namespace/name`, for messages. */
  describe(): string {
    return `${this.o.namespace}/${this.o.name}`;
  }
}

/**
 * A time as Kubernetes' MicroTime: RFC 3339 in UTC with exactly six
 * fractional digits, e.g. `2026-11-23T16:00:00.000000Z`.
 */
export function formatMicroTime(ms: number): string {
  const wholeMs = Math.floor(ms);
  const micros = Math.min(999, Math.floor((ms - wholeMs) * 1000));
  const iso = new Date(wholeMs).toISOString(); // ...T16:00:00.123Z
  return `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

function specOf(r: LeaderElectionRecord): LeaseSpec {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime,
    renewTime: r.renewTime,
    leaseTransitions: r.leaseTransitions,
  };
}

function observed(lease: Lease): ObservedLease {
  const s = lease.spec ?? {};
  return {
    record: {
      holderIdentity: s.holderIdentity ?? '',
      leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
      acquireTime: s.acquireTime ?? '',
      renewTime: s.renewTime ?? '',
      leaseTransitions: s.leaseTransitions ?? 0,
    },
    resourceVersion: lease.metadata.resourceVersion ?? '',
    lease,
  };
}
