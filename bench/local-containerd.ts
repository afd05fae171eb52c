/**
 * A private containerd 1.6 for tests and benchmarks: its own root, state, gRPC socket and runc root
 * under one temp dir, the CRI plugin on (cgroupfs, overlayfs; no CNI, so tests use
 * host-network pods, unless a CNI bridge is asked for), a streaming server on 127.0.0.1 only, and a pause image built
 * from the static busybox and imported before the first sandbox, so containerd never
 * pulls anything.
 *
 *   const ctd = await startContainerd();
 *   const client = new CriClient({ endpoint: ctd.endpoint, timeoutMs: 30_000 });
 *   await ctd.importBusyboxImage();
 *   ...
 *   await ctd.stop();   // sandboxes, containerd, leftover shims/containers, mounts, the dir
 *
 * `restrict_oom_score_adj = true` is required where the process lacks
 * CAP_SYS_RESOURCE in its bounding set: CRI asks runc for a negative oom_score_adj for
 * sandboxes and runc's child then dies writing it ("can't get final child's PID from
 * pipe: EOF"); restricting keeps the value at or above containerd's own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CriClient } from '../node/cri/client.js';
import { removeAllPodSandboxes } from '../node/cri/remove-all-sandboxes.js';
import { BUSYBOX_IMAGE_REF, buildBusyboxImage, findBusybox, ociImageBlobs, writeOciArchive, type BuiltImage } from '../node/runtime/images/busybox-image.js';
import { writeTar } from '../node/runtime/images/tar-writer.js';

/** The sandbox ("pause") image: a loopback name, so even a mistaken pull never leaves the machine. */
export const PAUSE_IMAGE_REF = 'localhost/strake-pause:1';
/** containerd is ready in 0.1-0.2 s on an idle machine; leave room for a loaded one. */
const START_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;
/** Per CRI call made while stopping (list, stop, remove sandbox). */
const STOP_CALL_TIMEOUT_MS = 20_000;
/** Time containerd gets to exit on SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 5_000;
/** `ctr images import` of a small archive takes ~0.1 s. */
const IMPORT_TIMEOUT_MS = 60_000;
/** Log bytes shown when containerd fails to start. */
const LOG_TAIL_BYTES = 4_000;
const NAMESPACE = 'k8s.io';
/** containerd 1.6 puts shim sockets here whatever its state dir is (runtime/v2/shim: socketRoot). */
const SHIM_SOCKET_DIR = '/run/containerd/s';

export interface StartContainerdOptions {
  /** Parent folder for containerd's private dir (default: the OS temp dir). */
  readonly dir?: string;
  /** The static busybox to build images from (default: the first static busybox on PATH). */
  readonly busyboxPath?: string;
  /**
   * Pod networking through the CNI bridge plugin (containernetworking-plugins): pods
   * get addresses of `podCidr` on bridge `bridge`, which has no address on the host
   * (isGateway false) and no masquerading, so the host neither routes nor reaches pod
   * addresses; pods of the same containerd reach each other. Without it no CNI
   * config exists and containerd reports NetworkReady=false (host-network pods only).
   */
  readonly cniBridge?: { readonly bridge: string; readonly podCidr: string };
}

export interface Containerd {
  /** `unix:///…/containerd.sock`: containerd's own API and CRI on one socket. */
  readonly endpoint: string;
  readonly socketPath: string;
  /** The private dir holding everything containerd writes (removed by stop()). */
  readonly dir: string;
  readonly pid: number;
  readonly busyboxPath: string;
  /** Imports an OCI or docker archive into the CRI namespace (`ctr images import`). */
  importImage(tarFile: string): Promise<void>;
  /** Builds the one-layer busybox image and imports it under `ref`. */
  importBusyboxImage(ref?: string): Promise<BuiltImage>;
  /** The end of containerd's log, for failure messages. */
  logTail(): string;
  /** Stops every sandbox through CRI, then containerd, then cleans up; safe to call twice. */
  stop(): Promise<void>;
}

/** Fails with a clear reason when this machine cannot run containerd tests (they never skip). */
export function requireContainerdTools(): { busyboxPath: string } {
  if (process.getuid?.() !== 0) throw new Error('containerd tests need root (runc creates namespaces and cgroups)');
  for (const tool of ['/usr/bin/containerd', '/usr/bin/ctr']) {
    if (!existsSync(tool)) throw new Error(`containerd tests need ${tool} (install containerd 1.6)`);
  }
  if (!onPath('runc') || !onPath('containerd-shim-runc-v2')) throw new Error('containerd tests need runc and containerd-shim-runc-v2 on PATH');
  const busyboxPath = findBusybox();
  if (busyboxPath === undefined) throw new Error('containerd tests need a static busybox on PATH (busybox-static)');
  return { busyboxPath };
}

