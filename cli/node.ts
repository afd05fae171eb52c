/**
 * `strake node`: a node agent.
 *
 *   strake node --name n0 --kubeconfig .strake/kubeconfig --root-dir .strake/n0 --port 10250
 *
 * runs the kubelet-like agent (node/agent/): it registers Node n0, keeps its
 * Lease and status fresh, and runs the pods bound to it through a CRI runtime —
 * the built-in one in this process (node/runtime/, images under
 * <root-dir>/images) or an external one with --runtime-endpoint (containerd's
 * CRI socket, or `strake runtime`). Its server on --address:--port serves
 * container logs and exec to the API server.
 *
 *   strake node --name h --kubeconfig .strake/kubeconfig --hollow --count 100
 *
 * runs hollow nodes h-0 … h-99 in this process (node/hollow/) instead: real API
 * traffic, pods reported Running without starting anything. Nodes stay
 * registered after a stop: their leases expire and the node lifecycle
 * controller marks them NotReady, as when a kubelet stops.
 *
 * Servers: `--server URL[,URL...]` when given (tried in order, failing over);
 * otherwise the kubeconfig's current cluster first, then every other cluster
 * of the file that trusts the same CA — `strake up` writes one per master, so
 * the agent fails over between masters with no extra flag.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { Resources } from '../control-plane/client/api-client.js';
import { HttpApiClient } from '../control-plane/client/http-client.js';
import { Informer } from '../control-plane/client/informer.js';
import { HOLLOW_NODES_PER_PROCESS_MAX, HollowError, HollowNodes } from '../node/hollow/index.js';
import type { Pod } from '../proto/k8s/core-v1.js';
import type { ExitCodeSink } from './main.js';
import { runAgent } from './node-agent.js';
import { parseIntegerOption } from './options.js';

/** After SIGINT/SIGTERM, writes in flight get this long before the client is closed under them. */
const STOP_GRACE_MS = 5_000;
/** A kubeconfig is a few KiB; anything this large is not one. */
const KUBECONFIG_BYTES_MAX = 1024 * 1024;

export interface NodeFlags {
  name: string;
  server?: string;
  kubeconfig: string;
  rootDir?: string;
  runtimeEndpoint?: string;
  hollow: boolean;
  count?: number;
  address: string;
  port: number;
  podCidr?: string;
  isolation?: 'runc' | 'process';
  stopPodsOnExit: boolean;
}

function parseIsolation(v: string): 'runc' | 'process' {
  if (v !== 'runc' && v !== 'process') throw new InvalidArgumentError('expected runc or process');
  return v;
}

export function registerNodeCommand(program: Command, setExitCode: ExitCodeSink): void {
  program
    .command('node')
    .description('run a node agent; with --hollow, simulated nodes that report their pods Running without starting them')
    .requiredOption('--name <name>', 'node name; hollow nodes are <name>-0 … <name>-(K-1)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig with the token and the cluster CA (the one `strake up` writes)')
    .option('--server <urls>', "API server URL(s), comma-separated, tried in order (default: the kubeconfig's servers)")
    .option('--root-dir <dir>', 'where the node agent keeps its state')
    .option('--runtime-endpoint <endpoint>', 'CRI runtime socket, unix:///path.sock')
    .option('--address <ip>', "the node's address: reported as its InternalIP, where its server (logs, exec) listens", '127.0.0.1')
    .option('--port <port>', "the node server's port (logs, exec; the API server connects to it)", (v) => parseIntegerOption('--port', v, 1, 65_535), 10_250)
    .option('--pod-cidr <cidr>', 'pod addresses for the built-in runtime (a bridge inside a network namespace of the node); default: loopback-only pods')
    .option('--isolation <mode>', 'built-in runtime: runc (namespaces + cgroups; default as root with runc installed) or process (plain processes)', (v) => parseIsolation(v))
    .option('--stop-pods-on-exit', 'stop and remove every pod of this node when the agent stops (strake up does: its nodes live and die with it)', false)
    .option('--hollow', 'run hollow nodes: real API traffic, no containers', false)
    .option('--count <k>', 'hollow nodes in this process (with --hollow)', (v) => parseIntegerOption('--count', v, 1, HOLLOW_NODES_PER_PROCESS_MAX))
    .action(async (flags: NodeFlags) => {
      setExitCode(await runNode(flags));
    });
}

