/**
 * Builds the documents served under /openapi: the Swagger 2.0 document
 * (JSON and gnostic protobuf) and the OpenAPI v3 index plus one document per
 * group-version. Each is a pure function of the served resources, so it is
 * built once per resource table and kept with its content hash; the hash is
 * the ETag and the `?hash=` of the v3 index URLs, so clients that cache by URL
 * (kubectl does) refetch exactly when the content changes.
 */
import { createHash } from 'node:crypto';
import { apiPaths, type ApiOperation, type ApiPath } from './paths.js';
import { encodeOpenApiV2Protobuf } from './protobuf.js';
import { DEFINITIONS, DEFINITIONS_PREFIX, type Schema } from './schemas/index.js';
import type {
  HttpMethod, OpenApiResource, OpenApiV3Document, OpenApiV3Index, OpenApiV3Operation, OpenApiV3Schema,
  SwaggerDocument, SwaggerOperation, SwaggerParameter, SwaggerPathItem,
} from './types.js';

const INFO = { title: 'Strake', version: 'unversioned' } as const;
const V3_SCHEMA_PREFIX = '#/components/schemas/';

/**
 * Content-Type of the protobuf answer. Clients ask with the older spelling
 * (`...spec.v2@v1.0+protobuf`) but Go's mime parser, which client-go runs on
 * every answer, rejects the '@'; so the answer uses the parseable spelling.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
export const JSON_CONTENT_TYPE = 'application/json';

const PARAMETER_DESCRIPTIONS: Readonly<Record<string, string>> = {
  namespace: 'object name and auth scope, such as for teams and projects',
  name: 'name of the object',
};

/** A serialized document and its content hash. */
export interface ServedDocument {
  readonly body: Buffer;
  readonly contentType: string;
  /** Upper-case hex SHA-512 of `body`. */
  readonly hash: string;
  /** `"<hash>"`, the HTTP entity tag. */
  readonly etag: string;
}

function served(body: Buffer, contentType: string): ServedDocument {
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { body, contentType, hash, etag: `"${hash}"` };
}

function once<T>(build: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: build() }).v;
}

function byMethod<T>(operations: readonly ApiOperation[], render: (op: ApiOperation) => T): Partial<Record<HttpMethod, T>> {
  return Object.fromEntries(operations.map((op) => [op.method, render(op)]));
}

// ---------------------------------------------------------------------------
// Swagger 2.0

function swaggerOperation(op: ApiOperation): SwaggerOperation {
  const parameters: SwaggerParameter[] = op.pathParameters.map((name) => ({
    name, in: 'path', description: PARAMETER_DESCRIPTIONS[name] ?? name, required: true, type: 'string', uniqueItems: true,
  }));
  if (op.bodyDefinition !== undefined) {
    parameters.push({ name: 'body', in: 'body', description: 'the request body', required: true, schema: { $ref: DEFINITIONS_PREFIX + op.bodyDefinition } });
  }
  const schema: Schema = op.responseDefinition === undefined ? { type: 'string' } : { $ref: DEFINITIONS_PREFIX + op.responseDefinition };
  return {
    description: op.description,
    operationId: op.operationId,
    tags: [op.tag],
    consumes: op.bodyDefinition === undefined ? ['*/*'] : op.bodyContentTypes,
    produces: op.responseContentTypes,
    parameters,
    responses: { '200': { description: 'OK', schema }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': op.gvk,
  };
}

function swaggerDocument(paths: readonly ApiPath[]): SwaggerDocument {
  const swaggerPaths: Record<string, SwaggerPathItem> = {};
  for (const p of paths) swaggerPaths[p.path] = byMethod(p.operations, swaggerOperation);
  return { swagger: '2.0', info: INFO, paths: swaggerPaths, definitions: DEFINITIONS };
}

// ---------------------------------------------------------------------------
// OpenAPI v3

function v3Ref(definition: string): OpenApiV3Schema {
  return { $ref: V3_SCHEMA_PREFIX + definition };
}

function definitionOfRef(ref: string): string {
  if (!ref.startsWith(DEFINITIONS_PREFIX)) throw new Error(`reference ${ref} does not point into the definitions`);
  return ref.slice(DEFINITIONS_PREFIX.length);
}

/**
 * Rewrites references into components and, where a reference has siblings
 * (a description), wraps it in allOf: OpenAPI 3.0 ignores siblings of $ref.
 */
export function toV3Schema(schema: Schema): OpenApiV3Schema {
  const { $ref, properties, items, additionalProperties, ...rest } = schema;
  const converted: OpenApiV3Schema = {
    ...rest,
    ...(properties === undefined ? {} : {
      properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, toV3Schema(v)])),
    }),
    ...(items === undefined ? {} : { items: toV3Schema(items) }),
    ...(additionalProperties === undefined ? {} : { additionalProperties: toV3Schema(additionalProperties) }),
  };
  if ($ref === undefined) return converted;
  const target = v3Ref(definitionOfRef($ref));
  return Object.keys(converted).length === 0 ? target : { ...converted, allOf: [target] };
}

