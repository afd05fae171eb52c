/** `strake sim`: flag validation, exit codes, and exactly one JSON line on stdout. */
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerSimCommand } from '../../chaos/sim/sim-command.js';

interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function sim(args: readonly string[]): Promise<Outcome> {
  let exitCode = 0;
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const program = new Command().exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: (s) => (stdout += s) });
  registerSimCommand(program, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(['sim', ...args], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    exitCode = err.exitCode;
  } finally {
    vi.restoreAllMocks();
  }
  return { exitCode, stdout, stderr };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('strake sim', () => {
  it('runs a range of seeds and prints one JSON summary line', async () => {
    const out = await sim(['--seeds', '3', '--from', '10', '--replicas', '5']);
    expect(out.exitCode).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, number>;
    expect(Object.keys(summary)).toEqual(['seeds', 'violations', 'livenessFailures', 'elections', 'committed', 'ticks']);
    expect(summary['seeds']).toBe(3);
    expect(summary['violations']).toBe(0);
    expect(summary['committed']).toBeGreaterThan(0);
    expect(out.stderr).toContain('3/3 seeds');
  });

  it('replays one seed with --seed, the same as in a range', async () => {
    const one = await sim(['--seed', '11', '--replicas', '5']);
    const range = await sim(['--seeds', '1', '--from', '11', '--replicas', '5']);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toBe(range.stdout);
    expect(one.stderr).toContain('seed 11 passed');
  });

  it.each([
    [['--replicas', '4'], '--replicas must be 3, 5 or 7, got 4'],
    [['--seeds', '0'], '--seeds must be an integer'],
    [['--seeds', '1e3'], '--seeds must be an integer'],
    [['--from', '-1'], '--from must be an integer'],
    [['--workers', '0'], '--workers must be an integer'],
  ])('rejects %j with exit code 2', async (args, message) => {
    const out = await sim(args);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stdout).toBe('');
  });

  it('treats an unknown flag as a usage error (exit code 2)', async () => {
    const out = await sim(['--bogus']);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toContain("unknown option '--bogus'");
  });
});
