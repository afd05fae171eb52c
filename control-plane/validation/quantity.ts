/**
 * Kubernetes resource quantities ("100m", "0.5", "128Mi", "1e3"): parsing,
 * exact comparison, and the canonical text Kubernetes writes back.
 *
 * A quantity is held as a whole number of nano-units in a bigint. Every suffix
 * is a power of ten or of two, so any quantity Kubernetes can represent is an
 * exact multiple of 1n; finer input ("0.1n") is rounded away from zero to the
 * next nano, as Kubernetes does ("if you want some resources, you get some").
 * No floating point is involved anywhere, so 0.1 + 0.2 style errors cannot occur.
 *
 * Grammar: [+-] digits [. digits] [suffix], at least one digit, where suffix is
 * one of n u m k M G T P E (decimal SI), Ki Mi Gi Ti Pi Ei (binary SI), or
 * e/E followed by a signed integer exponent ("1e3", "5E-2").
 */

export const QuantityFormat = {
  /** Decimal SI suffixes (m, k, M, ...) or none. */
  DecimalSI: 'DecimalSI',
  /** Binary SI suffixes (Ki, Mi, ...). */
  BinarySI: 'BinarySI',
  /** Scientific notation ("1e3"). */
  DecimalExponent: 'DecimalExponent',
} as const;
export type QuantityFormat = (typeof QuantityFormat)[keyof typeof QuantityFormat];

export interface Quantity {
  /** The value × 10^9. Invariant: |nanos| ≤ QUANTITY_NANOS_MAX. */
  readonly nanos: bigint;
  /** The notation it was written in; formatQuantity answers in the same one when it can. */
  readonly format: QuantityFormat;
}

/**
 * Longest quantity text accepted. Kubernetes has no such limit, but no
 * meaningful quantity needs more digits than this, and it bounds the bigint
 * work a single request can cause.
 */
export const QUANTITY_TEXT_CHARS_MAX = 100;

const NANOS_PER_UNIT = 1_000_000_000n;
const MILLIS_PER_UNIT = 1_000n;

/**
 * Largest magnitude accepted, in units: int64's maximum. Kubernetes caps binary
 * quantities here and clients read values through int64 (Value, MilliValue);
 * a larger value is refused rather than silently capped.
 */
export const QUANTITY_VALUE_MAX = 2n ** 63n - 1n;
export const QUANTITY_NANOS_MAX = QUANTITY_VALUE_MAX * NANOS_PER_UNIT;

/** Kubernetes' own error text for a malformed quantity; clients see it verbatim. */
export const QUANTITY_FORMAT_MESSAGE =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

export const QuantityErrorCode = {
  Malformed: 'QUANTITY_MALFORMED',
  TooLong: 'QUANTITY_TOO_LONG',
  OutOfRange: 'QUANTITY_OUT_OF_RANGE',
} as const;
export type QuantityErrorCode = (typeof QuantityErrorCode)[keyof typeof QuantityErrorCode];

