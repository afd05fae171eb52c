/**
 * meta/v1 LabelSelector: its validation, and matching labels against it
 * (validation needs matching: a workload's selector must select its own template).
 */
import type { LabelSelector, LabelSelectorRequirement } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import { child, forbidden, index, invalid, isRecord, listAt, recordAt, required, stringAt } from './field-errors.js';
import { validateLabels } from './meta.js';
import { isLabelValue, isQualifiedName } from './names.js';

export const SelectorOperator = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
} as const;
export type SelectorOperator = (typeof SelectorOperator)[keyof typeof SelectorOperator];

/** A label key (or a selector key): a qualified name. */
export function validateLabelName(name: unknown, path: string): FieldError[] {
  if (typeof name !== 'string') return [invalid(path, name, 'must be a string')];
  return isQualifiedName(name).map((msg) => invalid(path, name, msg));
}

function validateRequirement(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const req = recordAt(raw, path, errors);
  const values = listAt(req['values'], child(path, 'values'), errors);
  const operator = req['operator'];
  switch (operator) {
    case SelectorOperator.In:
    case SelectorOperator.NotIn:
      if (values.length === 0) {
        errors.push(required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      }
      break;
    case SelectorOperator.Exists:
    case SelectorOperator.DoesNotExist:
      if (values.length > 0) {
        errors.push(forbidden(child(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      }
      break;
    default:
      errors.push(invalid(child(path, 'operator'), operator, 'not a valid selector operator'));
  }
  errors.push(...validateLabelName(req['key'], child(path, 'key')));
  values.forEach((v, i) => {
    const at = index(child(path, 'values'), i);
    const value = stringAt(v, at, errors);
    for (const msg of isLabelValue(value)) errors.push(invalid(at, value, msg));
  });
  return errors;
}

export function validateLabelSelector(selector: unknown, path: string): FieldError[] {
  if (selector === undefined || selector === null) return [];
  const errors: FieldError[] = [];
  const sel = recordAt(selector, path, errors);
  errors.push(...validateLabels(sel['matchLabels'], child(path, 'matchLabels')));
  listAt(sel['matchExpressions'], child(path, 'matchExpressions'), errors).forEach((req, i) => {
    errors.push(...validateRequirement(req, index(child(path, 'matchExpressions'), i)));
  });
  return errors;
}

/** A selector with neither matchLabels nor matchExpressions: it selects everything. */
export function isEmptySelector(selector: LabelSelector): boolean {
  const matchLabels = isRecord(selector.matchLabels) ? Object.keys(selector.matchLabels) : [];
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  return matchLabels.length === 0 && expressions.length === 0;
}

function requirementMatches(req: LabelSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const values = Array.isArray(req.values) ? req.values : [];
  switch (req.operator) {
    case SelectorOperator.In:
      return has && values.includes(labels[req.key] ?? '');
    case SelectorOperator.NotIn:
      return !has || !values.includes(labels[req.key] ?? '');
    case SelectorOperator.Exists:
      return has;
    case SelectorOperator.DoesNotExist:
      return !has;
    default:
      return false;
  }
}

/**
 * Whether `labels` satisfy every term of `selector`. An absent selector
 * matches nothing and an empty one everything, as in Kubernetes. Assumes a
 * selector that passed validateLabelSelector; an unknown operator matches nothing.
 */
export function labelSelectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined || !isRecord(selector)) return false;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(matchLabels)) {
    if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  return expressions.every((req) => isRecord(req) && requirementMatches(req, labels));
}
