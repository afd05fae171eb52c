/**
 * Service-account bearer tokens: what a pod (or a controller) presents to the API
 * server as `system:serviceaccount:<ns>:<name>`.
 *
 * The format is Strake's own, not Kubernetes' JWT: the server is both issuer
 * and only verifier, so a MAC over a small JSON payload does the job without a
 * JOSE library or key pairs.
 *
 *     strake-sa.v1.<base64url(payload)>.<base64url(HMAC-SHA256(key, "strake-sa.v1." + base64url(payload)))>
 *     payload = {"ns": namespace, "sa": name, "uid": service account uid, "iat": issued-at, Unix seconds}
 *
 * The prefix makes a token recognizable (to the authenticator, which routes on
 * it, and to secret scanners), and is covered by the MAC so a later format
 * cannot be confused with this one. Like Kubernetes' legacy secret-based
 * tokens, these do not expire: they die with their service account, which the
 * caller checks through a lookup (the uid in the token must be the live one's,
 * so a deleted-and-recreated account does not inherit old tokens).
 *
 * The signing key is created and persisted by the caller.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  SpecialGroup,
  isValidServiceAccountNamePart,
  serviceAccountGroup,
  serviceAccountUserName,
  type ServiceAccountRef,
  type UserInfo,
} from './user.js';

export const SERVICE_ACCOUNT_TOKEN_PREFIX = 'strake-sa.v1.';

/**
 * Shortest signing key accepted: HMAC-SHA256's output size. A shorter key makes
 * the MAC weaker than the hash it is built on (RFC 2104 section 3).
 */
export const SIGNING_KEY_BYTES_MIN = 32;

/**
 * Longest token looked at. The payload holds a namespace (63 chars at most in
 * Kubernetes), a name (253), a uid (36) and a number: under 1 KiB once encoded.
 * Anything longer is refused before it is decoded or hashed.
 */
export const SERVICE_ACCOUNT_TOKEN_CHARS_MAX = 2048;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export const ServiceAccountTokenErrorCode = {
  /** Not a token of this format, or its payload does not parse. */
  Malformed: 'SA_TOKEN_MALFORMED',
  /** The MAC does not match: tampered, or signed with another key. */
  BadSignature: 'SA_TOKEN_BAD_SIGNATURE',
  /** The service account named in the token no longer exists. */
  ServiceAccountNotFound: 'SA_TOKEN_SERVICE_ACCOUNT_NOT_FOUND',
  /** The service account exists but is not the one the token was issued for (deleted and recreated). */
  UidMismatch: 'SA_TOKEN_UID_MISMATCH',
  /** The namespace, name or uid to issue a token for cannot be encoded unambiguously. */
  InvalidSubject: 'SA_TOKEN_INVALID_SUBJECT',
  /** The token's `exp` has passed. */
  Expired: 'SA_TOKEN_EXPIRED',
  /** The signing key is shorter than SIGNING_KEY_BYTES_MIN. */
  SigningKeyTooShort: 'SA_SIGNING_KEY_TOO_SHORT',
} as const;
export type ServiceAccountTokenErrorCode =
  (typeof ServiceAccountTokenErrorCode)[keyof typeof ServiceAccountTokenErrorCode];

