/**
 * Building field errors the way Kubernetes' field.Error does.
 *
 * `FieldError.message` holds Kubernetes' ErrorBody ("Invalid value: \"Foo\":
 * a lowercase RFC 1123 label must ..."), not just the detail, so that the API
 * server can build a Status whose message and causes read exactly like the
 * ones kubectl prints: `<kind> "<name>" is invalid: <field>: <body>`.
 *
 * Paths are plain strings in Kubernetes' notation: `spec.containers[0].image`,
 * `spec.containers[0].resources.limits[cpu]`, `data[key.name]`.
 */
import { FieldErrorType, type FieldError } from '../../proto/k8s/meta.js';

/** Longest rendering of a bad value inside a message; longer ones are cut, so one huge field cannot blow up the error body. */
export const VALUE_IN_MESSAGE_CHARS_MAX = 256;

/** `spec` + `containers` → `spec.containers`; an empty base gives the child alone. */
export function child(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** `spec.containers` + 0 → `spec.containers[0]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** `resources.limits` + `cpu` → `resources.limits[cpu]` (map keys are not quoted, as in Kubernetes). */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** Renders a bad value as Kubernetes does: strings quoted, numbers and booleans bare, objects as JSON. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else if (value === undefined || value === null) text = 'null';
  else {
    try {
      text = JSON.stringify(value) ?? 'null';
    } catch {
      text = '"<unprintable>"';
    }
  }
  return text.length > VALUE_IN_MESSAGE_CHARS_MAX ? `${text.slice(0, VALUE_IN_MESSAGE_CHARS_MAX)}...` : text;
}

function withDetail(head: string, detail: string | undefined): string {
  return detail === undefined || detail === '' ? head : `${head}: ${detail}`;
}

export function required(field: string, detail?: string): FieldError {
  return { type: FieldErrorType.Required, field, message: withDetail('Required value', detail) };
}

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: FieldErrorType.Invalid, field, message: withDetail(`Invalid value: ${describeValue(value)}`, detail) };
}

export function duplicate(field: string, value: unknown, detail?: string): FieldError {
  return { type: FieldErrorType.Duplicate, field, message: withDetail(`Duplicate value: ${describeValue(value)}`, detail) };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return {
    type: FieldErrorType.NotSupported,
    field,
    message: `Unsupported value: ${describeValue(value)}: supported values: ${list}`,
  };
}

export function forbidden(field: string, detail: string): FieldError {
  return { type: FieldErrorType.Forbidden, field, message: withDetail('Forbidden', detail) };
}

export function tooLong(field: string, bytesMax: number): FieldError {
  return { type: FieldErrorType.TooLong, field, message: `Too long: may not be more than ${bytesMax} bytes` };
}

export function tooMany(field: string, actual: number, max: number): FieldError {
  return { type: FieldErrorType.TooMany, field, message: `Too many: ${actual}: must have at most ${max} items` };
}

/** Kubernetes' InclusiveRangeError text. */
export function inclusiveRange(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

export const NON_NEGATIVE = 'must be greater than or equal to 0';
export const IMMUTABLE = 'field is immutable';

/** An Invalid error when `value` is a number below 0 (absent values are fine). */
export function nonNegative(field: string, value: unknown): FieldError[] {
  if (value === undefined || value === null) return [];
  if (!isInteger(value)) return [invalid(field, value, 'must be an integer')];
  return value < 0 ? [invalid(field, value, NON_NEGATIVE)] : [];
}

// ------------------------------------------------------------ runtime shapes
// Request bodies are untyped JSON. Kubernetes refuses a wrongly typed field
// while decoding (400); these readers let validators refuse it as a field
// error instead of throwing.

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** The items of a list field; a non-list adds an error and yields no items. */
export function listAt(value: unknown, field: string, errors: FieldError[]): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  errors.push(invalid(field, value, 'must be a list'));
  return [];
}

/** The entries of a map field; a non-map adds an error and yields no entries. */
export function recordAt(value: unknown, field: string, errors: FieldError[]): JsonRecord {
  if (value === undefined || value === null) return {};
  if (isRecord(value)) return value;
  errors.push(invalid(field, value, 'must be an object'));
  return {};
}

/** A string field: absent → "", wrong type → error and "". */
export function stringAt(value: unknown, field: string, errors: FieldError[]): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  errors.push(invalid(field, value, 'must be a string'));
  return '';
}

/** A map of strings (labels, selectors, data): wrong-typed values are reported and dropped. */
export function stringMapAt(value: unknown, field: string, errors: FieldError[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(recordAt(value, field, errors))) {
    if (typeof v === 'string') out[k] = v;
    else errors.push(invalid(key(field, k), v, 'must be a string'));
  }
  return out;
}
