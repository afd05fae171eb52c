/**
 * Subresources other than status: `scale` (autoscaling/v1 Scale of
 * deployments and replicasets: what `kubectl scale` reads and writes),
 * `binding` (the scheduler's way to put a pod on a node, once), `finalize`
 * (a namespace's spec.finalizers), and `token` (a TokenRequest: a signed,
 * expiring token for a service account, what `kubectl create token` asks for).
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import { applyPatch, patchSchemaFor, PatchError } from '../patch/index.js';
import type { ObjectAddress, ObjectStore } from '../registry/object-store.js';
import { refOf } from '../registry/object-store.js';
import { UpdateScope, prepareUpdate, timestamp } from '../registry/strategy.js';
import { issueServiceAccountToken } from '../auth/index.js';
import { ApiError, badRequest, conflict, invalid, staleResourceVersion } from './errors.js';

interface ScaleSpec {
  replicas?: number;
}

export function scaleOf(o: KubeObject): KubeObject {
  const spec = (o.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (o.status ?? {}) as { replicas?: number };
  const selector = Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const m = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, ...(selector === '' ? {} : { selector }) },
  };
}

/** PUT or PATCH of /scale: computes the new Scale, then writes its replicas into the object. */
export async function writeScale(
  store: ObjectStore,
  a: ObjectAddress,
  change: { body: unknown } | { patchType: string; patch: unknown },
): Promise<KubeObject> {
  const updated = await store.update(a, (current) => {
    const { resourceVersion: currentRv, ...meta } = scaleOf(current).metadata;
    const scale = newScale(a, { ...scaleOf(current), metadata: meta }, change);
    // A resourceVersion in the Scale the client sent (or patched in) is a precondition.
    const pinned = scale.metadata?.resourceVersion;
    if (pinned !== undefined && pinned !== '' && pinned !== currentRv) throw staleResourceVersion(refOf(a));
    const replicas = (scale.spec as ScaleSpec | undefined)?.replicas;
    if (!Number.isSafeInteger(replicas) || (replicas as number) < 0) {
      throw invalid({ ...refOf(a), kind: 'Scale' }, [{ type: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    const next = { ...current, spec: { ...(current.spec as object), replicas } };
    return prepareUpdate(a.resource, current, next, UpdateScope.Main);
  });
  return scaleOf(updated);
}

function newScale(a: ObjectAddress, current: KubeObject, change: { body: unknown } | { patchType: string; patch: unknown }): KubeObject {
  if ('body' in change) {
    const b = change.body as KubeObject;
    if (b === null || typeof b !== 'object' || typeof b.metadata !== 'object') throw badRequest('the body must be an autoscaling/v1 Scale');
    return b;
  }
  try {
    return applyPatch(change.patchType, current, change.patch, patchSchemaFor('autoscaling', 'Scale')) as KubeObject;
  } catch (err) {
    if (err instanceof PatchError) throw badRequest(`${a.resource.plural}/scale "${a.name}": ${err.message}`);
    throw err;
  }
}

/** POST pods/<name>/binding: sets spec.nodeName, which may happen only once (409 if already bound). */
export async function bindPod(store: ObjectStore, a: ObjectAddress, body: unknown): Promise<void> {
  const b = (body ?? {}) as { target?: { kind?: string; name?: string }; metadata?: { name?: string } };
  const node = b.target?.name;
  if (typeof node !== 'string' || node === '') {
    throw invalid({ ...refOf(a), kind: 'Binding' }, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  }
  if (b.target?.kind !== undefined && b.target.kind !== 'Node') {
    throw invalid({ ...refOf(a), kind: 'Binding' }, [{ type: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${b.target.kind}": supported values: "Node"` }]);
  }
  await store.update(a, (pod) => {
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (pod.metadata.deletionTimestamp !== undefined) throw conflict(refOf(a), 'pod is being deleted, cannot be assigned to a host');
    if (spec.nodeName !== undefined && spec.nodeName !== '') throw conflict(refOf(a), `pod ${a.name} is already assigned to node "${spec.nodeName}"`);
    const status = (pod.status ?? {}) as { conditions?: unknown[] };
    const conditions = [...(status.conditions ?? []).filter((c) => (c as { type?: string }).type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }];
    return { ...pod, spec: { ...spec, nodeName: node }, status: { ...status, conditions } };
  });
}

/** PUT namespaces/<name>/finalize: replaces spec.finalizers only. */
export async function finalizeNamespace(store: ObjectStore, a: ObjectAddress, body: unknown): Promise<KubeObject> {
  const finalizers = ((body as KubeObject | undefined)?.spec as { finalizers?: unknown } | undefined)?.finalizers ?? [];
  if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string')) throw new ApiError(StatusReason.BadRequest, 'spec.finalizers must be a list of strings');
  return store.update(a, (ns) => ({ ...ns, spec: { ...(ns.spec as object), finalizers } }));
}

/** Kubernetes' TokenRequest bounds: at least 10 minutes, 1 hour by default, at most a day here. */
const TOKEN_SECONDS_MIN = 600;
const TOKEN_SECONDS_DEFAULT = 3_600;
const TOKEN_SECONDS_MAX = 86_400;

/** POST serviceaccounts/<name>/token: a token for the service account, valid until it expires or the account is deleted. */
export async function requestToken(store: ObjectStore, a: ObjectAddress, body: unknown, key: Buffer, nowMs: number): Promise<KubeObject> {
  const sa = await store.get(a);
  const spec = ((body as KubeObject | undefined)?.spec ?? {}) as { expirationSeconds?: unknown; audiences?: unknown };
  const requested = spec.expirationSeconds ?? TOKEN_SECONDS_DEFAULT;
  if (typeof requested !== 'number' || !Number.isSafeInteger(requested) || requested < TOKEN_SECONDS_MIN) {
    throw invalid({ group: 'authentication.k8s.io', plural: 'tokenrequests', kind: 'TokenRequest', name: a.name }, [
      { type: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${JSON.stringify(requested)}: may not specify a duration less than ${TOKEN_SECONDS_MIN} seconds` },
    ]);
  }
  const seconds = Math.min(requested, TOKEN_SECONDS_MAX);
  const issuedAtSeconds = Math.floor(nowMs / 1000);
  const token = issueServiceAccountToken(key, { namespace: a.namespace ?? '', name: a.name, uid: sa.metadata.uid ?? '' }, { issuedAtSeconds, expiresInSeconds: seconds });
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name: a.name, namespace: a.namespace, creationTimestamp: timestamp(nowMs) },
    spec: { audiences: Array.isArray(spec.audiences) ? spec.audiences : [], expirationSeconds: seconds },
    status: { token, expirationTimestamp: timestamp((issuedAtSeconds + seconds) * 1000) },
  };
}
