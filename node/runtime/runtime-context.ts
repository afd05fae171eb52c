/** What the sandbox and container halves of the built-in runtime share. */
import type { Readable } from 'node:stream';
import type { CriLogWriter } from './cri-log-writer.js';
import type { ImageStore } from './images/image-store.js';
import type { Isolator } from './isolation.js';
import type { PodNetwork } from './pod-network.js';
import type { ContainerRecord, SandboxRecord, StateStore } from './state-store.js';

/** A container this runtime process watches: its log pump and the end of its exit handling. */
export interface LiveContainer {
  log: CriLogWriter | undefined;
  /** Resolves once the exit is recorded (state EXITED saved). */
  finalized: Promise<void>;
  /** The read sides of the container's output pipes (closed when this runtime closes). */
  sources: Readable[];
  stopPolling?: () => void;
}

export interface RuntimeContext {
  readonly store: StateStore;
  readonly images: ImageStore;
  readonly isolator: Isolator;
  readonly network: PodNetwork;
  readonly sandboxes: Map<string, SandboxRecord>;
  readonly containers: Map<string, ContainerRecord>;
  readonly live: Map<string, LiveContainer>;
  /** Rootfs cleanups of containers created by this process (a restarted one rebuilds them from records). */
  readonly rootfsCleanups: Map<string, () => Promise<void>>;
  /** `/<cgroupRoot>/<sandbox id>/...` is where runc puts the pod's cgroups. */
  readonly cgroupRoot: string;
  readonly swapAccounting: boolean;
  readonly pidsMax: number | undefined;
  readonly mutex: KeyedMutex;
  /** Pipes of pause processes this runtime drains (closed when it closes). */
  readonly sandboxSources: Set<Readable>;
  /** Set by close(): exits seen afterwards are left for the next runtime process to record. */
  readonly lifecycle: { closed: boolean };
  log(line: string): void;
}

/** Serializes operations on one object (a sandbox or container id); different ids run concurrently. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, f: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(f, f);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
