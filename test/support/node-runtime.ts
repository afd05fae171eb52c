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

/** `rootDir` is the node's --root-dir (the runtime keeps its state in <root-dir>/runtime). Returns how many sandboxes were removed. */
export async function removeLeftoverPods(rootDir: string): Promise<number> {
  if (!existsSync(join(rootDir, 'runtime'))) return 0;
  const runtime = await BuiltinRuntime.open({ rootDir: join(rootDir, 'runtime'), images: await ImageStore.open(join(rootDir, 'images')) });
  try {
    const { items } = await runtime.listPodSandbox({});
    for (const s of items) {
      await runtime.stopPodSandbox({ pod_sandbox_id: s.id });
      await runtime.removePodSandbox({ pod_sandbox_id: s.id });
    }
    return items.length;
  } finally {
    await runtime.close();
  }
}