export async function startContainerd(o: StartContainerdOptions = {}): Promise<Containerd> {
  const busyboxPath = o.busyboxPath ?? requireContainerdTools().busyboxPath;
  const dir = await mkdtemp(join(o.dir ?? tmpdir(), 'strake-ctd-'));
  const socketPath = join(dir, 'containerd.sock');
  const runcRoot = join(dir, 'runc');
  mkdirSync(join(dir, 'cni', 'net.d'), { recursive: true });
  if (o.cniBridge !== undefined) writeFileSync(join(dir, 'cni', 'net.d', '10-bridge.conflist'), cniBridgeConfig(o.cniBridge, join(dir, 'cni', 'ipam')));
  writeFileSync(join(dir, 'config.toml'), containerdConfig(dir, socketPath, runcRoot));
  const logFile = join(dir, 'containerd.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn('/usr/bin/containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (child.pid === undefined) {
    // spawn failed (the 'error' event follows); nothing runs, so only the dir is ours to remove.
    child.once('error', () => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error('containerd did not start: /usr/bin/containerd could not be spawned');
  }
  const ctd = new RunningContainerd(dir, socketPath, runcRoot, logFile, child, child.pid, busyboxPath, o.cniBridge?.bridge);
  try {
    await ctd.waitReady();
    await ctd.importImage(buildPauseImage(busyboxPath, join(dir, 'images', 'pause.tar')));
  } catch (err) {
    const tail = ctd.logTail();
    await ctd.stop();
    throw new Error(`containerd did not start: ${err instanceof Error ? err.message : String(err)}\n--- containerd log ---\n${tail}`);
  }
  return ctd;
}

class RunningContainerd implements Containerd {
  readonly endpoint: string;
  private stopped: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly dir: string,
    readonly socketPath: string,
    private readonly runcRoot: string,
    private readonly logFile: string,
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly busyboxPath: string,
    /** The CNI bridge on the host, removed by stop(). */
    private readonly cniBridge: string | undefined,
  ) {
    this.endpoint = `unix://${socketPath}`;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  async waitReady(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError = 'no socket yet';
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`containerd exited with code ${this.child.exitCode}`);
      if (existsSync(this.socketPath)) {
        const client = new CriClient({ endpoint: this.endpoint, timeoutMs: 2_000 });
        try {
          await client.version({ version: 'v1' });
          return;
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
        } finally {
          client.close();
        }
      }
      await sleep(READY_POLL_MS);
    }
    throw new Error(`containerd CRI not ready within ${START_TIMEOUT_MS} ms: ${lastError}`);
  }

  async importImage(tarFile: string): Promise<void> {
    const r = await run('/usr/bin/ctr', ['--address', this.socketPath, '-n', NAMESPACE, 'images', 'import', tarFile], IMPORT_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`ctr images import ${tarFile} failed (exit ${r.code}): ${r.output.trim()}`);
  }

  async importBusyboxImage(ref = BUSYBOX_IMAGE_REF): Promise<BuiltImage> {
    const outFile = join(this.dir, 'images', `busybox-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}.tar`);
    const built = buildBusyboxImage({ busyboxPath: this.busyboxPath, ref, outFile, format: 'oci-archive' });
    await this.importImage(outFile);
    return built;
  }

  logTail(): string {
    return readFileSyncOr(this.logFile).slice(-LOG_TAIL_BYTES) || '(no log)';
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  private async stopOnce(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) await this.removeAllSandboxes();
    await this.killContainerd();
    this.killLeftovers();
    unmountUnder(this.dir);
    if (this.cniBridge !== undefined) spawnSync('ip', ['link', 'del', this.cniBridge], { timeout: 10_000, stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
    removeEmptyCgroupParents();
  }

  /** Stops and removes every pod sandbox, and so its containers. */
  private async removeAllSandboxes(): Promise<void> {
    const client = new CriClient({ endpoint: this.endpoint, timeoutMs: STOP_CALL_TIMEOUT_MS });
    try {
      await removeAllPodSandboxes(client);
    } catch {
      // containerd is not answering; killLeftovers() takes the hard way.
    } finally {
      client.close();
    }
  }

  private async killContainerd(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, 'SIGKILL');
    }, TERM_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * After a clean stop there is nothing here. After a failed one (containerd crashed,
   * a sandbox failed half-way) runc containers, shims and shim sockets may be left.
   */
  private killLeftovers(): void {
    const runcNsRoot = join(this.runcRoot, NAMESPACE);
    if (existsSync(runcNsRoot)) {
      for (const id of readdirSync(runcNsRoot)) {
        spawnSync('runc', ['--root', runcNsRoot, 'delete', '--force', id], { timeout: 10_000, stdio: 'ignore' });
      }
    }
    for (const pid of shimPidsOf(this.socketPath)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // Every sandbox id containerd ever handed out is in its log; the socket name hashes
    // our own socket path in, so this never touches another containerd's shims.
    const ids = new Set(readFileSyncOr(this.logFile).match(/\b[0-9a-f]{64}\b/g) ?? []);
    for (const id of ids) rmSync(shimSocketPath(this.socketPath, id), { force: true });
    removeEmptyDirs([SHIM_SOCKET_DIR, dirname(SHIM_SOCKET_DIR)]);
  }
}

/** A CNI conflist: bridge without a host address, host-local addresses kept under `ipamDir`. */
function cniBridgeConfig(o: { bridge: string; podCidr: string }, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: o.bridge,
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridge,
        isGateway: false,
        ipMasq: false,
        ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: o.podCidr }]] },
      },
      { type: 'loopback' },
    ],
  });
}

