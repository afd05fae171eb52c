/**
 * A decoded Kubernetes protobuf message → the JSON object the same Go value
 * marshals to, so a protobuf body and a JSON body of one object reach
 * defaulting and validation alike.
 *
 * Go's protobuf marshalling writes every non-pointer field, zero or not, while
 * its JSON marshalling omits zero `omitempty` fields. So a singular scalar
 * equal to its zero value is dropped unless the schema marks the field
 * `(strake.nullable)` (a Go pointer: present means set, `replicas: 0` stays).
 * Repeated and map fields are dropped when empty; messages are kept even when
 * empty (`resources: {}`, as Go's JSON writes them), and `(strake.inline)`
 * messages (embedded Go structs) merge into their parent.
 */
import protobuf from 'protobufjs';

/** Nesting bound: the deepest path in the subset is about 15 messages; a body deeper than this is malformed. */
export const MESSAGE_DEPTH_MAX = 64;

export class ProtobufJsonError extends Error {
  override readonly name = 'ProtobufJsonError';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Converter = (m: protobuf.Message, nullable: boolean) => Json | undefined;

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
/** Messages with a custom JSON form in Go (MarshalJSON), by full name. */
const SPECIAL: Readonly<Record<string, Converter>> = {
  [`${META}.Time`]: (m) => timeString(m, false),
  [`${META}.MicroTime`]: (m) => timeString(m, true),
  [`${META}.FieldsV1`]: (m) => embeddedJson(m, 'Raw'),
  'k8s.io.apimachinery.pkg.runtime.RawExtension': (m) => embeddedJson(m, 'raw'),
  'k8s.io.apimachinery.pkg.api.resource.Quantity': (m) => (has(m, 'string') && field(m, 'string') !== '' ? String(field(m, 'string')) : undefined),
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': intOrString,
  // `type ExtraValue []string`: a list wrapped in a message only for protobuf's sake.
  'k8s.io.api.authentication.v1.AttestationValue': (m) => stringItems(m),
};

/** The JSON object of a decoded top-level message. */
export function messageToJson(type: protobuf.Type, message: protobuf.Message): Record<string, Json> {
  return objectOf(type, message, 0);
}

function objectOf(type: protobuf.Type, m: protobuf.Message, depth: number): Record<string, Json> {
  if (depth > MESSAGE_DEPTH_MAX) throw new ProtobufJsonError(`the object nests deeper than ${MESSAGE_DEPTH_MAX} messages`);
  const out: Record<string, Json> = {};
  for (const f of type.fieldsArray) {
    const v = fieldJson(f, m, depth);
    if (v === undefined) continue;
    if (f.options?.['(strake.inline)'] === true && isObject(v)) Object.assign(out, v);
    else out[jsonName(f)] = v;
  }
  return out;
}

function fieldJson(f: protobuf.Field, m: protobuf.Message, depth: number): Json | undefined {
  const v = field(m, f.name);
  if (f.map) {
    const entries = Object.entries((v ?? {}) as Record<string, unknown>);
    if (entries.length === 0) return undefined;
    const out: Record<string, Json> = {};
    for (const [k, e] of entries) out[k] = valueJson(f, e, depth, true) ?? null;
    return out;
  }
  if (f.repeated) {
    const items = (v ?? []) as unknown[];
    if (items.length === 0) return undefined;
    return items.map((e) => valueJson(f, e, depth, true) ?? null);
  }
  if (!has(m, f.name)) return undefined;
  return valueJson(f, v, depth, f.options?.['(strake.nullable)'] === true);
}

/** One value of a field (a map value or list item counts as present, so zeros stay). */
function valueJson(f: protobuf.Field, v: unknown, depth: number, keepZero: boolean): Json | undefined {
  if (f.resolvedType instanceof protobuf.Type) {
    const special = SPECIAL[fullName(f.resolvedType)];
    if (special !== undefined) return special(v as protobuf.Message, keepZero);
    return objectOf(f.resolvedType, v as protobuf.Message, depth + 1);
  }
  const s = scalarJson(f.type, v);
  if (!keepZero && (s === '' || s === 0 || s === false)) return undefined;
  return s;
}

function scalarJson(type: string, v: unknown): Json {
  if (type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (isLong(v)) return v.toNumber();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new ProtobufJsonError(`unexpected ${type} value`);
}

/** Go marshals a zero time as an empty message; JSON omits it (or writes null, which means the same). */
function timeString(m: protobuf.Message, micro: boolean): Json | undefined {
  const seconds = numberOf(field(m, 'seconds'));
  const nanos = numberOf(field(m, 'nanos'));
  if ((seconds === 0 && nanos === 0) || seconds === GO_ZERO_TIME_SECONDS) return undefined;
  if (nanos < 0 || nanos > 999_999_999) throw new ProtobufJsonError(`a time has ${nanos} nanoseconds; at most 999999999`);
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) throw new ProtobufJsonError(`a time of ${seconds} seconds is out of range`);
  const whole = date.toISOString().slice(0, 19);
  return micro ? `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${whole}Z`;
}

/** Unix seconds of Go's zero time.Time (year 1), which some encoders write instead of nothing. */
const GO_ZERO_TIME_SECONDS = -62_135_596_800;

function intOrString(m: protobuf.Message, keepZero: boolean): Json | undefined {
  const type = numberOf(field(m, 'type'));
  if (type === 1) {
    const s = String(field(m, 'strVal') ?? '');
    return s === '' && !keepZero ? undefined : s;
  }
  if (type !== 0) throw new ProtobufJsonError(`an IntOrString has type ${type}; 0 (int) or 1 (string) expected`);
  const n = numberOf(field(m, 'intVal'));
  return n === 0 && !keepZero ? undefined : n;
}

function embeddedJson(m: protobuf.Message, name: string): Json | undefined {
  const raw = field(m, name) as Uint8Array | undefined;
  if (raw === undefined || raw.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as Json;
  } catch (err) {
    throw new ProtobufJsonError(`an embedded object is not JSON: ${(err as Error).message}`);
  }
}

function stringItems(m: protobuf.Message): Json {
  return ((field(m, 'items') ?? []) as unknown[]).map((s) => String(s));
}

function jsonName(f: protobuf.Field): string {
  const name = f.options?.json_name;
  return typeof name === 'string' ? name : f.name;
}

function fullName(t: protobuf.Type): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

function field(m: protobuf.Message, name: string): unknown {
  return (m as unknown as Record<string, unknown>)[name];
}

/** Present on the wire: protobufjs sets decoded fields as own properties; defaults live on the prototype. */
function has(m: protobuf.Message, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, name);
}

function numberOf(v: unknown): number {
  if (isLong(v)) return v.toNumber();
  return typeof v === 'number' ? v : 0;
}

/** int64 fields decode to Long objects (protobufjs uses the long package when present). */
function isLong(v: unknown): v is { toNumber(): number } {
  return typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function';
}

function isObject(v: Json): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