export class QuantityError extends Error {
  constructor(
    readonly code: QuantityErrorCode,
    /** The text that was refused (cut to QUANTITY_TEXT_CHARS_MAX). */
    readonly text: string,
    message: string,
  ) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** Power-of-ten exponents of the decimal SI suffixes. "" is the bare number. */
const DECIMAL_SUFFIX_EXP10: Readonly<Record<string, number>> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
/** Power-of-two exponents of the binary SI suffixes. */
const BINARY_SUFFIX_EXP2: Readonly<Record<string, number>> = {
  Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60,
};

const QUANTITY_PATTERN = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([a-zA-Z]*)((?:[+-]?[0-9]+)?)$/;
const EXPONENT_SUFFIX_PATTERN = /^[eE]([+-]?[0-9]+)$/;

interface Suffix {
  readonly exp10: number;
  readonly exp2: number;
  readonly format: QuantityFormat;
}

function parseSuffix(suffix: string): Suffix | undefined {
  const dec = DECIMAL_SUFFIX_EXP10[suffix];
  if (dec !== undefined) return { exp10: dec, exp2: 0, format: QuantityFormat.DecimalSI };
  const bin = BINARY_SUFFIX_EXP2[suffix];
  if (bin !== undefined) return { exp10: 0, exp2: bin, format: QuantityFormat.BinarySI };
  const exp = EXPONENT_SUFFIX_PATTERN.exec(suffix);
  if (exp?.[1] !== undefined) return { exp10: Number(exp[1]), exp2: 0, format: QuantityFormat.DecimalExponent };
  return undefined;
}

/**
 * Powers of ten beyond these cannot change the outcome (given the text length
 * bound): a larger one makes any non-zero mantissa exceed QUANTITY_NANOS_MAX,
 * a smaller one makes it round to a single nano. Clamping keeps the bigint small
 * however large the written exponent is.
 */
const NANO_EXP10_MAX = 40;
const NANO_EXP10_MIN = -(QUANTITY_TEXT_CHARS_MAX + 40);

/** mantissa × 2^exp2 × 10^exp10 in nanos, rounded away from zero. mantissa ≥ 0. */
function toNanos(mantissa: bigint, exp2: number, exp10: number): bigint {
  if (mantissa === 0n) return 0n;
  const scaled = mantissa << BigInt(exp2);
  if (exp10 > NANO_EXP10_MAX) return QUANTITY_NANOS_MAX + 1n;
  if (exp10 >= 0) return scaled * 10n ** BigInt(exp10);
  const divisor = 10n ** BigInt(Math.min(-exp10, -NANO_EXP10_MIN));
  return (scaled + divisor - 1n) / divisor;
}

function malformed(text: string): QuantityError {
  return new QuantityError(QuantityErrorCode.Malformed, text, QUANTITY_FORMAT_MESSAGE);
}

/** Parses Kubernetes quantity text. Throws QuantityError when it is malformed, too long or too large. */
export function parseQuantity(text: string): Quantity {
  if (text.length > QUANTITY_TEXT_CHARS_MAX) {
    const cut = text.slice(0, QUANTITY_TEXT_CHARS_MAX);
    throw new QuantityError(
      QuantityErrorCode.TooLong,
      cut,
      `quantity text of ${text.length} characters is longer than the limit of ${QUANTITY_TEXT_CHARS_MAX}`,
    );
  }
  const match = QUANTITY_PATTERN.exec(text);
  if (match === null) throw malformed(text);
  const [, sign = '', whole = '', fraction = '', letters = '', exponentDigits = ''] = match;
  if (whole === '' && fraction === '') throw malformed(text);
  const suffix = parseSuffix(letters + exponentDigits);
  if (suffix === undefined) throw malformed(text);
  const mantissa = BigInt(whole + fraction === '' ? '0' : whole + fraction);
  const magnitude = toNanos(mantissa, suffix.exp2, suffix.exp10 + 9 - fraction.length);
  if (magnitude > QUANTITY_NANOS_MAX) {
    throw new QuantityError(
      QuantityErrorCode.OutOfRange,
      text,
      `quantity ${text} is out of range; the largest magnitude accepted is ${QUANTITY_VALUE_MAX}`,
    );
  }
  return { nanos: sign === '-' ? -magnitude : magnitude, format: suffix.format };
}

/**
 * A quantity from a JSON field: Kubernetes accepts a string or a bare number
 * (YAML `cpu: 1` arrives as the number 1). Throws QuantityError otherwise.
 */
export function quantityFromJson(value: unknown): Quantity {
  if (typeof value === 'string') return parseQuantity(value);
  if (typeof value === 'number' && Number.isFinite(value)) return parseQuantity(String(value));
  throw new QuantityError(QuantityErrorCode.Malformed, String(value).slice(0, QUANTITY_TEXT_CHARS_MAX), QUANTITY_FORMAT_MESSAGE);
}

/** -1, 0 or 1 as a is less than, equal to or greater than b; exact. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** Divides rounding away from zero, as Kubernetes' Value and MilliValue round up. */
function divideAwayFromZero(n: bigint, d: bigint): bigint {
  const q = n / d;
  if (q * d === n) return q;
  return n > 0n ? q + 1n : q - 1n;
}

/** The value in milli-units (what `cpu` is scheduled in), rounded away from zero. */
export function quantityToMilli(q: Quantity): bigint {
  return divideAwayFromZero(q.nanos, NANOS_PER_UNIT / MILLIS_PER_UNIT);
}

/** The value in whole units (bytes for `memory`), rounded away from zero. */
export function quantityToValue(q: Quantity): bigint {
  return divideAwayFromZero(q.nanos, NANOS_PER_UNIT);
}

/** A quantity of `milli` thousandths, written in decimal SI. */
export function quantityFromMilli(milli: bigint): Quantity {
  return { nanos: milli * (NANOS_PER_UNIT / MILLIS_PER_UNIT), format: QuantityFormat.DecimalSI };
}

const DECIMAL_SUFFIX_BY_EXP10: ReadonlyMap<number, string> = new Map(
  Object.entries(DECIMAL_SUFFIX_EXP10).map(([s, e]) => [e, s]),
);
const BINARY_SUFFIX_BY_EXP2: ReadonlyMap<number, string> = new Map(
  Object.entries(BINARY_SUFFIX_EXP2).map(([s, e]) => [e, s]),
);
const LARGEST_DECIMAL_EXP10 = 18; // E
const LARGEST_BINARY_EXP2 = 60; // Ei
const BINARY_STEP = 1024n;

/**
 * Kubernetes' canonical text: the written notation kept when it can say the
 * value exactly, with the largest suffix that leaves an integer mantissa.
 * "1Gi" stays "1Gi", "1000m" → "1", "0.5" → "500m", "1500" → "1500",
 * "1e4" → "10e3", "0.5Ki" → "512", "1.5Gi" → "1536Mi".
 */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  const sign = q.nanos < 0n ? '-' : '';
  const magnitude = q.nanos < 0n ? -q.nanos : q.nanos;
  const binary = q.format === QuantityFormat.BinarySI ? formatBinary(magnitude) : undefined;
  return sign + (binary ?? formatDecimal(magnitude, q.format));
}

