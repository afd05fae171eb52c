/**
 * Deletion of a namespace's content. A namespace marked for deletion keeps
 * the `kubernetes` finalizer in spec.finalizers until everything in it is
 * gone; this loop deletes that content (each object by the normal deletion
 * rules, so objects with finalizers of their own wait for them), confirms
 * against the store that nothing is left, then drops the finalizer, which
 * lets the namespace go.
 *
 * Every master runs it. The work is idempotent and level-triggered (it looks
 * at the state every sweep, not at events), so two masters doing it at once,
 * or one dying halfway, change nothing about the outcome.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { listPrefix, resourcePrefix } from '../registry/keys.js';
import type { ObjectAddress, ObjectStore } from '../registry/object-store.js';
import { RESOURCES, findResource } from '../registry/resources.js';
import type { WatchCache } from '../registry/watch-cache.js';
import { Deleter, NAMESPACE_FINALIZER } from './deletion.js';
import { ApiError } from './errors.js';

/** How often terminating namespaces are looked at. */
export const NAMESPACE_SWEEP_INTERVAL_MS = 1_000;
/** Objects deleted per namespace per sweep: bounds one sweep's work; the next sweep continues. */
const DELETES_PER_SWEEP_MAX = 500;

const NAMESPACES = findResource('', 'v1', 'namespaces')!;

export class NamespaceFinalizer {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly deleter: Deleter;

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
    private readonly log: (line: string) => void,
    nowMs: () => number = Date.now,
  ) {
    this.deleter = new Deleter(store, nowMs);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), NAMESPACE_SWEEP_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the terminating namespaces; overlapping passes are skipped. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const c of this.cache.list(resourcePrefix(NAMESPACES)).items) {
        if (c.object.metadata.deletionTimestamp === undefined) continue;
        await this.finalize(c.object).catch((err: unknown) => {
          this.log(`namespace finalizer: ${c.object.metadata.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
        });
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async finalize(ns: KubeObject): Promise<void> {
    const name = ns.metadata.name ?? '';
    const finalizers = ((ns.spec ?? {}) as { finalizers?: string[] }).finalizers ?? [];
    if (!finalizers.includes(NAMESPACE_FINALIZER)) return;
    const deleted = await this.deleteContent(name);
    if (deleted > 0 || (await this.hasContent(name))) return;
    const a: ObjectAddress = { resource: NAMESPACES, namespace: undefined, name };
    const updated = await this.store.update(a, (current) => {
      const spec = (current.spec ?? {}) as { finalizers?: string[] };
      const rest = (spec.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
      return { ...current, spec: { ...spec, finalizers: rest } };
    });
    await this.deleter.finalizeIfDone(a, updated);
    this.log(`namespace finalizer: namespace ${name} is empty; finalized`);
  }

  /** Issues deletes for what the cache still shows in the namespace; returns how many were issued. */
  private async deleteContent(namespace: string): Promise<number> {
    let issued = 0;
    for (const r of RESOURCES.filter((x) => x.namespaced)) {
      for (const c of this.cache.list(listPrefix(r, namespace)).items) {
        if (issued >= DELETES_PER_SWEEP_MAX) return issued;
        if (c.object.metadata.deletionTimestamp !== undefined && (c.object.metadata.finalizers ?? []).length > 0) continue;
        issued++;
        await this.deleter
          .delete({ resource: r, namespace, name: c.object.metadata.name ?? '' }, { gracePeriodSeconds: 0, preconditions: {}, dryRun: false })
          .catch((err: unknown) => {
            if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
          });
      }
    }
    return issued;
  }

  /** Whether the store (not the cache, which may lag) still holds anything in the namespace. */
  private async hasContent(namespace: string): Promise<boolean> {
    for (const r of RESOURCES.filter((x) => x.namespaced)) {
      const page = await this.store.list(r, namespace, { limit: 1, revision: 0, keep: () => true });
      if (page.items.length > 0) return true;
    }
    return false;
  }
}
