/**
 * The operations Strake publishes for each served resource, in a form both
 * documents render from. kubectl reads three things here:
 *  - `explain` (OpenAPI v3) finds a resource's kind through the
 *    `x-kubernetes-group-version-kind` of the operations on its collection or
 *    item path;
 *  - client-side apply computes a strategic merge patch only when the PATCH
 *    operation of the kind consumes `application/strategic-merge-patch+json`;
 *  - kubectl >= 1.25 validates objects on the client only when the PATCH
 *    operation does not list a `fieldValidation` query parameter. Strake does
 *    not validate unknown fields on the server, so no operation lists it.
 * Operations carry path parameters and bodies only; query parameters (watch,
 * labelSelector, dryRun, ...) are left out, which kubectl does not need.
 */
import { META, definitionOf, type GroupVersionKind } from './schemas/index.js';
import { HttpMethod, type OpenApiResource } from './types.js';

export const PATCH_CONTENT_TYPES: readonly string[] = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const OBJECT_CONTENT_TYPES: readonly string[] = ['application/json', 'application/yaml'];
const TEXT_CONTENT_TYPES: readonly string[] = ['text/plain'];

export interface ApiOperation {
  readonly method: HttpMethod;
  /** `x-kubernetes-action`: list, get, post, put, patch, delete. */
  readonly action: string;
  readonly operationId: string;
  readonly description: string;
  readonly tag: string;
  readonly gvk: GroupVersionKind;
  readonly pathParameters: readonly string[];
  /** Definition of the request body, if the operation takes one. */
  readonly bodyDefinition?: string;
  readonly bodyContentTypes: readonly string[];
  /** Definition of the 200 answer; undefined for plain-text answers (logs). */
  readonly responseDefinition?: string;
  readonly responseContentTypes: readonly string[];
}

export interface ApiPath {
  /** `api/v1` or `apis/<group>/<version>`: the OpenAPI v3 document the path belongs to. */
  readonly groupVersionPath: string;
  readonly path: string;
  readonly operations: readonly ApiOperation[];
}

export function groupVersionPath(r: Pick<OpenApiResource, 'group' | 'version'>): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

