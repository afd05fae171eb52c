/**
 * store/mvcc is the replicated state machine: replicas stay identical only if it
 * is deterministic. Checked on the source text: it imports only its own files,
 * msgpackr and node:crypto (hashing), and reaches no clock, timer, randomness,
 * environment, file system or asynchrony. The scanner is also fed planted
 * violations, so it cannot pass vacuously.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  findImports,
  formatViolation,
  listTsFiles,
  readRepoFile,
  resolveRelative,
  stripCommentsAndStrings,
  type Violation,
} from '../support/import-scan.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MVCC_DIR = 'store/mvcc';
const ALLOWED_PACKAGES = new Set(['msgpackr', 'node:crypto']);

const FORBIDDEN: Readonly<Record<string, string>> = {
  Date: 'time arrives inside commands',
  performance: 'time arrives inside commands',
  setTimeout: 'no timers in the state machine',
  setInterval: 'no timers in the state machine',
  setImmediate: 'no timers in the state machine',
  queueMicrotask: 'apply is synchronous',
  async: 'apply is synchronous',
  await: 'apply is synchronous',
  Promise: 'apply is synchronous',
  process: 'no environment in the state machine',
  require: 'imports are static',
  globalThis: 'reaching globals indirectly defeats this check',
  randomBytes: 'no randomness: replicas would diverge',
  randomUUID: 'no randomness: replicas would diverge',
  getRandomValues: 'no randomness: replicas would diverge',
};

/** Deterministic helpers shared with the Raft core (one assert for the whole codebase). */
const SHARED_FILES: ReadonlySet<string> = new Set(['raft/core/assert.js', 'raft/core/assert.ts', 'raft/core/assert']);

function lineOf(code: string, offset: number): number {
  return code.slice(0, offset).split('\n').length;
}

function scanMvccSource(file: string, source: string): Violation[] {
  const stripped = stripCommentsAndStrings(source);
  const violations: Violation[] = [];
  for (const ref of findImports(stripped)) {
    const spec = ref.specifier;
    const target = spec === undefined ? undefined : resolveRelative(file, spec);
    const allowed = ref.kind === 'static' && spec !== undefined &&
      (target === undefined ? ALLOWED_PACKAGES.has(spec) : target.startsWith(`${MVCC_DIR}/`) || SHARED_FILES.has(target));
    if (!allowed) {
      violations.push({ file, line: ref.line, rule: 'mvcc-import', detail: `${ref.kind} import of ${JSON.stringify(spec ?? '<computed>')}` });
    }
  }
  const words = Object.keys(FORBIDDEN).join('|');
  for (const m of stripped.code.matchAll(new RegExp(`(?<![\\w$.])(${words})(?![\\w$])(?!\\s*[?]?:)`, 'g'))) {
    violations.push({ file, line: lineOf(stripped.code, m.index), rule: `mvcc-forbidden:${m[1]}`, detail: FORBIDDEN[m[1]!]! });
  }
  for (const m of stripped.code.matchAll(/(?<![\w$.])Math\s*(?:\.\s*random(?![\w$])|\[)/g)) {
    violations.push({ file, line: lineOf(stripped.code, m.index), rule: 'mvcc-forbidden:Math.random', detail: 'no randomness' });
  }
  return violations;
}

describe('store/mvcc determinism boundary', () => {
  const files = listTsFiles(REPO_ROOT, MVCC_DIR);

  it('finds the sources (so the scan cannot pass vacuously)', () => {
    expect(files).toContain(`${MVCC_DIR}/state-machine.ts`);
  });

  it('imports only its own files, msgpackr and node:crypto, and reaches no clock, timer, randomness or I/O', () => {
    const violations = files.flatMap((file) => scanMvccSource(file, readRepoFile(REPO_ROOT, file)));
    expect(violations.map(formatViolation)).toEqual([]);
  });
});

describe('the scanner catches planted violations', () => {
  const file = `${MVCC_DIR}/planted.ts`;
  const rules = (source: string) => scanMvccSource(file, source).map((v) => `${v.line}:${v.rule}`);

  it('flags imports from outside store/mvcc and other packages', () => {
    expect(rules("import { RawNode } from '../../raft/core/raw-node.js';")).toEqual(['1:mvcc-import']);
    expect(rules("import { readFileSync } from 'node:fs';")).toEqual(['1:mvcc-import']);
    expect(rules("import { x } from '../replica/member-id.js';")).toEqual(['1:mvcc-import']);
    expect(rules("const m = await import('./x.js');")).toEqual(['1:mvcc-import', '1:mvcc-forbidden:await']);
  });

  it('allows the shared assert of raft/core', () => {
    expect(rules("import { assert } from '../../raft/core/assert.js';")).toEqual([]);
  });

  it('allows its own files and the two packages', () => {
    expect(rules("import { Packr } from 'msgpackr';\nimport { createHash } from 'node:crypto';\nimport { a } from './assert.js';")).toEqual([]);
  });

  it('flags clocks, timers and randomness, but not the words in comments, strings or as keys', () => {
    expect(rules('const t = Date.now();')).toEqual(['1:mvcc-forbidden:Date']);
    expect(rules('\nconst r = Math.random();')).toEqual(['2:mvcc-forbidden:Math.random']);
    expect(rules('setTimeout(f, 1);')).toEqual(['1:mvcc-forbidden:setTimeout']);
    expect(rules("import { randomBytes } from 'node:crypto';")).toEqual(['1:mvcc-forbidden:randomBytes']);
    expect(rules('// Date.now() is not called here\nconst s = "Math.random()";\nconst o = { process: 1 };')).toEqual([]);
  });
});