/** Binary text when the value is a whole number of at least 1024, else undefined (Kubernetes then writes decimal SI). */
function formatBinary(magnitude: bigint): string | undefined {
  if (magnitude % NANOS_PER_UNIT !== 0n) return undefined;
  let mantissa = magnitude / NANOS_PER_UNIT;
  if (mantissa < BINARY_STEP) return undefined;
  let exp2 = 0;
  while (mantissa % BINARY_STEP === 0n && exp2 < LARGEST_BINARY_EXP2) {
    mantissa /= BINARY_STEP;
    exp2 += 10;
  }
  return `${mantissa}${BINARY_SUFFIX_BY_EXP2.get(exp2) ?? ''}`;
}

function formatDecimal(magnitude: bigint, format: QuantityFormat): string {
  let mantissa = magnitude;
  let exp10 = -9;
  while (mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exp10 += 3;
  }
  if (format === QuantityFormat.DecimalExponent) return exp10 === 0 ? `${mantissa}` : `${mantissa}e${exp10}`;
  if (exp10 > LARGEST_DECIMAL_EXP10) {
    mantissa *= 10n ** BigInt(exp10 - LARGEST_DECIMAL_EXP10);
    exp10 = LARGEST_DECIMAL_EXP10;
  }
  return `${mantissa}${DECIMAL_SUFFIX_BY_EXP10.get(exp10) ?? ''}`;
}
