/**
 * The watchers of one watch stream: id assignment, per-watcher options, and
 * the bounded hold buffer for responses that arrive before "created" was sent.
 */
import { assert } from '../mvcc/assert.js';
import type { WatchHandle } from './backend.js';
import { EtcdErrorCode, etcdError } from './errors.js';
import type { WireWatchResponse } from './wire.js';

/**
 * Watchers per stream. The etcd3 client and Kubernetes put a handful to a few
 * hundred on one stream; past this a client is leaking watchers.
 */
export const WATCHERS_PER_STREAM_MAX = 10_000;
/**
 * Responses held for a watcher whose creation is still in flight. Creation is
 * one backend round trip, so only a burst of writes in that window lands here.
 */
export const HELD_RESPONSES_PER_WATCHER_MAX = 1024;

export interface WatcherOptions {
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
}

export interface WatcherState extends WatcherOptions {
  readonly id: number;
  handle: WatchHandle | undefined;
  /** The client has received the "created" response. */
  announced: boolean;
  /** Cancelled by the client, by the backend, or by the stream closing; nothing more is sent. */
  ended: boolean;
  /** Events were sent since the last progress tick. */
  eventsSinceTick: boolean;
  /** Responses waiting for `announced`. Invariant: empty once announced. */
  readonly held: WireWatchResponse[];
}

export class WatcherRegistry {
  private readonly watchers = new Map<number, WatcherState>();
  /** Next id to try for an automatic assignment (etcd starts at 0). */
  private nextId = 0;

  /** Registers a watcher under the requested id (0 = next free). */
  admit(requestedId: number, options: WatcherOptions): WatcherState | 'duplicate' | 'full' {
    if (this.watchers.size >= WATCHERS_PER_STREAM_MAX) return 'full';
    let id = requestedId;
    if (id === 0) {
      // Bounded: at most WATCHERS_PER_STREAM_MAX ids are taken.
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      return 'duplicate';
    }
    const state: WatcherState = {
      ...options,
      id,
      handle: undefined,
      announced: false,
      ended: false,
      eventsSinceTick: false,
      held: [],
    };
    this.watchers.set(id, state);
    return state;
  }

  get(id: number): WatcherState | undefined {
    return this.watchers.get(id);
  }

  remove(id: number): void {
    this.watchers.delete(id);
  }

  /** Holds a response until the watcher is announced; false when the hold buffer is full. */
  hold(state: WatcherState, res: WireWatchResponse): boolean {
    assert(!state.announced, 'responses are held only before the created response');
    if (state.held.length >= HELD_RESPONSES_PER_WATCHER_MAX) return false;
    state.held.push(res);
    return true;
  }

  announcedHandles(): WatchHandle[] {
    const out: WatchHandle[] = [];
    for (const s of this.watchers.values()) if (s.announced && s.handle !== undefined) out.push(s.handle);
    return out;
  }

  progressWatchers(): WatcherState[] {
    return [...this.watchers.values()].filter((s) => s.announced && s.progressNotify && !s.ended);
  }

  cancelAll(): void {
    for (const s of this.watchers.values()) {
      s.ended = true;
      s.handle?.cancel();
    }
    this.watchers.clear();
  }

  fullReason(): string {
    return `too many watchers on this stream: the limit is ${WATCHERS_PER_STREAM_MAX}`;
  }

  slowError(state: WatcherState): Error {
    return etcdError(
      EtcdErrorCode.SlowConsumer,
      `watch ${state.id}: more than ${HELD_RESPONSES_PER_WATCHER_MAX} responses arrived before it was created`,
    );
  }
}
