/**
 * SelfSubjectAccessReview (authorization.k8s.io/v1): "may I do this?",
 * answered from RBAC for the user making the request and never stored. This
 * is what `kubectl auth can-i` sends.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { authorize, type RbacSource, type UserInfo } from '../auth/index.js';
import { invalid } from './errors.js';

interface ReviewSpec {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export function selfSubjectAccessReview(body: unknown, user: UserInfo, rbac: RbacSource): KubeObject {
  const review = (body ?? {}) as KubeObject & { spec?: ReviewSpec };
  const spec = review.spec ?? {};
  const ra = spec.resourceAttributes;
  const na = spec.nonResourceAttributes;
  if ((ra === undefined) === (na === undefined)) {
    throw invalid({ group: 'authorization.k8s.io', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', name: '' }, [
      { type: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' },
    ]);
  }
  const attributes =
    ra !== undefined
      ? {
          verb: ra.verb ?? '',
          apiGroup: ra.group ?? '',
          resource: ra.resource ?? '',
          ...(ra.subresource ? { subresource: ra.subresource } : {}),
          ...(ra.namespace ? { namespace: ra.namespace } : {}),
          ...(ra.name ? { name: ra.name } : {}),
        }
      : { verb: na!.verb ?? '', nonResourcePath: na!.path ?? '' };
  const decision = authorize(user, attributes, rbac);
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    metadata: { creationTimestamp: null as unknown as string },
    spec,
    status: decision.allowed ? { allowed: true, reason: decision.reason } : { allowed: false, reason: decision.reason },
  };
}
