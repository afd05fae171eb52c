import { describe, expect, it } from 'vitest';
import {
  AUTHORIZATION_HEADER_CHARS_MAX,
  authenticate,
  type AuthenticationSources,
} from '../../../control-plane/auth/authenticator.js';
import { issueServiceAccountToken } from '../../../control-plane/auth/service-account-token.js';
import { parseTokenFile } from '../../../control-plane/auth/token-file.js';

const KEY = Buffer.alloc(32, 1);
const tokenFile = parseTokenFile(
  ['alice-token,alice,1,"dev"', 'root-token,root,0,"system:masters"', 'marked,m,2,"system:authenticated,x"'].join('\n'),
);
const liveAccounts = new Map([['ci/builder', 'uid-1']]);
const sources: AuthenticationSources = {
  tokenFile,
  serviceAccounts: {
    signingKey: KEY,
    lookupServiceAccount: ({ namespace, name }) => {
      const uid = liveAccounts.get(`${namespace}/${name}`);
      return uid === undefined ? undefined : { uid };
    },
  },
};
const saToken = issueServiceAccountToken(KEY, { namespace: 'ci', name: 'builder', uid: 'uid-1' });

describe('authenticate: the Authorization header', () => {
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('is missing when %s (the server answers 401)', (_what, header) => {
    expect(authenticate(header, sources)).toMatchObject({ error: 'missing' });
  });

  it.each(['Bearer alice-token', 'bearer alice-token', 'BEARER alice-token', 'BeArEr   alice-token', '  Bearer alice-token  '])(
    'accepts the Bearer scheme in any case and spacing: %j',
    (header) => {
      expect(authenticate(header, sources)).toEqual({ user: { name: 'alice', uid: '1', groups: ['dev', 'system:authenticated'] } });
    },
  );

  it.each([
    ['another scheme', 'Basic YWxpY2U6cHc='],
    ['a token without a scheme', 'alice-token'],
    ['the scheme alone', 'Bearer'],
    ['three parts', 'Bearer alice-token extra'],
    ['a tab separator', 'Bearer\talice-token'],
    ['an unknown token', 'Bearer nobody-token'],
    ['a token differing in case', 'Bearer ALICE-TOKEN'],
  ])('is invalid with %s', (_what, header) => {
    const result = authenticate(header, sources);
    expect(result).toMatchObject({ error: 'invalid', reason: expect.any(String) });
  });

  it('is invalid past AUTHORIZATION_HEADER_CHARS_MAX, before any lookup', () => {
    let lookups = 0;
    const counting: AuthenticationSources = { tokenFile: { size: 1, lookup: () => { lookups += 1; return undefined; } } };
    expect(authenticate(`Bearer ${'a'.repeat(AUTHORIZATION_HEADER_CHARS_MAX)}`, counting)).toMatchObject({ error: 'invalid' });
    expect(lookups).toBe(0);
    expect(authenticate('Bearer short', counting)).toMatchObject({ error: 'invalid' });
    expect(lookups).toBe(1);
  });

  it('does not put the token into the reason', () => {
    const result = authenticate('Bearer unknown-secret-value', sources);
    expect('reason' in result && result.reason).not.toContain('unknown-secret-value');
  });
});

describe('authenticate: token sources', () => {
  it('adds system:authenticated to token-file users once, and keeps their groups', () => {
    expect(authenticate('Bearer root-token', sources)).toEqual({
      user: { name: 'root', uid: '0', groups: ['system:masters', 'system:authenticated'] },
    });
    expect(authenticate('Bearer marked', sources)).toEqual({
      user: { name: 'm', uid: '2', groups: ['system:authenticated', 'x'] },
    });
  });

  it('routes service-account tokens to the verifier and checks the account still exists', () => {
    expect(authenticate(`Bearer ${saToken}`, sources)).toEqual({
      user: {
        name: 'system:serviceaccount:ci:builder',
        uid: 'uid-1',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
      },
    });
    const deleted: AuthenticationSources = { ...sources, serviceAccounts: { signingKey: KEY, lookupServiceAccount: () => undefined } };
    expect(authenticate(`Bearer ${saToken}`, deleted)).toMatchObject({ error: 'invalid', reason: expect.stringMatching(/no longer exists/) });
  });

  it('refuses service-account tokens when the source is not configured, or under another key', () => {
    expect(authenticate(`Bearer ${saToken}`, { tokenFile })).toMatchObject({ error: 'invalid' });
    const otherKey: AuthenticationSources = { serviceAccounts: { signingKey: Buffer.alloc(32, 2), lookupServiceAccount: () => ({ uid: 'uid-1' }) } };
    expect(authenticate(`Bearer ${saToken}`, otherKey)).toMatchObject({ error: 'invalid', reason: expect.stringMatching(/signature/) });
  });

  it('refuses every token when no source is configured', () => {
    expect(authenticate('Bearer alice-token', {})).toMatchObject({ error: 'invalid' });
  });

  it('surfaces a too-short signing key as a thrown error (a server fault, not a 401)', () => {
    const misconfigured: AuthenticationSources = { serviceAccounts: { signingKey: Buffer.alloc(8), lookupServiceAccount: () => undefined } };
    expect(() => authenticate(`Bearer ${saToken}`, misconfigured)).toThrow(/signing key/);
  });
});
