/**
 * Source scanners that guard the module boundaries of DESIGN.md:
 *  - the determinism boundary of raft/core (no I/O, clocks, timers, randomness,
 *    asynchrony, and no imports from outside the folder);
 *  - the dependency direction between the top-level modules.
 *
 * The scanners work on text, not on a TypeScript AST, so they first blank out
 * comments and the contents of string, template and regex literals: a doc
 * comment that says "never call Math.random" or an error message that mentions
 * a "process" must not trip them, and import specifiers are read back from the
 * recorded string literals. Paths are repository-relative with forward slashes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix, join, relative, sep } from 'node:path';

export interface Violation {
  /** Repository-relative path of the offending file. */
  readonly file: string;
  /** 1-based line of the offending token. */
  readonly line: number;
  readonly rule: string;
  readonly detail: string;
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: ${v.rule}: ${v.detail}`;
}

// ---------------------------------------------------------------------------
// Lexing: blank out comments and literal contents, keep line structure.

export interface StrippedSource {
  /**
   * The source with comments replaced by spaces, each string literal replaced by
   * `'#N'` (N indexes `strings`), template text and regex bodies dropped.
   * Invariant: newlines sit at the same lines as in the original.
   */
  readonly code: string;
  readonly strings: readonly string[];
}

/** Words after which a `/` starts a regex literal rather than a division. */
const KEYWORDS_BEFORE_REGEX = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw',
  'case', 'do', 'else', 'yield', 'await',
]);
const PUNCTUATION_BEFORE_REGEX = '(,=:[!&|?{};+-*%<>~^}';

export function stripCommentsAndStrings(source: string): StrippedSource {
  const out: string[] = [];
  const strings: string[] = [];
  let i = 0;

  const newlinesIn = (text: string): string => text.replace(/[^\n]/g, '');

  /** The emitted code just before the cursor, trailing whitespace removed (enough to hold a keyword). */
  const lastSignificant = (): string => {
    const tailCharsMin = 16;
    let tail = '';
    for (let k = out.length - 1; k >= 0 && tail.trimEnd().length < tailCharsMin; k--) tail = out[k]! + tail;
    return tail.trimEnd();
  };

  const regexMayStartHere = (): boolean => {
    const before = lastSignificant();
    if (before === '') return true;
    const lastChar = before[before.length - 1]!;
    if (PUNCTUATION_BEFORE_REGEX.includes(lastChar)) return true;
    const word = /([A-Za-z_$][\w$]*)$/.exec(before)?.[1];
    return word !== undefined && KEYWORDS_BEFORE_REGEX.has(word);
  };

  /** Reads a quoted string starting at `i` (the quote); returns its raw body. */
  const readQuoted = (quote: string): string => {
    let j = i + 1;
    while (j < source.length && source[j] !== quote && source[j] !== '\n') {
      j += source[j] === '\\' ? 2 : 1;
    }
    const body = source.slice(i + 1, j);
    i = Math.min(j + 1, source.length);
    return body;
  };

  const readRegex = (): void => {
    let j = i + 1;
    let inClass = false;
    while (j < source.length && source[j] !== '\n') {
      const c = source[j];
      if (c === '\\') { j += 2; continue; }
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      j++;
    }
    j++;
    while (j < source.length && /[a-z]/i.test(source[j]!)) j++;
    i = j;
    out.push('/r/');
  };

  /** Lexes code until an unmatched `}` (inside `${...}`) or the end. */
  const lexCode = (insideTemplate: boolean): void => {
    let braceDepth = 0;
    while (i < source.length) {
      const c = source[i]!;
      const next = source[i + 1];
      if (c === '/' && next === '/') {
        while (i < source.length && source[i] !== '\n') i++;
      } else if (c === '/' && next === '*') {
        const end = source.indexOf('*/', i + 2);
        const stop = end === -1 ? source.length : end + 2;
        out.push(' ', newlinesIn(source.slice(i, stop)));
        i = stop;
      } else if (c === '\'' || c === '"') {
        const body = readQuoted(c);
        out.push(`'#${strings.length}'`, newlinesIn(body));
        strings.push(unescape(body));
      } else if (c === '`') {
        lexTemplate();
      } else if (c === '/' && regexMayStartHere()) {
        readRegex();
      } else {
        if (c === '{') braceDepth++;
        if (c === '}') {
          if (insideTemplate && braceDepth === 0) return;
          braceDepth--;
        }
        out.push(c);
        i++;
      }
    }
  };

  const lexTemplate = (): void => {
    out.push('`');
    i++;
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') {
        if (source[i + 1] === '\n') out.push('\n'); // line continuation
        i += 2;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        out.push('${');
        i += 2;
        lexCode(true);
        out.push('}');
        i++;
      } else {
        if (source[i] === '\n') out.push('\n');
        i++;
      }
    }
    out.push('`');
    i++;
  };

  lexCode(false);
  return { code: out.join(''), strings };
}

