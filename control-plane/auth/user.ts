/**
 * Who made a request: the identity every authenticator produces and the RBAC
 * authorizer consumes (Kubernetes' user.Info, without `extra`). The special user
 * and group names are Kubernetes' own, so role bindings written for a Kubernetes
 * cluster (`system:masters`, `system:serviceaccounts:kube-system`, ...) mean the
 * same thing here.
 */

export interface UserInfo {
  /** Unique among users, e.g. `alice` or `system:serviceaccount:default:builder`. */
  readonly name: string;
  /** Changes when a user of the same name is deleted and recreated; absent when the source has none. */
  readonly uid?: string;
  readonly groups: readonly string[];
}

/** The groups Kubernetes gives a meaning to. */
export const SpecialGroup = {
  /** Every authenticated user (added by `withAuthenticatedGroup`). */
  Authenticated: 'system:authenticated',
  /** Requests without credentials. Strake answers those 401 instead of authorizing them. */
  Unauthenticated: 'system:unauthenticated',
  /** The superuser group: always allowed, whatever RBAC says. */
  Masters: 'system:masters',
  /** Every service account; `serviceAccountGroup(ns)` names the per-namespace one. */
  ServiceAccounts: 'system:serviceaccounts',
  /** Node agents (the bootstrap policy binds `system:node` to it). */
  Nodes: 'system:nodes',
} as const;
export type SpecialGroup = (typeof SpecialGroup)[keyof typeof SpecialGroup];

/** User names Kubernetes gives a meaning to. */
export const SpecialUser = {
  /** A request with no credentials (Strake answers those 401; the name is reserved all the same). */
  Anonymous: 'system:anonymous',
  /** The scheduler's identity; the bootstrap policy binds `system:kube-scheduler` to it. */
  KubeScheduler: 'system:kube-scheduler',
  /** The controller manager's identity; bound to `system:kube-controller-manager`. */
  KubeControllerManager: 'system:kube-controller-manager',
} as const;
export type SpecialUser = (typeof SpecialUser)[keyof typeof SpecialUser];

/** `system:serviceaccount:<namespace>:<name>` is a service account's user name. */
export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/** Separates the parts of service-account user and group names; so it may not occur in the parts. */
const NAME_SEPARATOR = ':';

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

export function serviceAccountUserName(ref: ServiceAccountRef): string {
  return `${SERVICE_ACCOUNT_USER_PREFIX}${ref.namespace}${NAME_SEPARATOR}${ref.name}`;
}

/** `system:serviceaccounts:<namespace>`: every service account of one namespace. */
export function serviceAccountGroup(namespace: string): string {
  return `${SpecialGroup.ServiceAccounts}${NAME_SEPARATOR}${namespace}`;
}

/** The namespace and name inside a service-account user name; undefined for any other user. */
export function parseServiceAccountUserName(userName: string): ServiceAccountRef | undefined {
  if (!userName.startsWith(SERVICE_ACCOUNT_USER_PREFIX)) return undefined;
  const parts = userName.slice(SERVICE_ACCOUNT_USER_PREFIX.length).split(NAME_SEPARATOR);
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace === '' || name === '') return undefined;
  return { namespace, name };
}

/** True when `part` can be embedded in a service-account user or group name without ambiguity. */
export function isValidServiceAccountNamePart(part: string): boolean {
  return part !== '' && !part.includes(NAME_SEPARATOR);
}

/**
 * Adds `system:authenticated` to an authenticated user, as Kubernetes'
 * AuthenticatedGroupAdder does: sources (a token file) need not list it, and
 * bindings to it (discovery) then apply to everyone who logged in. A user who
 * already carries it, or who is explicitly unauthenticated, is returned as is.
 */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const already = user.groups.some(
    (g) => g === SpecialGroup.Authenticated || g === SpecialGroup.Unauthenticated,
  );
  if (already) return user;
  return { ...user, groups: [...user.groups, SpecialGroup.Authenticated] };
}
