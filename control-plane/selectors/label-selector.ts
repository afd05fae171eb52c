/**
 * Kubernetes label selectors: the `?labelSelector=` string of list and watch
 * requests (`kubectl get pods -l 'app=web,tier in (front,back)'`), and the
 * structured `metav1.LabelSelector` of Deployment and ReplicaSet specs. Both
 * become one `LabelSelector`, whose `matches(labels)` decides membership.
 *
 * String grammar (Kubernetes'):
 *
 *   selector    := "" | requirement ("," requirement)*        "," is AND
 *   requirement := ["!"] key                                  exists / does not exist
 *                | key ("=" | "==" | "!=") value              value may be empty
 *                | key ("in" | "notin") "(" value ("," value)* ")"
 *
 * Whitespace between tokens is ignored. Keys are qualified names (an optional
 * DNS-subdomain prefix and "/", then a name); values are label values. A
 * `!=` or `notin` requirement also matches objects without the label.
 * Requirements are kept sorted by key (stable), as Kubernetes sorts them, so
 * `toString()` is canonical. Kubernetes' `gt`/`lt` operators (node affinity
 * only, in practice) are not supported.
 *
 * Errors are `SelectorError`s with a stable code; the API server answers them
 * with 400 BadRequest, or turns them into field errors (`selectorFieldError`)
 * when the selector is part of an object being validated.
 */
import { FieldErrorType, type FieldError } from '../../proto/k8s/meta.js';

/**
 * Longest selector string accepted. A selector arrives in a URL query, which
 * Node's HTTP parser already caps at its 16 KiB header limit; the same bound
 * here keeps this parser safe wherever else a selector comes from.
 */
export const SELECTOR_LENGTH_MAX = 16 * 1024;
/** Kubernetes' limits for label names and values (a DNS label's length) and for key prefixes (a DNS subdomain's). */
export const LABEL_NAME_LENGTH_MAX = 63;
export const LABEL_VALUE_LENGTH_MAX = 63;
export const LABEL_PREFIX_LENGTH_MAX = 253;

export const SelectorErrorCode = {
  InvalidSyntax: 'INVALID_SYNTAX',
  InvalidLabelKey: 'INVALID_LABEL_KEY',
  InvalidLabelValue: 'INVALID_LABEL_VALUE',
  UnsupportedOperator: 'UNSUPPORTED_OPERATOR',
  ValuesRequired: 'VALUES_REQUIRED',
  ValuesForbidden: 'VALUES_FORBIDDEN',
  UnsupportedField: 'UNSUPPORTED_FIELD',
  TooLong: 'SELECTOR_TOO_LONG',
} as const;
export type SelectorErrorCode = (typeof SelectorErrorCode)[keyof typeof SelectorErrorCode];

export class SelectorError extends Error {
  override readonly name = 'SelectorError';

  constructor(
    readonly code: SelectorErrorCode,
    message: string,
    /** In a structured selector, the field at fault relative to the selector (`matchExpressions[0].operator`); '' otherwise. */
    readonly field = '',
  ) {
    super(message);
  }
}

/** The field error a selector error becomes inside an object's validation; `path` is the selector's own path. */
export function selectorFieldError(err: SelectorError, path: string): FieldError {
  const field = err.field === '' ? path : `${path}.${err.field}`;
  return { type: FIELD_ERROR_TYPES[err.code], field, message: err.message };
}

const FIELD_ERROR_TYPES = {
  [SelectorErrorCode.InvalidSyntax]: FieldErrorType.Invalid,
  [SelectorErrorCode.InvalidLabelKey]: FieldErrorType.Invalid,
  [SelectorErrorCode.InvalidLabelValue]: FieldErrorType.Invalid,
  [SelectorErrorCode.UnsupportedOperator]: FieldErrorType.NotSupported,
  [SelectorErrorCode.ValuesRequired]: FieldErrorType.Required,
  [SelectorErrorCode.ValuesForbidden]: FieldErrorType.Forbidden,
  [SelectorErrorCode.UnsupportedField]: FieldErrorType.NotSupported,
  [SelectorErrorCode.TooLong]: FieldErrorType.TooLong,
} as const satisfies Record<SelectorErrorCode, FieldErrorType>;

/** The operators of a requirement: metav1's names for the structured ones, plus the string form's `=` and `!=`. */
export const LabelOperator = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
  Equals: 'Equals',
  NotEquals: 'NotEquals',
} as const;
export type LabelOperator = (typeof LabelOperator)[keyof typeof LabelOperator];

