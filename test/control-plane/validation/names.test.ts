/**
 * Name syntax: Kubernetes' messages verbatim, the per-kind rule, and
 * properties over generated names.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DNS1123_LABEL_MESSAGE,
  isCidr,
  isConfigMapKey,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isEnvVarName,
  isIpAddress,
  isLabelValue,
  isPortName,
  isQualifiedName,
  nameIsDnsSubdomain,
  nameIsPathSegment,
  nameValidatorForKind,
} from '../../../control-plane/validation/names.js';

describe('DNS names', () => {
  it("uses Kubernetes' exact label message", () => {
    expect(isDns1123Label('My_Name')).toEqual([
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    expect(DNS1123_LABEL_MESSAGE).toContain("(e.g. 'my-name',  or '123-abc'");
  });

  it.each(['a', 'abc', '123-abc', 'a1', 'x'.repeat(63)])('label %j is valid', (s) => {
    expect(isDns1123Label(s)).toEqual([]);
  });

  it.each(['', '-a', 'a-', 'A', 'a_b', 'a b', 'é'])('label %j is invalid', (s) => {
    expect(isDns1123Label(s)).not.toEqual([]);
  });

  it('says "must not contain dots" for a subdomain used as a label, and reports length', () => {
    expect(isDns1123Label('a.b')).toEqual(['must not contain dots']);
    expect(isDns1123Label('x'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });

  it('subdomains: dots allowed, 253 characters at most', () => {
    expect(isDns1123Subdomain('example.com')).toEqual([]);
    expect(isDns1123Subdomain('a..b')).toHaveLength(1);
    expect(isDns1123Subdomain('.a')).toHaveLength(1);
    const long = Array.from({ length: 4 }, () => 'x'.repeat(63)).join('.');
    expect(long.length).toBe(255);
    expect(isDns1123Subdomain(long)).toEqual(['must be no more than 253 characters']);
  });

  it('DNS-1035 labels must start with a letter', () => {
    expect(isDns1035Label('web')).toEqual([]);
    expect(isDns1035Label('1web')[0]).toMatch(/^a DNS-1035 label must consist/);
  });

  it('generateName prefixes may end with a dash', () => {
    expect(nameIsDnsSubdomain('web-', true)).toEqual([]);
    expect(nameIsDnsSubdomain('web-', false)).not.toEqual([]);
  });
});

describe('per-kind name rule', () => {
  it.each([
    ['Namespace', 'a.b', false],
    ['Service', '1web', false],
    ['Service', 'web', true],
    ['Pod', 'a.b', true],
    ['ConfigMap', 'a.b', true],
    ['Role', 'system:controller:x', true],
    ['ClusterRole', 'a/b', false],
    ['SomethingElse', 'a.b', true],
  ] as const)('%s name %j valid: %s', (kind, name, ok) => {
    expect(nameValidatorForKind(kind)(name, false).length === 0).toBe(ok);
  });

  it('path segment names refuse . .. / %', () => {
    expect(nameIsPathSegment('..', false)).toEqual(["may not be '..'"]);
    expect(nameIsPathSegment('a%2F', false)).toEqual(["may not contain '%'"]);
  });
});

describe('qualified names and label values', () => {
  it.each(['app', 'example.com/app', 'app.kubernetes.io/name', 'A_b.c-D'])('%j is a qualified name', (s) => {
    expect(isQualifiedName(s)).toEqual([]);
  });

  it('reports each part of a bad qualified name', () => {
    expect(isQualifiedName('/x')).toEqual(['prefix part must be non-empty']);
    expect(isQualifiedName('Example.com/x')[0]).toMatch(/^prefix part a lowercase RFC 1123 subdomain/);
    expect(isQualifiedName('a/b/c')[0]).toMatch(/^a qualified name must consist of .* with an optional DNS subdomain prefix/);
    expect(isQualifiedName('x/')).toEqual([
      'name part must be non-empty',
      expect.stringMatching(/^name part must consist of alphanumeric characters/),
    ]);
    expect(isQualifiedName('x'.repeat(64))).toEqual(['name part must be no more than 63 characters']);
  });

  it('label values may be empty but not start with a dash', () => {
    expect(isLabelValue('')).toEqual([]);
    expect(isLabelValue('-x')[0]).toMatch(/^a valid label must be an empty string or/);
  });
});

describe('other syntaxes', () => {
  it('config keys', () => {
    expect(isConfigMapKey('key.name')).toEqual([]);
    expect(isConfigMapKey('..x')).toEqual(["must not start with '..'"]);
    expect(isConfigMapKey('a/b')[0]).toMatch(/^a valid config key/);
  });

  it('env var names', () => {
    expect(isEnvVarName('MY_VAR.1')).toEqual([]);
    expect(isEnvVarName('1VAR')[0]).toMatch(/must not start with a digit/);
  });

  it('port names (IANA service names)', () => {
    expect(isPortName('http')).toEqual([]);
    expect(isPortName('123')).toEqual(['must contain at least one letter (a-z)']);
    expect(isPortName('a--b')).toEqual(['must not contain consecutive hyphens']);
    expect(isPortName('a'.repeat(16))).toEqual(['must be no more than 15 characters']);
    expect(isPortName('HTTP')).toContain('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  });

  it('IPs and CIDRs', () => {
    expect(isIpAddress('10.0.0.1')).toEqual([]);
    expect(isIpAddress('2001:db8::1')).toEqual([]);
    expect(isIpAddress('10.0.0.256')).toHaveLength(1);
    expect(isCidr('10.244.1.0/24')).toEqual([]);
    expect(isCidr('2001:db8::/64')).toEqual([]);
    expect(isCidr('10.244.1.0/33')).toHaveLength(1);
    expect(isCidr('10.244.1.0')).toHaveLength(1);
  });
});

describe('name properties', () => {
  const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
  const middle = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-');
  /** Every RFC 1123 label: alphanumeric ends, up to 63 characters. */
  const label = fc
    .tuple(alnum, fc.array(middle, { maxLength: 61 }), fc.option(alnum, { nil: undefined }))
    .map(([first, mid, last]) => (last === undefined ? first : `${first}${mid.join('')}${last}`));

  it('every generated label passes as label, subdomain and label value', () => {
    fc.assert(
      fc.property(label, (s) => {
        expect(isDns1123Label(s)).toEqual([]);
        expect(isDns1123Subdomain(s)).toEqual([]);
        expect(isLabelValue(s)).toEqual([]);
      }),
    );
  });

  it('a label with an uppercase letter fails', () => {
    fc.assert(
      fc.property(label, fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), (s, at, upper) => {
        const i = at % (s.length + 1);
        expect(isDns1123Label(s.slice(0, i) + upper + s.slice(i))).not.toEqual([]);
      }),
    );
  });

  it('a label longer than 63 characters fails with the length message', () => {
    fc.assert(
      fc.property(label, label, (a, b) => {
        const long = `${a}${'x'.repeat(64)}${b}`;
        expect(isDns1123Label(long)).toContain('must be no more than 63 characters');
      }),
    );
  });

  it('dot-joined labels are subdomains up to 253 characters', () => {
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 6 }), (parts) => {
        const s = parts.join('.');
        expect(isDns1123Subdomain(s).length === 0).toBe(s.length <= 253);
      }),
    );
  });
});
