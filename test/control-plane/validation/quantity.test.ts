/**
 * Quantities: Kubernetes' grammar, exact values, canonical text, and the
 * properties the scheduler and validation rely on (text round trip keeps the
 * value; order is the order of the exact rational value).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  QUANTITY_TEXT_CHARS_MAX,
  QuantityErrorCode,
  QuantityFormat,
  compareQuantities,
  formatQuantity,
  parseQuantity,
  quantityFromJson,
  quantityFromMilli,
  quantityToMilli,
  quantityToValue,
  type Quantity,
} from '../../../control-plane/validation/quantity.js';

const NANO = 1_000_000_000n;

describe('parseQuantity', () => {
  it.each([
    ['100m', 100_000_000n, QuantityFormat.DecimalSI],
    ['0.5', 500_000_000n, QuantityFormat.DecimalSI],
    ['1', NANO, QuantityFormat.DecimalSI],
    ['+1', NANO, QuantityFormat.DecimalSI],
    ['-1', -NANO, QuantityFormat.DecimalSI],
    ['.5', 500_000_000n, QuantityFormat.DecimalSI],
    ['1.', NANO, QuantityFormat.DecimalSI],
    ['1n', 1n, QuantityFormat.DecimalSI],
    ['1u', 1_000n, QuantityFormat.DecimalSI],
    ['1k', 1_000n * NANO, QuantityFormat.DecimalSI],
    ['1M', 1_000_000n * NANO, QuantityFormat.DecimalSI],
    ['1E', 10n ** 18n * NANO, QuantityFormat.DecimalSI],
    ['128Mi', 128n * 2n ** 20n * NANO, QuantityFormat.BinarySI],
    ['1Gi', 2n ** 30n * NANO, QuantityFormat.BinarySI],
    ['1.5Gi', 3n * 2n ** 29n * NANO, QuantityFormat.BinarySI],
    ['1e3', 1_000n * NANO, QuantityFormat.DecimalExponent],
    ['1E3', 1_000n * NANO, QuantityFormat.DecimalExponent],
    ['5e-2', 50_000_000n, QuantityFormat.DecimalExponent],
    ['1e+2', 100n * NANO, QuantityFormat.DecimalExponent],
    ['0', 0n, QuantityFormat.DecimalSI],
    ['-0', 0n, QuantityFormat.DecimalSI],
  ] as const)('%s is exactly %d nanos in %s', (text, nanos, format) => {
    expect(parseQuantity(text)).toEqual({ nanos, format });
  });

  it('rounds precision finer than a nano away from zero, as Kubernetes does', () => {
    expect(parseQuantity('0.1n').nanos).toBe(1n);
    expect(parseQuantity('1e-100').nanos).toBe(1n);
    expect(parseQuantity('-1.5n').nanos).toBe(-2n);
    expect(parseQuantity('0e-100').nanos).toBe(0n);
  });

  it.each(['', '.', '-', 'abc', 'Ki', '1Kii', '1ki', '1e', '1 ', ' 1', '--1', '1.2.3', '1e3.5', '1Mi5', '1m5', '0x10', '1_000'])(
    'refuses %j as malformed with Kubernetes\' message',
    (text) => {
      expect(() => parseQuantity(text)).toThrow(
        expect.objectContaining({ code: QuantityErrorCode.Malformed, message: expect.stringContaining('quantities must match') }),
      );
    },
  );

  it('refuses values beyond int64 and huge exponents instead of capping them', () => {
    expect(parseQuantity('7Ei').nanos).toBe(7n * 2n ** 60n * NANO);
    for (const text of ['8Ei', '9223372036854775808', '1e19', '1e999999999999']) {
      expect(() => parseQuantity(text), text).toThrow(expect.objectContaining({ code: QuantityErrorCode.OutOfRange }));
    }
    expect(parseQuantity('9223372036854775807').nanos).toBe((2n ** 63n - 1n) * NANO);
  });

  it('refuses text longer than the bound', () => {
    expect(() => parseQuantity('1'.padEnd(QUANTITY_TEXT_CHARS_MAX + 1, '0'))).toThrow(
      expect.objectContaining({ code: QuantityErrorCode.TooLong }),
    );
  });

  it('accepts bare JSON numbers, as YAML `cpu: 1` arrives', () => {
    expect(quantityFromJson(1).nanos).toBe(NANO);
    expect(quantityFromJson(0.25).nanos).toBe(250_000_000n);
    expect(() => quantityFromJson(true)).toThrow(expect.objectContaining({ code: QuantityErrorCode.Malformed }));
    expect(() => quantityFromJson(Number.NaN)).toThrow(expect.objectContaining({ code: QuantityErrorCode.Malformed }));
  });
});

describe('formatQuantity (canonical text)', () => {
  it.each([
    ['1Gi', '1Gi'],
    ['1000m', '1'],
    ['0.5', '500m'],
    ['1500', '1500'],
    ['1.5k', '1500'],
    ['1.5M', '1500k'],
    ['2000', '2k'],
    ['1e3', '1e3'],
    ['1e4', '10e3'],
    ['1500e-3', '1500e-3'],
    ['0.5Ki', '512'],
    ['0.1Ki', '102400m'],
    ['1536', '1536'],
    ['1.5Gi', '1536Mi'],
    ['1024Mi', '1Gi'],
    ['-1Gi', '-1Gi'],
    ['0.0001', '100u'],
    ['0Mi', '0'],
    ['9E', '9E'],
    ['9000P', '9E'],
    ['1e-9', '1e-9'],
  ])('%s → %s', (text, canonical) => {
    expect(formatQuantity(parseQuantity(text))).toBe(canonical);
  });
});

describe('conversions', () => {
  it('rounds milli-units and units away from zero, like Kubernetes MilliValue and Value', () => {
    expect(quantityToMilli(parseQuantity('100m'))).toBe(100n);
    expect(quantityToMilli(parseQuantity('1.0001m'))).toBe(2n);
    expect(quantityToMilli(parseQuantity('1n'))).toBe(1n);
    expect(quantityToMilli(parseQuantity('-1n'))).toBe(-1n);
    expect(quantityToValue(parseQuantity('128Mi'))).toBe(134_217_728n);
    expect(quantityToValue(parseQuantity('100m'))).toBe(1n);
    expect(formatQuantity(quantityFromMilli(250n))).toBe('250m');
  });
});

// ------------------------------------------------------------ properties

const DECIMAL_SUFFIXES: readonly (readonly [string, bigint, bigint])[] = [
  // [suffix, numerator, denominator] of its multiplier
  ['n', 1n, 10n ** 9n], ['u', 1n, 10n ** 6n], ['m', 1n, 1000n], ['', 1n, 1n], ['k', 1000n, 1n],
  ['M', 10n ** 6n, 1n], ['G', 10n ** 9n, 1n], ['Ki', 1024n, 1n], ['Mi', 2n ** 20n, 1n], ['Gi', 2n ** 30n, 1n],
  ['e2', 100n, 1n], ['e-1', 1n, 10n], ['E-4', 1n, 10n ** 4n],
];

/** A quantity text with its exact value as a rational num/den, computed without the parser. */
const quantityText = fc
  .record({
    negative: fc.boolean(),
    whole: fc.bigInt({ min: 0n, max: 10n ** 6n }),
    fraction: fc.stringMatching(/^[0-9]{0,4}$/),
    suffix: fc.constantFrom(...DECIMAL_SUFFIXES),
  })
  .map(({ negative, whole, fraction, suffix: [suffix, mulNum, mulDen] }) => {
    const text = `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}${suffix}`;
    const num = (negative ? -1n : 1n) * BigInt(`${whole}${fraction}`) * mulNum;
    const den = 10n ** BigInt(fraction.length) * mulDen;
    return { text, num, den };
  });

