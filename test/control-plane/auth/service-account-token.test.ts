import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SERVICE_ACCOUNT_TOKEN_CHARS_MAX,
  SERVICE_ACCOUNT_TOKEN_PREFIX,
  ServiceAccountTokenError,
  ServiceAccountTokenErrorCode,
  issueServiceAccountToken,
  verifyServiceAccountToken,
  type ServiceAccountLookup,
} from '../../../control-plane/auth/service-account-token.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 8);
const BUILDER = { namespace: 'ci', name: 'builder', uid: 'uid-1' };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ServiceAccountTokenError) return err.code;
    throw err;
  }
  return 'no error';
}

/** A token over any payload, signed with KEY the way the module signs: for payloads it would never issue. */
function signedToken(payload: unknown, key = KEY): string {
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const mac = createHmac('sha256', key).update(`${SERVICE_ACCOUNT_TOKEN_PREFIX}${encoded}`).digest('base64url');
  return `${SERVICE_ACCOUNT_TOKEN_PREFIX}${encoded}.${mac}`;
}

describe('service-account tokens', () => {
  const token = issueServiceAccountToken(KEY, BUILDER, { issuedAtSeconds: 1_700_000_000 });

  it('carry the recognizable prefix and the {ns, sa, uid, iat} payload', () => {
    expect(token.startsWith(SERVICE_ACCOUNT_TOKEN_PREFIX)).toBe(true);
    const [encoded] = token.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length).split('.');
    expect(JSON.parse(Buffer.from(encoded ?? '', 'base64url').toString())).toEqual({
      ns: 'ci', sa: 'builder', uid: 'uid-1', iat: 1_700_000_000,
    });
  });

  it('verify to the service-account user with its groups', () => {
    expect(verifyServiceAccountToken(KEY, token)).toEqual({
      name: 'system:serviceaccount:ci:builder',
      uid: 'uid-1',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
    });
  });

  it('verify while the service account with the same uid exists', () => {
    const seen: unknown[] = [];
    const lookup: ServiceAccountLookup = (ref) => {
      seen.push(ref);
      return { uid: 'uid-1' };
    };
    expect(verifyServiceAccountToken(KEY, token, { lookupServiceAccount: lookup }).name).toBe(
      'system:serviceaccount:ci:builder',
    );
    expect(seen).toEqual([{ namespace: 'ci', name: 'builder' }]);
  });

  it('are refused once the service account is deleted', () => {
    expect(codeOf(() => verifyServiceAccountToken(KEY, token, { lookupServiceAccount: () => undefined }))).toBe(
      ServiceAccountTokenErrorCode.ServiceAccountNotFound,
    );
  });

  it('are refused when the service account was recreated (another uid)', () => {
    const recreated: ServiceAccountLookup = () => ({ uid: 'uid-2' });
    expect(codeOf(() => verifyServiceAccountToken(KEY, token, { lookupServiceAccount: recreated }))).toBe(
      ServiceAccountTokenErrorCode.UidMismatch,
    );
  });

  it('are refused under another key', () => {
    expect(codeOf(() => verifyServiceAccountToken(OTHER_KEY, token))).toBe(ServiceAccountTokenErrorCode.BadSignature);
  });

  it('are refused when the payload is changed, even to a validly encoded one', () => {
    const [encoded, mac] = token.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length).split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ns: 'kube-system', sa: 'builder', uid: 'uid-1', iat: 1_700_000_000 })).toString('base64url');
    expect(codeOf(() => verifyServiceAccountToken(KEY, `${SERVICE_ACCOUNT_TOKEN_PREFIX}${forged}.${mac}`))).toBe(
      ServiceAccountTokenErrorCode.BadSignature,
    );
    const flipped = encoded.slice(0, -1) + (encoded.endsWith('A') ? 'B' : 'A');
    expect(codeOf(() => verifyServiceAccountToken(KEY, `${SERVICE_ACCOUNT_TOKEN_PREFIX}${flipped}.${mac}`))).toBe(
      ServiceAccountTokenErrorCode.BadSignature,
    );
  });

  it('are refused when the signature is changed or cut', () => {
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(codeOf(() => verifyServiceAccountToken(KEY, token.slice(0, -1) + last))).toBe(ServiceAccountTokenErrorCode.BadSignature);
    expect(codeOf(() => verifyServiceAccountToken(KEY, token.slice(0, -2)))).toBe(ServiceAccountTokenErrorCode.BadSignature);
  });

  it('are refused when the prefix (covered by the MAC) is changed', () => {
    const otherVersion = token.replace(SERVICE_ACCOUNT_TOKEN_PREFIX, 'strake-sa.v2.');
    expect(codeOf(() => verifyServiceAccountToken(KEY, otherVersion))).toBe(ServiceAccountTokenErrorCode.Malformed);
  });

  it.each([
    ['no prefix', 'abc.def'],
    ['one part', `${SERVICE_ACCOUNT_TOKEN_PREFIX}abc`],
    ['three parts', `${SERVICE_ACCOUNT_TOKEN_PREFIX}a.b.c`],
    ['not base64url', `${SERVICE_ACCOUNT_TOKEN_PREFIX}a+b.c/d`],
    ['too long', `${SERVICE_ACCOUNT_TOKEN_PREFIX}${'a'.repeat(SERVICE_ACCOUNT_TOKEN_CHARS_MAX)}.b`],
  ])('are refused as malformed: %s', (_what, bad) => {
    expect(codeOf(() => verifyServiceAccountToken(KEY, bad))).toBe(ServiceAccountTokenErrorCode.Malformed);
  });

  it.each([
    ['not an object', 42],
    ['a missing uid', { ns: 'a', sa: 'b', iat: 1 }],
    ['a colon in the name', { ns: 'a', sa: 'b:c', uid: 'u', iat: 1 }],
    ['a fractional iat', { ns: 'a', sa: 'b', uid: 'u', iat: 1.5 }],
  ])('are refused when a correctly signed payload has %s', (_what, payload) => {
    expect(codeOf(() => verifyServiceAccountToken(KEY, signedToken(payload)))).toBe(ServiceAccountTokenErrorCode.Malformed);
  });

  it('verify a correctly signed payload built outside the module (the format is the documented one)', () => {
    const external = signedToken({ ns: 'a', sa: 'b', uid: 'u', iat: 1 });
    expect(verifyServiceAccountToken(KEY, external).name).toBe('system:serviceaccount:a:b');
  });

  it('are not issued for names that would make the user name ambiguous', () => {
    expect(codeOf(() => issueServiceAccountToken(KEY, { ...BUILDER, name: 'a:b' }))).toBe(ServiceAccountTokenErrorCode.InvalidSubject);
    expect(codeOf(() => issueServiceAccountToken(KEY, { ...BUILDER, namespace: '' }))).toBe(ServiceAccountTokenErrorCode.InvalidSubject);
    expect(codeOf(() => issueServiceAccountToken(KEY, { ...BUILDER, uid: '' }))).toBe(ServiceAccountTokenErrorCode.InvalidSubject);
  });

  it('need a signing key of at least 32 bytes', () => {
    const short = Buffer.alloc(31);
    expect(codeOf(() => issueServiceAccountToken(short, BUILDER))).toBe(ServiceAccountTokenErrorCode.SigningKeyTooShort);
    expect(codeOf(() => verifyServiceAccountToken(short, token))).toBe(ServiceAccountTokenErrorCode.SigningKeyTooShort);
  });

  it('default iat to now', () => {
    const before = Math.floor(Date.now() / 1000);
    const fresh = issueServiceAccountToken(KEY, BUILDER);
    const [encoded] = fresh.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length).split('.');
    const { iat } = JSON.parse(Buffer.from(encoded ?? '', 'base64url').toString()) as { iat: number };
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('never put the token into an error message', () => {
    const payloadStart = token.slice(SERVICE_ACCOUNT_TOKEN_PREFIX.length, SERVICE_ACCOUNT_TOKEN_PREFIX.length + 20);
    const messages = [OTHER_KEY, KEY].map((key) => {
      try {
        verifyServiceAccountToken(key, token, { lookupServiceAccount: () => undefined });
      } catch (err) {
        return String(err);
      }
      return 'no error';
    });
    expect(messages).toEqual([expect.stringContaining('signature'), expect.stringContaining('"ci/builder"')]);
    for (const message of messages) expect(message).not.toContain(payloadStart);
  });
});
