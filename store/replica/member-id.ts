/**
 * Member and cluster ids. Like etcd, ids are derived from what identifies a
 * member (its name and peer URL, and the cluster token), so every member
 * computes the same ids from the same --initial-cluster without talking. Ids
 * are 48-bit so they survive as exact JS numbers; they print as hex like etcd's.
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

/** Every member of a cluster derives the same id from the cluster token, including members that join later. */
export function clusterId(clusterToken: string): number {
  return hashId(`cluster/${clusterToken}`);
}

export function formatId(id: number): string {
  return id.toString(16);
}
