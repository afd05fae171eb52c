/** Shared clock and builders for the table tests. */
import type { KubeObject } from '../../../proto/k8s/meta.js';

export const NOW_MS = Date.parse('2025-03-01T12:00:00Z');

const SECOND_MS = 1000;
export const s = (n: number): number => n * SECOND_MS;
export const m = (n: number): number => n * 60 * SECOND_MS;
export const h = (n: number): number => n * 3600 * SECOND_MS;
export const d = (n: number): number => n * 24 * 3600 * SECOND_MS;

/** The RFC 3339 timestamp `durationMs` before NOW_MS, in Kubernetes' whole-second form. */
export function ago(durationMs: number): string {
  return new Date(NOW_MS - durationMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function obj(kind: string, name: string, fields: Record<string, unknown> = {}, age = m(34)): KubeObject {
  const { metadata, ...rest } = fields;
  return {
    kind,
    metadata: { name, creationTimestamp: ago(age), resourceVersion: '42', ...(metadata as object | undefined) },
    ...rest,
  };
}
