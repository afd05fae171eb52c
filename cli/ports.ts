/**
 * The port layout contract (DESIGN.md): with base port P, master i listens on
 * P+10i (Raft peers), P+10i+1 (etcd v3 gRPC) and P+10i+2 (HTTP API).
 */
export const PORTS_PER_MASTER = 10;

export interface MasterPorts {
  readonly peerUrl: string;
  readonly kvEndpoint: string;
  readonly apiUrl: string;
}

export function masterPorts(basePort: number, index: number, host = '127.0.0.1'): MasterPorts {
  const p = basePort + PORTS_PER_MASTER * index;
  return {
    peerUrl: `http://${host}:${p}`,
    kvEndpoint: `${host}:${p + 1}`,
    apiUrl: `http://${host}:${p + 2}`,
  };
}
