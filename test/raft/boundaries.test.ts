/**
 * The boundaries DESIGN.md relies on, checked on the source text:
 *  - raft/core is deterministic (the simulator replays a seed only because of it);
 *  - imports between top-level modules point one way only.
 * Each scanner is also fed planted violations, so a scanner that silently stops
 * finding anything fails here instead of passing everything.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CORE_FORBIDDEN_WORDS,
  RAFT_CORE_DIR,
  SOURCE_MODULES,
  findImports,
  formatViolation,
  listTsFiles,
  readRepoFile,
  scanCoreSource,
  scanDependencyDirection,
  stripCommentsAndStrings,
  type Violation,
} from '../support/import-scan.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CORE_FILE = `${RAFT_CORE_DIR}/planted.ts`;

function rulesOf(violations: readonly Violation[]): string[] {
  return violations.map((v) => v.rule);
}

describe('raft/core determinism boundary', () => {
  const coreFiles = listTsFiles(REPO_ROOT, RAFT_CORE_DIR);

  it('finds the core sources (so the scan below cannot pass vacuously)', () => {
    expect(coreFiles.length).toBeGreaterThan(0);
  });

  it('no file under raft/core imports from outside it or reaches clocks, timers, randomness, I/O or async', () => {
    const violations = coreFiles.flatMap((file) => scanCoreSource(file, readRepoFile(REPO_ROOT, file)));
    expect(violations.map(formatViolation)).toEqual([]);
  });
});

describe('core scanner catches planted violations', () => {
  it('reports Math.random with its line', () => {
    const source = [
      "import { assert } from './assert.js';",
      'export function electionTimeout(base: number): number {',
      '  return base + Math.floor(Math.random() * base);',
      '}',
    ].join('\n');
    expect(scanCoreSource(CORE_FILE, source)).toEqual([
      expect.objectContaining({ file: CORE_FILE, line: 3, rule: 'core-forbidden:Math.random' }),
    ]);
  });

  const plantedUses: readonly (readonly [string, string])[] = [
    ['async', 'export async function persist(): Promise<void> {}'],
    ['await', 'export function f(p: unknown) { return await p; }'],
    ['Promise', 'export const p = Promise.resolve(1);'],
    ['queueMicrotask', 'queueMicrotask(() => {});'],
    ['setTimeout', 'setTimeout(() => {}, 10);'],
    ['setInterval', 'export const h = setInterval(() => {}, 10);'],
    ['setImmediate', 'setImmediate(() => {});'],
    ['Date', 'export const now = Date.now();'],
    ['Date', 'export const d: Date = new Date();'],
    ['performance', 'export const t = performance.now();'],
    ['process', "export const debug = process.env['RAFT_DEBUG'];"],
    ['fs', 'export function w(fs: unknown) { return fs; }'],
    ['require', "const x = require('./types.js');"],
    ['crypto', 'export const r = crypto.getRandomValues(new Uint32Array(1));'],
    ['globalThis', "export const s = (globalThis as any)['set' + 'Timeout'];"],
    ['import.meta', 'export const u = import.meta.url;'],
  ];

  it.each(plantedUses)('reports %s', (word, source) => {
    expect(rulesOf(scanCoreSource(CORE_FILE, source))).toContain(`core-forbidden:${word}`);
  });

  it('covers every forbidden word in the planted list', () => {
    const planted = new Set(plantedUses.map(([word]) => word));
    for (const word of Object.keys(CORE_FORBIDDEN_WORDS)) expect(planted).toContain(word);
  });

  it.each([
    ['a node: built-in', "import { readFileSync } from 'node:fs';"],
    ['a package', "import { Level } from 'level';"],
    ['the Raft driver next door', "import type { Transport } from '../driver/transport.js';"],
    ['the store', "import { Mvcc } from '../../store/mvcc.js';"],
    ['a re-export from outside', "export * from '../driver/index.js';"],
    ['a side-effect import', "import 'node:timers';"],
    ['a dynamic import', "export const m = import('./types.js');"],
  ])('reports an import of %s', (_what, source) => {
    expect(rulesOf(scanCoreSource(CORE_FILE, source))).toEqual(['core-import']);
  });

  it('accepts relative imports inside raft/core, including type-only and multi-line ones', () => {
    const source = [
      "import { assert } from './assert.js';",
      'import type {',
      '  Entry,',
      '  HardState,',
      "} from './types.js';",
      "export { SeededRng } from './rng.js';",
    ].join('\n');
    expect(scanCoreSource(CORE_FILE, source)).toEqual([]);
  });

  it('ignores the forbidden words in comments, strings, templates and regexes', () => {
    const source = [
      '/**',
      ' * Never call Math.random(), Date.now() or setTimeout here; no async, no await,',
      " * no process, no fs, no require('x'), no performance.now().",
      ' */',
      '// import { x } from "node:fs";',
      "const message = 'the process is not the leader; Date and fs are words';",
      'const other = "setTimeout(Math.random())";',
      'const n = 3;',
      'const t = `the ${n} async replicas are out of Date`;',
      'const re = /process|Date/g;',
      "const isTimer = (s: string) => { return /^(Date|process)\\('$/.test(s); };",
      'const half = n / 2 / 1;',
      'export { message, other, t, re, isTimer, half };',
    ].join('\n');
    expect(scanCoreSource(CORE_FILE, source)).toEqual([]);
  });

  it('ignores member access and property keys that share a forbidden name', () => {
    const source = [
      'interface Stats { readonly process: number; fs?: number; Date: string }',
      'export function f(s: Stats, o: { async: boolean }) {',
      '  const copy = { process: s.process, fs: s?.fs, async: o.async };',
      '  return copy;',
      '}',
      'export class SnapshotOutOfDateError extends Error {}',
    ].join('\n');
    expect(scanCoreSource(CORE_FILE, source)).toEqual([]);
  });

  it('still finds code inside template expressions', () => {
    const source = 'export const s = `elapsed ${Date.now()} ms`;';
    expect(rulesOf(scanCoreSource(CORE_FILE, source))).toEqual(['core-forbidden:Date']);
  });

  it('keeps line numbers through multi-line comments and templates', () => {
    const source = ['/*', ' * a', ' */', 'const t = `x', 'y\\', 'z`;', 'setTimeout(() => t, 1);'].join('\n');
    expect(scanCoreSource(CORE_FILE, source)).toEqual([
      expect.objectContaining({ line: 7, rule: 'core-forbidden:setTimeout' }),
    ]);
  });

  it('reads import specifiers back from the stripped source', () => {
    const stripped = stripCommentsAndStrings("import a from './a.js'; // import b from './b.js'\nimport('./c.js');");
    expect(findImports(stripped).map((r) => [r.kind, r.specifier, r.line])).toEqual([
      ['static', './a.js', 1],
      ['dynamic', './c.js', 2],
    ]);
  });
});

