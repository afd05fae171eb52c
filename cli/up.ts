/**
 * `strake up`: the embedded default cluster. Starts the masters as separate OS
 * processes on loopback (ports from --base-port, see DESIGN.md), each serving
 * the store and the HTTP API; writes the credentials, a kubeconfig and
 * <data-dir>/cluster.json; waits until every member's store and API answer,
 * prints the endpoints, and stops everything cleanly on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Etcd3 } from 'etcd3';
import { ensureCredentials, writeKubeconfig, type ClusterCredentials } from './credentials.js';
import type { ExitCodeSink } from './main.js';
import { ensurePki, type ClusterPki } from './pki.js';
import { masterPorts } from './ports.js';
import { parseIntegerOption } from './options.js';
import { STRAKE_BIN, seedImageArchive, startNode, waitNodesReady } from './up-nodes.js';

/** Waiting longer than this for a cluster on loopback means something is wrong. */
export const READY_TIMEOUT_MS = 60_000;
/** Children get this long to exit on SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 10_000;
/** An upper bound on masters started by `up`; a Raft cluster larger than 7 voters only gets slower. */
export const MAX_MASTERS = 7;

export interface ClusterFile {
  readonly masters: Array<{
    name: string;
    pid: number;
    peerUrl: string;
    kvEndpoint: string;
    apiUrl: string;
    dataDir: string;
  }>;
  readonly nodes: Array<{ name: string; pid: number }>;
  readonly kubeconfig: string;
}

interface UpOptions {
  masters: number;
  nodes: number;
  basePort: number;
  dataDir: string;
  nodeMonitorGraceMs?: number;
}

/** Node j's own server (logs, exec) listens on P+NODE_PORT_OFFSET+j, above the masters' ports (at most MAX_MASTERS of 10 each). */
export const NODE_PORT_OFFSET = 100;

export function registerUpCommand(program: Command, setExitCode: ExitCodeSink): void {
  program
    .command('up')
    .description('start a local cluster (masters as separate processes on loopback) and keep it running')
    .option('--masters <n>', 'number of masters', (v) => parseIntegerOption('--masters', v, 1, MAX_MASTERS), 3)
    .option('--nodes <n>', 'number of node agents', (v) => parseIntegerOption('--nodes', v, 0, 100), 2)
    .option('--base-port <port>', 'first port; master i uses base+10i (+1, +2)', (v) => parseIntegerOption('--base-port', v, 1024, 65_000), 24_000)
    .option('--data-dir <dir>', 'where each member keeps its data', './.strake')
    .option('--node-monitor-grace-ms <ms>', "passed to the masters: a node silent this long is marked NotReady and its pods are evicted", (v) => parseIntegerOption('--node-monitor-grace-ms', v, 1_000, 3_600_000))
    .action(async (opts: UpOptions) => {
      setExitCode(await runUp(opts));
    });
}

