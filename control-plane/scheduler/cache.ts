/**
 * The scheduler's cache: every node, and every pod that holds resources on
 * one — pods the API reports as bound (and not finished), plus pods this
 * scheduler has *assumed* onto a node while their binding is under way. The
 * assumption is what keeps two pods scheduled in quick succession from both
 * taking the last free cpu of a node: the second cycle already sees the first.
 *
 * An assumed pod is confirmed when the informer reports it bound (wherever it
 * landed), and forgotten when its binding fails. Nothing expires on a timer:
 * the informer's relist reports every bound pod eventually.
 *
 * Invariant: a pod key is on at most one NodeInfo, and `placed` says which.
 * Bound: one entry per node and per bound pod of the cluster, nothing more.
 */
import type { Node, Pod } from '../../proto/k8s/core-v1.js';
import { assert } from './assert.js';
import { NodeInfo } from './node-info.js';
import { PodInfo, isAssigned, isTerminal, podKey } from './pod-info.js';

interface Placement {
  readonly nodeName: string;
  readonly assumed: boolean;
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly placed = new Map<string, Placement>();
  /** The NodeInfos that have a Node, in a stable order; rebuilt after nodes come or go. */
  private ordered: NodeInfo[] | undefined;

  /** The nodes that exist, for one scheduling cycle (which must not await while using them). */
  nodeInfos(): readonly NodeInfo[] {
    this.ordered ??= [...this.nodes.values()].filter((n) => n.node !== undefined);
    return this.ordered;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  get nodeCount(): number {
    return this.nodeInfos().length;
  }

  addOrUpdateNode(node: Node): void {
    const name = node.metadata.name ?? '';
    const info = this.infoFor(name);
    if (info.node === undefined) this.ordered = undefined;
    info.setNode(node);
  }

  /** Pods still on a removed node stay counted until the API reports them gone; the node is no longer offered. */
  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (info === undefined) return;
    info.setNode(undefined);
    this.ordered = undefined;
    this.dropIfEmpty(info);
  }

  /** A pod as the API reports it: placed when bound and running or pending, removed when unbound (never bound) or finished. */
  upsertPod(pod: Pod): void {
    const key = podKey(pod);
    if (!isAssigned(pod) || isTerminal(pod)) {
      // An unbound pod may be assumed: the API is just behind this scheduler.
      if (isTerminal(pod) || this.placed.get(key)?.assumed !== true) this.removePod(key);
      return;
    }
    this.removePod(key);
    this.place(new PodInfo(pod), pod.spec.nodeName ?? '', false);
  }

  removePod(key: string): void {
    const where = this.placed.get(key);
    if (where === undefined) return;
    this.placed.delete(key);
    const info = this.nodes.get(where.nodeName);
    assert(info?.removePod(key) !== undefined, () => `pod ${key} was placed on ${where.nodeName} but is not there`);
    this.dropIfEmpty(info);
  }

  /** Counts the pod on the node from now on, before the API has bound it. */
  assume(pod: PodInfo, nodeName: string): void {
    assert(!this.placed.has(pod.key), () => `pod ${pod.key} assumed while already placed on ${this.placed.get(pod.key)?.nodeName}`);
    this.place(pod, nodeName, true);
  }

  /** Undoes an assumption whose binding failed; a pod the API has meanwhile reported bound stays. */
  forget(key: string): void {
    if (this.placed.get(key)?.assumed === true) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.placed.get(key)?.assumed === true;
  }

  /** Where the pod is counted, if anywhere. */
  placementOf(key: string): Placement | undefined {
    return this.placed.get(key);
  }

  private place(pod: PodInfo, nodeName: string, assumed: boolean): void {
    this.infoFor(nodeName).addPod(pod);
    this.placed.set(pod.key, { nodeName, assumed });
  }

  private infoFor(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (info === undefined) this.nodes.set(name, (info = new NodeInfo(name)));
    return info;
  }

  private dropIfEmpty(info: NodeInfo): void {
    if (info.node === undefined && info.podCount === 0) this.nodes.delete(info.name);
  }
}