/** Names of the definitions `schema` refers to directly. */
export function referencesOf(schema: Schema): string[] {
  const out: string[] = [];
  const visit = (s: Schema): void => {
    if (s.$ref !== undefined) out.push(definitionOfRef(s.$ref));
    for (const p of Object.values(s.properties ?? {})) visit(p);
    if (s.items !== undefined) visit(s.items);
    if (s.additionalProperties !== undefined) visit(s.additionalProperties);
  };
  visit(schema);
  return out;
}

/** `roots` and every definition reachable from them, in DEFINITIONS order. */
function closure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const pending = [...roots];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    const schema = DEFINITIONS[next];
    if (schema === undefined) throw new Error(`reference to unknown definition ${next}`);
    seen.add(next);
    pending.push(...referencesOf(schema));
  }
  return Object.keys(DEFINITIONS).filter((name) => seen.has(name));
}

function mediaTypes(contentTypes: readonly string[], schema: OpenApiV3Schema) {
  return Object.fromEntries(contentTypes.map((t) => [t, { schema }]));
}

function v3Operation(op: ApiOperation): OpenApiV3Operation {
  const responseSchema: OpenApiV3Schema = op.responseDefinition === undefined ? { type: 'string' } : v3Ref(op.responseDefinition);
  return {
    description: op.description,
    operationId: op.operationId,
    tags: [op.tag],
    parameters: op.pathParameters.map((name) => ({
      name, in: 'path', description: PARAMETER_DESCRIPTIONS[name] ?? name, required: true, schema: { type: 'string' },
    })),
    ...(op.bodyDefinition === undefined ? {} : {
      requestBody: { required: true, content: mediaTypes(op.bodyContentTypes, v3Ref(op.bodyDefinition)) },
    }),
    responses: {
      '200': { description: 'OK', content: mediaTypes(op.responseContentTypes, responseSchema) },
      '401': { description: 'Unauthorized' },
    },
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': op.gvk,
  };
}

function v3Document(paths: readonly ApiPath[]): OpenApiV3Document {
  const roots = paths.flatMap((p) => p.operations.flatMap((op) =>
    [op.bodyDefinition, op.responseDefinition].filter((d): d is string => d !== undefined)));
  return {
    openapi: '3.0.0',
    info: INFO,
    paths: Object.fromEntries(paths.map((p) => [p.path, byMethod(p.operations, v3Operation)])),
    components: {
      schemas: Object.fromEntries(closure(roots).map((name) => [name, toV3Schema(DEFINITIONS[name] ?? {})])),
    },
  };
}

// ---------------------------------------------------------------------------
// The memoized set

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Every document for one resource table, each built on first use and kept. */
export class OpenApiDocuments {
  private readonly paths: () => ApiPath[];
  readonly v2: () => SwaggerDocument;
  readonly v2Json: () => ServedDocument;
  readonly v2Protobuf: () => ServedDocument;
  /** `api/v1`, `apis/apps/v1`, ... → that group-version's document. */
  readonly v3ByGroupVersion: () => ReadonlyMap<string, { readonly document: OpenApiV3Document; readonly served: ServedDocument }>;
  readonly v3Index: () => { readonly index: OpenApiV3Index; readonly served: ServedDocument };

  constructor(resources: readonly OpenApiResource[]) {
    this.paths = once(() => apiPaths(resources));
    this.v2 = once(() => swaggerDocument(this.paths()));
    this.v2Json = once(() => served(jsonBody(this.v2()), JSON_CONTENT_TYPE));
    this.v2Protobuf = once(() => served(Buffer.from(encodeOpenApiV2Protobuf(this.v2())), OPENAPI_V2_PROTOBUF_CONTENT_TYPE));
    this.v3ByGroupVersion = once(() => {
      const groupVersions = [...new Set(this.paths().map((p) => p.groupVersionPath))].sort();
      return new Map(groupVersions.map((gv) => {
        const document = v3Document(this.paths().filter((p) => p.groupVersionPath === gv));
        return [gv, { document, served: served(jsonBody(document), JSON_CONTENT_TYPE) }] as const;
      }));
    });
    this.v3Index = once(() => {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const [gv, { served: doc }] of this.v3ByGroupVersion()) {
        paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${doc.hash}` };
      }
      const index: OpenApiV3Index = { paths };
      return { index, served: served(jsonBody(index), JSON_CONTENT_TYPE) };
    });
  }
}

const DOCUMENTS = new WeakMap<readonly OpenApiResource[], OpenApiDocuments>();

/** The documents for `resources`, shared by every caller passing the same table. */
export function openApiDocuments(resources: readonly OpenApiResource[]): OpenApiDocuments {
  let docs = DOCUMENTS.get(resources);
  if (docs === undefined) {
    docs = new OpenApiDocuments(resources);
    DOCUMENTS.set(resources, docs);
  }
  return docs;
}

export function openApiV2(resources: readonly OpenApiResource[]): SwaggerDocument {
  return openApiDocuments(resources).v2();
}

export function openApiV3Index(resources: readonly OpenApiResource[]): OpenApiV3Index {
  return openApiDocuments(resources).v3Index().index;
}

/** The v3 document of one group-version (`api/v1`, `apis/apps/v1`), if served. */
export function openApiV3GroupVersion(resources: readonly OpenApiResource[], gv: string): OpenApiV3Document | undefined {
  return openApiDocuments(resources).v3ByGroupVersion().get(gv)?.document;
}
