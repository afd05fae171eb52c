/**
 * DELETE, as Kubernetes does it:
 *  - graceful deletion of pods that run on a node: the pod gets a
 *    deletionTimestamp and a grace period; its node agent stops it and then
 *    deletes it for good (grace 0);
 *  - finalizers: an object with finalizers (or whose deletion adds one:
 *    `foregroundDeletion` for propagationPolicy=Foreground, `orphan` for
 *    Orphan) is only marked; it is removed when the last finalizer goes
 *    (finalizeIfDone, called after every update);
 *  - namespaces are marked Terminating; their content is removed by the
 *    namespace finalizer before the namespace itself goes;
 *  - everything else is removed at once, with a compare-and-swap on the
 *    revision that was read, so preconditions (uid, resourceVersion) hold.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { ObjectStore, ObjectAddress, Preconditions } from '../registry/object-store.js';
import { releaseIps } from '../registry/service-ips.js';
import { timestamp } from '../registry/strategy.js';
import { ApiError, badRequest } from './errors.js';
import { single, type Query } from './list-options.js';

export const PropagationPolicy = { Background: 'Background', Foreground: 'Foreground', Orphan: 'Orphan' } as const;
export type PropagationPolicy = (typeof PropagationPolicy)[keyof typeof PropagationPolicy];

export const FINALIZER_FOREGROUND = 'foregroundDeletion';
export const FINALIZER_ORPHAN = 'orphan';
/** The finalizer that keeps a namespace until its content is gone (in spec.finalizers, as in Kubernetes). */
export const NAMESPACE_FINALIZER = 'kubernetes';
/** Kubernetes' default pod grace period when the pod does not say. */
const DEFAULT_POD_GRACE_SECONDS = 30;

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: PropagationPolicy;
  readonly preconditions: Preconditions;
  readonly dryRun: boolean;
}

/** DeleteOptions from the body (if any) and the query; the query wins, as in Kubernetes. */
export function parseDeleteOptions(body: unknown, q: Query): DeleteOptions {
  const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const graceRaw = single(q, 'gracePeriodSeconds') ?? b.gracePeriodSeconds;
  const grace = graceRaw === undefined || graceRaw === null ? undefined : Number(graceRaw);
  if (grace !== undefined && (!Number.isSafeInteger(grace) || grace < 0)) throw badRequest(`gracePeriodSeconds: must be a non-negative integer, got ${JSON.stringify(graceRaw)}`);
  const orphan = single(q, 'orphanDependents') ?? b.orphanDependents;
  const policyRaw = single(q, 'propagationPolicy') ?? b.propagationPolicy ?? (orphan === true || orphan === 'true' ? PropagationPolicy.Orphan : undefined);
  if (policyRaw !== undefined && !Object.values(PropagationPolicy).includes(policyRaw as PropagationPolicy)) {
    throw badRequest(`propagationPolicy: Unsupported value: "${String(policyRaw)}": supported values: "Background", "Foreground", "Orphan"`);
  }
  const pre = (b.preconditions ?? {}) as Record<string, unknown>;
  const dryRun = single(q, 'dryRun') === 'All' || (Array.isArray(b.dryRun) && b.dryRun.includes('All'));
  return {
    ...(grace === undefined ? {} : { gracePeriodSeconds: grace }),
    ...(policyRaw === undefined ? {} : { propagationPolicy: policyRaw as PropagationPolicy }),
    preconditions: {
      ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
      ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
    },
    dryRun,
  };
}

export class Deleter {
  constructor(
    private readonly store: ObjectStore,
    private readonly nowMs: () => number,
  ) {}

  /** Deletes or marks the object; returns its state after the call (the last state if it is gone). */
  async delete(a: ObjectAddress, o: DeleteOptions): Promise<KubeObject> {
    const current = await this.store.get(a);
    const grace = graceSecondsOf(a, current, o);
    const added = finalizersFor(o.propagationPolicy);
    const keep = (current.metadata.finalizers ?? []).length > 0 || added.length > 0 || isNamespaceWithContentFinalizer(a, current);
    if (o.dryRun) return current;
    if (grace > 0 || keep) return this.mark(a, current, grace, added, o.preconditions);
    return this.remove(a, o.preconditions);
  }

  /** After an update: removes an object that is marked for deletion and has no finalizers left. */
  async finalizeIfDone(a: ObjectAddress, obj: KubeObject): Promise<KubeObject> {
    const meta = obj.metadata;
    if (meta.deletionTimestamp === undefined || (meta.finalizers ?? []).length > 0 || isNamespaceWithContentFinalizer(a, obj)) return obj;
    if ((meta.deletionGracePeriodSeconds ?? 0) > 0) return obj;
    try {
      return await this.remove(a, { uid: meta.uid ?? '', resourceVersion: meta.resourceVersion ?? '' });
    } catch (err) {
      // Someone else changed or removed it first; their write decides.
      if (err instanceof ApiError && (err.code === 404 || err.code === 409)) return obj;
      throw err;
    }
  }

  private remove(a: ObjectAddress, pre: Preconditions): Promise<KubeObject> {
    return this.store.delete(a, pre, undefined, (current) => releaseIps(serviceIpsOf(a, current)));
  }

  private mark(a: ObjectAddress, current: KubeObject, grace: number, added: readonly string[], pre: Preconditions): Promise<KubeObject> {
    return this.store.update(
      a,
      (obj) => {
        const meta = { ...obj.metadata };
        const finalizers = [...(meta.finalizers ?? [])];
        for (const f of added) if (!finalizers.includes(f)) finalizers.push(f);
        const deadline = this.nowMs() + grace * 1000;
        const shorter = meta.deletionTimestamp === undefined || Date.parse(meta.deletionTimestamp) > deadline;
        if (shorter) {
          meta.deletionTimestamp = timestamp(deadline);
          meta.deletionGracePeriodSeconds = grace;
        }
        if (finalizers.length > 0) meta.finalizers = finalizers;
        const next: KubeObject = { ...obj, metadata: meta };
        if (a.resource.kind === 'Namespace') next.status = { ...(obj.status as object), phase: 'Terminating' };
        return next;
      },
      { ...pre, uid: pre.uid ?? current.metadata.uid ?? '' },
    );
  }
}

function finalizersFor(policy: PropagationPolicy | undefined): string[] {
  if (policy === PropagationPolicy.Foreground) return [FINALIZER_FOREGROUND];
  if (policy === PropagationPolicy.Orphan) return [FINALIZER_ORPHAN];
  return [];
}

/** Pods bound to a node get their grace period; unbound or finished pods go at once. */
function graceSecondsOf(a: ObjectAddress, obj: KubeObject, o: DeleteOptions): number {
  if (a.resource.kind !== 'Pod') return 0;
  const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  if (spec.nodeName === undefined || spec.nodeName === '' || phase === 'Succeeded' || phase === 'Failed') return 0;
  return o.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? DEFAULT_POD_GRACE_SECONDS;
}

function isNamespaceWithContentFinalizer(a: ObjectAddress, obj: KubeObject): boolean {
  if (a.resource.kind !== 'Namespace') return false;
  const finalizers = ((obj.spec ?? {}) as { finalizers?: string[] }).finalizers ?? [];
  return finalizers.includes(NAMESPACE_FINALIZER);
}

function serviceIpsOf(a: ObjectAddress, obj: KubeObject): string[] {
  if (a.resource.kind !== 'Service') return [];
  const spec = (obj.spec ?? {}) as { clusterIPs?: unknown; clusterIP?: unknown };
  const ips = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP];
  return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
}
