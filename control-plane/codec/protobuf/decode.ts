/**
 * Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`): the
 * 4-byte magic `k8s\0`, then a runtime.Unknown envelope whose typeMeta names
 * the object and whose raw bytes are the object in its group's generated.proto
 * schema. Decodes to the object's Kubernetes JSON form with apiVersion and
 * kind from the envelope.
 */
import protobuf from 'protobufjs';
import { schemaRoot, typeOfKind, UNKNOWN_TYPE } from './schema.js';
import { messageToJson, ProtobufJsonError } from './to-json.js';

export const KUBERNETES_PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

export const ProtobufBodyErrorCode = {
  /** Not a Kubernetes protobuf body, or a corrupt one: the client's bytes are wrong. */
  Malformed: 'Malformed',
  /** Well-formed, but of a kind or encoding this server does not decode from protobuf. */
  Unsupported: 'Unsupported',
} as const;
export type ProtobufBodyErrorCode = (typeof ProtobufBodyErrorCode)[keyof typeof ProtobufBodyErrorCode];

export class ProtobufBodyError extends Error {
  override readonly name = 'ProtobufBodyError';
  constructor(
    readonly code: ProtobufBodyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}

/** Decodes one object; throws ProtobufBodyError naming what is wrong (and the kind, once known). */
export function decodeKubernetesProtobuf(body: Uint8Array): DecodedObject {
  if (body.length < MAGIC.length || !MAGIC.equals(Buffer.from(body.subarray(0, MAGIC.length)))) {
    throw new ProtobufBodyError(ProtobufBodyErrorCode.Malformed, `the protobuf body does not start with the magic bytes "k8s\\x00"`);
  }
  const envelope = decodeMessage(schemaRoot().lookupType(UNKNOWN_TYPE), body.subarray(MAGIC.length), 'the runtime.Unknown envelope');
  const typeMeta = (envelope as unknown as { typeMeta?: { apiVersion?: string; kind?: string } }).typeMeta;
  const apiVersion = typeMeta?.apiVersion ?? '';
  const kind = typeMeta?.kind ?? '';
  if (apiVersion === '' || kind === '') {
    throw new ProtobufBodyError(ProtobufBodyErrorCode.Malformed, `the protobuf envelope does not name the object's apiVersion and kind (got "${apiVersion}", "${kind}")`);
  }
  const what = `${kind} (${apiVersion})`;
  const { contentEncoding = '', contentType = '' } = envelope as unknown as { contentEncoding?: string; contentType?: string };
  if (contentEncoding !== '') throw new ProtobufBodyError(ProtobufBodyErrorCode.Unsupported, `the protobuf body of ${what} has content encoding "${contentEncoding}"; only unencoded bodies are accepted`);
  if (contentType !== '' && contentType !== KUBERNETES_PROTOBUF) {
    throw new ProtobufBodyError(ProtobufBodyErrorCode.Unsupported, `the protobuf envelope of ${what} holds "${contentType}"; only ${KUBERNETES_PROTOBUF} is accepted`);
  }
  const type = typeOfKind(apiVersion, kind);
  if (type === undefined) {
    throw new ProtobufBodyError(ProtobufBodyErrorCode.Unsupported, `this server cannot decode ${what} from protobuf; send it as application/json`);
  }
  const raw = (envelope as unknown as { raw?: Uint8Array }).raw ?? new Uint8Array(0);
  const message = decodeMessage(type, raw, what);
  try {
    return { apiVersion, kind, ...messageToJson(type, message) };
  } catch (err) {
    if (err instanceof ProtobufJsonError) throw new ProtobufBodyError(ProtobufBodyErrorCode.Malformed, `the protobuf body of ${what} is malformed: ${err.message}`);
    throw err;
  }
}

function decodeMessage(type: protobuf.Type, bytes: Uint8Array, what: string): protobuf.Message {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new ProtobufBodyError(ProtobufBodyErrorCode.Malformed, `the protobuf body is malformed: cannot decode ${what}: ${(err as Error).message}`);
  }
}
