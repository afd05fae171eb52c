/**
 * Shapes of the documents this folder publishes: Swagger 2.0 (served as
 * /openapi/v2, in JSON or gnostic protobuf) and OpenAPI 3.0 (/openapi/v3).
 * Only the parts Strake fills are typed.
 */
import type { GroupVersionKind, Schema } from './schemas/index.js';

export const HttpMethod = {
  Get: 'get',
  Put: 'put',
  Post: 'post',
  Patch: 'patch',
  Delete: 'delete',
} as const;
export type HttpMethod = (typeof HttpMethod)[keyof typeof HttpMethod];

/** The served resources the documents describe; the registry's resource descriptors fit this shape. */
export interface OpenApiResource {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Verbs served: get, list, create, update, patch, delete, ... */
  readonly verbs: readonly string[];
  /** Subresources served: status, scale, binding, log, exec, finalize. */
  readonly subresources: readonly string[];
}

export interface SwaggerParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'body';
  readonly description: string;
  readonly required: boolean;
  /** Path and query parameters only. */
  readonly type?: 'string';
  readonly uniqueItems?: boolean;
  /** Body parameters only. */
  readonly schema?: Schema;
}

export interface SwaggerResponse {
  readonly description: string;
  readonly schema?: Schema;
}

export interface SwaggerOperation {
  readonly description: string;
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly consumes: readonly string[];
  readonly produces: readonly string[];
  readonly parameters: readonly SwaggerParameter[];
  readonly responses: Readonly<Record<string, SwaggerResponse>>;
  readonly 'x-kubernetes-action': string;
  readonly 'x-kubernetes-group-version-kind': GroupVersionKind;
}

export type SwaggerPathItem = Readonly<Partial<Record<HttpMethod, SwaggerOperation>>>;

export interface SwaggerDocument {
  readonly swagger: '2.0';
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Readonly<Record<string, SwaggerPathItem>>;
  readonly definitions: Readonly<Record<string, Schema>>;
}

/** An OpenAPI 3.0 schema: a Schema whose `$ref`s point into components, maybe wrapped in allOf. */
export interface OpenApiV3Schema extends Omit<Schema, 'properties' | 'items' | 'additionalProperties'> {
  readonly allOf?: readonly OpenApiV3Schema[];
  readonly properties?: Readonly<Record<string, OpenApiV3Schema>>;
  readonly items?: OpenApiV3Schema;
  readonly additionalProperties?: OpenApiV3Schema;
}

export interface OpenApiV3MediaType {
  readonly schema: OpenApiV3Schema;
}

export interface OpenApiV3Operation {
  readonly description: string;
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly parameters: readonly {
    readonly name: string;
    readonly in: 'path' | 'query';
    readonly description: string;
    readonly required: boolean;
    readonly schema: OpenApiV3Schema;
  }[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: Readonly<Record<string, OpenApiV3MediaType>>;
  };
  readonly responses: Readonly<Record<string, {
    readonly description: string;
    readonly content?: Readonly<Record<string, OpenApiV3MediaType>>;
  }>>;
  readonly 'x-kubernetes-action': string;
  readonly 'x-kubernetes-group-version-kind': GroupVersionKind;
}

export interface OpenApiV3Document {
  readonly openapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<HttpMethod, OpenApiV3Operation>>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, OpenApiV3Schema>> };
}

/** Body of GET /openapi/v3: where each group-version's document is. */
export interface OpenApiV3Index {
  readonly paths: Readonly<Record<string, { readonly serverRelativeURL: string }>>;
}
