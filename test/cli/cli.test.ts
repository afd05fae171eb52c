/**
 * The `strake` command as a user runs it: the built entry point (bin/strake.js,
 * which loads dist/) in a child process. `npm test` builds before running the
 * suites; when running vitest alone, run `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/strake.js', import.meta.url));
const BUILT_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** Generous for a cold start of Node on a slow CI machine; the commands below finish in about a second. */
const RUN_TIMEOUT_MS = 60_000;

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function strake(...args: string[]): RunResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` first (\`npm test\` does)`);
  }
});

describe('strake', () => {
  it('--help exits 0 and lists the sim command', () => {
    const { status, stdout } = strake('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^Usage: strake /m);
    expect(stdout).toMatch(/^\s+sim\b/m);
  });

  it('--version prints the package version and exits 0', () => {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string };
    const { status, stdout } = strake('--version');
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('an unknown command exits non-zero, names the command on stderr and prints nothing on stdout', () => {
    const { status, stdout, stderr } = strake('no-such-command');
    expect(status).not.toBe(0);
    expect(status).not.toBeNull();
    expect(stderr).toContain("unknown command 'no-such-command'");
    expect(stdout).toBe('');
  });
});

describe('strake sim (the contract README documents)', () => {
  it('--help lists --seeds, --from, --seed and --replicas', () => {
    const { status, stdout } = strake('sim', '--help');
    expect(status).toBe(0);
    for (const flag of ['--seeds', '--from', '--seed', '--replicas']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${flag}\\b`, 'm'));
    }
  });

  it('prints exactly one JSON summary line on stdout and exits 0 when every seed passes', () => {
    const { status, stdout, stderr } = strake('sim', '--seeds', '2', '--from', '1', '--workers', '1');
    expect(status, `stderr:\n${stderr}`).toBe(0);
    const lines = stdout.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(summary).toMatchObject({
      seeds: 2,
      violations: 0,
      livenessFailures: 0,
      elections: expect.any(Number),
      committed: expect.any(Number),
      ticks: expect.any(Number),
    });
    // A run that elects no leader or commits nothing checked nothing.
    expect(summary['elections']).toBeGreaterThan(0);
    expect(summary['committed']).toBeGreaterThan(0);
  });
});
