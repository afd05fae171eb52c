/**
 * The ownership graph the garbage collector keeps from its informers'
 * caches: every watched object by uid, with its ownerReferences, and the
 * reverse index owner uid → dependent uids. Owners are matched by uid only:
 * an owner deleted and recreated under the same name is another owner.
 *
 * Invariant: `dependents` holds exactly the (owner uid, dependent uid) pairs
 * of the nodes' ownerReferences. Bound: one node per object in the caches.
 */
import type { OwnerReference } from '../../../proto/k8s/meta.js';
import type { ResourceRef } from '../../client/api-client.js';

/** A watched resource, with the kind ownerReferences use to name it. */
export interface GcResource extends ResourceRef {
  readonly kind: string;
}

export interface GraphNode {
  readonly uid: string;
  readonly resource: GcResource;
  /** The work-queue key (`resourceId/namespace/name`). */
  readonly key: string;
  readonly owners: readonly OwnerReference[];
}

export class OwnershipGraph {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly dependents = new Map<string, Set<string>>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** Adds or replaces a node; returns the owner uids whose dependents changed (added or removed references). */
  upsert(node: GraphNode): string[] {
    const old = this.nodes.get(node.uid);
    const before = new Set((old?.owners ?? []).map((r) => r.uid));
    const after = new Set(node.owners.map((r) => r.uid));
    for (const uid of before) if (!after.has(uid)) this.unlink(uid, node.uid);
    for (const uid of after) {
      let set = this.dependents.get(uid);
      if (set === undefined) this.dependents.set(uid, (set = new Set()));
      set.add(node.uid);
    }
    this.nodes.set(node.uid, node);
    const changed = [...before].filter((u) => !after.has(u)).concat([...after].filter((u) => !before.has(u)));
    const flagsChanged = old !== undefined && JSON.stringify(old.owners) !== JSON.stringify(node.owners);
    return flagsChanged ? [...new Set([...before, ...after])] : changed;
  }

  remove(uid: string): GraphNode | undefined {
    const node = this.nodes.get(uid);
    if (node === undefined) return undefined;
    for (const ref of node.owners) this.unlink(ref.uid, uid);
    this.nodes.delete(uid);
    return node;
  }

  /** The nodes whose ownerReferences name `ownerUid`. */
  dependentsOf(ownerUid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const uid of this.dependents.get(ownerUid) ?? []) {
      const node = this.nodes.get(uid);
      if (node !== undefined) out.push(node);
    }
    return out;
  }

  private unlink(ownerUid: string, dependentUid: string): void {
    const set = this.dependents.get(ownerUid);
    set?.delete(dependentUid);
    if (set?.size === 0) this.dependents.delete(ownerUid);
  }
}