/** `Core`, `Apps`, `Coordination`, `RbacAuthorization`: the group as operation IDs spell it. */
function groupWord(group: string): string {
  if (group === '') return 'Core';
  return group.replace(/\.k8s\.io$/, '').split('.').map(capitalize).join('');
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

interface OperationTemplate {
  readonly method: HttpMethod;
  readonly action: string;
  /** Verb of the operation ID: list, read, create, replace, patch, delete. */
  readonly idVerb: string;
  readonly description: string;
  readonly body?: 'object' | 'patch' | 'deleteOptions';
  readonly response: 'object' | 'list' | 'status' | 'text';
}

const LIST: OperationTemplate = { method: HttpMethod.Get, action: 'list', idVerb: 'list', description: 'list or watch objects of kind', response: 'list' };
const CREATE: OperationTemplate = { method: HttpMethod.Post, action: 'post', idVerb: 'create', description: 'create', body: 'object', response: 'object' };
const READ: OperationTemplate = { method: HttpMethod.Get, action: 'get', idVerb: 'read', description: 'read the specified', response: 'object' };
const REPLACE: OperationTemplate = { method: HttpMethod.Put, action: 'put', idVerb: 'replace', description: 'replace the specified', body: 'object', response: 'object' };
const PATCH: OperationTemplate = { method: HttpMethod.Patch, action: 'patch', idVerb: 'patch', description: 'partially update the specified', body: 'patch', response: 'object' };
const DELETE: OperationTemplate = { method: HttpMethod.Delete, action: 'delete', idVerb: 'delete', description: 'delete', body: 'deleteOptions', response: 'status' };
const READ_LOG: OperationTemplate = { ...READ, description: 'read the log of the specified', response: 'text' };
const CONNECT_GET: OperationTemplate = { method: HttpMethod.Get, action: 'connect', idVerb: 'connectGet', description: 'connect GET requests to', response: 'text' };
const CONNECT_POST: OperationTemplate = { method: HttpMethod.Post, action: 'connect', idVerb: 'connectPost', description: 'connect POST requests to', response: 'text' };

/** The verb a resource must serve for each template, by template. */
const VERB_OF = new Map<OperationTemplate, string>([
  [LIST, 'list'], [CREATE, 'create'], [READ, 'get'], [REPLACE, 'update'], [PATCH, 'patch'], [DELETE, 'delete'],
]);

interface SubresourceShape {
  /** The kind the subresource reads and writes; undefined for the resource's own kind. */
  readonly gvk?: GroupVersionKind;
  readonly templates: readonly OperationTemplate[];
}

/** Subresources Strake knows how to describe. Others get no path. */
export const SUBRESOURCE_SHAPES: Readonly<Record<string, SubresourceShape>> = {
  status: { templates: [READ, REPLACE, PATCH] },
  scale: { gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, templates: [READ, REPLACE, PATCH] },
  binding: { gvk: { group: '', version: 'v1', kind: 'Binding' }, templates: [CREATE] },
  finalize: { templates: [REPLACE] },
  token: { gvk: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, templates: [CREATE] },
  log: { templates: [READ_LOG] },
  exec: { templates: [CONNECT_GET, CONNECT_POST] },
};

function mustDefinitionOf(gvk: GroupVersionKind): string {
  const name = definitionOf(gvk);
  if (name === undefined) throw new Error(`no published schema for ${gvk.group}/${gvk.version} ${gvk.kind}`);
  return name;
}

function responseDefinition(response: OperationTemplate['response'], gvk: GroupVersionKind): string | undefined {
  switch (response) {
    case 'object': return mustDefinitionOf(gvk);
    case 'list': return mustDefinitionOf({ ...gvk, kind: `${gvk.kind}List` });
    case 'status': return `${META}Status`;
    case 'text': return undefined;
  }
}

function bodyDefinition(body: NonNullable<OperationTemplate['body']>, definition: string): string {
  switch (body) {
    case 'object': return definition;
    case 'patch': return `${META}Patch`;
    case 'deleteOptions': return `${META}DeleteOptions`;
  }
}

function operation(
  r: OpenApiResource,
  t: OperationTemplate,
  opts: { gvk: GroupVersionKind; pathParameters: readonly string[]; subresource?: string },
): ApiOperation {
  const scope = r.namespaced ? 'Namespaced' : '';
  const sub = opts.subresource === undefined ? '' : capitalize(opts.subresource);
  const definition = mustDefinitionOf(opts.gvk);
  const response = responseDefinition(t.response, opts.gvk);
  const body = t.body === undefined ? undefined : bodyDefinition(t.body, definition);
  return {
    method: t.method,
    action: t.action,
    operationId: `${t.idVerb}${groupWord(r.group)}${capitalize(r.version)}${scope}${r.kind}${sub}`,
    description: `${t.description} ${opts.subresource === undefined ? r.kind : `${opts.subresource} of ${r.kind}`}`,
    tag: `${groupWord(r.group).charAt(0).toLowerCase()}${groupWord(r.group).slice(1)}_${r.version}`,
    gvk: opts.gvk,
    pathParameters: opts.pathParameters,
    ...(body === undefined ? {} : { bodyDefinition: body }),
    bodyContentTypes: t.body === 'patch' ? PATCH_CONTENT_TYPES : OBJECT_CONTENT_TYPES,
    ...(response === undefined ? {} : { responseDefinition: response }),
    responseContentTypes: t.response === 'text' ? TEXT_CONTENT_TYPES : OBJECT_CONTENT_TYPES,
  };
}

/**
 * The collection, item and subresource paths of one resource. A resource whose
 * kind has no published schema gets none: kubectl then skips client-side
 * validation for it, which beats failing the whole document.
 */
export function resourcePaths(r: OpenApiResource): ApiPath[] {
  const gv = groupVersionPath(r);
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  if (definitionOf(gvk) === undefined) return [];
  const listPublished = definitionOf({ ...gvk, kind: `${r.kind}List` }) !== undefined;
  const scopeParameters = r.namespaced ? ['namespace'] : [];
  const collection = `/${gv}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
  const served = (t: OperationTemplate) => r.verbs.includes(VERB_OF.get(t) ?? '') && (t !== LIST || listPublished);

  const collectionOps = [LIST, CREATE].filter(served)
    .map((t) => operation(r, t, { gvk, pathParameters: scopeParameters }));
  const itemParameters = [...scopeParameters, 'name'];
  const itemOps = [READ, REPLACE, PATCH, DELETE].filter(served)
    .map((t) => operation(r, t, { gvk, pathParameters: itemParameters }));
  const paths: ApiPath[] = [
    { groupVersionPath: gv, path: collection, operations: collectionOps },
    { groupVersionPath: gv, path: `${collection}/{name}`, operations: itemOps },
  ];
  for (const subresource of r.subresources) {
    const shape = SUBRESOURCE_SHAPES[subresource];
    if (shape === undefined) continue;
    const ops = shape.templates.map((t) =>
      operation(r, t, { gvk: shape.gvk ?? gvk, pathParameters: itemParameters, subresource }));
    paths.push({ groupVersionPath: gv, path: `${collection}/{name}/${subresource}`, operations: ops });
  }
  return paths.filter((p) => p.operations.length > 0);
}

export function apiPaths(resources: readonly OpenApiResource[]): ApiPath[] {
  return resources.flatMap(resourcePaths).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
