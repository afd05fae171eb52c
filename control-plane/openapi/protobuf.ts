/**
 * The Swagger 2.0 document as gnostic's `openapi.v2.Document` protobuf: what
 * kubectl asks /openapi/v2 for and decodes with gnostic's Go types. The
 * message definitions are in proto/openapi/openapiv2.proto.
 *
 * gnostic keeps the free-form parts of a document (vendor extensions, enum
 * values) as `Any{yaml}`: YAML text that the client parses again. JSON text
 * is valid YAML, so values are written with JSON.stringify.
 *
 * The protobufjs types stay inside this file: callers pass and get plain
 * document objects and bytes.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { protoDir } from '../../proto/load.js';
import type { Schema } from './schemas/index.js';
import type { SwaggerDocument, SwaggerOperation, SwaggerParameter, SwaggerPathItem } from './types.js';

const PROTO_FILE = join('openapi', 'openapiv2.proto');
const DOCUMENT_MESSAGE = 'openapi.v2.Document';

type ProtoObject = Record<string, unknown>;

let documentType: protobuf.Type | undefined;

function mustDocumentType(): protobuf.Type {
  // keepCase: the plain objects below use the .proto field names (vendor_extension, _ref).
  documentType ??= new protobuf.Root()
    .loadSync(join(protoDir(), PROTO_FILE), { keepCase: true })
    .lookupType(DOCUMENT_MESSAGE);
  return documentType;
}

function anyMessage(value: unknown): ProtoObject {
  return { yaml: JSON.stringify(value) };
}

function vendorExtensions(source: object): ProtoObject[] {
  return Object.entries(source)
    .filter(([name, value]) => name.startsWith('x-') && value !== undefined)
    .map(([name, value]) => ({ name, value: anyMessage(value) }));
}

/** Schema keywords with an encoding below; anything else is a programming error. */
const SCHEMA_KEYWORDS = new Set([
  '$ref', 'description', 'type', 'format', 'properties', 'required', 'items', 'additionalProperties', 'enum',
]);

export function schemaMessage(schema: Schema): ProtoObject {
  for (const key of Object.keys(schema)) {
    if (!key.startsWith('x-') && !SCHEMA_KEYWORDS.has(key)) {
      throw new Error(`schema keyword "${key}" has no protobuf encoding`);
    }
  }
  const { properties, items, additionalProperties } = schema;
  return {
    ...(schema.$ref === undefined ? {} : { _ref: schema.$ref }),
    ...(schema.format === undefined ? {} : { format: schema.format }),
    ...(schema.description === undefined ? {} : { description: schema.description }),
    ...(schema.required === undefined ? {} : { required: schema.required }),
    ...(schema.enum === undefined ? {} : { enum: schema.enum.map(anyMessage) }),
    ...(additionalProperties === undefined ? {} : { additional_properties: { schema: schemaMessage(additionalProperties) } }),
    ...(schema.type === undefined ? {} : { type: { value: [schema.type] } }),
    ...(items === undefined ? {} : { items: { schema: [schemaMessage(items)] } }),
    ...(properties === undefined ? {} : {
      properties: {
        additional_properties: Object.entries(properties).map(([name, value]) => ({ name, value: schemaMessage(value) })),
      },
    }),
    vendor_extension: vendorExtensions(schema),
  };
}

function parameterMessage(p: SwaggerParameter): ProtoObject {
  if (p.in === 'body') {
    if (p.schema === undefined) throw new Error(`body parameter ${p.name} has no schema`);
    return {
      parameter: {
        body_parameter: { description: p.description, name: p.name, in: p.in, required: p.required, schema: schemaMessage(p.schema) },
      },
    };
  }
  const sub = {
    required: p.required, in: p.in, description: p.description, name: p.name,
    ...(p.type === undefined ? {} : { type: p.type }),
    ...(p.uniqueItems === undefined ? {} : { unique_items: p.uniqueItems }),
  };
  const nonBody = p.in === 'path' ? { path_parameter_sub_schema: sub } : { query_parameter_sub_schema: sub };
  return { parameter: { non_body_parameter: nonBody } };
}

function operationMessage(op: SwaggerOperation): ProtoObject {
  return {
    tags: op.tags,
    description: op.description,
    operation_id: op.operationId,
    produces: op.produces,
    consumes: op.consumes,
    parameters: op.parameters.map(parameterMessage),
    responses: {
      response_code: Object.entries(op.responses).map(([code, r]) => ({
        name: code,
        value: {
          response: {
            description: r.description,
            ...(r.schema === undefined ? {} : { schema: { schema: schemaMessage(r.schema) } }),
          },
        },
      })),
    },
    vendor_extension: vendorExtensions(op),
  };
}

function pathItemMessage(item: SwaggerPathItem): ProtoObject {
  return Object.fromEntries(Object.entries(item).map(([method, op]) => [method, operationMessage(op)]));
}

function documentMessage(doc: SwaggerDocument): ProtoObject {
  return {
    swagger: doc.swagger,
    info: { title: doc.info.title, version: doc.info.version },
    paths: { path: Object.entries(doc.paths).map(([name, item]) => ({ name, value: pathItemMessage(item) })) },
    definitions: {
      additional_properties: Object.entries(doc.definitions).map(([name, schema]) => ({ name, value: schemaMessage(schema) })),
    },
  };
}

export function encodeOpenApiV2Protobuf(doc: SwaggerDocument): Uint8Array {
  const type = mustDocumentType();
  return type.encode(type.fromObject(documentMessage(doc))).finish();
}

/**
 * Decodes gnostic protobuf bytes into a plain object with the .proto field
 * names (`definitions.additional_properties[].name`, `vendor_extension`, ...).
 */
export function decodeOpenApiV2Protobuf(bytes: Uint8Array): Record<string, unknown> {
  const type = mustDocumentType();
  return type.toObject(type.decode(bytes), { arrays: true });
}
