/**
 * NodeInfo: one node as the scheduler sees it — the Node object, the pods
 * placed on it (those the API reports and those this scheduler has assumed
 * while their binding is under way), and the sums of their requests.
 *
 * Invariant: `requested` and `nonZeroRequested` are exactly the sums over
 * `pods` (amounts are whole numbers, so adding and subtracting stays exact).
 */
import type { Node, Pod } from '../../proto/k8s/core-v1.js';
import { assert } from './assert.js';
import { PodInfo } from './pod-info.js';
import { nodeAllocatable, type ResourceAmounts } from './resources.js';

export class NodeInfo {
  private nodeObject: Node | undefined;
  private allocatableAmounts: ResourceAmounts = {};
  private readonly podsByKey = new Map<string, PodInfo>();
  /** Pods with (anti-)affinity terms: InterPodAffinity looks at these on every node. */
  private readonly withAffinity = new Set<PodInfo>();
  readonly requested: ResourceAmounts = {};
  readonly nonZeroRequested: ResourceAmounts = {};

  constructor(
    readonly name: string,
    node?: Node,
  ) {
    if (node !== undefined) this.setNode(node);
  }

  /** A NodeInfo for tests and tools: the node with these pods on it. */
  static of(node: Node, pods: readonly Pod[] = []): NodeInfo {
    const info = new NodeInfo(node.metadata.name ?? '', node);
    for (const pod of pods) info.addPod(new PodInfo(pod));
    return info;
  }

  /** Undefined while pods on the node are known but the node itself is not (yet, or no more). */
  get node(): Node | undefined {
    return this.nodeObject;
  }

  get labels(): Readonly<Record<string, string>> {
    return this.nodeObject?.metadata.labels ?? {};
  }

  get allocatable(): Readonly<ResourceAmounts> {
    return this.allocatableAmounts;
  }

  setNode(node: Node | undefined): void {
    assert(node === undefined || node.metadata.name === this.name, () => `node ${node?.metadata.name} stored as ${this.name}`);
    this.nodeObject = node;
    this.allocatableAmounts = node === undefined ? {} : nodeAllocatable(node);
  }

  get podCount(): number {
    return this.podsByKey.size;
  }

  pods(): IterableIterator<PodInfo> {
    return this.podsByKey.values();
  }

  podsWithAffinity(): ReadonlySet<PodInfo> {
    return this.withAffinity;
  }

  addPod(info: PodInfo): void {
    assert(!this.podsByKey.has(info.key), () => `pod ${info.key} is already on node ${this.name}`);
    this.podsByKey.set(info.key, info);
    if (info.hasAffinityTerms) this.withAffinity.add(info);
    accumulate(this.requested, info.requests, 1);
    accumulate(this.nonZeroRequested, info.nonZeroRequests, 1);
  }

  /** Removes the pod; returns it, or undefined when it was not here. */
  removePod(key: string): PodInfo | undefined {
    const info = this.podsByKey.get(key);
    if (info === undefined) return undefined;
    this.podsByKey.delete(key);
    this.withAffinity.delete(info);
    accumulate(this.requested, info.requests, -1);
    accumulate(this.nonZeroRequested, info.nonZeroRequests, -1);
    return info;
  }
}

function accumulate(target: ResourceAmounts, amounts: ResourceAmounts, sign: 1 | -1): void {
  for (const [name, amount] of Object.entries(amounts)) {
    const next = (target[name] ?? 0) + sign * amount;
    assert(next >= 0, () => `requested ${name} would go negative (${next})`);
    target[name] = next;
  }
}
