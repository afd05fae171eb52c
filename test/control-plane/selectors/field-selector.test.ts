/**
 * Field selectors: what `kubectl get --field-selector` and the kubelet send,
 * escaping, the API server's check of supported fields, and properties —
 * formatting then parsing gives the selector back, and `f=v` / `f!=v` split
 * every object between them. fast-check prints the seed on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FieldOperator,
  FieldSelector,
  escapeFieldValue,
  fieldsOf,
  mustUseSupportedFields,
  parseFieldSelector,
  unescapeFieldValue,
  type FieldRequirement,
} from '../../../control-plane/selectors/field-selector.js';
import { SELECTOR_LENGTH_MAX, SelectorError, SelectorErrorCode } from '../../../control-plane/selectors/label-selector.js';

const RUNS = 500;

const podFields = (fields: Record<string, string>) => (path: string) => fields[path];
const scheduled = podFields({ 'metadata.name': 'web-1', 'metadata.namespace': 'default', 'spec.nodeName': 'n1', 'status.phase': 'Running' });
const pending = podFields({ 'metadata.name': 'web-2', 'metadata.namespace': 'default', 'status.phase': 'Pending' });

describe('parsing and matching', () => {
  it('reads =, == and != terms joined by commas', () => {
    expect(parseFieldSelector('metadata.name=web-1,metadata.namespace==default,spec.nodeName!=').requirements).toEqual([
      { field: 'metadata.name', operator: FieldOperator.Equals, value: 'web-1' },
      { field: 'metadata.namespace', operator: FieldOperator.Equals, value: 'default' },
      { field: 'spec.nodeName', operator: FieldOperator.NotEquals, value: '' },
    ]);
  });

  it("the kubelet's watch: spec.nodeName=n1 selects the pods bound to n1", () => {
    const selector = parseFieldSelector('spec.nodeName=n1');
    expect(selector.matches(scheduled)).toBe(true);
    expect(selector.matches(pending)).toBe(false);
  });

  it('a field the object lacks reads as "": spec.nodeName= selects unscheduled pods', () => {
    expect(parseFieldSelector('spec.nodeName=').matches(pending)).toBe(true);
    expect(parseFieldSelector('spec.nodeName=').matches(scheduled)).toBe(false);
    expect(parseFieldSelector('spec.nodeName!=').matches(scheduled)).toBe(true);
  });

  it('terms are ANDed', () => {
    expect(parseFieldSelector('status.phase!=Failed,metadata.namespace=default').matches(scheduled)).toBe(true);
    expect(parseFieldSelector('status.phase!=Running,metadata.namespace=default').matches(scheduled)).toBe(false);
  });

  it('"" selects everything, and empty terms are skipped', () => {
    expect(parseFieldSelector('').isEverything()).toBe(true);
    expect(parseFieldSelector(',').isEverything()).toBe(true);
    expect(parseFieldSelector('a=1,,b=2').requirements).toHaveLength(2);
  });

  it('splits at the first operator; the value may hold "!"', () => {
    expect(parseFieldSelector('a=!b').requirements).toEqual([{ field: 'a', operator: FieldOperator.Equals, value: '!b' }]);
    expect(parseFieldSelector('a!b=c').requirements).toEqual([{ field: 'a!b', operator: FieldOperator.Equals, value: 'c' }]);
  });

  it('does not trim: a spaced field is a different, unsupported field', () => {
    expect(fieldsOf(parseFieldSelector('metadata.name = x'))).toEqual(['metadata.name ']);
  });

  it('escapes \\, "," and "=" in values', () => {
    const selector = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    expect(selector.requirements[0]?.value).toBe('a,b=c\\d');
    expect(selector.toString()).toBe('metadata.name=a\\,b\\=c\\\\d');
    expect(unescapeFieldValue(escapeFieldValue('x,=\\y'))).toBe('x,=\\y');
  });

  it('formats canonically, sorted by term text as Kubernetes sorts terms', () => {
    expect(parseFieldSelector('status.phase==Running,metadata.name=x').toString()).toBe('metadata.name=x,status.phase=Running');
  });
});

describe('errors', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['metadata.name', "can't understand \"metadata.name\""],
    ['a=1,b', "can't understand \"b\""],
    ['a=b=c', "unescaped '='"],
    ['a=b\\x', 'invalid escape sequence "\\\\x"'],
    ['a=b\\', 'invalid escape sequence "\\\\"'],
  ];

  it.each(cases)('%j', (text, fragment) => {
    const err = catchSelectorError(() => parseFieldSelector(text));
    expect(err.code).toBe(SelectorErrorCode.InvalidSyntax);
    expect(err.message).toContain(fragment);
  });

  it(`refuses a selector longer than ${SELECTOR_LENGTH_MAX} characters`, () => {
    expect(catchSelectorError(() => parseFieldSelector('a='.padEnd(SELECTOR_LENGTH_MAX + 1, 'x'))).code).toBe(SelectorErrorCode.TooLong);
  });
});

describe('supported fields (the API server decides)', () => {
  const supported = new Set(['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']);

  it('fieldsOf lists each field once', () => {
    expect(fieldsOf(parseFieldSelector('spec.nodeName!=a,spec.nodeName!=b,metadata.name=x'))).toEqual(['metadata.name', 'spec.nodeName']);
  });

  it("refuses an unsupported field with Kubernetes' message", () => {
    expect(() => mustUseSupportedFields(parseFieldSelector('spec.nodeName=n1,status.phase=Running'), supported)).not.toThrow();
    const err = catchSelectorError(() => mustUseSupportedFields(parseFieldSelector('spec.schedulerName=x'), supported));
    expect(err.code).toBe(SelectorErrorCode.UnsupportedField);
    expect(err.message).toBe('field label not supported: spec.schedulerName');
  });
});

// ---- properties -------------------------------------------------------------

const fieldArb = fc.constantFrom('metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'x');
const valueArb = fc.string({ maxLength: 6, unit: fc.constantFrom('a', 'b', ',', '=', '\\', '!', ' ') });
const requirementArb: fc.Arbitrary<FieldRequirement> = fc.record({
  field: fieldArb,
  operator: fc.constantFrom(FieldOperator.Equals, FieldOperator.NotEquals),
  value: valueArb,
});

describe('field selector properties', () => {
  it('parse(format(selector)) equals the selector, whatever the values hold', () => {
    fc.assert(
      fc.property(fc.array(requirementArb, { maxLength: 5 }), (requirements) => {
        const selector = FieldSelector.of(requirements);
        expect(parseFieldSelector(selector.toString())).toEqual(selector);
      }),
      { numRuns: RUNS },
    );
  });

  it('f=v and f!=v are complementary, and f=v matches exactly objects whose f is v', () => {
    fc.assert(
      fc.property(fieldArb, valueArb, fc.dictionary(fieldArb, valueArb), (field, value, object) => {
        const getField = (path: string) => (Object.hasOwn(object, path) ? object[path] : undefined);
        const equals = FieldSelector.of([{ field, operator: FieldOperator.Equals, value }]);
        const differs = parseFieldSelector(`${field}!=${escapeFieldValue(value)}`);
        expect(equals.matches(getField)).toBe((getField(field) ?? '') === value);
        expect(differs.matches(getField)).toBe(!equals.matches(getField));
      }),
      { numRuns: RUNS },
    );
  });
});

function catchSelectorError(run: () => unknown): SelectorError {
  try {
    run();
  } catch (err) {
    if (err instanceof SelectorError) return err;
    throw err;
  }
  throw new Error('expected a SelectorError');
}
