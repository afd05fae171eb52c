/**
 * ConfigMaps and Secrets: keys usable as file names, bounded total size,
 * base64 where the wire format demands it, the per-type required keys of
 * Secrets, and the `immutable` flag.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  IMMUTABLE,
  forbidden,
  invalid,
  isRecord,
  key,
  recordAt,
  required,
  tooLong,
  type JsonRecord,
} from './field-errors.js';
import { jsonEqual } from './json-equal.js';
import { NamespaceScope, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { isConfigMapKey, nameIsDnsSubdomain } from './names.js';

/**
 * Total bytes of a ConfigMap's or Secret's values: 1 MiB. The whole object is
 * one etcd value, and kubelets hold every mounted one in memory.
 */
export const CONFIG_DATA_BYTES_MAX = 1024 * 1024;

/** Kubernetes never echoes secret bytes back in an error. */
const REDACTED = '<secret contents redacted>';
const IMMUTABLE_SET = 'field is immutable when `immutable` is set';

/** Standard base64 with padding, as Go's encoding/json decodes []byte. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(value: string): boolean {
  return BASE64.test(value);
}

/** Decoded length of valid padded base64. */
function base64Bytes(value: string): number {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return (value.length / 4) * 3 - padding;
}

const META_RULES = { scope: NamespaceScope.Namespaced, name: nameIsDnsSubdomain } as const;
const utf8 = new TextEncoder();

function validateKeys(map: JsonRecord, field: string, errors: FieldError[]): void {
  for (const k of Object.keys(map)) {
    for (const msg of isConfigMapKey(k)) errors.push(invalid(key(field, k), k, msg));
  }
}

/** Values of a base64 map; returns their decoded size. */
function base64ValuesBytes(map: JsonRecord, field: string, redact: boolean, errors: FieldError[]): number {
  let bytes = 0;
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' || !isBase64(v)) {
      errors.push(invalid(key(field, k), redact ? REDACTED : v, 'illegal base64 data'));
      continue;
    }
    bytes += base64Bytes(v);
  }
  return bytes;
}

function immutableUpdateErrors(obj: JsonRecord, old: JsonRecord, fields: readonly string[]): FieldError[] {
  if (old['immutable'] !== true) return [];
  const errors: FieldError[] = [];
  if (obj['immutable'] !== true) errors.push(forbidden('immutable', IMMUTABLE_SET));
  for (const field of fields) {
    if (!jsonEqual(obj[field] ?? {}, old[field] ?? {})) errors.push(forbidden(field, IMMUTABLE_SET));
  }
  return errors;
}

export function validateConfigMap(configMap: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(configMap, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], META_RULES));
  const data = recordAt(obj['data'], 'data', errors);
  const binaryData = recordAt(obj['binaryData'], 'binaryData', errors);
  validateKeys(data, 'data', errors);
  validateKeys(binaryData, 'binaryData', errors);
  let totalBytes = 0;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') errors.push(invalid(key('data', k), v, 'must be a string'));
    else totalBytes += utf8.encode(v).length;
    if (Object.hasOwn(binaryData, k)) errors.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
  }
  totalBytes += base64ValuesBytes(binaryData, 'binaryData', false, errors);
  // Kubernetes reports the size against the whole object: an empty path.
  if (totalBytes > CONFIG_DATA_BYTES_MAX) errors.push(tooLong('', CONFIG_DATA_BYTES_MAX));
  if (isRecord(old)) {
    errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
    errors.push(...immutableUpdateErrors(obj, old, ['data', 'binaryData']));
  }
  return errors;
}

/** Keys each well-known Secret type must carry. */
function secretTypeErrors(obj: JsonRecord, data: JsonRecord): FieldError[] {
  const has = (k: string): boolean => Object.hasOwn(data, k);
  switch (obj['type']) {
    case 'kubernetes.io/service-account-token': {
      const meta = isRecord(obj['metadata']) ? obj['metadata'] : {};
      const annotations = isRecord(meta['annotations']) ? meta['annotations'] : {};
      const accountKey = 'kubernetes.io/service-account.name';
      const account = annotations[accountKey];
      return typeof account === 'string' && account !== '' ? [] : [required(key('metadata.annotations', accountKey))];
    }
    case 'kubernetes.io/dockerconfigjson':
      return has('.dockerconfigjson') ? [] : [required(key('data', '.dockerconfigjson'))];
    case 'kubernetes.io/basic-auth':
      return has('username') || has('password') ? [] : [required(key('data', 'username')), required(key('data', 'password'))];
    case 'kubernetes.io/ssh-auth':
      return typeof data['ssh-privatekey'] === 'string' && data['ssh-privatekey'] !== ''
        ? []
        : [required(key('data', 'ssh-privatekey'))];
    case 'kubernetes.io/tls':
      return ['tls.crt', 'tls.key'].filter((k) => !has(k)).map((k) => required(key('data', k)));
    default:
      return [];
  }
}

/**
 * Expects stringData already merged into data (defaultSecret does it, as
 * Kubernetes' conversion does before validation).
 */
export function validateSecret(secret: unknown, old?: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const obj = recordAt(secret, '', errors);
  errors.push(...validateObjectMeta(obj['metadata'], META_RULES));
  const data = recordAt(obj['data'], 'data', errors);
  validateKeys(data, 'data', errors);
  if (base64ValuesBytes(data, 'data', true, errors) > CONFIG_DATA_BYTES_MAX) errors.push(tooLong('data', CONFIG_DATA_BYTES_MAX));
  if (obj['type'] !== undefined && typeof obj['type'] !== 'string') errors.push(invalid('type', obj['type'], 'must be a string'));
  errors.push(...secretTypeErrors(obj, data));
  if (isRecord(old)) {
    errors.push(...validateObjectMetaUpdate(obj['metadata'], old['metadata']));
    if ((obj['type'] ?? '') !== (old['type'] ?? '')) errors.push(invalid('type', obj['type'] ?? '', IMMUTABLE));
    errors.push(...immutableUpdateErrors(obj, old, ['data']));
  }
  return errors;
}
