/**
 * Credentials of a local cluster made by `strake up`: an admin bearer token
 * (in a static token file, group system:masters), the service-account signing
 * key, and a kubeconfig for kubectl with one context per master (HTTPS, trusting
 * the cluster CA from pki.ts). Existing
 * files are kept, so restarting `strake up` on the same data dir leaves
 * kubeconfigs that users copied elsewhere working.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';

/** Bytes of randomness in the admin token and the signing key. */
const SECRET_BYTES = 32;

export interface ClusterCredentials {
  readonly tokenFile: string;
  readonly serviceAccountKeyFile: string;
  readonly adminToken: string;
}

export async function ensureCredentials(dataDir: string): Promise<ClusterCredentials> {
  const tokenFile = join(dataDir, 'tokens.csv');
  const serviceAccountKeyFile = join(dataDir, 'service-account.key');
  let adminToken = await existingAdminToken(tokenFile);
  if (adminToken === undefined) {
    adminToken = randomBytes(SECRET_BYTES).toString('hex');
    await writeFile(tokenFile, `${adminToken},admin,admin,"system:masters"\n`, { mode: 0o600 });
  }
  const key = await readFile(serviceAccountKeyFile).catch(() => undefined);
  if (key === undefined) await writeFile(serviceAccountKeyFile, randomBytes(SECRET_BYTES).toString('hex') + '\n', { mode: 0o600 });
  return { tokenFile, serviceAccountKeyFile, adminToken };
}

async function existingAdminToken(tokenFile: string): Promise<string | undefined> {
  const text = await readFile(tokenFile, 'utf8').catch(() => undefined);
  const line = text?.split('\n').find((l) => l.split(',')[1] === 'admin');
  return line?.split(',')[0];
}

/**
 * A kubeconfig with one cluster and context per master (`strake` points at the
 * first; `strake-<name>` at each), all using the admin token. kubectl talks to
 * one server per context, so failing over between masters means switching
 * context (or running a load balancer in front).
 */
export async function writeKubeconfig(path: string, masters: ReadonlyArray<{ name: string; apiUrl: string }>, adminToken: string, caPem: string): Promise<void> {
  const caData = Buffer.from(caPem).toString('base64');
  // kubectl sends tokens over TLS only: the same port answers HTTPS (control-plane/api/listener.ts).
  const clusters = masters.map((m) => ({ name: `strake-${m.name}`, cluster: { server: m.apiUrl.replace(/^http:/, 'https:'), 'certificate-authority-data': caData } }));
  const contexts = masters.map((m) => ({ name: `strake-${m.name}`, context: { cluster: `strake-${m.name}`, user: 'strake-admin', namespace: 'default' } }));
  const first = masters[0];
  if (first !== undefined) contexts.unshift({ name: 'strake', context: { cluster: `strake-${first.name}`, user: 'strake-admin', namespace: 'default' } });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters,
    contexts,
    'current-context': 'strake',
    users: [{ name: 'strake-admin', user: { token: adminToken } }],
    preferences: {},
  };
  await writeFile(path, toYaml(config), { mode: 0o600 });
}