/**
 * One ANDed condition. Invariant (kept by `LabelSelector.of`): Exists and
 * DoesNotExist have no values; Equals and NotEquals exactly one; In and NotIn
 * at least one, sorted and without duplicates.
 */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/** metav1.LabelSelector, as it appears in a Deployment or ReplicaSet spec. */
export interface MetaLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export class LabelSelector {
  private constructor(
    readonly requirements: readonly LabelRequirement[],
    /** A missing structured selector selects nothing; no requirement list can say that. */
    private readonly selectsNothing: boolean,
  ) {}

  static everything(): LabelSelector {
    return new LabelSelector([], false);
  }

  static nothing(): LabelSelector {
    return new LabelSelector([], true);
  }

  /** A selector from requirements, validated and put in canonical order. */
  static of(requirements: readonly LabelRequirement[]): LabelSelector {
    const checked = requirements.map((r) => normalizeRequirement(r, NO_FIELDS));
    return new LabelSelector(sortByKey(checked), false);
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    if (this.selectsNothing) return false;
    return this.requirements.every((r) => requirementMatches(r, labels ?? {}));
  }

  /** True when it selects every object (no requirements). */
  isEverything(): boolean {
    return !this.selectsNothing && this.requirements.length === 0;
  }

  /** The canonical string form; '' for everything (and, unavoidably, for nothing, which no string can express). */
  toString(): string {
    return this.requirements.map(formatRequirement).join(',');
  }
}

export function requirementMatches(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const value = present ? labels[requirement.key] : undefined;
  const listed = value !== undefined && requirement.values.includes(value);
  switch (requirement.operator) {
    case LabelOperator.Exists:
      return present;
    case LabelOperator.DoesNotExist:
      return !present;
    case LabelOperator.Equals:
    case LabelOperator.In:
      return listed;
    case LabelOperator.NotEquals:
    case LabelOperator.NotIn:
      return !listed;
    default: {
      const unexpected: never = requirement.operator;
      throw new Error(`unexpected label operator ${String(unexpected)}`);
    }
  }
}

export function formatLabelSelector(selector: LabelSelector): string {
  return selector.toString();
}

function formatRequirement({ key, operator, values }: LabelRequirement): string {
  switch (operator) {
    case LabelOperator.Exists:
      return key;
    case LabelOperator.DoesNotExist:
      return `!${key}`;
    case LabelOperator.Equals:
      return `${key}=${values[0] ?? ''}`;
    case LabelOperator.NotEquals:
      return `${key}!=${values[0] ?? ''}`;
    case LabelOperator.In:
      return `${key} in (${values.join(',')})`;
    case LabelOperator.NotIn:
      return `${key} notin (${values.join(',')})`;
    default: {
      const unexpected: never = operator;
      throw new Error(`unexpected label operator ${String(unexpected)}`);
    }
  }
}

// ---- the string form ----------------------------------------------------------

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: '=' | '==' | '!=' | '!' | '(' | ')' | ',' | 'end'; readonly text: string };

/** Characters that end a word: Kubernetes' special symbols (it also has `<` and `>`). */
const SPECIAL = new Set(['=', '!', '(', ')', ',', '<', '>']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    const pair = text.slice(i, i + 2);
    if (WHITESPACE.has(ch)) {
      i += 1;
    } else if (pair === '==' || pair === '!=') {
      tokens.push({ kind: pair, text: pair });
      i += 2;
    } else if (ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: ch, text: ch });
      i += 1;
    } else if (SPECIAL.has(ch)) {
      throw syntax(text, `operator '${ch}' is not supported; expected one of in, notin, =, ==, !=`);
    } else {
      let end = i;
      while (end < text.length && !SPECIAL.has(text[end] as string) && !WHITESPACE.has(text[end] as string)) end += 1;
      tokens.push({ kind: 'word', text: text.slice(i, end) });
      i = end;
    }
  }
  tokens.push({ kind: 'end', text: '' });
  return tokens;
}

