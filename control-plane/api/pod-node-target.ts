/**
 * Where a pod's log or exec request goes: the container (named, or the pod's
 * only one), the node the pod is bound to, and that node's server address as
 * its Node object reports it — status.addresses InternalIP and
 * status.daemonEndpoints.kubeletEndpoint.Port. The API server connects to
 * nothing else. Errors are worded as Kubernetes words them.
 */
import type { Node, NodeAddress, Pod } from '../../proto/k8s/core-v1.js';
import type { ObjectStore } from '../registry/object-store.js';
import { findResource } from '../registry/resources.js';
import { badRequest, internal } from './errors.js';

export interface PodNodeTarget {
  readonly pod: Pod;
  readonly container: string;
  readonly nodeName: string;
  /** The node server's host (an IP address) and port. */
  readonly host: string;
  readonly port: number;
}

const PODS = findResource('', 'v1', 'pods')!;
const NODES = findResource('', 'v1', 'nodes')!;

export async function podNodeTarget(store: ObjectStore, namespace: string, name: string, container: string | undefined): Promise<PodNodeTarget> {
  const pod = (await store.get({ resource: PODS, namespace, name })) as Pod;
  const chosen = chooseContainer(pod, container);
  const nodeName = pod.spec.nodeName ?? '';
  if (nodeName === '') throw badRequest(`pod ${name} does not have a host assigned`);
  const node = (await store.get({ resource: NODES, namespace: undefined, name: nodeName })) as Node;
  const host = internalIp(node.status?.addresses ?? []);
  if (host === undefined) throw internal(`node "${nodeName}" reports no InternalIP address in status.addresses`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw internal(`node "${nodeName}" reports no server port in status.daemonEndpoints.kubeletEndpoint.Port (got ${JSON.stringify(port)})`);
  }
  return { pod, container: chosen, nodeName, host, port };
}

/** The named container (regular or init), or the pod's only container. */
export function chooseContainer(pod: Pod, container: string | undefined): string {
  const name = pod.metadata.name ?? '';
  const regular = pod.spec.containers ?? [];
  const all = [...(pod.spec.initContainers ?? []), ...regular].map((c) => c.name);
  if (container === undefined || container === '') {
    if (regular.length === 1) return regular[0]!.name;
    if (regular.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

/** An IPv4 or IPv6 literal: a Node object may not send the API server to a host name. */
const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/;

function internalIp(addresses: readonly NodeAddress[]): string | undefined {
  return addresses.find((a) => a.type === 'InternalIP' && IP_LITERAL.test(a.address))?.address;
}

/** `host:port` for a URL (IPv6 in brackets). */
export function hostPort(t: Pick<PodNodeTarget, 'host' | 'port'>): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
