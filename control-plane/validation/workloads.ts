/**
 * Deployments and ReplicaSets: a selector that selects the pod template, a
 * template that is a valid pod spec whose pods restart forever, non-negative
 * counts, and a rolling update that can make progress.
 */
import type { LabelSelector } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  IMMUTABLE,
  NON_NEGATIVE,
  child,
  forbidden,
  invalid,
  isInteger,
  isRecord,
  nonNegative,
  notSupported,
  recordAt,
  required,
  stringMapAt,
  type JsonRecord,
} from './field-errors.js';
import { jsonEqual } from './json-equal.js';
import { isEmptySelector, labelSelectorMatches, validateLabelSelector } from './label-selector.js';
import { NamespaceScope, validateAnnotations, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { nameIsDnsSubdomain } from './names.js';
import { validatePodSpec } from './pod.js';

const STRATEGY_TYPES: readonly string[] = ['Recreate', 'RollingUpdate'];
const PERCENT_FMT = '[0-9]+%';
const PERCENT = /^[0-9]+%$/;
const PERCENT_MESSAGE = `a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '${PERCENT_FMT}')`;
/** maxUnavailable above 100% would mean more pods down than exist. */
const PERCENT_MAX = 100;

const META_RULES = { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain } as const;

/** The selector: present, valid, not empty. Returns it when it can be matched against the template. */
function validateSelector(spec: JsonRecord, path: string, errors: FieldError[]): LabelSelector | undefined {
  const selector = spec['selector'];
  if (selector === undefined || selector === null) {
    errors.push(required(path));
    return undefined;
  }
  const before = errors.length;
  errors.push(...validateLabelSelector(selector, path));
  if (!isRecord(selector)) return undefined;
  if (isEmptySelector(selector)) errors.push(invalid(path, selector, 'empty selector is invalid for deployment'));
  return errors.length === before ? selector : undefined;
}

/** A workload's pod template: labels the selector matches, restartPolicy Always, no deadline. */
export function validatePodTemplate(raw: unknown, selector: LabelSelector | undefined, path: string): FieldError[] {
  if (raw === undefined || raw === null) return [required(path)];
  const errors: FieldError[] = [];
  const template = recordAt(raw, path, errors);
  const meta = recordAt(template['metadata'], child(path, 'metadata'), errors);
  const labelsPath = child(child(path, 'metadata'), 'labels');
  errors.push(...validateLabels(meta['labels'], labelsPath));
  errors.push(...validateAnnotations(meta['annotations'], child(child(path, 'metadata'), 'annotations')));
  if (selector !== undefined && !labelSelectorMatches(selector, stringMapAt(meta['labels'], labelsPath, []))) {
    errors.push(invalid(labelsPath, meta['labels'] ?? {}, '`selector` does not match template `labels`'));
  }
  const specPath = child(path, 'spec');
  errors.push(...validatePodSpec(template['spec'], specPath, { restartPolicies: ['Always'] }));
  const spec = isRecord(template['spec']) ? template['spec'] : {};
  if (spec['activeDeadlineSeconds'] !== undefined && spec['activeDeadlineSeconds'] !== null) {
    errors.push(forbidden(child(specPath, 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return errors;
}

/** A count or a percentage string such as "25%"; returns its number, or undefined when invalid. */
function validateIntOrPercent(value: unknown, path: string, errors: FieldError[]): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') {
    if (!PERCENT.test(value)) {
      errors.push(invalid(path, value, PERCENT_MESSAGE));
      return undefined;
    }
    return Number(value.slice(0, -1));
  }
  if (!isInteger(value)) {
    errors.push(invalid(path, value, 'must be an integer or percentage'));
    return undefined;
  }
  if (value < 0) errors.push(invalid(path, value, NON_NEGATIVE));
  return value;
}

function validateRollingUpdate(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const rolling = recordAt(raw, path, errors);
  const unavailablePath = child(path, 'maxUnavailable');
  const maxUnavailable = validateIntOrPercent(rolling['maxUnavailable'], unavailablePath, errors);
  const maxSurge = validateIntOrPercent(rolling['maxSurge'], child(path, 'maxSurge'), errors);
  // With neither surge nor unavailability allowed, a rollout could never replace a pod.
  if (maxUnavailable === 0 && maxSurge === 0) {
    errors.push(invalid(unavailablePath, rolling['maxUnavailable'] ?? 0, 'may not be 0 when `maxSurge` is 0'));
  }
  if (typeof rolling['maxUnavailable'] === 'string' && maxUnavailable !== undefined && maxUnavailable > PERCENT_MAX) {
    errors.push(invalid(unavailablePath, rolling['maxUnavailable'], 'must not be greater than 100%'));
  }
  return errors;
}

function validateStrategy(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const strategy = recordAt(raw, path, errors);
  const rolling = strategy['rollingUpdate'];
  switch (strategy['type']) {
    case 'Recreate':
      if (rolling !== undefined && rolling !== null) {
        errors.push(forbidden(child(path, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'"));
      }
      break;
    case 'RollingUpdate':
      if (rolling === undefined || rolling === null) {
        errors.push(required(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil'));
      } else errors.push(...validateRollingUpdate(rolling, child(path, 'rollingUpdate')));
      break;
    default:
      errors.push(notSupported(path, raw ?? {}, STRATEGY_TYPES));
  }
  return errors;
}

function validateDeploymentSpec(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (raw === undefined || raw === null) return [required(child(path, 'selector')), required(child(path, 'template'))];
  const spec = recordAt(raw, path, errors);
  errors.push(...nonNegative(child(path, 'replicas'), spec['replicas']));
  const selector = validateSelector(spec, child(path, 'selector'), errors);
  errors.push(...validatePodTemplate(spec['template'], selector, child(path, 'template')));
  errors.push(...validateStrategy(spec['strategy'], child(path, 'strategy')));
  errors.push(...nonNegative(child(path, 'minReadySeconds'), spec['minReadySeconds']));
  errors.push(...nonNegative(child(path, 'revisionHistoryLimit'), spec['revisionHistoryLimit']));
  const deadline = spec['progressDeadlineSeconds'];
  if (deadline !== undefined && deadline !== null) {
    const deadlineErrors = nonNegative(child(path, 'progressDeadlineSeconds'), deadline);
    errors.push(...deadlineErrors);
    const minReady = isInteger(spec['minReadySeconds']) ? spec['minReadySeconds'] : 0;
    if (deadlineErrors.length === 0 && isInteger(deadline) && deadline <= minReady) {
      errors.push(invalid(child(path, 'progressDeadlineSeconds'), deadline, 'must be greater than minReadySeconds'));
    }
  }
  return errors;
}

function validateReplicaSetSpec(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (raw === undefined || raw === null) return [required(child(path, 'selector')), required(child(path, 'template'))];
  const spec = recordAt(raw, path, errors);
  errors.push(...nonNegative(child(path, 'replicas'), spec['replicas']));
  errors.push(...nonNegative(child(path, 'minReadySeconds'), spec['minReadySeconds']));
  const selector = validateSelector(spec, child(path, 'selector'), errors);
  errors.push(...validatePodTemplate(spec['template'], selector, child(path, 'template')));
  return errors;
}

/** apps/v1 made selectors immutable: changing one would orphan the pods it selected. */
function selectorUpdateErrors(obj: JsonRecord, old: unknown): FieldError[] {
  if (!isRecord(old)) return [];
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const oldSpec = isRecord(old['spec']) ? old['spec'] : {};
  const errors = validateObjectMetaUpdate(obj['metadata'], old['metadata']);
  if (!jsonEqual(spec['selector'], oldSpec['selector'])) errors.push(invalid('spec.selector', spec['selector'] ?? null, IMMUTABLE));
  return errors;
}

export function validateDeployment(deployment: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(deployment, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], META_RULES));
  errors.push(...validateDeploymentSpec(obj['spec'], 'spec'));
  if (old !== undefined) errors.push(...selectorUpdateErrors(obj, old));
  return errors;
}

export function validateReplicaSet(replicaSet: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(replicaSet, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], META_RULES));
  errors.push(...validateReplicaSetSpec(obj['spec'], 'spec'));
  if (old !== undefined) errors.push(...selectorUpdateErrors(obj, old));
  return errors;
}
