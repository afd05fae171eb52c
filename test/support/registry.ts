/**
 * A real OCI distribution registry for tests: Debian's `docker-registry`
 * (distribution 2.x) serving plain HTTP on a loopback port, filesystem storage
 * in a temp dir, no auth. Images are pushed with skopeo from an OCI archive.
 * Missing tools fail the test with a clear reason (CI installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
/** distribution starts in well under a second; a loaded CI machine gets ten. */
const START_TIMEOUT_MS = 10_000;
const PUSH_TIMEOUT_MS = 60_000;

export interface TestRegistry {
  /** `127.0.0.1:<port>`, the domain of references into this registry. */
  host: string;
  push(ociArchive: string, repoAndTag: string): void;
  stop(): Promise<void>;
}

export function requireTool(name: string, hint: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || path === '') throw new Error(`this test needs ${name} on PATH (${hint})`);
  return path;
}

export async function startRegistry(port: number): Promise<TestRegistry> {
  requireTool('docker-registry', 'Debian: apt-get install docker-registry');
  const skopeo = requireTool('skopeo', 'Debian: apt-get install skopeo');
  const dir = await mkdtemp(join(tmpdir(), 'strake-registry-'));
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: error }',
      'storage:',
      `  filesystem: { rootdirectory: ${join(dir, 'data')} }`,
      '  delete: { enabled: true }',
      `http: { addr: "127.0.0.1:${port}" }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-8192)));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitListening(port, child, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  const host = `127.0.0.1:${port}`;
  return {
    host,
    stop,
    push(ociArchive, repoAndTag) {
      const r = spawnSync(skopeo, ['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', `oci-archive:${ociArchive}`, `docker://${host}/${repoAndTag}`], { encoding: 'utf8', timeout: PUSH_TIMEOUT_MS });
      if (r.status !== 0) throw new Error(`skopeo copy to ${host}/${repoAndTag} failed (${r.status}): ${r.stderr} ${r.error?.message ?? ''}`);
    },
  };
}

async function waitListening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms: ${log()}`);
}
