/**
 * Name and key syntax, with Kubernetes' messages word for word (clients and
 * people match on them). Each `isX(value)` returns the list of problems; an
 * empty list means valid. Turning them into FieldErrors is the caller's job,
 * because the path and the bad value depend on where the string sits.
 *
 * generateName suffixes are not made here: the API server adds them.
 */
import { isIP } from 'node:net';

/** RFC 1123 label: one DNS name component. */
export const DNS1123_LABEL_CHARS_MAX = 63;
/** RFC 1123 subdomain: a whole DNS name. */
export const DNS1123_SUBDOMAIN_CHARS_MAX = 253;
/** RFC 1035 label, as DNS1123_LABEL_CHARS_MAX. */
export const DNS1035_LABEL_CHARS_MAX = 63;
/** The name part of a qualified name (label keys, annotation keys, finalizers). */
export const QUALIFIED_NAME_CHARS_MAX = 63;
/** Label values must fit in a DNS label, so they can be used as one. */
export const LABEL_VALUE_CHARS_MAX = 63;
/** ConfigMap and Secret keys become file names in volumes. */
export const CONFIG_MAP_KEY_CHARS_MAX = 253;
/** IANA service names (RFC 6335), used for port names. */
export const PORT_NAME_CHARS_MAX = 15;

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+';
const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';

function anchored(fmt: string): RegExp {
  return new RegExp(`^(?:${fmt})$`);
}

const DNS1123_LABEL = anchored(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN = anchored(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL = anchored(DNS1035_LABEL_FMT);
const QUALIFIED_NAME = anchored(QUALIFIED_NAME_FMT);
const LABEL_VALUE = anchored(LABEL_VALUE_FMT);
const CONFIG_MAP_KEY = anchored(CONFIG_MAP_KEY_FMT);
const ENV_VAR_NAME = anchored(ENV_VAR_NAME_FMT);
const PORT_NAME_CHARSET = /^[-a-z0-9]+$/;
const PORT_NAME_ONE_LETTER = /[a-z]/;

/** Kubernetes' RegexError text: the rule, examples, and the regex itself. */
function regexError(message: string, fmt: string, ...examples: string[]): string {
  const eg = examples.length === 0 ? '' : `e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, `;
  return `${message} (${eg}regex used for validation is '${fmt}')`;
}

export function maxLengthError(charsMax: number): string {
  return `must be no more than ${charsMax} characters`;
}

export const DNS1123_LABEL_MESSAGE = regexError(
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  DNS1123_LABEL_FMT, 'my-name', '123-abc',
);
export const DNS1123_SUBDOMAIN_MESSAGE = regexError(
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  DNS1123_SUBDOMAIN_FMT, 'example.com',
);
export const DNS1035_LABEL_MESSAGE = regexError(
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
  DNS1035_LABEL_FMT, 'my-name', 'abc-123',
);
const QUALIFIED_NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MESSAGE = regexError(QUALIFIED_NAME_RULE, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc');
export const LABEL_VALUE_MESSAGE = regexError(
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345',
);
export const CONFIG_MAP_KEY_MESSAGE = regexError(
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
  CONFIG_MAP_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name',
);
export const ENV_VAR_NAME_MESSAGE = regexError(
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
  ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1',
);

export function isDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_CHARS_MAX) errs.push(maxLengthError(DNS1123_LABEL_CHARS_MAX));
  if (!DNS1123_LABEL.test(value)) {
    // Already a valid subdomain, so the only problem left is the dots.
    errs.push(DNS1123_SUBDOMAIN.test(value) ? 'must not contain dots' : DNS1123_LABEL_MESSAGE);
  }
  return errs;
}

export function isDns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_CHARS_MAX) errs.push(maxLengthError(DNS1123_SUBDOMAIN_CHARS_MAX));
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(DNS1123_SUBDOMAIN_MESSAGE);
  return errs;
}

export function isDns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1035_LABEL_CHARS_MAX) errs.push(maxLengthError(DNS1035_LABEL_CHARS_MAX));
  if (!DNS1035_LABEL.test(value)) errs.push(DNS1035_LABEL_MESSAGE);
  return errs;
}

