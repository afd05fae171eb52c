/**
 * Member and cluster ids. Like etcd, the ids of a new cluster's members are
 * derived from what identifies a member (its name and peer URL, and the cluster
 * token), so every member computes the same ids from the same --initial-cluster
 * without talking. A member added later gets a fresh id from the member that
 * proposes the addition (like etcd: peer URLs, token and time), so that a peer
 * URL removed and added again never reuses an id; the joining member learns it
 * from the cluster (join.ts). Ids are 48-bit so they survive as exact JS
 * numbers; they print as hex like etcd's.
 */
import { createHash } from 'node:crypto';

const ID_BYTES = 6;

function hashId(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  const id = digest.readUIntBE(0, ID_BYTES);
  return id === 0 ? 1 : id; // 0 means "none" to Raft
}

export function memberId(opts: { name: string; peerUrl: string; clusterToken: string }): number {
  return hashId(`member/${opts.clusterToken}/${opts.name}/${opts.peerUrl}`);
}

/**
 * The id of a member added to a running cluster. `salt` separates two additions
 * within the same millisecond; the caller retries with another salt on the rare
 * clash with an id in use or removed.
 */
export function addedMemberId(opts: { peerUrls: readonly string[]; clusterToken: string; nowMs: number; salt: number }): number {
  return hashId(`member/${opts.clusterToken}/added/${opts.peerUrls.join(',')}/${opts.nowMs}/${opts.salt}`);
}

/** Every member of a cluster derives the same id from the cluster token, including members that join later. */
export function clusterId(clusterToken: string): number {
  return hashId(`cluster/${clusterToken}`);
}

export function formatId(id: number): string {
  return id.toString(16);
}
