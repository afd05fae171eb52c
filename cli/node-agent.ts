/**
 * `strake node` without --hollow: the node agent with its runtime and server.
 *
 * The runtime is reached only through CRI: an external CRI server when
 * --runtime-endpoint names one, else the built-in runtime in this process. On
 * SIGINT/SIGTERM the agent stops; pods keep running (as when a kubelet stops)
 * unless --stop-pods-on-exit asks for every pod sandbox to be stopped and
 * removed first, which `strake up` does so that stopping the cluster leaves
 * nothing behind.
 */
import { join, resolve } from 'node:path';
import { Resources } from '../control-plane/client/api-client.js';
import type { HttpApiClient } from '../control-plane/client/http-client.js';
import { Informer } from '../control-plane/client/informer.js';
import { NodeAgent } from '../node/agent/node-agent.js';
import { startNodeServer, type RunningNodeServer } from '../node/agent/server/node-server.js';
import { CriClient } from '../node/cri/client.js';
import { removeAllPodSandboxes } from '../node/cri/remove-all-sandboxes.js';
import type { CriRuntime } from '../node/cri/runtime.js';
import { BuiltinRuntime } from '../node/runtime/builtin-runtime.js';
import { ImageStore } from '../node/runtime/images/image-store.js';
import type { Pod } from '../proto/k8s/core-v1.js';
import { untilSignal, type NodeFlags } from './node.js';

interface OpenRuntime {
  readonly runtime: CriRuntime;
  close(): Promise<void>;
}

async function openRuntime(f: NodeFlags, rootDir: string, log: (line: string) => void): Promise<OpenRuntime> {
  if (f.runtimeEndpoint !== undefined) {
    if (f.isolation !== undefined || f.podCidr !== undefined) log('note: --isolation and --pod-cidr apply to the built-in runtime only; the external runtime decides');
    const client = new CriClient({ endpoint: f.runtimeEndpoint });
    return { runtime: client, close: async () => client.close() };
  }
  const images = await ImageStore.open(join(rootDir, 'images'));
  const runtime = await BuiltinRuntime.open({
    rootDir: join(rootDir, 'runtime'),
    images,
    nodeName: f.name,
    ...(f.isolation === undefined ? {} : { isolation: f.isolation }),
    ...(f.podCidr === undefined ? {} : { podCidr: f.podCidr }),
    log,
  });
  return { runtime, close: () => runtime.close() };
}

export async function runAgent(f: NodeFlags, client: HttpApiClient, log: (line: string) => void): Promise<number> {
  if (f.count !== undefined) log('note: --count applies to hollow nodes only');
  const rootDir = resolve(f.rootDir ?? join('.strake', f.name));
  let rt: OpenRuntime;
  try {
    rt = await openRuntime(f, rootDir, log);
    const version = await rt.runtime.version({ version: 'v1' });
    log(`runtime ${version.runtime_name} ${version.runtime_version} (CRI ${version.runtime_api_version})`);
  } catch (err) {
    process.stderr.write(`strake node: cannot open the container runtime: ${(err as Error).message}\n`);
    await client.close();
    return 1;
  }
  const agent = new NodeAgent({
    name: f.name,
    api: client,
    podInformer: ({ fieldSelector }) => new Informer<Pod>(client, Resources.Pods, { fieldSelector, log }),
    runtime: rt.runtime,
    rootDir,
    address: f.address,
    serverPort: f.port,
    ...(f.podCidr === undefined ? {} : { podCidr: f.podCidr }),
    log,
  });
  let server: RunningNodeServer;
  try {
    server = await startNodeServer({ host: f.address, port: f.port, pods: agent, log });
  } catch (err) {
    process.stderr.write(`strake node: cannot listen on ${f.address}:${f.port}: ${(err as Error).message}\n`);
    await rt.close();
    await client.close();
    return 1;
  }
  agent.start();
  log(`node agent started; server on ${f.address}:${server.port}, root dir ${rootDir}`);
  const sig = await untilSignal();
  log(`received ${sig}; stopping${f.stopPodsOnExit ? ' (and every pod of this node)' : ' (pods keep running)'}`);
  await agent.stop();
  if (f.stopPodsOnExit) {
    const n = await removeAllPodSandboxes(rt.runtime, (id, err) => log(`stopping pod sandbox ${id}: ${(err as Error).message}`));
    log(`stopped ${n} pod sandbox(es)`);
  }
  await server.close();
  await rt.close();
  await client.close();
  return 0;
}
