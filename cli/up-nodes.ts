/**
 * The node half of `strake up`: seeds each node's image store with a busybox
 * image (built once from the host's static busybox, so a first deployment
 * works offline), starts `strake node` processes, and waits until every Node
 * reports Ready through the API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, findBusybox } from '../node/runtime/images/busybox-image.js';
import { ImageStore } from '../node/runtime/images/image-store.js';

/** How often the Node objects are polled while waiting for Ready. */
const NODE_POLL_MS = 500;
/** One poll of one master; the API answers in milliseconds when it is up. */
const NODE_GET_TIMEOUT_MS = 2_000;

export const STRAKE_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'strake.js');

/**
 * Builds `<data-dir>/images/busybox.tar` from the host's busybox once; undefined
 * (with a note on how to get one) when no static busybox is installed.
 */
export async function seedImageArchive(dataDir: string): Promise<string | undefined> {
  const file = join(dataDir, 'images', 'busybox.tar');
  if (await stat(file).then(() => true, () => false)) return file;
  const busyboxPath = findBusybox();
  if (busyboxPath === undefined) {
    process.stderr.write('note: no static busybox found (Debian: apt-get install busybox-static); nodes start without a seeded busybox image\n');
    return undefined;
  }
  await mkdir(dirname(file), { recursive: true });
  buildBusyboxImage({ busyboxPath, ref: BUSYBOX_IMAGE_REF, outFile: file, format: 'oci-archive' });
  process.stderr.write(`built the seed image ${BUSYBOX_IMAGE_REF} from ${busyboxPath}\n`);
  return file;
}

/**
 * Node j's pod addresses: 10.88.j.0/24. They exist only inside network namespaces
 * the node's runtime makes (a bridge in its own namespace), never on the host, so
 * nothing on the host can reach or route to them; pods of different nodes do not
 * reach each other (there is no overlay between nodes).
 */
export function nodePodCidr(index: number): string {
  return `10.88.${index}.0/24`;
}

export async function startNode(o: {
  name: string;
  /** j of node n<j>: picks its pod CIDR. */
  index: number;
  dataDir: string;
  kubeconfig: string;
  port: number;
  seedImage: string | undefined;
}): Promise<{ name: string; child: ChildProcess }> {
  const rootDir = join(o.dataDir, o.name);
  await mkdir(rootDir, { recursive: true });
  if (o.seedImage !== undefined) {
    const store = await ImageStore.open(join(rootDir, 'images'));
    await store.importTar(o.seedImage);
  }
  const log = await open(join(rootDir, 'node.log'), 'a');
  const args = [
    STRAKE_BIN, 'node', '--name', o.name, '--kubeconfig', o.kubeconfig, '--root-dir', rootDir, '--port', String(o.port),
    '--pod-cidr', nodePodCidr(o.index), '--stop-pods-on-exit',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', log.fd, log.fd], detached: false });
  child.once('exit', () => void log.close());
  return { name: o.name, child };
}

/** Waits until every named Node has condition Ready=True, asking the masters in turn. */
export async function waitNodesReady(names: readonly string[], o: { apiUrls: readonly string[]; token: string; timeoutMs: number }): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  const pending = new Set(names);
  let turn = 0;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const name of [...pending]) {
      const url = o.apiUrls[turn++ % o.apiUrls.length]!;
      const res = await fetch(`${url}/api/v1/nodes/${encodeURIComponent(name)}`, {
        headers: { authorization: `Bearer ${o.token}` },
        signal: AbortSignal.timeout(NODE_GET_TIMEOUT_MS),
      }).catch(() => undefined);
      if (res?.status !== 200) continue;
      const node = (await res.json().catch(() => ({}))) as { status?: { conditions?: Array<{ type: string; status: string }> } };
      if (node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
        pending.delete(name);
        process.stderr.write(`  node ${name} Ready (${names.length - pending.size}/${names.length})\n`);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, NODE_POLL_MS));
  }
  return pending.size === 0;
}