/** Enough unescaping for import specifiers (which never need escapes in practice). */
function unescape(body: string): string {
  return body.replace(/\\(.)/g, '$1');
}

function lineAt(code: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k++) if (code.charCodeAt(k) === 10) line++;
  return line;
}

// ---------------------------------------------------------------------------
// Imports.

export interface ImportRef {
  /** The module specifier, or undefined for a computed dynamic import. */
  readonly specifier: string | undefined;
  readonly kind: 'static' | 'dynamic' | 'require';
  readonly line: number;
}

/** Not preceded by an identifier character or a dot (so `x.from`, `fromX` don't count). */
const NOT_MEMBER = '(?<![\\w$.])';
const IMPORT_PATTERNS: readonly { readonly re: RegExp; readonly kind: ImportRef['kind'] }[] = [
  // import x from '…', import { x } from '…', export * from '…', import type … from '…'
  { re: new RegExp(`${NOT_MEMBER}from\\s*'#(\\d+)'`, 'g'), kind: 'static' },
  // import '…' (side effects only)
  { re: new RegExp(`${NOT_MEMBER}import\\s*'#(\\d+)'`, 'g'), kind: 'static' },
  // import('…'), and import(expr) below
  { re: new RegExp(`${NOT_MEMBER}import\\s*\\(\\s*(?:'#(\\d+)')?`, 'g'), kind: 'dynamic' },
  // require('…'), import x = require('…')
  { re: new RegExp(`${NOT_MEMBER}require\\s*\\(\\s*'#(\\d+)'`, 'g'), kind: 'require' },
];

export function findImports(stripped: StrippedSource): ImportRef[] {
  const refs: ImportRef[] = [];
  for (const { re, kind } of IMPORT_PATTERNS) {
    for (const m of stripped.code.matchAll(re)) {
      const index = m[1] === undefined ? undefined : Number(m[1]);
      refs.push({
        specifier: index === undefined ? undefined : stripped.strings[index],
        kind,
        line: lineAt(stripped.code, m.index),
      });
    }
  }
  return refs.sort((a, b) => a.line - b.line);
}

/**
 * Repository-relative target of a relative specifier (`./x.js` → `raft/core/x.js`),
 * or undefined for a package or `node:` specifier. A result starting with `..`
 * lies outside the repository.
 */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  return posix.normalize(posix.join(posix.dirname(fromFile), specifier));
}

// ---------------------------------------------------------------------------
// The determinism boundary of raft/core.

export const RAFT_CORE_DIR = 'raft/core';

/**
 * Globals and keywords the core must not use, with the reason shown on failure.
 * Beyond the list in STYLE.md this bans the other ways to reach the same things
 * (Promise, queueMicrotask, crypto.getRandomValues, globalThis.*).
 */
export const CORE_FORBIDDEN_WORDS: Readonly<Record<string, string>> = {
  async: 'the core is synchronous; I/O leaves as a Ready batch',
  await: 'the core is synchronous; I/O leaves as a Ready batch',
  Promise: 'the core is synchronous; I/O leaves as a Ready batch',
  queueMicrotask: 'the core is synchronous; I/O leaves as a Ready batch',
  setTimeout: 'time enters only as tick()',
  setInterval: 'time enters only as tick()',
  setImmediate: 'time enters only as tick()',
  Date: 'time enters only as tick()',
  performance: 'time enters only as tick()',
  process: 'no environment, exit codes or stdio in the core',
  fs: 'no disk in the core; the driver persists a Ready',
  require: 'imports are static and relative to raft/core',
  crypto: 'randomness enters only as the injected Rng',
  globalThis: 'reaching globals indirectly defeats this check',
};

