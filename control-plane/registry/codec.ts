/**
 * How objects are stored: JSON, UTF-8, without metadata.resourceVersion (the
 * store's mod revision is the resourceVersion, so storing it would only let
 * the two disagree). Decoding puts it back.
 */
import type { KubeObject } from '../../proto/k8s/meta.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeObject(o: KubeObject): Uint8Array {
  const { resourceVersion: _dropped, ...metadata } = o.metadata;
  return encoder.encode(JSON.stringify({ ...o, metadata }));
}

/** The stored object with its resourceVersion, or undefined if the bytes are not an object of ours. */
export function decodeObject(value: Uint8Array, modRevision: number): KubeObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const o = parsed as KubeObject;
  if (o.metadata === null || typeof o.metadata !== 'object') return undefined;
  o.metadata.resourceVersion = String(modRevision);
  return o;
}