function sign(n: bigint): number {
  return n < 0n ? -1 : n > 0n ? 1 : 0;
}

describe('quantity properties', () => {
  it('format(parse(x)) parses back to the same value', () => {
    fc.assert(
      fc.property(quantityText, ({ text }) => {
        const q = parseQuantity(text);
        const again = parseQuantity(formatQuantity(q));
        expect(again.nanos).toBe(q.nanos);
        // canonical text is a fixed point
        expect(formatQuantity(again)).toBe(formatQuantity(q));
      }),
    );
  });

  it('holds exactly the written value whenever it is a whole number of nanos', () => {
    fc.assert(
      fc.property(quantityText, ({ text, num, den }) => {
        const scaled = num * NANO;
        fc.pre(scaled % den === 0n);
        expect(parseQuantity(text).nanos).toBe(scaled / den);
      }),
    );
  });

  it('orders quantities as their exact rational values', () => {
    fc.assert(
      fc.property(quantityText, quantityText, (a, b) => {
        const qa = parseQuantity(a.text);
        const qb = parseQuantity(b.text);
        const exact = sign(a.num * b.den - b.num * a.den);
        const got = compareQuantities(qa, qb);
        // Sub-nano values round away from zero, so only a strict exact order must be kept as ≤.
        if (exact < 0) expect(got).toBeLessThanOrEqual(0);
        if (exact > 0) expect(got).toBeGreaterThanOrEqual(0);
        if (a.num * NANO % a.den === 0n && b.num * NANO % b.den === 0n) expect(got).toBe(exact);
      }),
    );
  });

  it('compare is consistent with the milli-unit order', () => {
    fc.assert(
      fc.property(quantityText, quantityText, (a, b) => {
        const qa: Quantity = parseQuantity(a.text);
        const qb: Quantity = parseQuantity(b.text);
        if (compareQuantities(qa, qb) <= 0) expect(quantityToMilli(qa) <= quantityToMilli(qb)).toBe(true);
      }),
    );
  });
});
