/**
 * Label selectors: the strings kubectl sends with `-l`, the structured
 * selectors of Deployments and ReplicaSets, key/value validation, and
 * properties — formatting then parsing gives the same selector back; `k=v`
 * selects exactly the label maps holding that pair; `k` and `!k` split every
 * label map between them, as `in` and `notin` do when the key is present.
 * fast-check prints the seed and the shrunk case when a property fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LabelOperator,
  LabelSelector,
  SELECTOR_LENGTH_MAX,
  SelectorError,
  SelectorErrorCode,
  labelKeyError,
  labelSelectorFromStructured,
  labelValueError,
  parseLabelSelector,
  selectorFieldError,
  type LabelRequirement,
  type MetaLabelSelector,
} from '../../../control-plane/selectors/label-selector.js';

const RUNS = 500;

const web = { app: 'web', tier: 'front', 'app.kubernetes.io/name': 'web' };
const db = { app: 'db', tier: 'back' };
const bare = {};

describe('parsing what kubectl -l sends', () => {
  const cases: readonly (readonly [string, readonly LabelRequirement[]])[] = [
    ['app=web', [{ key: 'app', operator: LabelOperator.Equals, values: ['web'] }]],
    ['app==web', [{ key: 'app', operator: LabelOperator.Equals, values: ['web'] }]],
    ['app!=web', [{ key: 'app', operator: LabelOperator.NotEquals, values: ['web'] }]],
    ['tier in (front, back)', [{ key: 'tier', operator: LabelOperator.In, values: ['back', 'front'] }]],
    ['tier notin (front)', [{ key: 'tier', operator: LabelOperator.NotIn, values: ['front'] }]],
    ['app', [{ key: 'app', operator: LabelOperator.Exists, values: [] }]],
    ['!app', [{ key: 'app', operator: LabelOperator.DoesNotExist, values: [] }]],
    ['app=', [{ key: 'app', operator: LabelOperator.Equals, values: [''] }]],
    ['tier in ()', [{ key: 'tier', operator: LabelOperator.In, values: [''] }]],
    ['tier in (a,,b,a)', [{ key: 'tier', operator: LabelOperator.In, values: ['', 'a', 'b'] }]],
    ['  app = web ,  ! tier ', [{ key: 'app', operator: LabelOperator.Equals, values: ['web'] }, { key: 'tier', operator: LabelOperator.DoesNotExist, values: [] }]],
    ['in in (in,notin)', [{ key: 'in', operator: LabelOperator.In, values: ['in', 'notin'] }]],
    [
      'tier,app.kubernetes.io/name=web,app notin (db)',
      [
        { key: 'app', operator: LabelOperator.NotIn, values: ['db'] },
        { key: 'app.kubernetes.io/name', operator: LabelOperator.Equals, values: ['web'] },
        { key: 'tier', operator: LabelOperator.Exists, values: [] },
      ],
    ],
  ];

  it.each(cases)('%j', (text, requirements) => {
    expect(parseLabelSelector(text).requirements).toEqual(requirements);
  });

  it('"" and whitespace select everything', () => {
    for (const text of ['', '   ']) {
      const selector = parseLabelSelector(text);
      expect(selector.isEverything()).toBe(true);
      expect([web, db, bare].every((labels) => selector.matches(labels))).toBe(true);
    }
  });

  it('formats canonically: sorted by key, set values sorted', () => {
    expect(parseLabelSelector('tier in (front, back),app==web, !x').toString()).toBe('app=web,tier in (back,front),!x');
  });
});

describe('matching', () => {
  const cases: readonly (readonly [string, readonly Record<string, string>[]])[] = [
    ['app=web', [web]],
    ['app!=web', [db, bare]],
    ['tier in (front,back)', [web, db]],
    ['tier notin (front)', [db, bare]],
    ['app', [web, db]],
    ['!app', [bare]],
    ['app,tier=back', [db]],
    ['app.kubernetes.io/name', [web]],
    ['app=web,app=db', []],
  ];

  it.each(cases)('%j selects exactly the expected label sets', (text, selected) => {
    const selector = parseLabelSelector(text);
    for (const labels of [web, db, bare]) expect(selector.matches(labels)).toBe(selected.includes(labels));
  });

  it('an object without labels is matched as having none', () => {
    expect(parseLabelSelector('!app').matches(undefined)).toBe(true);
    expect(parseLabelSelector('app').matches(undefined)).toBe(false);
  });

  it('inherited properties are not labels', () => {
    expect(parseLabelSelector('constructor').matches({})).toBe(false);
    expect(parseLabelSelector('!toString').matches({})).toBe(true);
  });
});

describe('parse errors name the bad part', () => {
  const cases: readonly (readonly [string, SelectorErrorCode, string])[] = [
    ['app=web,', SelectorErrorCode.InvalidSyntax, "found '', expected: identifier"],
    [',app', SelectorErrorCode.InvalidSyntax, "found ',', expected: identifier"],
    ['app web', SelectorErrorCode.InvalidSyntax, "found 'web', expected: in, notin, =, ==, !="],
    ['app=web=x', SelectorErrorCode.InvalidSyntax, "found '=', expected: ',' or end of string"],
    ['!app=web', SelectorErrorCode.InvalidSyntax, "'!app' takes no operator or value"],
    ['app in front', SelectorErrorCode.InvalidSyntax, "found 'front', expected: '('"],
    ['app in (a b)', SelectorErrorCode.InvalidSyntax, "found 'b', expected: ',' or ')'"],
    ['app in (a', SelectorErrorCode.InvalidSyntax, "found '', expected: ',' or ')'"],
    ['app>1', SelectorErrorCode.InvalidSyntax, "operator '>' is not supported"],
    ['app=(x)', SelectorErrorCode.InvalidSyntax, "found '(', expected: a value"],
    ['-app=x', SelectorErrorCode.InvalidLabelKey, 'label key "-app"'],
    ['Example.com/app=x', SelectorErrorCode.InvalidLabelKey, 'prefix part must be a lowercase RFC 1123 subdomain'],
    ['/app', SelectorErrorCode.InvalidLabelKey, 'prefix part must be non-empty'],
    ['a/b/c', SelectorErrorCode.InvalidLabelKey, "more than one '/'"],
    ['app=web-', SelectorErrorCode.InvalidLabelValue, 'label value "web-"'],
    ['app in (ok,_bad)', SelectorErrorCode.InvalidLabelValue, 'label value "_bad"'],
  ];

  it.each(cases)('%j', (text, code, fragment) => {
    const err = catchSelectorError(() => parseLabelSelector(text));
    expect(err.code).toBe(code);
    expect(err.message).toContain(fragment);
  });

  it(`refuses a selector longer than ${SELECTOR_LENGTH_MAX} characters`, () => {
    const long = Array.from({ length: SELECTOR_LENGTH_MAX / 4 + 1 }, () => 'a=b').join(',');
    expect(catchSelectorError(() => parseLabelSelector(long)).code).toBe(SelectorErrorCode.TooLong);
  });
});

describe('label key and value syntax', () => {
  it('accepts the longest valid parts and refuses one character more', () => {
    const name63 = 'a'.repeat(63);
    const prefix253 = `${'p'.repeat(61)}.`.repeat(4) + 'p'.repeat(5);
    expect(prefix253.length).toBe(253);
    expect(labelKeyError(`${prefix253}/${name63}`)).toBeUndefined();
    expect(labelKeyError(`${prefix253}p/${name63}`)).toContain('no more than 253');
    expect(labelKeyError(`${name63}a`)).toContain('no more than 63');
    expect(labelValueError(name63)).toBeUndefined();
    expect(labelValueError(`${name63}a`)).toContain('no more than 63');
  });

  it.each(['a', 'A-b_c.d', '1', 'example.com/x', 'k8s.io/a.b', 'x_y'])('key %j is valid', (key) => {
    expect(labelKeyError(key)).toBeUndefined();
  });

  it.each(['', 'a b', '_a', 'a_', 'a/', 'ex_ample.com/a', '-.com/a', 'a..b/c'])('key %j is invalid', (key) => {
    expect(labelKeyError(key)).toBeDefined();
  });

  it.each(['', 'v', 'v1.2_3-x', 'A'])('value %j is valid', (value) => {
    expect(labelValueError(value)).toBeUndefined();
  });
});

describe('structured selectors (Deployment and ReplicaSet specs)', () => {
  it('matchLabels and matchExpressions are ANDed', () => {
    const selector = labelSelectorFromStructured({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }, { key: 'canary', operator: 'DoesNotExist' }],
    });
    expect(selector.matches(web)).toBe(true);
    expect(selector.matches({ ...web, canary: 'true' })).toBe(false);
    expect(selector.matches(db)).toBe(false);
    expect(selector.toString()).toBe('app=web,!canary,tier in (edge,front)');
  });

  it('a missing selector selects nothing; an empty one selects everything', () => {
    expect(labelSelectorFromStructured(undefined).matches(web)).toBe(false);
    expect(labelSelectorFromStructured(null).matches(bare)).toBe(false);
    expect(labelSelectorFromStructured({}).matches(bare)).toBe(true);
    expect(labelSelectorFromStructured({ matchLabels: {}, matchExpressions: [] }).isEverything()).toBe(true);
  });

  it('equals the string form it prints', () => {
    const structured: MetaLabelSelector = {
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['x'] }, { key: 'd', operator: 'Exists' }],
    };
    const selector = labelSelectorFromStructured(structured);
    expect(parseLabelSelector(selector.toString())).toEqual(selector);
  });

  const invalid: readonly (readonly [string, MetaLabelSelector, SelectorErrorCode, string])[] = [
    ['an unknown operator', { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, SelectorErrorCode.UnsupportedOperator, 'matchExpressions[0].operator'],
    ['In without values', { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, SelectorErrorCode.ValuesRequired, 'matchExpressions[0].values'],
    ['Exists with values', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, SelectorErrorCode.ValuesForbidden, 'matchExpressions[0].values'],
    ['a bad key', { matchExpressions: [{ key: 'a b', operator: 'Exists' }] }, SelectorErrorCode.InvalidLabelKey, 'matchExpressions[0].key'],
    ['a bad matchLabels value', { matchLabels: { a: 'not ok' } }, SelectorErrorCode.InvalidLabelValue, 'matchLabels'],
  ];

  it.each(invalid)('refuses %s, naming the field', (_name, structured, code, field) => {
    const err = catchSelectorError(() => labelSelectorFromStructured(structured));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
  });

  it('becomes a field error under the selector path of the object', () => {
    const err = catchSelectorError(() => labelSelectorFromStructured({ matchExpressions: [{ key: 'a', operator: 'Gt' }] }));
    expect(selectorFieldError(err, 'spec.selector')).toEqual({
      type: 'FieldValueNotSupported',
      field: 'spec.selector.matchExpressions[0].operator',
      message: err.message,
    });
  });
});

// ---- properties -------------------------------------------------------------

const keyArb = fc.constantFrom('app', 'tier', 'in', 'notin', 'a.b', 'example.com/x', 'k8s.io/app-name');
const valueArb = fc.constantFrom('', 'web', 'db', 'v1.2', 'A_b-c', 'in');
const labelsArb = fc.dictionary(keyArb, valueArb, { maxKeys: 5 });

const requirementArb: fc.Arbitrary<LabelRequirement> = fc.oneof(
  fc.record({ key: keyArb, operator: fc.constantFrom(LabelOperator.Exists, LabelOperator.DoesNotExist), values: fc.constant([]) }),
  fc.record({ key: keyArb, operator: fc.constantFrom(LabelOperator.Equals, LabelOperator.NotEquals), values: fc.tuple(valueArb) }),
  fc.record({
    key: keyArb,
    operator: fc.constantFrom(LabelOperator.In, LabelOperator.NotIn),
    values: fc.array(valueArb, { minLength: 1, maxLength: 4 }),
  }),
);
const selectorArb = fc.array(requirementArb, { maxLength: 5 }).map((requirements) => LabelSelector.of(requirements));

describe('label selector properties', () => {
  it('parse(format(selector)) equals the selector', () => {
    fc.assert(
      fc.property(selectorArb, (selector) => {
        expect(parseLabelSelector(selector.toString())).toEqual(selector);
      }),
      { numRuns: RUNS },
    );
  });

  it('k=v matches exactly the label maps holding that pair', () => {
    fc.assert(
      fc.property(keyArb, valueArb, labelsArb, (key, value, labels) => {
        const selector = parseLabelSelector(`${key}=${value}`);
        expect(selector.matches(labels)).toBe(Object.hasOwn(labels, key) && labels[key] === value);
      }),
      { numRuns: RUNS },
    );
  });

  it('k and !k are complementary', () => {
    fc.assert(
      fc.property(keyArb, labelsArb, (key, labels) => {
        expect(parseLabelSelector(`!${key}`).matches(labels)).toBe(!parseLabelSelector(key).matches(labels));
      }),
      { numRuns: RUNS },
    );
  });

  it('in and notin are complementary when the key is present; notin matches when it is absent', () => {
    fc.assert(
      fc.property(keyArb, fc.array(valueArb, { minLength: 1, maxLength: 3 }), labelsArb, (key, values, labels) => {
        const set = `(${values.join(',')})`;
        const inSelector = parseLabelSelector(`${key} in ${set}`);
        const notInSelector = parseLabelSelector(`${key} notin ${set}`);
        if (Object.hasOwn(labels, key)) {
          expect(notInSelector.matches(labels)).toBe(!inSelector.matches(labels));
        } else {
          expect([inSelector.matches(labels), notInSelector.matches(labels)]).toEqual([false, true]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('a selector matches exactly when each of its requirements does', () => {
    fc.assert(
      fc.property(selectorArb, labelsArb, (selector, labels) => {
        const each = selector.requirements.map((r) => LabelSelector.of([r]).matches(labels));
        expect(selector.matches(labels)).toBe(each.every(Boolean));
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
