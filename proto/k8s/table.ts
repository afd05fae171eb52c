/**
 * meta.k8s.io/v1 Table: the server-side rendering of a list, an object or a watch
 * event that `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. kubectl prints the
 * columns whose priority is 0, and with `-o wide` also those of priority 1; the
 * server always sends every column (it renders "wide").
 *
 * JSON shapes follow Kubernetes' own, including the fields Go always writes:
 * `format`, `description` and `priority` on every column, and `columnDefinitions`
 * as `null` in the watch events after the first.
 */
import type { ListMeta, ObjectMeta } from './meta.js';

/** OpenAPI-ish type of a column's cells. */
export const TableColumnType = {
  String: 'string',
  Integer: 'integer',
  Number: 'number',
  Boolean: 'boolean',
  Date: 'date',
} as const;
export type TableColumnType = (typeof TableColumnType)[keyof typeof TableColumnType];

export interface TableColumnDefinition {
  /** Human name; kubectl upper-cases it for the header ("Nominated Node" → NOMINATED NODE). */
  name: string;
  type: TableColumnType;
  /** '' or a hint such as 'name' (the column that names the object) or 'date'. */
  format: string;
  description: string;
  /** 0: always shown; 1: shown by `kubectl get -o wide`. */
  priority: number;
}

/** The only row condition Kubernetes defines: a pod that has run to completion. */
export interface TableRowCondition {
  type: 'Completed';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** The object metadata alone, as sent when `includeObject=Metadata` (the default). */
export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ObjectMeta;
}

export interface TableRow {
  /** One cell per column definition, in the same order: strings, numbers or booleans. */
  cells: unknown[];
  conditions?: TableRowCondition[];
  /**
   * PartialObjectMetadata (includeObject=Metadata), the whole object
   * (includeObject=Object), or null (includeObject=None: Go writes an empty
   * RawExtension as `null`, it does not leave the field out).
   */
  object: PartialObjectMetadata | Record<string, unknown> | null;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ListMeta;
  /** null only in a watch event after the first: the headers were already sent. */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

/** The `includeObject` query parameter of a Table request. */
export const IncludeObjectPolicy = {
  None: 'None',
  Metadata: 'Metadata',
  Object: 'Object',
} as const;
export type IncludeObjectPolicy = (typeof IncludeObjectPolicy)[keyof typeof IncludeObjectPolicy];
