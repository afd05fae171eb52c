/**
 * Pod updates. A pod's spec is fixed once created, except for what the kubelet
 * can apply to a running pod: container images, a shorter activeDeadlineSeconds,
 * additional tolerations, and terminationGracePeriodSeconds from negative to 1.
 * Everything else must be changed by replacing the pod.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  forbidden,
  inclusiveRange,
  index,
  invalid,
  isInteger,
  isRecord,
  required,
  type JsonRecord,
} from './field-errors.js';
import { jsonDiffPaths, jsonEqual } from './json-equal.js';
import { validateObjectMetaUpdate } from './meta.js';
import { ACTIVE_DEADLINE_SECONDS_MAX, validatePod } from './pod.js';

const UPDATABLE_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
].join(',');

export const POD_UPDATE_FORBIDDEN_MESSAGE = `pod updates may not change fields other than ${UPDATABLE_FIELDS}`;

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Same containers, in the same order; returns true when the rest of the checks cannot apply. */
function validateContainerUpdates(spec: JsonRecord, old: JsonRecord, errors: FieldError[]): boolean {
  let stop = false;
  for (const field of ['containers', 'initContainers'] as const) {
    const now = listOf(spec[field]);
    if (now.length !== listOf(old[field]).length) {
      errors.push(forbidden(child('spec', field), 'pod updates may not add or remove containers'));
      stop = true;
      continue;
    }
    now.forEach((ctr, i) => {
      if (!isRecord(ctr) || typeof ctr['image'] !== 'string' || ctr['image'] === '') {
        errors.push(required(child(index(child('spec', field), i), 'image')));
      }
    });
  }
  return stop;
}

/** Allowed: nil → positive, or lowering a positive value. Never back to nil. */
function validateDeadlineUpdate(spec: JsonRecord, old: JsonRecord): FieldError[] {
  const path = 'spec.activeDeadlineSeconds';
  const now = spec['activeDeadlineSeconds'];
  const before = old['activeDeadlineSeconds'];
  if (now === undefined || now === null) {
    return before === undefined || before === null ? [] : [invalid(path, null, 'must not update from a positive integer to nil value')];
  }
  if (!isInteger(now) || now < 0 || now > ACTIVE_DEADLINE_SECONDS_MAX) {
    return [invalid(path, now, inclusiveRange(0, ACTIVE_DEADLINE_SECONDS_MAX))];
  }
  if (isInteger(before) && before < now) return [invalid(path, now, 'must be less than or equal to previous value')];
  return [];
}

/** Every old toleration must still be there; only its tolerationSeconds may differ. */
function tolerationsOnlyAdded(now: unknown, before: unknown): boolean {
  const current = listOf(now);
  return listOf(before).every((old) =>
    current.some((t) => isRecord(t) && isRecord(old) && jsonEqual({ ...old, tolerationSeconds: t['tolerationSeconds'] }, t)),
  );
}

/** The new spec with every field that may change set back to its old value. */
function mungeSpec(spec: JsonRecord, old: JsonRecord): JsonRecord {
  const munged: JsonRecord = { ...spec };
  for (const field of ['containers', 'initContainers'] as const) {
    const oldList = listOf(old[field]);
    if (!Array.isArray(spec[field])) continue;
    munged[field] = spec[field].map((ctr: unknown, i) => {
      const before = oldList[i];
      return isRecord(ctr) && isRecord(before) ? { ...ctr, image: before['image'] } : ctr;
    });
  }
  munged['activeDeadlineSeconds'] = old['activeDeadlineSeconds'];
  munged['tolerations'] = old['tolerations'];
  const grace = old['terminationGracePeriodSeconds'];
  if (isInteger(grace) && grace < 0 && spec['terminationGracePeriodSeconds'] === 1) munged['terminationGracePeriodSeconds'] = grace;
  return munged;
}

/** The update-only rules; validatePodUpdate adds the full validation of the new pod. */
export function validatePodUpdateRules(pod: unknown, oldPod: unknown): FieldError[] {
  if (!isRecord(pod) || !isRecord(oldPod)) return [];
  const errors = validateObjectMetaUpdate(pod['metadata'], oldPod['metadata']);
  const spec = isRecord(pod['spec']) ? pod['spec'] : {};
  const old = isRecord(oldPod['spec']) ? oldPod['spec'] : {};
  if (validateContainerUpdates(spec, old, errors)) return errors;
  const deadlineErrors = validateDeadlineUpdate(spec, old);
  if (deadlineErrors.length > 0) return [...errors, ...deadlineErrors];
  if (!tolerationsOnlyAdded(spec['tolerations'], old['tolerations'])) {
    errors.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
    return errors;
  }
  const munged = mungeSpec(spec, old);
  if (!jsonEqual(munged, old)) {
    const changed = jsonDiffPaths(old, munged, 'spec').map((p) => `  changed: ${p}`);
    errors.push(forbidden('spec', [POD_UPDATE_FORBIDDEN_MESSAGE, ...changed].join('\n')));
  }
  return errors;
}

/** Kubernetes validates the new pod in full and then the update rules. */
export function validatePodUpdate(pod: unknown, oldPod: unknown): FieldError[] {
  return [...validatePod(pod), ...validatePodUpdateRules(pod, oldPod)];
}
