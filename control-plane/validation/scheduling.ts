/**
 * What the scheduler reads: tolerations and affinity of pods, taints of nodes.
 */
import { TaintEffect } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  isInteger,
  listAt,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { validateLabelName, validateLabelSelector } from './label-selector.js';
import { isDns1123Label, isLabelValue } from './names.js';

const TAINT_EFFECTS: readonly string[] = Object.values(TaintEffect);
const TOLERATION_OPERATORS: readonly string[] = ['Equal', 'Exists'];
/** The only node field a node selector term may match on. */
const NODE_FIELD_KEYS: readonly string[] = ['metadata.name'];
/** Preferred scheduling terms weigh 1 to 100 each (the scheduler sums them into a score). */
const AFFINITY_WEIGHT_MIN = 1;
const AFFINITY_WEIGHT_MAX = 100;

function validateTaintEffect(effect: unknown, allowEmpty: boolean, path: string): FieldError[] {
  if (effect === undefined || effect === null || effect === '') return allowEmpty ? [] : [required(path)];
  return typeof effect === 'string' && TAINT_EFFECTS.includes(effect) ? [] : [notSupported(path, effect, TAINT_EFFECTS)];
}

function validateToleration(tol: JsonRecord, at: string, errors: FieldError[]): void {
  const key = stringAt(tol['key'], child(at, 'key'), errors);
  const operator = tol['operator'] ?? '';
  const value = stringAt(tol['value'], child(at, 'value'), errors);
  if (key !== '') errors.push(...validateLabelName(key, child(at, 'key')));
  if (key === '' && operator !== 'Exists') {
    errors.push(invalid(child(at, 'operator'), operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
  }
  const seconds = tol['tolerationSeconds'];
  if (seconds !== undefined && seconds !== null) {
    if (tol['effect'] !== TaintEffect.NoExecute) {
      errors.push(invalid(child(at, 'effect'), tol['effect'] ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (!isInteger(seconds)) errors.push(invalid(child(at, 'tolerationSeconds'), seconds, 'must be an integer'));
  }
  if (operator === '' || operator === 'Equal') {
    const msgs = isLabelValue(value);
    if (msgs.length > 0) errors.push(invalid(child(at, 'operator'), value, msgs.join(';')));
  } else if (operator === 'Exists') {
    if (value !== '') errors.push(invalid(child(at, 'operator'), tol, "value must be empty when `operator` is 'Exists'"));
  } else errors.push(notSupported(child(at, 'operator'), operator, TOLERATION_OPERATORS));
  errors.push(...validateTaintEffect(tol['effect'], true, child(at, 'effect')));
}

export function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  listAt(tolerations, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    validateToleration(recordAt(raw, at, errors), at, errors);
  });
  return errors;
}

/** Node taints: valid key, value and effect; unique by (key, effect). */
export function validateTaints(taints: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  listAt(taints, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const taint = recordAt(raw, at, errors);
    const key = stringAt(taint['key'], child(at, 'key'), errors);
    errors.push(...validateLabelName(key, child(at, 'key')));
    const value = stringAt(taint['value'], child(at, 'value'), errors);
    const msgs = isLabelValue(value);
    if (msgs.length > 0) errors.push(invalid(child(at, 'value'), value, msgs.join(';')));
    errors.push(...validateTaintEffect(taint['effect'], false, child(at, 'effect')));
    const identity = JSON.stringify([key, taint['effect']]);
    if (seen.has(identity)) {
      errors.push(duplicate(at, raw, 'taints must be unique by key and effect pair'));
    }
    seen.add(identity);
  });
  return errors;
}

function validateNodeSelectorRequirement(raw: unknown, path: string, fieldKeys: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const req = recordAt(raw, path, errors);
  const values = listAt(req['values'], child(path, 'values'), errors);
  const operator = req['operator'];
  const valuesPath = child(path, 'values');
  if (fieldKeys) {
    if (operator !== 'In' && operator !== 'NotIn') errors.push(invalid(child(path, 'operator'), operator, 'not a valid selector operator'));
    else if (values.length !== 1) errors.push(required(valuesPath, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    if (typeof req['key'] !== 'string' || !NODE_FIELD_KEYS.includes(req['key'])) {
      errors.push(notSupported(child(path, 'key'), req['key'], NODE_FIELD_KEYS));
    }
    return errors;
  }
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0) errors.push(required(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"));
  } else if (operator === 'Exists' || operator === 'DoesNotExist') {
    if (values.length > 0) errors.push(forbidden(valuesPath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  } else if (operator === 'Gt' || operator === 'Lt') {
    if (values.length !== 1) errors.push(required(valuesPath, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
  } else errors.push(invalid(child(path, 'operator'), operator, 'not a valid selector operator'));
  errors.push(...validateLabelName(req['key'], child(path, 'key')));
  return errors;
}

function validateNodeSelectorTerm(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const term = recordAt(raw, path, errors);
  for (const [field, fieldKeys] of [['matchExpressions', false], ['matchFields', true]] as const) {
    listAt(term[field], child(path, field), errors).forEach((req, j) => {
      errors.push(...validateNodeSelectorRequirement(req, index(child(path, field), j), fieldKeys));
    });
  }
  return errors;
}

function validateWeight(weight: unknown, path: string): FieldError[] {
  return isInteger(weight) && weight >= AFFINITY_WEIGHT_MIN && weight <= AFFINITY_WEIGHT_MAX
    ? []
    : [invalid(path, weight, `must be in the range ${AFFINITY_WEIGHT_MIN}-${AFFINITY_WEIGHT_MAX}`)];
}

function validateNodeAffinity(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const affinity = recordAt(raw, path, errors);
  const requiredTerms = affinity['requiredDuringSchedulingIgnoredDuringExecution'];
  if (requiredTerms !== undefined && requiredTerms !== null) {
    const at = child(path, 'requiredDuringSchedulingIgnoredDuringExecution');
    const termsPath = child(at, 'nodeSelectorTerms');
    const terms = listAt(recordAt(requiredTerms, at, errors)['nodeSelectorTerms'], termsPath, errors);
    if (terms.length === 0) errors.push(required(termsPath, 'must have at least one node selector term'));
    terms.forEach((term, i) => errors.push(...validateNodeSelectorTerm(term, index(termsPath, i))));
  }
  const preferredPath = child(path, 'preferredDuringSchedulingIgnoredDuringExecution');
  listAt(affinity['preferredDuringSchedulingIgnoredDuringExecution'], preferredPath, errors).forEach((raw, i) => {
    const at = index(preferredPath, i);
    const term = recordAt(raw, at, errors);
    errors.push(...validateWeight(term['weight'], child(at, 'weight')));
    errors.push(...validateNodeSelectorTerm(term['preference'], child(at, 'preference')));
  });
  return errors;
}

function validatePodAffinityTerm(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const term = recordAt(raw, path, errors);
  errors.push(...validateLabelSelector(term['labelSelector'], child(path, 'labelSelector')));
  errors.push(...validateLabelSelector(term['namespaceSelector'], child(path, 'namespaceSelector')));
  listAt(term['namespaces'], child(path, 'namespaces'), errors).forEach((ns, i) => {
    const at = index(child(path, 'namespaces'), i);
    const name = stringAt(ns, at, errors);
    for (const msg of isDns1123Label(name)) errors.push(invalid(at, name, msg));
  });
  const topologyKey = stringAt(term['topologyKey'], child(path, 'topologyKey'), errors);
  if (topologyKey === '') errors.push(required(child(path, 'topologyKey'), 'can not be empty'));
  else errors.push(...validateLabelName(topologyKey, child(path, 'topologyKey')));
  return errors;
}

function validatePodAffinity(raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const affinity = recordAt(raw, path, errors);
  const requiredPath = child(path, 'requiredDuringSchedulingIgnoredDuringExecution');
  listAt(affinity['requiredDuringSchedulingIgnoredDuringExecution'], requiredPath, errors).forEach((term, i) => {
    errors.push(...validatePodAffinityTerm(term, index(requiredPath, i)));
  });
  const preferredPath = child(path, 'preferredDuringSchedulingIgnoredDuringExecution');
  listAt(affinity['preferredDuringSchedulingIgnoredDuringExecution'], preferredPath, errors).forEach((raw, i) => {
    const at = index(preferredPath, i);
    const term = recordAt(raw, at, errors);
    errors.push(...validateWeight(term['weight'], child(at, 'weight')));
    errors.push(...validatePodAffinityTerm(term['podAffinityTerm'], child(at, 'podAffinityTerm')));
  });
  return errors;
}

export function validateAffinity(raw: unknown, path: string): FieldError[] {
  if (raw === undefined || raw === null) return [];
  const errors: FieldError[] = [];
  const affinity = recordAt(raw, path, errors);
  if (affinity['nodeAffinity'] != null) errors.push(...validateNodeAffinity(affinity['nodeAffinity'], child(path, 'nodeAffinity')));
  for (const field of ['podAffinity', 'podAntiAffinity'] as const) {
    if (affinity[field] != null) errors.push(...validatePodAffinity(affinity[field], child(path, field)));
  }
  return errors;
}
