/**
 * Content negotiation: which representation a client accepts (JSON, YAML, or a
 * meta.k8s.io/v1 Table for `kubectl get`), and decoding of request bodies
 * (objects as JSON, YAML or Kubernetes protobuf; patches by their patch
 * content type, JSON only, as in Kubernetes).
 */
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from './errors.js';
import { StatusReason } from '../../proto/k8s/meta.js';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF, ProtobufBodyError, ProtobufBodyErrorCode } from '../codec/protobuf/decode.js';

export const Representation = { Json: 'json', Yaml: 'yaml', Table: 'table' } as const;
export type Representation = (typeof Representation)[keyof typeof Representation];

interface MediaRange {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

function mediaRanges(accept: string): MediaRange[] {
  return accept.split(',').map((part) => {
    const [type = '', ...paramParts] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    return { type: type.toLowerCase(), params };
  });
}

/**
 * The first representation in the client's list that we serve. Tables only
 * where `tableAllowed` (lists, gets and watches of resources). No Accept, or
 * `*\/*`, means JSON. Nothing acceptable is 406, as in Kubernetes.
 */
export function chooseRepresentation(accept: string | undefined, tableAllowed: boolean): Representation {
  if (accept === undefined || accept.trim() === '') return Representation.Json;
  for (const r of mediaRanges(accept)) {
    if (r.params.as !== undefined) {
      if (r.params.as === 'Table' && tableAllowed && r.params.g === 'meta.k8s.io' && (r.params.v === 'v1' || r.params.v === 'v1beta1')) return Representation.Table;
      continue;
    }
    if (r.type === 'application/json' || r.type === 'application/*' || r.type === '*/*') return Representation.Json;
    if (r.type === 'application/yaml') return Representation.Yaml;
  }
  throw new ApiError(StatusReason.NotAcceptable, `only the following media types are accepted: application/json, application/yaml`);
}

export const PatchType = {
  Json: 'application/json-patch+json',
  Merge: 'application/merge-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Decodes the object of a create or update (or DeleteOptions): JSON, YAML, or
 * Kubernetes protobuf, which kubectl 1.32's typed clients send for built-in
 * kinds. Malformed input is 400; a protobuf kind outside the schema is 415.
 */
export function decodeObjectBody(contentType: string | undefined, raw: Buffer | undefined): unknown {
  if (mediaTypeOf(contentType) !== KUBERNETES_PROTOBUF) return decodeBody(contentType, raw);
  if (raw === undefined || raw.length === 0) throw badRequest('the request body is empty');
  try {
    return decodeKubernetesProtobuf(raw);
  } catch (err) {
    if (!(err instanceof ProtobufBodyError)) throw err;
    throw err.code === ProtobufBodyErrorCode.Unsupported ? new ApiError(StatusReason.UnsupportedMediaType, err.message) : badRequest(err.message);
  }
}

/** Decodes a JSON or YAML body (patches included). Malformed input is 400, naming the parser's complaint. */
export function decodeBody(contentType: string | undefined, raw: Buffer | undefined): unknown {
  const type = mediaTypeOf(contentType);
  const text = raw === undefined ? '' : raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') return parseYamlBody(text);
  if (type === 'application/json' || type === '' || Object.values(PatchType).includes(type as PatchType)) return parseJsonBody(text);
  throw new ApiError(StatusReason.UnsupportedMediaType, `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request was not valid JSON: ${(err as Error).message}`);
  }
}

function parseYamlBody(text: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw badRequest(`the body of the request was not valid YAML: ${(err as Error).message}`);
  }
}