/** Messages never contain the token: they end up in logs. */
export class ServiceAccountTokenError extends Error {
  override readonly name = 'ServiceAccountTokenError';
  constructor(
    readonly code: ServiceAccountTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ServiceAccountSubject extends ServiceAccountRef {
  /** metadata.uid of the service account the token is issued for. */
  readonly uid: string;
}

/**
 * Reads a service account from the caller's cache: its uid, or undefined when
 * it does not exist. Synchronous because it runs on every request; it should
 * read a watch cache, not the store.
 */
export type ServiceAccountLookup = (ref: ServiceAccountRef) => { readonly uid: string } | undefined;

export interface IssueServiceAccountTokenOptions {
  /** The `iat` claim; defaults to now. */
  readonly issuedAtSeconds?: number;
  /** Lifetime: the token carries `exp` = iat + this and is refused afterwards. Absent: valid while the service account lives. */
  readonly expiresInSeconds?: number;
}

export interface VerifyServiceAccountTokenOptions {
  /** When given, tokens of deleted or recreated service accounts are refused. */
  readonly lookupServiceAccount?: ServiceAccountLookup;
  /** The clock `exp` is checked against; defaults to now. */
  readonly nowSeconds?: number;
}

interface Payload {
  readonly ns: string;
  readonly sa: string;
  readonly uid: string;
  readonly iat: number;
  /** Expiry (seconds since the epoch), when the token has one. */
  readonly exp?: number;
}

export function issueServiceAccountToken(
  key: Buffer,
  subject: ServiceAccountSubject,
  options: IssueServiceAccountTokenOptions = {},
): string {
  mustBeLongEnough(key);
  const { namespace, name, uid } = subject;
  if (!isValidServiceAccountNamePart(namespace) || !isValidServiceAccountNamePart(name) || uid === '') {
    throw new ServiceAccountTokenError(
      ServiceAccountTokenErrorCode.InvalidSubject,
      `cannot issue a token for service account ${JSON.stringify(`${namespace}/${name}`)} uid ${JSON.stringify(uid)}: ` +
        'namespace and name must be non-empty without ":", uid non-empty',
    );
  }
  const iat = options.issuedAtSeconds ?? Math.floor(Date.now() / 1000);
  const exp = options.expiresInSeconds === undefined ? {} : { exp: iat + options.expiresInSeconds };
  const payload: Payload = { ns: namespace, sa: name, uid, iat, ...exp };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${SERVICE_ACCOUNT_TOKEN_PREFIX}${encoded}.${mac(key, encoded)}`;
}

/** True when `token` is in this format (says nothing about its validity). */
export function looksLikeServiceAccountToken(token: string): boolean {
  return token.startsWith(SERVICE_ACCOUNT_TOKEN_PREFIX);
}

/**
 * The user a service-account token authenticates, or a thrown
 * ServiceAccountTokenError (MALFORMED, BAD_SIGNATURE, SERVICE_ACCOUNT_NOT_FOUND,
 * UID_MISMATCH). The signature is checked before anything in the payload is read.
 */
export function verifyServiceAccountToken(
  key: Buffer,
  token: string,
  options: VerifyServiceAccountTokenOptions = {},
): UserInfo {
  mustBeLongEnough(key);
  const payload = mustVerifySignature(key, token);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (payload.exp !== undefined && now >= payload.exp) {
    throw new ServiceAccountTokenError(ServiceAccountTokenErrorCode.Expired, `service-account token expired at ${new Date(payload.exp * 1000).toISOString()}`);
  }
  const ref = { namespace: payload.ns, name: payload.sa };
  const lookup = options.lookupServiceAccount;
  if (lookup !== undefined) {
    const live = lookup(ref);
    const described = JSON.stringify(`${ref.namespace}/${ref.name}`);
    if (live === undefined) {
      throw new ServiceAccountTokenError(
        ServiceAccountTokenErrorCode.ServiceAccountNotFound,
        `service account ${described} of the token no longer exists`,
      );
    }
    if (live.uid !== payload.uid) {
      throw new ServiceAccountTokenError(
        ServiceAccountTokenErrorCode.UidMismatch,
        `service account ${described} has uid ${JSON.stringify(live.uid)}; the token was issued for uid ${JSON.stringify(payload.uid)}`,
      );
    }
  }
  return {
    name: serviceAccountUserName(ref),
    uid: payload.uid,
    groups: [SpecialGroup.ServiceAccounts, serviceAccountGroup(ref.namespace), SpecialGroup.Authenticated],
  };
}

function mustVerifySignature(key: Buffer, token: string): Payload {
  const malformed = (what: string): ServiceAccountTokenError =>
    new ServiceAccountTokenError(ServiceAccountTokenErrorCode.Malformed, `not a service-account token: ${what}`);
  if (token.length > SERVICE_ACCOUNT_TOKEN_CHARS_MAX) {
    throw malformed(`${token.length} characters; the limit is ${SERVICE_ACCOUNT_TOKEN_CHARS_MAX}`);
  }
  if (!looksLikeServiceAccountToken(token)) throw malformed(`no ${SERVICE_ACCOUNT_TOKEN_PREFIX} prefix`);
  const parts = token.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length).split('.');
  if (parts.length !== 2) throw malformed(`expected 2 dot-separated parts after the prefix, found ${parts.length}`);
  const [encoded, signature] = parts as [string, string];
  if (!BASE64URL.test(encoded) || !BASE64URL.test(signature)) throw malformed('a part is not base64url');
  // Compare the canonical encodings, so one payload has exactly one valid token string.
  const expected = Buffer.from(mac(key, encoded), 'ascii');
  const presented = Buffer.from(signature, 'ascii');
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
    throw new ServiceAccountTokenError(
      ServiceAccountTokenErrorCode.BadSignature,
      'service-account token signature does not match the signing key',
    );
  }
  const payload = parsePayload(Buffer.from(encoded, 'base64url').toString('utf8'));
  if (payload === undefined) throw malformed('the payload is not {ns, sa, uid, iat}');
  return payload;
}

function parsePayload(json: string): Payload | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { ns, sa, uid, iat, exp } = value as Record<string, unknown>;
  if (typeof ns !== 'string' || !isValidServiceAccountNamePart(ns)) return undefined;
  if (typeof sa !== 'string' || !isValidServiceAccountNamePart(sa)) return undefined;
  if (typeof uid !== 'string' || uid === '') return undefined;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat)) return undefined;
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isSafeInteger(exp))) return undefined;
  return { ns, sa, uid, iat, ...(exp === undefined ? {} : { exp }) };
}

function mac(key: Buffer, encodedPayload: string): string {
  return createHmac('sha256', key)
    .update(`${SERVICE_ACCOUNT_TOKEN_PREFIX}${encodedPayload}`, 'utf8')
    .digest('base64url');
}

function mustBeLongEnough(key: Buffer): void {
  if (key.length < SIGNING_KEY_BYTES_MIN) {
    throw new ServiceAccountTokenError(
      ServiceAccountTokenErrorCode.SigningKeyTooShort,
      `service-account signing key is ${key.length} bytes; at least ${SIGNING_KEY_BYTES_MIN} are required`,
    );
  }
}
