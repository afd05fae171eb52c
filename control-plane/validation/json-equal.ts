/**
 * Structural equality of JSON values, for "may not change" rules. Key order
 * does not matter; an absent key equals one holding `undefined`, because both
 * serialise the same way.
 */
import { child, index, isRecord } from './field-errors.js';

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (!jsonEqual(a[k], b[k])) return false;
  }
  return true;
}

/** How many differing paths a diff reports; enough to point at the change without flooding the message. */
export const DIFF_PATHS_MAX = 10;

/** Paths at which `before` and `after` differ, outermost first, at most DIFF_PATHS_MAX. */
export function jsonDiffPaths(before: unknown, after: unknown, path: string): string[] {
  const out: string[] = [];
  collectDiff(before, after, path, out);
  return out;
}

function collectDiff(before: unknown, after: unknown, path: string, out: string[]): void {
  if (out.length >= DIFF_PATHS_MAX || jsonEqual(before, after)) return;
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, i) => collectDiff(item, after[i], index(path, i), out));
    return;
  }
  if (isRecord(before) && isRecord(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      collectDiff(before[k], after[k], child(path, k), out);
    }
    return;
  }
  out.push(path);
}
