/**
 * What the node's own server (node/agent/server, `NodeServerPods`) asks of
 * the agent: which container instance a `kubectl logs` / `kubectl exec`
 * means — the newest instance, or with `previous` the one before it — and
 * where its log file is. NodeAgent implements NodeServerPods with this and
 * CRI ExecSync.
 */
import { isAbsolute, join } from 'node:path';
import type { Pod } from '../../proto/k8s/core-v1.js';
import { containerLogPath, podLogDirectory } from './pod-sandbox-config.js';
import type { RuntimeReader } from './runtime-reader.js';
import { ContainerRunState, instancesOf, type PodRuntimeStatus } from './runtime-state.js';

export interface FoundContainer {
  readonly containerId: string;
  readonly logPath: string;
  readonly running: boolean;
}

export interface FindContainerInput {
  readonly reader: Pick<RuntimeReader, 'listAll' | 'podStatus'>;
  readonly rootDir: string;
  /** The pod as the agent knows it; undefined when it is not (or no longer) in the informer. */
  readonly pod: Pod | undefined;
  readonly namespace: string;
  readonly name: string;
  /** undefined: the pod's first container (the only one, for the callers that leave it out). */
  readonly container: string | undefined;
  readonly previous: boolean;
}

async function runtimeOf(i: FindContainerInput): Promise<PodRuntimeStatus | undefined> {
  if (i.pod?.metadata.uid !== undefined) return i.reader.podStatus(i.pod.metadata.uid, i.name, i.namespace);
  // Not in the informer (being removed): look for it among everything the runtime holds.
  const all = await i.reader.listAll();
  return [...all.values()].find((p) => p.namespace === i.namespace && p.name === i.name);
}

export async function findContainer(i: FindContainerInput): Promise<FoundContainer | undefined> {
  const rs = await runtimeOf(i);
  if (rs === undefined) return undefined;
  const name = i.container ?? i.pod?.spec.containers[0]?.name ?? rs.containers[0]?.name;
  if (name === undefined) return undefined;
  const { latest, previous } = instancesOf(rs, name);
  const c = i.previous ? previous : latest;
  if (c === undefined) return undefined;
  const podDir = podLogDirectory(i.rootDir, { metadata: { namespace: rs.namespace, name: rs.name, uid: rs.uid }, spec: { containers: [] } });
  const logPath = c.logPath === '' ? join(podDir, containerLogPath(name, c.restartCount)) : isAbsolute(c.logPath) ? c.logPath : join(podDir, c.logPath);
  return { containerId: c.id, logPath, running: c.state === ContainerRunState.Running };
}
