/**
 * The pod a ReplicaSet creates from its template (Kubernetes'
 * GetPodFromTemplate): the template's labels, annotations, finalizers and
 * spec, generateName `<replicaset>-`, and the ReplicaSet as controller.
 */
import type { ReplicaSet } from '../../../proto/k8s/apps-v1.js';
import type { Pod } from '../../../proto/k8s/core-v1.js';
import type { ObjectMeta, OwnerReference } from '../../../proto/k8s/meta.js';

export const ReplicaSetErrorCode = {
  /** The template has no labels, so its pods could never match a selector: creating them would loop forever. */
  TemplateWithoutLabels: 'TEMPLATE_WITHOUT_LABELS',
} as const;
export type ReplicaSetErrorCode = (typeof ReplicaSetErrorCode)[keyof typeof ReplicaSetErrorCode];

export class ReplicaSetError extends Error {
  override readonly name = 'ReplicaSetError';
  constructor(
    readonly code: ReplicaSetErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function podFromTemplate(rs: ReplicaSet, controllerRef: OwnerReference): Pod {
  const template = rs.spec.template;
  const labels = template?.metadata?.labels ?? {};
  if (template === undefined || Object.keys(labels).length === 0) {
    const what = `ReplicaSet ${rs.metadata.namespace ?? ''}/${rs.metadata.name ?? ''}`;
    throw new ReplicaSetError(ReplicaSetErrorCode.TemplateWithoutLabels, `${what}: the pod template has no labels; pods without labels match no selector`);
  }
  const metadata: ObjectMeta = { generateName: `${rs.metadata.name ?? ''}-`, labels: { ...labels }, ownerReferences: [controllerRef] };
  if (rs.metadata.namespace !== undefined) metadata.namespace = rs.metadata.namespace;
  if (template.metadata?.annotations !== undefined) metadata.annotations = { ...template.metadata.annotations };
  if (template.metadata?.finalizers !== undefined) metadata.finalizers = [...template.metadata.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(template.spec) };
}