/** Words used as `x.word` or as a property key (`{ word: … }`) are not uses of the global. */
function isMemberOrKey(code: string, start: number, end: number): boolean {
  let b = start - 1;
  while (b >= 0 && /\s/.test(code[b]!)) b--;
  if (code[b] === '.' && code[b - 1] !== '.') return true; // not a spread `...word`
  let a = end;
  while (a < code.length && /\s/.test(code[a]!)) a++;
  const keyFollows = code[a] === ':' || (code[a] === '?' && code[a + 1] === ':');
  const keyPosition = b < 0 || '{,;'.includes(code[b]!) || /\breadonly$/.test(code.slice(0, b + 1));
  return keyFollows && keyPosition;
}

/** Every determinism violation in one raft/core source file. */
export function scanCoreSource(file: string, source: string): Violation[] {
  const stripped = stripCommentsAndStrings(source);
  const violations: Violation[] = [];

  for (const ref of findImports(stripped)) {
    const target = ref.specifier === undefined ? undefined : resolveRelative(file, ref.specifier);
    const inside = target !== undefined && target.startsWith(`${RAFT_CORE_DIR}/`);
    if (ref.kind !== 'static' || !inside) {
      violations.push({
        file,
        line: ref.line,
        rule: 'core-import',
        detail: `${ref.kind} import of ${JSON.stringify(ref.specifier ?? '<computed>')}; ` +
          `raft/core may only import relative paths inside ${RAFT_CORE_DIR}/`,
      });
    }
  }

  const words = Object.keys(CORE_FORBIDDEN_WORDS).join('|');
  for (const m of stripped.code.matchAll(new RegExp(`(?<![\\w$])(${words})(?![\\w$])`, 'g'))) {
    const word = m[1]!;
    if (isMemberOrKey(stripped.code, m.index, m.index + word.length)) continue;
    violations.push({
      file,
      line: lineAt(stripped.code, m.index),
      rule: `core-forbidden:${word}`,
      detail: CORE_FORBIDDEN_WORDS[word]!,
    });
  }

  for (const m of stripped.code.matchAll(/(?<![\w$.])Math\s*(?:\.\s*random(?![\w$])|\[)/g)) {
    violations.push({
      file,
      line: lineAt(stripped.code, m.index),
      rule: 'core-forbidden:Math.random',
      detail: 'randomness enters only as the injected Rng',
    });
  }
  for (const m of stripped.code.matchAll(/(?<![\w$])import\s*\.\s*meta(?![\w$])/g)) {
    violations.push({
      file,
      line: lineAt(stripped.code, m.index),
      rule: 'core-forbidden:import.meta',
      detail: 'the core knows nothing about where it is loaded from',
    });
  }
  return violations.sort((a, b) => a.line - b.line);
}

// ---------------------------------------------------------------------------
// Dependency direction between top-level modules (DESIGN.md).

export const MODULES = [
  'raft', 'store', 'control-plane', 'node', 'proto', 'chaos', 'cli', 'bench', 'test',
] as const;
export type Module = (typeof MODULES)[number];

/** The folders holding product and tool code (test/ is scanned by nobody: it may import anything). */
export const SOURCE_MODULES: readonly Module[] = [
  'raft', 'store', 'control-plane', 'node', 'proto', 'chaos', 'cli', 'bench',
];

/** Modules that a module must never import, with the reason shown on failure. */
const FORBIDDEN: Readonly<Record<Module, Readonly<Partial<Record<Module, string>>>>> = {
  raft: {
    store: 'store is built on raft', 'control-plane': 'dependencies point toward raft',
    node: 'dependencies point toward raft', chaos: 'chaos drives raft, not the reverse',
    cli: 'cli is the outermost layer', bench: 'bench is a script', test: 'tests are not shipped',
  },
  store: {
    'control-plane': 'control-plane is built on store', node: 'node never sees the store',
    chaos: 'chaos drives store, not the reverse', cli: 'cli is the outermost layer',
    bench: 'bench is a script', test: 'tests are not shipped',
  },
  'control-plane': {
    raft: 'control-plane sees storage only through KvBackend',
    node: 'node talks to control-plane over HTTP only', chaos: 'chaos drives control-plane',
    cli: 'cli is the outermost layer', bench: 'bench is a script', test: 'tests are not shipped',
  },
  node: {
    store: 'node sees the cluster only through the HTTP API',
    raft: 'node sees the cluster only through the HTTP API',
    chaos: 'chaos drives node', cli: 'cli is the outermost layer',
    bench: 'bench is a script', test: 'tests are not shipped',
  },
  proto: {
    raft: 'proto is a leaf', store: 'proto is a leaf', 'control-plane': 'proto is a leaf',
    node: 'proto is a leaf', chaos: 'proto is a leaf', cli: 'proto is a leaf',
    bench: 'proto is a leaf', test: 'tests are not shipped',
  },
  chaos: {
    cli: 'cli is the outermost layer', bench: 'bench is a script', test: 'tests are not shipped',
  },
  cli: { bench: 'bench is a script', test: 'tests are not shipped' },
  bench: { test: 'tests are not shipped' },
  test: {},
};

/**
 * The only part of store/ that control-plane/ may import: the narrow KvBackend
 * interface (range, txn/CAS, watch, lease) and its implementations. Widening this
 * list is a design change, not a fix for a failing test.
 */
export const KV_BACKEND_PREFIX = 'store/kv-backend';

/**
 * The only part of control-plane/ that node/ may import: the HTTP API client
 * (ApiClient over HTTP, informers, work queue), the way a kubelet uses
 * client-go. It speaks to the API server over HTTP only.
 */
export const API_CLIENT_PREFIX = 'control-plane/client/';

/** Only the deterministic simulator drives raft/ and store/ in-process. */
export const CHAOS_IN_PROCESS_DIR = 'chaos/sim/';

/** Pure utilities of raft/core that any chaos code may use without driving Raft: the seeded RNG and assert. */
export const CHAOS_SHARED_UTILITIES: readonly string[] = ['raft/core/rng', 'raft/core/assert'];

export function moduleOf(repoPath: string): Module | undefined {
  const top = repoPath.split('/')[0];
  return MODULES.find((m) => m === top);
}

function directionViolation(file: string, target: string): string | undefined {
  const from = moduleOf(file);
  const to = moduleOf(target);
  if (target.startsWith('../')) return 'import leaves the repository';
  if (from === undefined || to === undefined || from === to) return undefined;
  const reason = FORBIDDEN[from][to];
  if (reason !== undefined) return `${from}/ must not import ${to}/: ${reason}`;
  if (from === 'control-plane' && to === 'store' && !target.startsWith(KV_BACKEND_PREFIX)) {
    return `control-plane/ may import from store/ only ${KV_BACKEND_PREFIX}*`;
  }
  if (from === 'node' && to === 'control-plane' && !target.startsWith(API_CLIENT_PREFIX)) {
    return `node/ may import from control-plane/ only the HTTP API client (${API_CLIENT_PREFIX}): node sees the cluster only through the HTTP API (share types via proto/)`;
  }
  const sharedUtility = CHAOS_SHARED_UTILITIES.some((u) => target.startsWith(u));
  if (from === 'chaos' && (to === 'raft' || to === 'store') && !file.startsWith(CHAOS_IN_PROCESS_DIR) && !sharedUtility) {
    return `only ${CHAOS_IN_PROCESS_DIR} drives ${to}/ in-process; chaos/ uses processes and public APIs`;
  }
  return undefined;
}

/** Every dependency-direction violation in one source file. */
export function scanDependencyDirection(file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  for (const ref of findImports(stripCommentsAndStrings(source))) {
    if (ref.specifier === undefined) continue;
    const target = resolveRelative(file, ref.specifier);
    if (target === undefined) continue;
    const detail = directionViolation(file, target);
    if (detail !== undefined) {
      violations.push({ file, line: ref.line, rule: 'dependency-direction', detail: `${ref.specifier}: ${detail}` });
    }
  }
  return violations;
}

// ---------------------------------------------------------------------------
// Files.

const TS_FILE = /\.(?:ts|mts|cts)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git']);

/** Repository-relative paths of the TypeScript files under `dir` (sorted, forward slashes). */
export function listTsFiles(repoRoot: string, dir: string): string[] {
  const files: string[] = [];
  const walk = (abs: string): void => {
    if (!existsSync(abs)) return;
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const child = join(abs, entry.name);
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) walk(child);
      else if (entry.isFile() && TS_FILE.test(entry.name)) files.push(relative(repoRoot, child).split(sep).join('/'));
    }
  };
  walk(join(repoRoot, dir));
  return files.sort();
}

export function readRepoFile(repoRoot: string, file: string): string {
  return readFileSync(join(repoRoot, file), 'utf8');
}
