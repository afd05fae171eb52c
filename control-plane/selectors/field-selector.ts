/**
 * Kubernetes field selectors: the `?fieldSelector=` string of list and watch
 * requests (`kubectl get pods --field-selector spec.nodeName=n1,status.phase!=Failed`,
 * and the kubelet's watch of its own pods).
 *
 *   selector := "" | term ("," term)*          "," is AND; empty terms are skipped
 *   term     := field ("=" | "==" | "!=") value
 *
 * The field is everything before the first operator, taken as written; the
 * value may be empty and escapes `\\`, `\,` and `\=` (an unescaped `=` in a
 * value is an error, as in Kubernetes). There is no whitespace trimming:
 * `metadata.name = x` names the field "metadata.name ", which no resource
 * supports.
 *
 * Which fields a resource supports is the API server's decision: it checks
 * `fieldsOf(selector)` against its list (or calls `mustUseSupportedFields`)
 * and answers 400 `field label not supported: X` otherwise. A field the object
 * lacks reads as the empty string, as in Kubernetes' field sets, so
 * `spec.nodeName=` selects unscheduled pods.
 */
import { SELECTOR_LENGTH_MAX, SelectorError, SelectorErrorCode } from './label-selector.js';

export const FieldOperator = { Equals: '=', NotEquals: '!=' } as const;
export type FieldOperator = (typeof FieldOperator)[keyof typeof FieldOperator];

export interface FieldRequirement {
  readonly field: string;
  /** `==` is written `=`: they mean the same. */
  readonly operator: FieldOperator;
  readonly value: string;
}

/** Operators in the order they are tried at each position: `!=` and `==` before their prefix `=`. */
const OPERATORS = [
  ['!=', FieldOperator.NotEquals],
  ['==', FieldOperator.Equals],
  ['=', FieldOperator.Equals],
] as const;

export class FieldSelector {
  private constructor(readonly requirements: readonly FieldRequirement[]) {}

  static everything(): FieldSelector {
    return new FieldSelector([]);
  }

  /** A selector from requirements, in canonical order (sorted by their text, as Kubernetes sorts terms). */
  static of(requirements: readonly FieldRequirement[]): FieldSelector {
    const withText = requirements.map((r) => ({ requirement: r, text: formatTerm(r) }));
    withText.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    return new FieldSelector(withText.map(({ requirement }) => requirement));
  }

  /** `getField` reads one field of the object; undefined (absent) counts as ''. */
  matches(getField: (path: string) => string | undefined): boolean {
    return this.requirements.every(({ field, operator, value }) => {
      const actual = getField(field) ?? '';
      return operator === FieldOperator.Equals ? actual === value : actual !== value;
    });
  }

  isEverything(): boolean {
    return this.requirements.length === 0;
  }

  toString(): string {
    return this.requirements.map(formatTerm).join(',');
  }
}

/** Parses a `fieldSelector` string; '' selects everything. */
export function parseFieldSelector(text: string): FieldSelector {
  if (text.length > SELECTOR_LENGTH_MAX) {
    const why = `field selector is ${text.length} characters; the limit is ${SELECTOR_LENGTH_MAX}`;
    throw new SelectorError(SelectorErrorCode.TooLong, why);
  }
  const requirements = splitTerms(text)
    .filter((term) => term !== '')
    .map((term) => parseTerm(text, term));
  return FieldSelector.of(requirements);
}

export function formatFieldSelector(selector: FieldSelector): string {
  return selector.toString();
}

/** The distinct fields a selector reads, in order: what the API server checks against a resource's supported fields. */
export function fieldsOf(selector: FieldSelector): string[] {
  return [...new Set(selector.requirements.map((r) => r.field))];
}

/** Throws UNSUPPORTED_FIELD, with Kubernetes' message, for the first field not in `supported`. */
export function mustUseSupportedFields(selector: FieldSelector, supported: ReadonlySet<string>): void {
  const unsupported = fieldsOf(selector).find((field) => !supported.has(field));
  if (unsupported !== undefined) {
    throw new SelectorError(SelectorErrorCode.UnsupportedField, `field label not supported: ${unsupported}`);
  }
}

/** Escapes a value so it can stand in a selector string. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

/** Undoes `escapeFieldValue`; other escapes, a trailing `\` and an unescaped `=` or `,` are errors. */
export function unescapeFieldValue(escaped: string): string {
  let value = '';
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i] as string;
    if (ch === '\\') {
      const next = escaped[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') {
        const sequence = JSON.stringify(`\\${next ?? ''}`);
        const why = `invalid escape sequence ${sequence} in field selector value ${JSON.stringify(escaped)}`;
        throw new SelectorError(SelectorErrorCode.InvalidSyntax, why);
      }
      value += next;
      i += 1;
    } else if (ch === '=' || ch === ',') {
      const why = `invalid field selector value ${JSON.stringify(escaped)}: unescaped '${ch}'`;
      throw new SelectorError(SelectorErrorCode.InvalidSyntax, why);
    } else {
      value += ch;
    }
  }
  return value;
}

/** Splits on commas not escaped by a backslash; escapes stay for `unescapeFieldValue`. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i += 1; // the escaped character never splits
    } else if (text[i] === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** Splits a term at the first operator; the field side has no escapes. */
function parseTerm(text: string, term: string): FieldRequirement {
  for (let i = 0; i < term.length; i++) {
    for (const [symbol, operator] of OPERATORS) {
      if (term.startsWith(symbol, i)) {
        return { field: term.slice(0, i), operator, value: unescapeFieldValue(term.slice(i + symbol.length)) };
      }
    }
  }
  const why = `invalid selector: ${JSON.stringify(text)}; can't understand ${JSON.stringify(term)}`;
  throw new SelectorError(SelectorErrorCode.InvalidSyntax, why);
}

function formatTerm({ field, operator, value }: FieldRequirement): string {
  return `${field}${operator}${escapeFieldValue(value)}`;
}
