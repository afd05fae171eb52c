/**
 * Parsing of --initial-cluster "m0=http://127.0.0.1:24000,m1=http://..." into
 * named peers with their ids. Errors name the offending part.
 */
import { memberId } from './member-id.js';

export interface InitialMember {
  readonly name: string;
  readonly peerUrl: string;
  readonly id: number;
}

export class InitialClusterError extends Error {
  readonly code = 'INVALID_INITIAL_CLUSTER';
  constructor(message: string) {
    super(message);
    this.name = 'InitialClusterError';
  }
}

/** A bound on members: Raft clusters beyond a handful of voters only get slower. */
export const MAX_INITIAL_MEMBERS = 15;

export function parseInitialCluster(spec: string, clusterToken: string): InitialMember[] {
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new InitialClusterError('--initial-cluster is empty; expected name=URL[,name=URL...]');
  if (parts.length > MAX_INITIAL_MEMBERS) {
    throw new InitialClusterError(`--initial-cluster names ${parts.length} members; the limit is ${MAX_INITIAL_MEMBERS}`);
  }
  const seen = new Set<string>();
  return parts.map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InitialClusterError(`--initial-cluster entry "${part}" is not name=URL`);
    const name = part.slice(0, eq);
    const peerUrl = part.slice(eq + 1);
    if (!/^https?:\/\/[^/\s]+:\d+\/?$/.test(peerUrl)) {
      throw new InitialClusterError(`--initial-cluster entry "${part}": peer URL must look like http://host:port`);
    }
    if (seen.has(name)) throw new InitialClusterError(`--initial-cluster names member "${name}" twice`);
    seen.add(name);
    return { name, peerUrl: peerUrl.replace(/\/$/, ''), id: memberId({ name, peerUrl: peerUrl.replace(/\/$/, ''), clusterToken }) };
  });
}