/** Parses a `labelSelector` string; '' (or only whitespace) selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.length > SELECTOR_LENGTH_MAX) {
    const why = `label selector is ${text.length} characters; the limit is ${SELECTOR_LENGTH_MAX}`;
    throw new SelectorError(SelectorErrorCode.TooLong, why);
  }
  const parser = new Parser(text, tokenize(text));
  if (parser.peek().kind === 'end') return LabelSelector.everything();
  const requirements: LabelRequirement[] = [];
  for (;;) {
    requirements.push(parser.requirement());
    const after = parser.next();
    if (after.kind === 'end') break;
    if (after.kind !== ',') throw syntax(text, `found '${after.text}', expected: ',' or end of string`);
  }
  return LabelSelector.of(requirements);
}

class Parser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  peek(): Token {
    return this.tokens[Math.min(this.position, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const token = this.peek();
    this.position += 1;
    return token;
  }

  requirement(): LabelRequirement {
    let token = this.next();
    const negated = token.kind === '!';
    if (negated) token = this.next();
    if (token.kind !== 'word') throw syntax(this.text, `found '${token.text}', expected: identifier`);
    const key = token.text;
    const following = this.peek().kind;
    if (following === 'end' || following === ',') {
      return { key, operator: negated ? LabelOperator.DoesNotExist : LabelOperator.Exists, values: [] };
    }
    if (negated) throw syntax(this.text, `'!${key}' takes no operator or value; found '${this.peek().text}'`);
    const operator = this.next();
    if (operator.kind === '=' || operator.kind === '==') return { key, operator: LabelOperator.Equals, values: [this.exactValue()] };
    if (operator.kind === '!=') return { key, operator: LabelOperator.NotEquals, values: [this.exactValue()] };
    if (operator.kind === 'word' && operator.text === 'in') return { key, operator: LabelOperator.In, values: this.valueSet() };
    if (operator.kind === 'word' && operator.text === 'notin') return { key, operator: LabelOperator.NotIn, values: this.valueSet() };
    throw syntax(this.text, `found '${operator.text}', expected: in, notin, =, ==, !=`);
  }

  /** The value after `=`, `==` or `!=`; nothing before ',' or the end means the empty value. */
  private exactValue(): string {
    const token = this.peek();
    if (token.kind === 'end' || token.kind === ',') return '';
    if (token.kind !== 'word') throw syntax(this.text, `found '${token.text}', expected: a value`);
    this.position += 1;
    return token.text;
  }

  /** `(a, b, ...)`; an empty entry is the empty value, as in Kubernetes (`in ()` means "is empty"). */
  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw syntax(this.text, `found '${open.text}', expected: '('`);
    const values: string[] = [];
    let current: string | undefined;
    for (let token = this.next(); ; token = this.next()) {
      if (token.kind === 'word' && current === undefined) {
        current = token.text;
      } else if (token.kind === ',' || token.kind === ')') {
        values.push(current ?? '');
        current = undefined;
        if (token.kind === ')') return values;
      } else {
        throw syntax(this.text, `found '${token.text}', expected: ',' or ')'`);
      }
    }
  }
}

// ---- the structured form --------------------------------------------------------

/**
 * The selector a structured `metav1.LabelSelector` means. A missing selector
 * (null/undefined) selects nothing; an empty one selects everything — as in
 * Kubernetes, where a ReplicaSet without a selector must own no pods.
 */
export function labelSelectorFromStructured(selector: MetaLabelSelector | null | undefined): LabelSelector {
  if (selector === null || selector === undefined) return LabelSelector.nothing();
  const requirements: LabelRequirement[] = [];
  const matchLabels = Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, value] of matchLabels) {
    requirements.push(normalizeRequirement({ key, operator: LabelOperator.Equals, values: [value] }, MATCH_LABELS_FIELDS));
  }
  (selector.matchExpressions ?? []).forEach((expression, i) => {
    requirements.push(structuredRequirement(expression, `matchExpressions[${i}]`));
  });
  return LabelSelector.of(requirements);
}

type MetaLabelSelectorRequirement = NonNullable<MetaLabelSelector['matchExpressions']>[number];

function structuredRequirement(expression: MetaLabelSelectorRequirement, field: string): LabelRequirement {
  const { key, operator } = expression;
  const values = expression.values ?? [];
  const fields = { key: `${field}.key`, values: `${field}.values` };
  if (!Array.isArray(values)) {
    const why = `values must be a list of strings, got ${JSON.stringify(values)}`;
    throw new SelectorError(SelectorErrorCode.InvalidSyntax, why, fields.values);
  }
  switch (operator) {
    case LabelOperator.In:
    case LabelOperator.NotIn:
      if (values.length === 0) {
        const why = "values: must be specified when `operator` is 'In' or 'NotIn'";
        throw new SelectorError(SelectorErrorCode.ValuesRequired, why, fields.values);
      }
      return normalizeRequirement({ key, operator, values }, fields);
    case LabelOperator.Exists:
    case LabelOperator.DoesNotExist:
      if (values.length > 0) {
        const why = "values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'";
        throw new SelectorError(SelectorErrorCode.ValuesForbidden, why, fields.values);
      }
      return normalizeRequirement({ key, operator, values }, fields);
    default:
      throw new SelectorError(
        SelectorErrorCode.UnsupportedOperator,
        `${JSON.stringify(operator)} is not a valid label selector operator; supported: In, NotIn, Exists, DoesNotExist`,
        `${field}.operator`,
      );
  }
}

