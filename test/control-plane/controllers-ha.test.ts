/**
 * The scheduler and controllers across three masters (ports 28500-28529),
 * with hollow nodes that only report status: a Deployment of 30 replicas is
 * created, rolled to a new image and rolled back, and the master holding the
 * controller-manager lease is SIGKILLed in the middle of the rollout. The
 * rollout still completes (another master takes the lease over and carries on
 * from the API state), and at no moment are there more pods than
 * replicas + maxSurge.
 *
 * Leader-election timings are shortened (lease 3 s) so the takeover fits the
 * test; the defaults are Kubernetes' (15 s / 10 s / 2 s).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Pod } from '../../proto/k8s/core-v1.js';
import type { KubeObject } from '../../proto/k8s/meta.js';
import { PatchType, Resources } from '../../control-plane/client/api-client.js';
import { HttpApiClient } from '../../control-plane/client/http-client.js';
import { Informer } from '../../control-plane/client/informer.js';
import { HollowNodes } from '../../node/hollow/index.js';
import { ReadyProbe, eventually, startClusterForTest } from '../support/process-cluster.js';

const BASE_PORT = 28_500;
const TOKEN = 'controllers-ha-token';
const REPLICAS = 30;
/** maxSurge 25% of 30, rounded up (Kubernetes' rule). */
const MAX_SURGE = 8;
const NODES = 5;
/** A rollout of 30 pods on hollow nodes, with a leader takeover in the middle. */
const ROLLOUT_MS = 90_000;

interface DeploymentView {
  metadata: { generation?: number };
  spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

function rolledOut(d: DeploymentView): boolean {
  const s = d.status ?? {};
  return (d.metadata.generation ?? 0) <= (s.observedGeneration ?? 0) && s.updatedReplicas === REPLICAS && s.replicas === REPLICAS && s.availableReplicas === REPLICAS;
}

it('rolls a Deployment out and back while the controller-manager leader is SIGKILLed, never exceeding maxSurge', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strake-controllers-ha-'));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${TOKEN},admin,admin,"system:masters"\n`);
  const cluster = await startClusterForTest({
    basePort: BASE_PORT,
    size: 3,
    api: { tokenFile },
    extraArgs: ['--leader-lease-ms', '3000', '--leader-renew-deadline-ms', '2000', '--leader-retry-ms', '500'],
  });
  await cluster.waitReady({ probe: ReadyProbe.Put });
  const client = new HttpApiClient({ servers: cluster.members.map((m) => m.apiUrl), token: TOKEN, requestTimeoutMs: 5_000 });
  const hollow = new HollowNodes({
    name: 'hn',
    count: NODES,
    api: client,
    podInformer: ({ fieldSelector }) => new Informer<Pod>(client, Resources.Pods, { fieldSelector }),
    podStartupDelayMs: { min: 0, max: 100 },
  });
  const watchAbort = new AbortController();
  try {
    await eventually('API ready', async () => ((await client.list(Resources.Namespaces, undefined).catch(() => undefined))?.items.some((n) => n.metadata.name === 'default') ? true : undefined), 60_000);
    hollow.start();
    await hollow.registered;

    // Watches every pod and keeps the peak number of live (not terminating) pods.
    const live = new Map<string, boolean>();
    let peak = 0;
    const pods = new Informer<Pod>(client, Resources.Pods, { namespace: 'default' });
    pods.addHandlers({
      onAdd: (p) => track(p),
      onUpdate: (_o, p) => track(p),
      onDelete: (p) => void live.delete(p.metadata.uid ?? ''),
    });
    function track(p: KubeObject): void {
      if (p.metadata.deletionTimestamp === undefined) live.set(p.metadata.uid ?? '', true);
      else live.delete(p.metadata.uid ?? '');
      peak = Math.max(peak, live.size);
    }
    pods.start();
    watchAbort.signal.addEventListener('abort', () => pods.stop());

    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: REPLICAS,
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
      },
    };
    await client.create(Resources.Deployments, 'default', deployment as KubeObject);
    const get = () => client.get<KubeObject>(Resources.Deployments, 'default', 'web') as unknown as Promise<DeploymentView>;
    await eventually('first rollout', async () => (rolledOut(await get()) ? true : undefined), ROLLOUT_MS);

    const setImage = (image: string) => client.patch(Resources.Deployments, 'default', 'web', PatchType.Strategic, { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
    await setImage('busybox:2');
    await eventually('rollout under way', async () => (((await get()).status?.updatedReplicas ?? 0) >= 5 ? true : undefined), ROLLOUT_MS);
    const lease = await client.get(Resources.Leases, 'kube-system', 'kube-controller-manager');
    const holder = (lease.spec as { holderIdentity?: string }).holderIdentity;
    const holderIndex = cluster.members.findIndex((m) => m.name === holder);
    expect(holderIndex, `lease holder ${holder}`).toBeGreaterThanOrEqual(0);
    await cluster.kill(holderIndex);
    await eventually('rollout to busybox:2 completes under a new leader', async () => (rolledOut(await get()) ? true : undefined), ROLLOUT_MS);
    const newHolder = ((await client.get(Resources.Leases, 'kube-system', 'kube-controller-manager')).spec as { holderIdentity?: string }).holderIdentity;
    expect(newHolder).not.toBe(holder);

    await setImage('busybox:1');
    await eventually('rollback completes', async () => (rolledOut(await get()) ? true : undefined), ROLLOUT_MS);
    const final = await get();
    expect(final.spec.template.spec.containers[0]!.image).toBe('busybox:1');
    const rses = await client.list(Resources.ReplicaSets, 'default');
    expect(rses.items).toHaveLength(2);
    const running = (await client.list<Pod>(Resources.Pods, 'default')).items.filter((p) => p.metadata.deletionTimestamp === undefined);
    expect(running).toHaveLength(REPLICAS);
    expect(running.every((p) => (p.spec as { containers: Array<{ image: string }> }).containers[0]!.image === 'busybox:1')).toBe(true);
    expect(peak, `peak live pods ${peak}`).toBeLessThanOrEqual(REPLICAS + MAX_SURGE);
    process.stdout.write(`controllers-ha: peak ${peak} live pods (limit ${REPLICAS + MAX_SURGE}); controller-manager lease moved ${holder} -> ${newHolder}\n`);
  } finally {
    watchAbort.abort();
    await hollow.stop();
    await client.close();
  }
}, 4 * ROLLOUT_MS);