async function runNode(f: NodeFlags): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${f.name} ${line}\n`);
  let client: HttpApiClient;
  try {
    client = apiClientFor(f, f.hollow ? 'strake-node-hollow' : 'strake-node');
  } catch (err) {
    if (!(err instanceof KubeconfigError)) throw err;
    process.stderr.write(`strake node: ${err.message}\n`);
    return 2;
  }
  return f.hollow ? runHollow(f, client, log) : runAgent(f, client, log);
}

/** An API client for the flags' servers (or the kubeconfig's), with the kubeconfig's token and CA. */
function apiClientFor(f: NodeFlags, userAgent: string): HttpApiClient {
  const creds = readKubeconfig(f.kubeconfig);
  if (f.server === undefined && creds.servers.length === 0) throw new KubeconfigError(`kubeconfig ${f.kubeconfig} names no server, and --server is not given`);
  const servers = f.server === undefined ? parseServers(creds.servers.join(','), `kubeconfig ${f.kubeconfig}`) : parseServers(f.server);
  return new HttpApiClient({ servers, userAgent, ...(creds.token === undefined ? {} : { token: creds.token }), ...(creds.caPem === undefined ? {} : { caPem: creds.caPem }) });
}

async function runHollow(f: NodeFlags, client: HttpApiClient, log: (line: string) => void): Promise<number> {
  for (const [flag, value] of [['--root-dir', f.rootDir], ['--runtime-endpoint', f.runtimeEndpoint]] as const) {
    if (value !== undefined) log(`note: ${flag} is ignored by hollow nodes (they start no containers)`);
  }
  let hollow: HollowNodes;
  try {
    hollow = new HollowNodes({
      name: f.name,
      count: f.count ?? 1,
      api: client,
      podInformer: ({ fieldSelector }) => new Informer<Pod>(client, Resources.Pods, { fieldSelector, log }),
      log,
    });
    log(`starting ${f.count ?? 1} hollow node(s)`);
  } catch (err) {
    if (!(err instanceof HollowError)) throw err;
    process.stderr.write(`strake node: ${err.message}\n`);
    await client.close();
    return 2;
  }
  hollow.start();
  const sig = await untilSignal();
  log(`received ${sig}; stopping (nodes stay registered; their leases expire)`);
  const closeLate = setTimeout(() => void client.close(), STOP_GRACE_MS);
  await hollow.stop();
  clearTimeout(closeLate);
  log(hollow.summary());
  await client.close();
  return 0;
}

export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

export interface KubeconfigCredentials {
  /** The current context's server first, then the other servers trusting the same CA. */
  readonly servers: string[];
  readonly token?: string;
  readonly caPem?: string;
}

/** Splits a comma-separated server list and checks each URL; `source` names where it came from in errors. */
export function parseServers(text: string, source = '--server'): string[] {
  const servers = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new KubeconfigError(`${source}: "${s}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new KubeconfigError(`${source}: "${s}" is neither http:// nor https://`);
  }
  if (servers.length === 0) throw new KubeconfigError(`${source} names no URL`);
  return servers;
}

export function readKubeconfig(path: string): KubeconfigCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  if (text.length > KUBECONFIG_BYTES_MAX) throw new KubeconfigError(`kubeconfig ${path} is ${text.length} bytes; the limit is ${KUBECONFIG_BYTES_MAX}`);
  return parseKubeconfig(text, { path, readFile: (p) => readFileSync(resolve(dirname(path), p), 'utf8') });
}

type Named<K extends string> = { name?: unknown } & { [key in K]?: Record<string, unknown> };

/** The token, CA and servers of a kubeconfig's current context; `readFile` resolves file references (certificate-authority, tokenFile). */
export function parseKubeconfig(text: string, o: { path: string; readFile: (path: string) => string }): KubeconfigCredentials {
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${o.path} is not YAML: ${(err as Error).message}`);
  }
  const list = <K extends string>(field: string): Named<K>[] => (Array.isArray(doc[field]) ? (doc[field] as Named<K>[]) : []);
  const clusters = list<'cluster'>('clusters');
  const contexts = list<'context'>('contexts');
  const users = list<'user'>('users');
  const currentName = typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined;
  const context = (currentName === undefined ? contexts[0] : contexts.find((c) => c.name === currentName))?.context;
  if (currentName !== undefined && context === undefined) throw new KubeconfigError(`kubeconfig ${o.path}: current-context "${currentName}" is not among its contexts`);
  const cluster = (context === undefined ? clusters[0] : clusters.find((c) => c.name === context['cluster']))?.cluster;
  const user = (context === undefined ? users[0] : users.find((u) => u.name === context['user']))?.user;
  const caPem = caOf(cluster, o);
  const servers: string[] = [];
  const add = (c: Record<string, unknown> | undefined): void => {
    if (typeof c?.['server'] === 'string' && !servers.includes(c['server'])) servers.push(c['server']);
  };
  add(cluster);
  // The other masters of the same cluster: same CA (and strake up writes one cluster entry per master).
  for (const c of clusters) if (c.cluster !== cluster && caPem !== undefined && caOf(c.cluster, o) === caPem) add(c.cluster);
  const token = tokenOf(user, o);
  return { servers, ...(token === undefined ? {} : { token }), ...(caPem === undefined ? {} : { caPem }) };
}

function caOf(cluster: Record<string, unknown> | undefined, o: { path: string; readFile: (path: string) => string }): string | undefined {
  const data = cluster?.['certificate-authority-data'];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  const file = cluster?.['certificate-authority'];
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    return o.readFile(file);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${o.path}: cannot read certificate-authority ${file}: ${(err as Error).message}`);
  }
}

function tokenOf(user: Record<string, unknown> | undefined, o: { path: string; readFile: (path: string) => string }): string | undefined {
  if (typeof user?.['token'] === 'string' && user['token'] !== '') return user['token'];
  const file = user?.['tokenFile'];
  if (typeof file !== 'string' || file === '') return undefined;
  try {
    return o.readFile(file).trim();
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${o.path}: cannot read tokenFile ${file}: ${(err as Error).message}`);
  }
}
