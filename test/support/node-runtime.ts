/**
 * Removes every pod a node's built-in runtime left behind: containers keep
 * running when their node agent dies (as with a kubelet), so a test that
 * SIGKILLs a node opens the runtime over the node's root dir afterwards and
 * stops and removes each pod sandbox it finds there (containers, cgroups,
 * mounts, network), by the state the runtime keeps on disk.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeAllPodSandboxes } from '../../node/cri/remove-all-sandboxes.js';
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
    return await removeAllPodSandboxes(runtime, (id, err) => {
      throw new Error(`removing pod sandbox ${id}: ${(err as Error).message}`);
    });
  } finally {
    // With no sandbox left, closing removes the bridge namespace.
    await runtime.close();
  }
}
