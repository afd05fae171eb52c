/**
 * Stops and removes every pod sandbox a CRI runtime holds, and with them their
 * containers: a node stopping with its pods (`strake node --stop-pods-on-exit`),
 * and tests and benchmarks tidying a runtime up. All at once, so a node's stop
 * takes one grace period, not one per pod; one sandbox that fails is reported
 * through `onError` and does not keep the others from going.
 */
import type { CriRuntime } from './runtime.js';

export async function removeAllPodSandboxes(runtime: Pick<CriRuntime, 'listPodSandbox' | 'stopPodSandbox' | 'removePodSandbox'>, onError: (sandboxId: string, err: unknown) => void = () => undefined): Promise<number> {
  const { items } = await runtime.listPodSandbox({ filter: null });
  await Promise.all(
    items.map(async ({ id }) => {
      try {
        await runtime.stopPodSandbox({ pod_sandbox_id: id });
        await runtime.removePodSandbox({ pod_sandbox_id: id });
      } catch (err) {
        onError(id, err);
      }
    }),
  );
  return items.length;
}
