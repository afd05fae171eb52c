/**
 * Authentication and authorization of every request, as a fastify onRequest
 * hook: the bearer token names the user (static token file or service-account
 * token), RBAC objects from the watch cache decide whether the request's
 * RequestInfo is allowed. Anonymous requests are refused with 401 unless the
 * server was started to allow them, in which case they run as
 * system:anonymous with whatever RBAC grants system:unauthenticated. Version
 * and health are open to everyone (PUBLIC_PATHS).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/k8s/meta.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import {
  authenticate,
  authorize,
  SpecialGroup,
  SpecialUser,
  type AuthenticationSources,
  type ClusterRole,
  type ClusterRoleBinding,
  type RbacSource,
  type Role,
  type RoleBinding,
  type TokenTable,
  type UserInfo,
} from '../auth/index.js';
import { listPrefix, objectKey } from '../registry/keys.js';
import { findResource } from '../registry/resources.js';
import type { WatchCache } from '../registry/watch-cache.js';
import { ApiError } from './errors.js';
import { requestInfoOf, type RequestInfo } from './request-info.js';

export interface AccessOptions {
  readonly tokenFile?: TokenTable;
  /** Key that signs service-account tokens; absent = service-account tokens are refused. */
  readonly serviceAccountKey?: Buffer;
  /** Serve requests without credentials as system:anonymous (default: refuse them with 401). */
  readonly allowAnonymous?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    strakeUser?: UserInfo;
    strakeInfo?: RequestInfo;
  }
}

/**
 * Paths anyone may GET without credentials, as Kubernetes' system:public-info-viewer
 * allows: version and health. (kubectl's version probe sends no token at all.)
 */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/version', '/healthz', '/livez', '/readyz']);

const ANONYMOUS: UserInfo = { name: SpecialUser.Anonymous, groups: [SpecialGroup.Unauthenticated] };
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export function accessHook(cache: WatchCache, o: AccessOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const rbac = rbacFromCache(cache);
  const sources: AuthenticationSources = {
    ...(o.tokenFile === undefined ? {} : { tokenFile: o.tokenFile }),
    ...(o.serviceAccountKey === undefined ? {} : { serviceAccounts: { signingKey: o.serviceAccountKey, lookupServiceAccount: (ref) => serviceAccountUid(cache, ref) } }),
  };
  return async (req) => {
    const info = requestInfoOf(req.method, req.url);
    req.strakeInfo = info;
    const result = authenticate(req.headers.authorization, sources);
    if (!('user' in result) && result.error === 'missing' && !info.isResource && info.verb === 'get' && PUBLIC_PATHS.has(info.path)) {
      req.strakeUser = ANONYMOUS;
      return;
    }
    let user: UserInfo;
    if ('user' in result) user = result.user;
    else if (result.error === 'missing' && o.allowAnonymous === true) user = ANONYMOUS;
    else throw new ApiError(StatusReason.Unauthorized, 'Unauthorized');
    req.strakeUser = user;
    const attributes = info.isResource
      ? {
          verb: info.verb,
          apiGroup: info.group,
          resource: info.resource,
          ...(info.subresource === undefined ? {} : { subresource: info.subresource }),
          ...(info.namespace === undefined ? {} : { namespace: info.namespace }),
          ...(info.name === undefined ? {} : { name: info.name }),
        }
      : { verb: info.verb, nonResourcePath: info.path };
    const decision = authorize(user, attributes, rbac);
    if (!decision.allowed) throw new ApiError(StatusReason.Forbidden, decision.reason, forbiddenDetails(info));
  };
}

function forbiddenDetails(info: RequestInfo): { name?: string; group?: string; kind?: string } {
  if (!info.isResource) return {};
  return { ...(info.name === undefined ? {} : { name: info.name }), group: info.group, kind: info.resource };
}

function serviceAccountUid(cache: WatchCache, ref: { namespace: string; name: string }): { uid: string } | undefined {
  const sa = cache.get(objectKey(findResource('', 'v1', 'serviceaccounts')!, ref.namespace, ref.name))?.object;
  return sa?.metadata.uid === undefined ? undefined : { uid: sa.metadata.uid };
}

/** RBAC objects as the authorizer reads them, straight from this master's watch cache. */
export function rbacFromCache(cache: WatchCache): RbacSource {
  const res = (plural: string) => findResource(RBAC_GROUP, 'v1', plural)!;
  const objects = <T>(prefix: string): T[] => cache.list(prefix).items.map((c) => c.object as unknown as T);
  const one = <T>(key: string): T | undefined => cache.get(key)?.object as KubeObject as T | undefined;
  return {
    getClusterRole: (name) => one<ClusterRole>(objectKey(res('clusterroles'), undefined, name)),
    listClusterRoleBindings: () => objects<ClusterRoleBinding>(listPrefix(res('clusterrolebindings'), undefined)),
    getRole: (ns, name) => one<Role>(objectKey(res('roles'), ns, name)),
    listRoleBindings: (ns) => objects<RoleBinding>(listPrefix(res('rolebindings'), ns)),
  };
}
