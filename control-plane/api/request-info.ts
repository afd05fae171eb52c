/**
 * What a request asks for, read from its method and path the way Kubernetes'
 * RequestInfo does: verb, group/version, namespace, resource, name and
 * subresource. Routing and authorization both use it, so they can never
 * disagree about what a request is.
 *
 *   /api/v1/namespaces/default/pods/web/status   -> patch|update|get pods/status "web" in default
 *   /apis/apps/v1/deployments?watch=true         -> watch deployments (all namespaces)
 *   /healthz                                      -> non-resource request
 */

export interface ResourceRequest {
  readonly isResource: true;
  readonly verb: string;
  readonly group: string;
  readonly version: string;
  readonly namespace?: string;
  /** The plural, e.g. pods. */
  readonly resource: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly path: string;
}

export interface NonResourceRequest {
  readonly isResource: false;
  /** Lower-case HTTP method: get, post, ... (RBAC nonResourceURLs use these). */
  readonly verb: string;
  readonly path: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest;

/**
 * Subresources that open a connection to a pod. Their GET (what WebSocket
 * clients send) is authorized as `create`, like their POST: running a command
 * is not a read (Kubernetes checks `create` for these upgrades too).
 */
const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

/** Subresources of namespaces, which would otherwise read as a resource inside the namespace. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function requestInfoOf(method: string, url: string): RequestInfo {
  const [rawPath = '/', query = ''] = url.split('?', 2);
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const m = method.toUpperCase();
  let groupVersionAt: number;
  let group: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    groupVersionAt = 1;
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    groupVersionAt = 2;
  } else {
    return { isResource: false, verb: m.toLowerCase(), path };
  }
  const version = parts[groupVersionAt]!;
  const rest = parts.slice(groupVersionAt + 1);
  const where = locate(rest);
  const watch = /(^|&)watch=(true|1)(&|$)/.test(query);
  const connect = where.resource === 'pods' && where.subresource !== undefined && CONNECT_SUBRESOURCES.has(where.subresource);
  const verb = connect && m === 'GET' ? 'create' : verbOf(m, where.name !== undefined, watch);
  return {
    isResource: true,
    verb,
    group,
    version,
    resource: where.resource,
    path,
    ...(where.namespace === undefined ? {} : { namespace: where.namespace }),
    ...(where.name === undefined ? {} : { name: where.name }),
    ...(where.subresource === undefined ? {} : { subresource: where.subresource }),
  };
}

function locate(rest: string[]): { namespace?: string; resource: string; name?: string; subresource?: string } {
  const inNamespace = rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!));
  if (inNamespace) {
    const [, namespace, resource, name, subresource] = rest as [string, string, string, string?, string?];
    return { namespace, resource, ...opt('name', name), ...opt('subresource', subresource) };
  }
  const [resource = '', name, subresource] = rest;
  // A namespace's own URL names it as both the object and its namespace (Kubernetes does the same).
  const namespace = resource === 'namespaces' ? name : undefined;
  return { resource, ...opt('namespace', namespace), ...opt('name', name), ...opt('subresource', subresource) };
}

function opt<K extends string>(k: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, string>);
}

function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
