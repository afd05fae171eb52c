/**
 * What every resource printer shares: the Printer shape, the columns several
 * resources reuse, the AGE cell, and small readers that take fields out of a
 * stored object without trusting its shape. A printer must never throw on an
 * object it did not validate: a field of the wrong type reads as absent.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { TableColumnDefinition, TableColumnType, TableRowCondition } from '../../proto/k8s/table.js';
import { humanDuration } from './human-duration.js';

/**
 * Renders one resource. `cells` returns one value per column, in order, always
 * including the priority-1 (wide) columns: the server renders wide and kubectl
 * hides what it does not show.
 */
export interface Printer {
  readonly columns: readonly TableColumnDefinition[];
  cells(obj: KubeObject, nowMs: number): unknown[];
  /** Row conditions; only pods have any (Completed, for Succeeded and Failed pods). */
  conditions?(obj: KubeObject): TableRowCondition[] | undefined;
}

export function column(
  name: string,
  type: TableColumnType,
  description: string,
  opts: { priority?: number; format?: string } = {},
): TableColumnDefinition {
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

/** The ObjectMeta field documentation Kubernetes 1.32 attaches to the Name and Age columns. */
export const objectMetaDoc = {
  name:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  creationTimestamp:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
} as const;

export const nameColumn = column('Name', 'string', objectMetaDoc.name, { format: 'name' });
export const ageColumn = column('Age', 'string', objectMetaDoc.creationTimestamp);
export const containersColumn = column('Containers', 'string', 'Names of each container in the template.', {
  priority: 1,
});
export const imagesColumn = column('Images', 'string', 'Images referenced by each container in the template.', {
  priority: 1,
});

export const NONE = '<none>';
export const UNKNOWN = '<unknown>';

// ---------------------------------------------------------------- time

/** Go's zero time.Time, 0001-01-01T00:00:00Z, which metav1.Time treats as unset. */
const GO_ZERO_TIME_MS = -62_135_596_800_000;

/** A timestamp field as epoch milliseconds, or undefined when unset, null, zero or unparseable. */
export function timestampMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms === GO_ZERO_TIME_MS) return undefined;
  return ms;
}

/** The AGE text of a timestamp: human duration since it, or `<unknown>` when it is unset. */
export function since(value: unknown, nowMs: number): string {
  const ms = timestampMs(value);
  return ms === undefined ? UNKNOWN : humanDuration(nowMs - ms);
}

export function ageOf(obj: KubeObject, nowMs: number): string {
  return since(obj.metadata.creationTimestamp, nowMs);
}

// ---------------------------------------------------------------- field readers

export type Fields = Record<string, unknown>;

const EMPTY: Fields = Object.freeze({});

/** A nested object, or an empty one when the field is missing or not an object. */
export function fields(value: unknown): Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : EMPTY;
}

/** A nested object, or undefined when the field is missing, null or not an object (Go's nil pointer). */
export function optionalFields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

/** Whether an optional field is present: neither missing nor JSON null. */
export function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** The object elements of an array field; anything else reads as no elements. */
export function list(value: unknown): Fields[] {
  return Array.isArray(value) ? value.filter((v): v is Fields => typeof v === 'object' && v !== null) : [];
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A whole number, or 0 (Go's zero value) when missing or not a number. */
export function int(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : 0;
}

export function isTrue(value: unknown): boolean {
  return value === true;
}

/** The number of keys of a map field (Secret.data, ConfigMap.data). */
export function keyCount(value: unknown): number {
  return Object.keys(fields(value)).length;
}

/** "a,b" and "img-a,img-b" for the CONTAINERS and IMAGES columns. */
export function containerCells(podSpec: Fields): [names: string, images: string] {
  const containers = list(podSpec['containers']);
  return [containers.map((c) => str(c['name'])).join(','), containers.map((c) => str(c['image'])).join(',')];
}
