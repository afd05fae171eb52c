/**
 * Removes every pod a node's built-in runtime left behind: containers keep
 * running when their node agent dies (as with a kubelet), so a test that
 * SIGKILLs a node opens the runtime over the node's root dir afterwards and
 * stops and removes each pod sandbox it finds there (containers, cgroups,
 * mounts, network), by the state the runtime keeps on disk.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BuiltinRuntime } from '../../node/runtime/builtin-runtime.js';
import { ImageStore } from '../../node/runtime/images/image-store.js';

/**
 * `rootDir` is the node's --root-dir (the runtime keeps its state in <root-dir>/runtime);
 * `nodeName` and `podCidr` as the node ran with, so that its bridge namespace goes too.
 * Returns how many sandboxes were removed.
 */
export async function removeLeftoverPods(o: { rootDir: string; nodeName: string; podCidr?: string }): Promise<number> {
  const { rootDir } = o;
  if (!existsSync(join(rootDir, 'runtime'))) return 0;
  const runtime = await BuiltinRuntime.open({
    rootDir: join(rootDir, 'runtime'),
    images: await ImageStore.open(join(rootDir, 'images')),
    nodeName: o.nodeName,
    ...(o.podCidr === undefined ? {} : { podCidr: o.podCidr }),
  });
  try {
    const { items } = await runtime.listPodSandbox({});
    for (const s of items) {
      await runtime.stopPodSandbox({ pod_sandbox_id: s.id });
      await runtime.removePodSandbox({ pod_sandbox_id: s.id });
    }
    return items.length;
  } finally {
    // With no sandbox left, closing removes the bridge namespace.
    await runtime.close();
  }
}