/** `[prefix/]name`: label keys, annotation keys, finalizers, resource names. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  if (parts.length > 2) {
    return [
      `a qualified name ${QUALIFIED_NAME_MESSAGE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  const name = parts.length === 2 ? (parts[1] ?? '') : value;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errs.push('prefix part must be non-empty');
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_CHARS_MAX) errs.push(`name part ${maxLengthError(QUALIFIED_NAME_CHARS_MAX)}`);
  if (!QUALIFIED_NAME.test(name)) errs.push(`name part ${QUALIFIED_NAME_MESSAGE}`);
  return errs;
}

export function isLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_CHARS_MAX) errs.push(maxLengthError(LABEL_VALUE_CHARS_MAX));
  if (!LABEL_VALUE.test(value)) errs.push(LABEL_VALUE_MESSAGE);
  return errs;
}

/** Keys that would be "." or ".." or climb out of a directory as file names. */
function chdirPrefixErrors(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

export function isConfigMapKey(value: string): string[] {
  const errs: string[] = [];
  if (value.length > CONFIG_MAP_KEY_CHARS_MAX) errs.push(maxLengthError(CONFIG_MAP_KEY_CHARS_MAX));
  if (!CONFIG_MAP_KEY.test(value)) errs.push(CONFIG_MAP_KEY_MESSAGE);
  errs.push(...chdirPrefixErrors(value));
  return errs;
}

export function isEnvVarName(value: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME.test(value)) errs.push(ENV_VAR_NAME_MESSAGE);
  errs.push(...chdirPrefixErrors(value));
  return errs;
}

/** An IANA service name (RFC 6335): container and service port names. */
export function isPortName(value: string): string[] {
  const errs: string[] = [];
  if (value.length > PORT_NAME_CHARS_MAX) errs.push(maxLengthError(PORT_NAME_CHARS_MAX));
  if (!PORT_NAME_CHARSET.test(value)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!PORT_NAME_ONE_LETTER.test(value)) errs.push('must contain at least one letter (a-z)');
  if (value.includes('--')) errs.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export const PORT_NUMBER_MIN = 1;
/** TCP/UDP/SCTP ports are 16-bit. */
export const PORT_NUMBER_MAX = 65535;

export function isPortNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= PORT_NUMBER_MIN && value <= PORT_NUMBER_MAX;
}

export const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

export function isIpAddress(value: string): string[] {
  return isIP(value) === 0 ? [IP_MESSAGE] : [];
}

/** IPv4 and IPv6 prefix lengths. */
const PREFIX_BITS_MAX = { 4: 32, 6: 128 } as const;

export function isCidr(value: string): string[] {
  const slash = value.indexOf('/');
  const family = slash < 0 ? 0 : isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  const ok =
    (family === 4 || family === 6) && /^(0|[1-9][0-9]{0,2})$/.test(bits) && Number(bits) <= PREFIX_BITS_MAX[family];
  return ok ? [] : ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
}

// ------------------------------------------------------------ object names

/**
 * Checks an object name, or with `prefix` a generateName prefix (which may end
 * in '-' because the server appends a random suffix).
 */
export type NameValidator = (name: string, prefix: boolean) => string[];

/** generateName "web-" must be a valid start of a name: mask a trailing dash. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

export const nameIsDnsSubdomain: NameValidator = (name, prefix) =>
  isDns1123Subdomain(prefix ? maskTrailingDash(name) : name);

export const nameIsDnsLabel: NameValidator = (name, prefix) => isDns1123Label(prefix ? maskTrailingDash(name) : name);

export const nameIsDns1035Label: NameValidator = (name, prefix) =>
  isDns1035Label(prefix ? maskTrailingDash(name) : name);

/** Names that are only a URL path segment (RBAC objects): anything but '.', '..', '/' and '%'. */
export const nameIsPathSegment: NameValidator = (name, prefix) => {
  const errs: string[] = [];
  if (!prefix && (name === '.' || name === '..')) errs.push(`may not be '${name}'`);
  for (const illegal of ['/', '%']) {
    if (name.includes(illegal)) errs.push(`may not contain '${illegal}'`);
  }
  return errs;
};

/** Kinds whose names follow a rule other than DNS-1123 subdomain, which is every other kind's. */
const NAME_RULE_BY_KIND: Readonly<Record<string, NameValidator>> = {
  // Namespace names become DNS labels in service names (svc.ns.svc.cluster.local).
  Namespace: nameIsDnsLabel,
  // Service names become environment variable prefixes and DNS labels; Kubernetes requires RFC 1035.
  Service: nameIsDns1035Label,
  Role: nameIsPathSegment,
  ClusterRole: nameIsPathSegment,
  RoleBinding: nameIsPathSegment,
  ClusterRoleBinding: nameIsPathSegment,
};

export function nameValidatorForKind(kind: string): NameValidator {
  return Object.hasOwn(NAME_RULE_BY_KIND, kind) ? (NAME_RULE_BY_KIND[kind] ?? nameIsDnsSubdomain) : nameIsDnsSubdomain;
}
