/**
 * An index of the pod informer's cache by node, with the time (our clock) we
 * first saw each pod on its node: a pod bound to an already tainted node is
 * only exposed to the taint from then on, so its toleration runs from then.
 *
 * Bound: one entry per pod in the informer's cache (entries go with the pod).
 */
import type { Pod } from '../../../proto/k8s/core-v1.js';
import { keyOf } from '../../client/informer.js';

interface Placement {
  readonly node: string;
  readonly uid: string;
  readonly seenMs: number;
}

export class PodsByNode {
  private readonly byNode = new Map<string, Set<string>>();
  private readonly placements = new Map<string, Placement>();

  /** Records where the pod is; returns the nodes whose pods changed (its old node and its new one). */
  put(pod: Pod, nowMs: number): string[] {
    const key = keyOf(pod);
    const node = pod.spec?.nodeName ?? '';
    const uid = pod.metadata.uid ?? '';
    const old = this.placements.get(key);
    if (old !== undefined && old.node === node && old.uid === uid) return [node];
    const affected = old === undefined ? [] : [this.unlink(key, old.node)];
    if (node === '') {
      this.placements.delete(key);
      return affected;
    }
    this.placements.set(key, { node, uid, seenMs: nowMs });
    let pods = this.byNode.get(node);
    if (pods === undefined) this.byNode.set(node, (pods = new Set()));
    pods.add(key);
    return [...affected, node];
  }

  /** Forgets the pod; returns the node it was on. */
  remove(pod: Pod): string | undefined {
    const key = keyOf(pod);
    const old = this.placements.get(key);
    if (old === undefined) return undefined;
    this.placements.delete(key);
    return this.unlink(key, old.node);
  }

  keysOn(node: string): string[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  /** When we first saw the pod (this uid) on its current node. */
  seenMs(podKey: string): number | undefined {
    return this.placements.get(podKey)?.seenMs;
  }

  private unlink(key: string, node: string): string {
    const pods = this.byNode.get(node);
    pods?.delete(key);
    if (pods?.size === 0) this.byNode.delete(node);
    return node;
  }
}