async function runUp(opts: UpOptions): Promise<number> {
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const members = Array.from({ length: opts.masters }, (_, i) => ({ name: `m${i}`, ...masterPorts(opts.basePort, i) }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await stopChildren(children);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\nreceived ${sig}; stopping the cluster...\n`);
    void stopAll().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const credentials = await ensureCredentials(dataDir);
  const kubeconfig = join(dataDir, 'kubeconfig');
  const pki = await ensurePki(dataDir);
  await writeKubeconfig(kubeconfig, members, credentials.adminToken, pki.caPem);
  const file: ClusterFile = { masters: [], nodes: [], kubeconfig };
  for (const m of members) {
    const memberDir = join(dataDir, m.name);
    await mkdir(memberDir, { recursive: true });
    const child = await startMaster({ ...m, memberDir, initialCluster, nodeMonitorGraceMs: opts.nodeMonitorGraceMs }, credentials, pki);
    children.push(child);
    child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`master ${m.name} (pid ${child.pid}) exited: ${signal ?? `code ${code}`}\n`);
    });
    file.masters.push({ name: m.name, pid: child.pid!, peerUrl: m.peerUrl, kvEndpoint: m.kvEndpoint, apiUrl: m.apiUrl, dataDir: memberDir });
    process.stderr.write(`started master ${m.name} (pid ${child.pid})\n`);
  }
  await writeFile(join(dataDir, 'cluster.json'), JSON.stringify(file, null, 2) + '\n');

  const ready =
    (await waitReady(members.map((m) => m.kvEndpoint), READY_TIMEOUT_MS)) &&
    (await waitApiReady(members.map((m) => m.apiUrl), credentials.adminToken, READY_TIMEOUT_MS));
  if (!ready) {
    process.stderr.write(`cluster did not become ready within ${READY_TIMEOUT_MS} ms; see ${dataDir}/m*/master.log\n`);
    await stopAll();
    return 1;
  }
  if (opts.nodes > 0) {
    const seedImage = await seedImageArchive(dataDir);
    for (let j = 0; j < opts.nodes; j++) {
      const node = await startNode({ name: `n${j}`, index: j, dataDir, kubeconfig, port: opts.basePort + NODE_PORT_OFFSET + j, seedImage });
      children.push(node.child);
      node.child.once('exit', (code, signal) => {
        if (!stopping) process.stderr.write(`node ${node.name} (pid ${node.child.pid}) exited: ${signal ?? `code ${code}`}\n`);
      });
      file.nodes.push({ name: node.name, pid: node.child.pid! });
      process.stderr.write(`started node ${node.name} (pid ${node.child.pid})\n`);
    }
    await writeFile(join(dataDir, 'cluster.json'), JSON.stringify(file, null, 2) + '\n');
    if (!(await waitNodesReady(file.nodes.map((n) => n.name), { apiUrls: members.map((m) => m.apiUrl), token: credentials.adminToken, timeoutMs: READY_TIMEOUT_MS }))) {
      process.stderr.write(`nodes did not become Ready within ${READY_TIMEOUT_MS} ms; see ${dataDir}/n*/node.log\n`);
      await stopAll();
      return 1;
    }
  }
  process.stdout.write(
    [
      'cluster is ready',
      ...file.masters.map((m) => `  ${m.name}: api ${m.apiUrl}  kv ${m.kvEndpoint}  peer ${m.peerUrl}  (pid ${m.pid})`),
      ...file.nodes.map((n) => `  ${n.name}: node agent (pid ${n.pid}), log ${join(dataDir, n.name, 'node.log')}`),
      `  cluster file: ${join(dataDir, 'cluster.json')}`,
      `  kubeconfig:   ${kubeconfig}`,
      `  try: kubectl --kubeconfig ${kubeconfig} get namespaces`,
      `       npx strake kv --endpoints ${file.masters.map((m) => m.kvEndpoint).join(',')} get --prefix /registry/ --keys-only`,
      'press Ctrl-C to stop',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolveWait) => {
    let alive = children.length;
    for (const c of children) c.once('exit', () => (--alive === 0 ? resolveWait() : undefined));
  });
  return stopping ? 0 : 1;
}

async function startMaster(m: {
  name: string;
  memberDir: string;
  initialCluster: string;
  peerUrl: string;
  kvEndpoint: string;
  apiUrl: string;
  nodeMonitorGraceMs: number | undefined;
}, credentials: ClusterCredentials, pki: ClusterPki): Promise<ChildProcess> {
  const log = await open(join(m.memberDir, 'master.log'), 'a');
  const args = [
    STRAKE_BIN,
    'master',
    '--name', m.name,
    '--data-dir', m.memberDir,
    '--listen-peer', m.peerUrl,
    '--listen-client', m.kvEndpoint,
    '--listen-api', m.apiUrl,
    '--initial-cluster', m.initialCluster,
    '--initial-cluster-state', 'new',
    '--token-auth-file', credentials.tokenFile,
    '--service-account-key-file', credentials.serviceAccountKeyFile,
    '--tls-cert-file', pki.servingCertFile,
    '--tls-private-key-file', pki.servingKeyFile,
    ...(m.nodeMonitorGraceMs === undefined ? [] : ['--node-monitor-grace-ms', String(m.nodeMonitorGraceMs)]),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log.fd, log.fd], detached: false });
  child.once('exit', () => void log.close());
  return child;
}

async function waitReady(endpoints: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(endpoints);
  let lastReport = 0;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const ep of [...pending]) {
      const client = new Etcd3({ hosts: `http://${ep}`, dialTimeout: 1000 });
      try {
        await client.maintenance.status();
        await client.get('strake/health').exec();
        pending.delete(ep);
        process.stderr.write(`  ${ep} ready (${endpoints.length - pending.size}/${endpoints.length})\n`);
      } catch {
        // not yet
      } finally {
        client.close();
      }
    }
    if (pending.size > 0) {
      if (Date.now() - lastReport > 5000) {
        process.stderr.write(`  waiting for ${[...pending].join(', ')}...\n`);
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return pending.size === 0;
}

/** Waits until every API server answers /readyz (store reachable, watch cache synced). */
async function waitApiReady(apiUrls: readonly string[], token: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(apiUrls);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const url of [...pending]) {
      const res = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      if (res?.status === 200) {
        pending.delete(url);
        process.stderr.write(`  api ${url} ready (${apiUrls.length - pending.size}/${apiUrls.length})\n`);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  return pending.size === 0;
}

async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of running) c.kill('SIGTERM');
  await Promise.all(
    running.map(
      (c) =>
        new Promise<void>((resolveExit) => {
          const timer = setTimeout(() => {
            c.kill('SIGKILL');
          }, STOP_GRACE_MS);
          c.once('exit', () => {
            clearTimeout(timer);
            resolveExit();
          });
        }),
    ),
  );
}
