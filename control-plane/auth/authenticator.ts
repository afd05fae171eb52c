/**
 * Request authentication: the `Authorization` header to a user, or the reason
 * there is none. Only the Bearer scheme is understood; the token is routed by
 * its shape — service-account tokens carry a prefix, everything else is looked
 * up in the static token file.
 *
 * Anonymous requests are not supported: a request without credentials is
 * `missing` (answered 401 by the server), never `system:anonymous`.
 */
import {
  ServiceAccountTokenError,
  ServiceAccountTokenErrorCode,
  looksLikeServiceAccountToken,
  verifyServiceAccountToken,
  type ServiceAccountLookup,
} from './service-account-token.js';
import type { TokenTable } from './token-file.js';
import { withAuthenticatedGroup, type UserInfo } from './user.js';

/**
 * Longest Authorization header considered. Node refuses requests whose headers
 * together pass 16 KiB; no token Strake issues or reads comes near 8 KiB, so a
 * longer header is refused before anything hashes or decodes it.
 */
export const AUTHORIZATION_HEADER_CHARS_MAX = 8 * 1024;

/** Why a request has no user. */
export const AuthenticationFailure = {
  /** No credentials at all. */
  Missing: 'missing',
  /** Credentials that are not understood or not valid. */
  Invalid: 'invalid',
} as const;
export type AuthenticationFailure = (typeof AuthenticationFailure)[keyof typeof AuthenticationFailure];

export type AuthenticationResult =
  | { readonly user: UserInfo }
  /** `reason` is for the server's log; the client gets a plain 401. */
  | { readonly error: AuthenticationFailure; readonly reason: string };

/** Where tokens are checked; a source left out accepts no tokens. */
export interface AuthenticationSources {
  readonly tokenFile?: TokenTable;
  readonly serviceAccounts?: {
    readonly signingKey: Buffer;
    /** Required: a token must die with its service account. */
    readonly lookupServiceAccount: ServiceAccountLookup;
  };
}

const BEARER_SCHEME = 'bearer';
/** `<scheme> <token>`: one or more spaces between, nothing else (RFC 7235 credentials, token68 form). */
const CREDENTIALS = /^(\S+) +(\S+)$/;

export function authenticate(
  authorizationHeader: string | undefined,
  sources: AuthenticationSources,
): AuthenticationResult {
  const header = (authorizationHeader ?? '').trim();
  if (header === '') return { error: AuthenticationFailure.Missing, reason: 'no Authorization header' };
  const invalid = (reason: string): AuthenticationResult => ({ error: AuthenticationFailure.Invalid, reason });
  if (header.length > AUTHORIZATION_HEADER_CHARS_MAX) {
    return invalid(`Authorization header is ${header.length} characters; the limit is ${AUTHORIZATION_HEADER_CHARS_MAX}`);
  }
  const match = CREDENTIALS.exec(header);
  if (match === null) return invalid('Authorization header is not "<scheme> <token>"');
  const [, scheme, token] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() !== BEARER_SCHEME) {
    // The scheme is the client's choice of word, not a secret; it may be logged.
    return invalid(`unsupported authorization scheme ${JSON.stringify(scheme.slice(0, 32))}`);
  }
  if (looksLikeServiceAccountToken(token)) return authenticateServiceAccount(token, sources);
  const user = sources.tokenFile?.lookup(token);
  if (user === undefined) return invalid('unknown bearer token');
  return { user: withAuthenticatedGroup(user) };
}

function authenticateServiceAccount(token: string, sources: AuthenticationSources): AuthenticationResult {
  const serviceAccounts = sources.serviceAccounts;
  if (serviceAccounts === undefined) {
    return { error: AuthenticationFailure.Invalid, reason: 'service-account tokens are not accepted by this server' };
  }
  try {
    const user = verifyServiceAccountToken(serviceAccounts.signingKey, token, {
      lookupServiceAccount: serviceAccounts.lookupServiceAccount,
    });
    return { user };
  } catch (err) {
    // A short key is the server's misconfiguration, not the client's fault: let it surface as a 500.
    if (err instanceof ServiceAccountTokenError && err.code !== ServiceAccountTokenErrorCode.SigningKeyTooShort) {
      return { error: AuthenticationFailure.Invalid, reason: err.message };
    }
    throw err;
  }
}
