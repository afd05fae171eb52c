/** `strake image` through a commander program built with registerImageCommand (main.ts registers it separately). */
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerImageCommand } from '../../../../cli/image.js';
import { buildBusyboxImage } from '../../../../node/runtime/images/busybox-image.js';
import { mustFindBusybox, removeTree, tempDir } from './fixtures.js';

let work: string;
let archive: string;

beforeAll(async () => {
  work = await tempDir('image-cli');
  archive = join(work, 'busybox.tar');
  buildBusyboxImage({ busyboxPath: mustFindBusybox(), ref: 'busybox:1.0', outFile: archive, format: 'oci-archive' });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await removeTree(work);
});

async function strakeImage(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let code = 0;
  const program = new Command().exitOverride();
  registerImageCommand(program, (c) => (code = c));
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await program.parseAsync(['image', ...args], { from: 'user' });
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout, stderr };
}

describe('strake image', () => {
  it('imports, lists and removes', async () => {
    const root = join(work, 'store');
    const imp = await strakeImage(['import', archive, '--root-dir', root]);
    expect(imp).toMatchObject({ code: 0, stdout: 'docker.io/library/busybox:1.0\n', stderr: '' });
    const ls = await strakeImage(['ls', '--root-dir', root]);
    expect(ls.code).toBe(0);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(lines[1]).toMatch(/^docker\.io\/library\/busybox\s+1\.0\s+[a-f0-9]{12}\s+1\.\dMiB$/);
    expect(lines).toHaveLength(2);
    expect(await strakeImage(['rm', 'busybox:1.0', '--root-dir', root])).toMatchObject({ code: 0 });
    expect((await strakeImage(['ls', '--root-dir', root])).stdout.trimEnd().split('\n')).toHaveLength(1);
    const again = await strakeImage(['rm', 'busybox:1.0', '--root-dir', root]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no image busybox:1.0');
  });

  it('reports a bad archive and a bad reference with their exit codes', async () => {
    const root = join(work, 'store2');
    const bad = await strakeImage(['import', join(work, 'missing.tar'), '--root-dir', root]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^strake image import: .*missing\.tar/);
    const ref = await strakeImage(['pull', 'Bad:Ref', '--root-dir', root]);
    expect(ref.code).toBe(2);
    expect(ref.stderr).toContain('invalid image reference');
  });
});
