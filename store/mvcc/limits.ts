/**
 * Named bounds of the MVCC state machine. The etcd numbers are etcd 3.4's
 * defaults (embed/config.go, lease/lessor.go); clients tuned against etcd
 * expect them.
 */

/** etcd --max-txn-ops default: operations in one list (compare, success or failure) of a txn. */
export const MAX_TXN_OPS = 128;

/** etcd --max-request-bytes default (1.5 MiB): largest encoded request accepted for proposal. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** etcd's MaxLeaseTTL (lease/lessor.go): about 285 years. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

/**
 * etcd raises smaller TTLs to ceil(1.5 x election timeout); with the default
 * 100 ms heartbeat and 10 election ticks that is ceil(1.5 s) = 2 s. A lease
 * shorter than an election could expire while the cluster elects a leader.
 */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

/** Revisions and versions are JS numbers; past this they would stop being exact. */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;

/**
 * Upper bound on events returned by one history read. A watch catching up over a
 * long history reads in slices of at most this many, so one slow watcher cannot
 * make a replica build an unbounded array (a revision is never split, so one huge
 * txn may exceed it once).
 */
export const MAX_EVENTS_PER_READ = 10_000;

/** Upper bound on lease ids returned by one expired-lease scan (etcd revokes ~1000/s by default). */
export const MAX_EXPIRED_LEASES_PER_SCAN = 1_000;