// ---- validation -----------------------------------------------------------------

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const VALUE_RULE = "consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
const PREFIX_RULE =
  "must be a lowercase RFC 1123 subdomain (lowercase alphanumerics, '-' and '.', starting and ending alphanumeric)";

/** Why `key` is not a valid label key (a qualified name), or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `label key ${JSON.stringify(key)} has more than one '/'`;
  const name = parts[parts.length - 1] as string;
  const prefix = parts.length === 2 ? parts[0] : undefined;
  if (prefix !== undefined) {
    if (prefix === '') return `label key ${JSON.stringify(key)}: prefix part must be non-empty`;
    if (prefix.length > LABEL_PREFIX_LENGTH_MAX) {
      return `label key ${JSON.stringify(key)}: prefix part must be no more than ${LABEL_PREFIX_LENGTH_MAX} characters`;
    }
    if (!DNS_SUBDOMAIN.test(prefix)) {
      return `label key ${JSON.stringify(key)}: prefix part ${PREFIX_RULE}`;
    }
  }
  if (name === '') return `label key ${JSON.stringify(key)}: name part must be non-empty`;
  if (name.length > LABEL_NAME_LENGTH_MAX) {
    return `label key ${JSON.stringify(key)}: name part must be no more than ${LABEL_NAME_LENGTH_MAX} characters`;
  }
  if (!LABEL_NAME.test(name)) return `label key ${JSON.stringify(key)}: name part ${NAME_RULE}`;
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (the empty value is valid). */
export function labelValueError(value: string): string | undefined {
  if (value.length > LABEL_VALUE_LENGTH_MAX) {
    return `label value ${JSON.stringify(value)} must be no more than ${LABEL_VALUE_LENGTH_MAX} characters`;
  }
  if (value !== '' && !LABEL_NAME.test(value)) return `label value ${JSON.stringify(value)} must be empty or ${VALUE_RULE}`;
  return undefined;
}

/** Where a requirement's key and values sit in a structured selector, for error fields. */
interface RequirementFields {
  readonly key: string;
  readonly values: string;
}
const NO_FIELDS: RequirementFields = { key: '', values: '' };
const MATCH_LABELS_FIELDS: RequirementFields = { key: 'matchLabels', values: 'matchLabels' };

/** Validates a requirement and returns it in canonical form (set values sorted and unique). */
function normalizeRequirement(requirement: LabelRequirement, fields: RequirementFields): LabelRequirement {
  const { key, operator } = requirement;
  const keyError = typeof key === 'string' ? labelKeyError(key) : `label key must be a string, got ${String(key)}`;
  if (keyError !== undefined) throw new SelectorError(SelectorErrorCode.InvalidLabelKey, keyError, fields.key);
  for (const value of requirement.values) {
    const valueError = typeof value === 'string' ? labelValueError(value) : `label value must be a string, got ${String(value)}`;
    if (valueError !== undefined) {
      throw new SelectorError(SelectorErrorCode.InvalidLabelValue, `${valueError} (key ${JSON.stringify(key)})`, fields.values);
    }
  }
  const arity = expectedValueCount(operator);
  const values = arity === 'many' ? [...new Set(requirement.values)].sort() : [...requirement.values];
  if (arity === 'many' ? values.length === 0 : values.length !== arity) {
    const wanted = arity === 'many' ? 'one or more values' : `${arity} value(s)`;
    throw new SelectorError(
      SelectorErrorCode.InvalidSyntax,
      `operator ${operator} on ${JSON.stringify(key)} takes ${wanted}, got ${values.length}`,
      fields.values,
    );
  }
  return { key, operator, values };
}

function expectedValueCount(operator: LabelOperator): 0 | 1 | 'many' {
  switch (operator) {
    case LabelOperator.Exists:
    case LabelOperator.DoesNotExist:
      return 0;
    case LabelOperator.Equals:
    case LabelOperator.NotEquals:
      return 1;
    case LabelOperator.In:
    case LabelOperator.NotIn:
      return 'many';
    default: {
      const unexpected: never = operator;
      throw new SelectorError(SelectorErrorCode.UnsupportedOperator, `unknown label operator ${String(unexpected)}`);
    }
  }
}

/** Stable: requirements on the same key keep their written order. */
function sortByKey(requirements: readonly LabelRequirement[]): LabelRequirement[] {
  return [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function syntax(text: string, why: string): SelectorError {
  const message = `unable to parse requirement in label selector ${JSON.stringify(text)}: ${why}`;
  return new SelectorError(SelectorErrorCode.InvalidSyntax, message);
}
