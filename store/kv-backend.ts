/**
 * KvBackend: the narrow view of a key-value store that the control plane
 * (control-plane/) is allowed to see — the part of etcd's API that a
 * Kubernetes API server actually uses (range, compare-and-swap txn on
 * mod_revision, watch from a revision, leases). Two implementations:
 *  - `store/kv-backend/embedded.ts`: this master's own replicated store;
 *  - `store/kv-backend/etcd3.ts`: any etcd v3 endpoint, through the `etcd3` client.
 * The same API-server tests run against both.
 *
 * Keys are strings (the registry's `/registry/...` paths, UTF-8); values are
 * bytes. Revisions are the store's revisions: a single, cluster-wide counter
 * that every write increments; an object's `resourceVersion` is its key's
 * `modRevision`.
 *
 * Every call honours `signal` (when given) and has its own deadline inside the
 * implementation: no call waits forever on a store that lost its quorum.
 * Operating errors are thrown as KvBackendError with a stable `code`.
 */

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision that created the key's current generation. */
  readonly createRevision: number;
  /** Revision of the last change: the object's resourceVersion. */
  readonly modRevision: number;
  /** Changes since creation (1 on create). */
  readonly version: number;
  /** Attached lease id, 0 for none. */
  readonly lease: number;
}

export interface KvRangeRequest {
  /** First key (inclusive). */
  readonly key: string;
  /**
   * End of the range (exclusive). Absent: the single key `key`. Use
   * `prefixEnd(key)` for "every key starting with key".
   */
  readonly rangeEnd?: string;
  /** Read as of this revision; 0 or absent = latest. Throws COMPACTED below the compaction point. */
  readonly revision?: number;
  /** At most this many entries (0 or absent = no limit); `more` says whether more exist. */
  readonly limit?: number;
  /** Only count, return no entries. */
  readonly countOnly?: boolean;
  readonly signal?: AbortSignal;
}

export interface KvRangeResponse {
  /** Ascending by key. */
  readonly entries: readonly KvEntry[];
  /** Number of keys in the whole range (ignoring `limit`). */
  readonly count: number;
  readonly more: boolean;
  /** The store revision the read was served at. */
  readonly revision: number;
}

/** Compare a key's modRevision (0 = "the key does not exist"). */
export interface KvCompare {
  readonly key: string;
  readonly modRevision: number;
}

export type KvOp =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly lease?: number }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'get'; readonly key: string };

export type KvOpResult =
  | { readonly type: 'put' }
  | { readonly type: 'delete'; readonly deleted: boolean }
  | { readonly type: 'get'; readonly entry?: KvEntry };

export interface KvTxnRequest {
  /** All must hold (equal modRevision) for `success` to run; otherwise `failure` runs. */
  readonly compare: readonly KvCompare[];
  readonly success: readonly KvOp[];
  readonly failure: readonly KvOp[];
  readonly signal?: AbortSignal;
}

export interface KvTxnResponse {
  readonly succeeded: boolean;
  /** Revision after the txn (the new modRevision of every key it put). */
  readonly revision: number;
  /** One result per op of the branch that ran, in order. */
  readonly results: readonly KvOpResult[];
}

export const KvEventType = { Put: 'put', Delete: 'delete' } as const;
export type KvEventType = (typeof KvEventType)[keyof typeof KvEventType];

export interface KvEvent {
  readonly type: KvEventType;
  /** For a delete: key, modRevision = the deletion revision, empty value. */
  readonly entry: KvEntry;
  /** The key's previous version (absent on creation). */
  readonly prev?: KvEntry;
}

export interface KvWatchSink {
  /**
   * Events of one revision or more, ascending by revision; all events of one
   * revision arrive in the same call. Never called after `onClosed`.
   */
  onEvents(revision: number, events: readonly KvEvent[]): void;
  /**
   * Progress: every event up to `revision` has been delivered. Lets a cache
   * advance its revision while its keys see no writes.
   */
  onProgress(revision: number): void;
  /**
   * The watch ended for good. `compactRevision` set: the start revision was
   * compacted (history begins at compactRevision). Otherwise `error` says why.
   */
  onClosed(reason: { readonly compactRevision?: number; readonly error?: unknown }): void;
}

export interface KvWatchRequest {
  readonly key: string;
  /** Exclusive end; `prefixEnd(key)` for a prefix. */
  readonly rangeEnd: string;
  /** First revision delivered (inclusive). */
  readonly startRevision: number;
}

export interface KvWatch {
  /** Stops delivery; idempotent. */
  cancel(): void;
}

export interface KvBackend {
  /** A short name for logs and /healthz: "embedded", "etcd". */
  readonly kind: string;
  range(req: KvRangeRequest): Promise<KvRangeResponse>;
  txn(req: KvTxnRequest): Promise<KvTxnResponse>;
  /**
   * Starts a watch. Delivery is in revision order with no gaps and no
   * duplicates; if the underlying stream breaks, the implementation resumes
   * it from the next revision by itself, and only calls `onClosed` when it
   * cannot (compaction, or the backend is closing).
   */
  watch(req: KvWatchRequest, sink: KvWatchSink): KvWatch;
  /** Grants a lease of `ttlSeconds`; keys put with it vanish when it expires. */
  leaseGrant(ttlSeconds: number, signal?: AbortSignal): Promise<number>;
  /** The latest revision, read linearizably (a consistent point for lists). */
  currentRevision(signal?: AbortSignal): Promise<number>;
  /** Compacts history below `revision`. */
  compact(revision: number, signal?: AbortSignal): Promise<void>;
  /** Releases connections and watches; idempotent. */
  close(): Promise<void>;
}

export const KvBackendErrorCode = {
  /** The requested revision was compacted away. */
  Compacted: 'COMPACTED',
  /** No quorum, no leader, timeout: try again later (HTTP 503/504). */
  Unavailable: 'UNAVAILABLE',
  /** The request is too large or otherwise refused by the store. */
  Refused: 'REFUSED',
  /** The caller aborted. */
  Aborted: 'ABORTED',
} as const;
export type KvBackendErrorCode = (typeof KvBackendErrorCode)[keyof typeof KvBackendErrorCode];

export class KvBackendError extends Error {
  override readonly name = 'KvBackendError';
  constructor(
    readonly code: KvBackendErrorCode,
    message: string,
    /** For COMPACTED: the oldest revision still available. */
    readonly compactRevision?: number,
  ) {
    super(message);
  }
}

/**
 * The smallest key greater than every key that starts with `prefix` (etcd's
 * prefix range end). Registry keys are ASCII, for which incrementing the last
 * character is etcd's byte rule; anything else is refused rather than guessed.
 */
export function prefixEnd(prefix: string): string {
  if (!/^[\x01-\x7e]+$/.test(prefix)) throw new RangeError(`prefixEnd: prefix must be non-empty printable ASCII, got ${JSON.stringify(prefix)}`);
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
