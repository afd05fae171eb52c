/**
 * Server-side Table conversion: what the API server answers when kubectl asks for
 * `application/json;as=Table;v=v1;g=meta.k8s.io`.
 *
 *  - `toTable`      a LIST: one row per object, list metadata from the list.
 *  - `objectTable`  a GET: one row, metadata.resourceVersion from the object.
 *  - `TableWatchEncoder` a WATCH: each event's object becomes a one-row Table;
 *    as Kubernetes does, only the first event carries columnDefinitions, later
 *    ones send `null` (kubectl printed the header already).
 *
 * Every table carries all columns, wide ones included; kubectl drops priority-1
 * columns unless asked for `-o wide`. Time enters only as `nowMs`, so a table is
 * a pure function of its inputs.
 */
import type { KubeObject, ListMeta } from '../../proto/k8s/meta.js';
import type {
  IncludeObjectPolicy,
  PartialObjectMetadata,
  Table,
  TableColumnDefinition,
  TableRow,
} from '../../proto/k8s/table.js';
import { printerFor } from './printers.js';

export { humanDuration } from './human-duration.js';
export { printerFor } from './printers.js';
export type { Printer } from './printer.js';

export interface TableRowOptions {
  nowMs: number;
  /** What each row's `object` holds; Kubernetes' default is Metadata. */
  includeObject: IncludeObjectPolicy;
}

export interface ListTableOptions extends TableRowOptions {
  listMeta?: ListMeta;
}

/** A LIST answer as a Table: one row per object, in the order given. */
export function toTable(resource: string, objects: readonly KubeObject[], opts: ListTableOptions): Table {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata(opts.listMeta),
    columnDefinitions: columnDefinitionsFor(resource),
    rows: objects.map((obj) => tableRowFor(resource, obj, opts)),
  };
}

export interface ObjectTableOptions extends TableRowOptions {
  /** false in a watch event after the first; the default is true. */
  columnDefinitions?: boolean;
}

/** A single object (a GET answer, or a watch event's object) as a one-row Table. */
export function objectTable(resource: string, obj: KubeObject, opts: ObjectTableOptions): Table {
  const resourceVersion = obj.metadata.resourceVersion;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion ? { resourceVersion } : {},
    columnDefinitions: opts.columnDefinitions === false ? null : columnDefinitionsFor(resource),
    rows: [tableRowFor(resource, obj, opts)],
  };
}

/**
 * Turns the objects of one watch stream into Tables, sending the column
 * definitions with the first only, as the Kubernetes API server does. One
 * encoder per stream. Not for ERROR events: their Status object is sent as is.
 */
export class TableWatchEncoder {
  private headersSent = false;

  constructor(
    private readonly resource: string,
    private readonly includeObject: IncludeObjectPolicy,
  ) {}

  encode(obj: KubeObject, nowMs: number): Table {
    const table = objectTable(this.resource, obj, {
      nowMs,
      includeObject: this.includeObject,
      columnDefinitions: !this.headersSent,
    });
    this.headersSent = true;
    return table;
  }
}

/** Every column of the resource's table, wide (priority 1) ones included; copies, so callers may not alter the printers. */
export function columnDefinitionsFor(resource: string): TableColumnDefinition[] {
  return printerFor(resource).columns.map((c) => ({ ...c }));
}

/** One row: the cells, the pod-completion condition if any, and the object as `includeObject` asks. */
export function tableRowFor(resource: string, obj: KubeObject, opts: TableRowOptions): TableRow {
  const printer = printerFor(resource);
  const cells = printer.cells(obj, opts.nowMs);
  const object = rowObject(obj, opts.includeObject);
  const conditions = printer.conditions?.(obj);
  return conditions === undefined ? { cells, object } : { cells, conditions, object };
}

function rowObject(obj: KubeObject, includeObject: IncludeObjectPolicy): TableRow['object'] {
  switch (includeObject) {
    case 'None':
      return null;
    case 'Metadata':
      return partialObjectMetadata(obj);
    case 'Object':
      return obj;
    default:
      return unknownPolicy(includeObject);
  }
}

/** The HTTP layer validates `includeObject`; reaching this is a programmer error. */
function unknownPolicy(policy: never): never {
  throw new Error(`includeObject ${JSON.stringify(policy)} is not one of None, Metadata, Object`);
}

function partialObjectMetadata(obj: KubeObject): PartialObjectMetadata {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** ListMeta as Go writes it: each field only when set. */
function listMetadata(listMeta: ListMeta | undefined): ListMeta {
  const out: ListMeta = {};
  if (listMeta?.resourceVersion) out.resourceVersion = listMeta.resourceVersion;
  if (listMeta?.continue) out.continue = listMeta.continue;
  if (listMeta?.remainingItemCount !== undefined) out.remainingItemCount = listMeta.remainingItemCount;
  return out;
}
