/** Named limits and constants of a serving member. */

/** The etcd API version this member speaks, as `etcdctl endpoint status` prints it. */
export const VERSION_STRING = '3.4.0';
/** Snapshot stream chunk: etcd sends 32 KiB blobs; larger chunks cut per-message overhead. */
export const SNAPSHOT_STREAM_CHUNK_BYTES = 256 * 1024;
/** Take a state-machine snapshot after this many applied entries (etcd 3.4: --snapshot-count 100000). */
export const DEFAULT_SNAPSHOT_EVERY_ENTRIES = 10_000;
/** Entries kept below a snapshot for slow followers (etcd: 5000). */
export const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES = 5_000;
/** etcd's defaults: heartbeat 100 ms, election timeout 1000 ms. */
export const DEFAULT_HEARTBEAT_MS = 100;
export const DEFAULT_ELECTION_TICKS = 10;
/** How often the leader looks for expired leases (etcd: every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;
/** Revokes proposed per check; the rest wait for the next one (etcd: leaseRevokeRate 1000/s). */
export const MAX_LEASE_REVOKES_PER_CHECK = 500;