/** Where containerd 1.6 puts the socket of the shim serving sandbox `id` (runtime/v2/shim SocketAddress). */
export function shimSocketPath(containerdSocketPath: string, id: string): string {
  const hash = createHash('sha256').update(join(containerdSocketPath, NAMESPACE, id)).digest('hex');
  return join(SHIM_SOCKET_DIR, hash);
}

/**
 * rmdir each dir if empty (it is machine-wide, so only when no other containerd's
 * shim holds a socket there). A shim creates the dir right before binding its socket;
 * racing that takes another containerd starting a shim in the same microseconds.
 */
function removeEmptyDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      // Absent or in use.
    }
  }
}

function readFileSyncOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function containerdConfig(dir: string, socketPath: string, runcRoot: string): string {
  const q = JSON.stringify;
  return `version = 2
root = ${q(join(dir, 'root'))}
state = ${q(join(dir, 'state'))}
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = ${q(socketPath)}

[ttrpc]
  address = ${q(`${socketPath}.ttrpc`)}

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(PAUSE_IMAGE_REF)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = ${q(runcRoot)}

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = ${q(join(dir, 'cni', 'net.d'))}
`;
}

/** A one-layer image whose only program is busybox `sleep`, run forever as the sandbox process. */
function buildPauseImage(busyboxPath: string, outFile: string): string {
  const layer = writeTar([
    { path: 'bin', type: 'dir' },
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync(busyboxPath) },
    { path: 'bin/sleep', type: 'symlink', linkname: 'busybox' },
  ]);
  // 2^31-1 seconds: the largest sleep every busybox build accepts. CRI stops sandboxes with SIGKILL.
  const image = ociImageBlobs({ ref: PAUSE_IMAGE_REF, layerTar: layer, gzip: false, config: { Cmd: ['/bin/sleep', '2147483647'] } });
  writeOciArchive(outFile, image);
  return outFile;
}

/** PIDs of containerd-shim-runc-v2 processes started by the containerd on `socketPath`. */
function shimPidsOf(socketPath: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(args[0] ?? '').endsWith('containerd-shim-runc-v2')) continue;
    const at = args.indexOf('-address');
    if (at >= 0 && args[at + 1] === socketPath) pids.push(Number(entry));
  }
  return pids;
}

/** Unmounts every mount point under `dir` (overlay rootfs, shm), deepest first. */
function unmountUnder(dir: string): void {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && p.startsWith(prefix))
    .map(unescapeMountPath)
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    const r = spawnSync('umount', [p], { timeout: 10_000, stdio: 'ignore' });
    if (r.status !== 0) spawnSync('umount', ['-l', p], { timeout: 10_000, stdio: 'ignore' });
  }
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\(\d{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * containerd's default cgroup parent for sandboxes without one is /k8s.io in each
 * hierarchy; rmdir only removes it when empty, so a containerd still using it keeps it.
 */
function removeEmptyCgroupParents(): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  for (const hierarchy of readdirSync(root)) {
    try {
      rmdirSync(join(root, hierarchy, NAMESPACE));
    } catch {
      // Absent, or in use.
    }
  }
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, name)));
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, output: err.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
