/**
 * A Deployment's ReplicaSets (pure): which one is "new" (its template equals
 * the Deployment's, ignoring the pod-template-hash label), their revisions,
 * the annotations the controller keeps on them, and the ReplicaSet it
 * creates for a template it has not seen: `<deployment>-<hash>`, with the
 * hash added to the selector and the template's labels so that the pods of
 * different templates never match each other's ReplicaSet.
 *
 * Revisions: the new ReplicaSet carries `deployment.kubernetes.io/revision` =
 * (highest revision among the others) + 1. Returning to an older template
 * makes that older ReplicaSet new again, so it takes the next revision and
 * its former one moves to `revision-history` — what `kubectl rollout undo`
 * and `kubectl rollout history` read.
 */
import type { Deployment, ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { PodTemplateSpec } from '../../../proto/k8s/core-v1.js';
import { jsonEqual } from '../../patch/index.js';
import { newControllerRef, parseTimeMs, type ControllerKind } from '../controller-utils.js';
import type { ReplicaSetView, RolloutParams } from './rollout-math.js';

export const DEPLOYMENT_KIND: ControllerKind = { apiVersion: 'apps/v1', kind: 'Deployment' };
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Longest revision-history annotation (Kubernetes' maxRevHistoryLengthInChars); the oldest entries drop first. */
export const REVISION_HISTORY_CHARS_MAX = 2000;

/** Deployment annotations that are the controller's own bookkeeping, not copied to ReplicaSets. */
const ANNOTATIONS_NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

// ---- identity ---------------------------------------------------------------------

/** Templates equal once pod-template-hash is dropped from both (Kubernetes' EqualIgnoreHash). */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return jsonEqual(withoutHash(a), withoutHash(b));
}

function withoutHash(t: PodTemplateSpec | undefined): unknown {
  if (t === undefined) return undefined;
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...t, metadata: { ...t.metadata, labels } };
}

/**
 * A short, name-safe hash of the template (and collisionCount, which changes
 * the name when another object holds it): FNV-1a over canonical JSON, spelled
 * with Kubernetes' SafeEncodeString alphabet (no vowels, no 0/1/3).
 */
export function podTemplateHash(template: PodTemplateSpec, collisionCount: number | undefined): string {
  let h = 0x811c9dc5;
  const text = canonicalJson(template) + (collisionCount === undefined ? '' : `#${collisionCount}`);
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(h)].map((c) => alphabet[c.charCodeAt(0) % alphabet.length]).join('');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Oldest first, then by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const ta = parseTimeMs(a.metadata.creationTimestamp) ?? 0;
  const tb = parseTimeMs(b.metadata.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** The ReplicaSet running the Deployment's current template; the oldest if several do. */
export function findNewReplicaSet(d: Deployment, rsList: readonly ReplicaSet[]): ReplicaSet | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** The ReplicaSet to create for the Deployment's current template; replicas 0 until sized. */
export function newReplicaSetFor(d: Deployment, p: RolloutParams): ReplicaSet {
  const hash = podTemplateHash(d.spec.template, d.status?.collisionCount);
  const template = structuredClone(d.spec.template);
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  template.metadata = { ...template.metadata, labels };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const metadata: ReplicaSet['metadata'] = { name: `${d.metadata.name ?? ''}-${hash}`, labels: { ...labels }, ownerReferences: [newControllerRef(d, DEPLOYMENT_KIND)] };
  if (d.metadata.namespace !== undefined) metadata.namespace = d.metadata.namespace;
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata, spec: { replicas: 0, minReadySeconds: p.minReadySeconds, selector, template } };
}

// ---- revisions and annotations -----------------------------------------------------

/** The revision annotation as a number; 0 when absent or not a number. */
export function revisionOf(rs: ReplicaSet): number {
  const text = rs.metadata.annotations?.[REVISION_ANNOTATION];
  if (text === undefined || !/^\d+$/.test(text)) return 0;
  return Number(text);
}

export function maxRevision(rsList: readonly ReplicaSet[]): number {
  return Math.max(0, ...rsList.map(revisionOf));
}

/** Lowest revision first (the first to be cleaned up), then oldest. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

/**
 * Brings the annotations of the new ReplicaSet `rs` (mutated) up to date:
 * the Deployment's own annotations, the revision (raised to `newRevision`,
 * never lowered), and for a ReplicaSet about to be created the replicas
 * annotations. Returns whether anything changed (Kubernetes' SetNewReplicaSetAnnotations).
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean, p: RolloutParams): boolean {
  const annotations = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_NOT_COPIED.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const oldText = annotations[REVISION_ANNOTATION];
  if (oldText !== undefined && !/^\d+$/.test(oldText)) return changed;
  const oldRevision = oldText === undefined ? 0 : Number(oldText);
  if (oldRevision < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldText !== undefined) appendRevisionHistory(annotations, oldText);
  }
  if (!exists && setReplicasAnnotations(rs, p)) changed = true;
  return changed;
}

function appendRevisionHistory(annotations: Record<string, string>, oldRevision: string): void {
  const history = (annotations[REVISION_HISTORY_ANNOTATION] ?? '').split(',').filter((r) => r !== '');
  history.push(oldRevision);
  while (history.join(',').length > REVISION_HISTORY_CHARS_MAX && history.length > 1) history.shift();
  annotations[REVISION_HISTORY_ANNOTATION] = history.join(',');
}

/** Records the Deployment size the ReplicaSet was sized for (read back by proportional scaling). Returns whether anything changed. */
export function setReplicasAnnotations(rs: ReplicaSet, p: RolloutParams): boolean {
  if (!replicasAnnotationsNeedUpdate(rs, p)) return false;
  const annotations = (rs.metadata.annotations ??= {});
  annotations[DESIRED_REPLICAS_ANNOTATION] = String(p.replicas);
  annotations[MAX_REPLICAS_ANNOTATION] = String(p.replicas + p.maxSurge);
  return true;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, p: RolloutParams): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(p.replicas) || a[MAX_REPLICAS_ANNOTATION] !== String(p.replicas + p.maxSurge);
}

/** The desired-replicas annotation, when present and numeric. */
export function desiredReplicasOf(rs: ReplicaSet): number | undefined {
  return numericAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
}

function numericAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const text = rs.metadata.annotations?.[key];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

// ---- views ---------------------------------------------------------------------------

/** The numbers rollout-math works on; `podCount` comes from the pod cache. */
export function viewOf(rs: ReplicaSet, podCount: number): ReplicaSetView {
  return {
    name: rs.metadata.name ?? '',
    replicas: specReplicas(rs),
    availableReplicas: rs.status?.availableReplicas ?? 0,
    podCount,
    createdMs: parseTimeMs(rs.metadata.creationTimestamp) ?? 0,
    maxReplicasAnnotation: numericAnnotation(rs, MAX_REPLICAS_ANNOTATION),
  };
}

/** spec.replicas, defaulted to 1 as the API server defaults it. */
export function specReplicas(rs: ReplicaSet): number {
  return rs.spec.replicas ?? 1;
}

export function isActive(rs: ReplicaSet): boolean {
  return specReplicas(rs) > 0;
}