describe('dependency direction between modules', () => {
  const files = SOURCE_MODULES.flatMap((dir) => listTsFiles(REPO_ROOT, dir));

  it('scans the source tree (including raft/core)', () => {
    expect(files.some((f) => f.startsWith(`${RAFT_CORE_DIR}/`))).toBe(true);
  });

  it('every import between top-level modules points the way DESIGN.md allows', () => {
    const violations = files.flatMap((file) => scanDependencyDirection(file, readRepoFile(REPO_ROOT, file)));
    expect(violations.map(formatViolation)).toEqual([]);
  });
});

describe('dependency scanner catches planted violations', () => {
  it.each([
    ['raft/driver/node.ts', "import { Mvcc } from '../../store/mvcc.js';", 'raft/ must not import store/'],
    ['raft/core/raft.ts', "import { Sim } from '../../chaos/sim/cluster.js';", 'raft/ must not import chaos/'],
    ['raft/driver/node.ts', "import { main } from '../../cli/main.js';", 'raft/ must not import cli/'],
    ['store/mvcc.ts', "import type { Pod } from '../control-plane/registry/pods.js';", 'store/ must not import control-plane/'],
    ['store/server.ts', "import { Agent } from '../node/agent.js';", 'store/ must not import node/'],
    ['store/server.ts', "export * from '../chaos/checkers/linearizability.js';", 'store/ must not import chaos/'],
    ['node/agent.ts', "import { Mvcc } from '../store/mvcc.js';", 'node/ must not import store/'],
    ['node/agent.ts', "import { RawNode } from '../raft/core/raw-node.js';", 'node/ must not import raft/'],
    ['node/agent.ts', "import { registry } from '../control-plane/registry.js';", 'node/ may import from control-plane/ only the HTTP API client'],
    ['control-plane/api/server.ts', "import { RawNode } from '../../raft/core/raw-node.js';", 'control-plane/ must not import raft/'],
    ['control-plane/api/server.ts', "import { Mvcc } from '../../store/mvcc.js';", 'control-plane/ may import from store/ only'],
    ['proto/k8s/pod.ts', "import { Mvcc } from '../../store/mvcc.js';", 'proto/ must not import store/'],
    ['chaos/nemesis/kill.ts', "import { RawNode } from '../../raft/core/raw-node.js';", 'only chaos/sim/ drives raft/'],
    ['chaos/workload/kv.ts', "import { Mvcc } from '../../store/mvcc.js';", 'only chaos/sim/ drives store/'],
    ['chaos/report.ts', "import { main } from '../cli/main.js';", 'chaos/ must not import cli/'],
    ['cli/main.ts', "import { x } from '../test/support/import-scan.js';", 'cli/ must not import test/'],
    ['cli/main.ts', "import { x } from '../../elsewhere/x.js';", 'import leaves the repository'],
  ])('%s: %s', (file, source, expected) => {
    const violations = scanDependencyDirection(file, source);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.detail).toContain(expected);
  });

  it.each([
    ['cli/main.ts', "import { registerSimCommand } from '../chaos/sim/sim-command.js';"],
    ['chaos/sim/cluster.ts', "import { RawNode } from '../../raft/core/raw-node.js';"],
    ['chaos/sim/cluster.ts', "import { Mvcc } from '../../store/mvcc.js';"],
    ['store/mvcc.ts', "import { RawNode } from '../raft/core/raw-node.js';"],
    ['control-plane/api/server.ts', "import type { KvBackend } from '../../store/kv-backend.js';"],
    ['control-plane/api/server.ts', "import { Etcd3Backend } from '../../store/kv-backend/etcd3.js';"],
    ['node/agent.ts', "import type { Pod } from '../proto/k8s/pod.js';"],
    ['node/agent.ts', "import { HttpApiClient } from '../control-plane/client/http-client.js';"],
    ['node/agent.ts', "import { request } from 'node:http';"],
    ['bench/raft-core.ts', "import { RawNode } from '../raft/core/raw-node.js';"],
    ['raft/core/raft.ts', "// import { Mvcc } from '../../store/mvcc.js';"],
  ])('allows %s: %s', (file, source) => {
    expect(scanDependencyDirection(file, source)).toEqual([]);
  });
});
