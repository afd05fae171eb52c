/**
 * The simulator's replicated state machine: a map of registers (key → the last
 * write's proposal id and log index), a set of applied proposal ids so retried
 * proposals apply once, the membership as of the applied index, and the prefix
 * hash of everything applied. Its snapshot carries all of that, so a replica
 * restored from a snapshot can keep checking log matching from there.
 */
import { assert } from '../../raft/core/assert.js';
import { applyConfChange, decodeConfChange } from '../../raft/core/conf-change.js';
import type { ConfChange } from '../../raft/core/conf-change.js';
import type { ConfState, Entry, Snapshot } from '../../raft/core/types.js';
import { EntryType } from '../../raft/core/types.js';
import { chainHash, EMPTY_PREFIX_HASH } from './entry-hash.js';

/** Write payload: marker, key, proposal id (u32), then filler so byte limits bite. */
export const WRITE_DATA_BYTES = 16;
const WRITE_MARKER = 0x57; // 'W'
/** Keys are one byte in the payload. */
export const KEYS_MAX = 256;

export interface Write {
  readonly key: number;
  readonly id: number;
}

export function encodeWrite(w: Write): Uint8Array {
  assert(Number.isInteger(w.key) && w.key >= 0 && w.key < KEYS_MAX, () => `write key ${w.key} out of range`);
  assert(Number.isInteger(w.id) && w.id > 0 && w.id < 0x1_0000_0000, () => `proposal id ${w.id} out of range`);
  const data = new Uint8Array(WRITE_DATA_BYTES);
  data[0] = WRITE_MARKER;
  data[1] = w.key;
  new DataView(data.buffer).setUint32(2, w.id);
  for (let i = 6; i < WRITE_DATA_BYTES; i++) data[i] = (w.id + i) & 0xff;
  return data;
}

/** The write in a normal entry's data, or undefined for an empty (leader no-op) entry. */
export function decodeWrite(data: Uint8Array): Write | undefined {
  if (data.byteLength === 0) return undefined;
  assert(
    data.byteLength === WRITE_DATA_BYTES && data[0] === WRITE_MARKER,
    () => `malformed write payload of ${data.byteLength} bytes`,
  );
  return { key: data[1]!, id: new DataView(data.buffer, data.byteOffset).getUint32(2) };
}

/** What applying one entry did. */
export type ApplyEffect =
  | { readonly kind: 'noop' }
  | { readonly kind: 'write'; readonly key: number; readonly id: number }
  | { readonly kind: 'duplicate'; readonly id: number }
  | { readonly kind: 'conf'; readonly cc: ConfChange };

/** The value of one register: which proposal wrote it, at which log index. */
export interface RegisterValue {
  readonly id: number;
  readonly index: number;
}

interface SnapshotImage {
  readonly hash: number;
  readonly kv: readonly (readonly [number, number, number])[];
  readonly ids: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class KvStateMachine {
  /** Invariant: every entry 1..appliedIndex has been applied exactly once, in order. */
  appliedIndex: number;
  /** Prefix hash of the log up to appliedIndex. */
  prefixHash: number;
  /** Membership as of appliedIndex. */
  confState: ConfState;
  private readonly kv = new Map<number, RegisterValue>();
  private readonly appliedIds = new Set<number>();

  constructor(appliedIndex = 0, prefixHash = EMPTY_PREFIX_HASH, confState: ConfState = { voters: [], learners: [] }) {
    this.appliedIndex = appliedIndex;
    this.prefixHash = prefixHash;
    this.confState = confState;
  }

  apply(e: Entry): ApplyEffect {
    assert(e.index === this.appliedIndex + 1, () => `applying index ${e.index} after applied index ${this.appliedIndex}`);
    this.appliedIndex = e.index;
    this.prefixHash = chainHash(this.prefixHash, e);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      this.confState = applyConfChange(this.confState, cc);
      return { kind: 'conf', cc };
    }
    const w = decodeWrite(e.data);
    if (w === undefined) return { kind: 'noop' };
    if (this.appliedIds.has(w.id)) return { kind: 'duplicate', id: w.id };
    this.appliedIds.add(w.id);
    this.kv.set(w.key, { id: w.id, index: e.index });
    return { kind: 'write', key: w.key, id: w.id };
  }

  get(key: number): RegisterValue | undefined {
    return this.kv.get(key);
  }

  encodeSnapshot(): Uint8Array {
    const image: SnapshotImage = {
      hash: this.prefixHash,
      kv: [...this.kv].map(([k, v]) => [k, v.id, v.index] as const),
      ids: [...this.appliedIds],
    };
    return encoder.encode(JSON.stringify(image));
  }

  static restore(snap: Snapshot): KvStateMachine {
    const meta = snap.metadata;
    if (meta.index === 0) return new KvStateMachine(0, EMPTY_PREFIX_HASH, meta.confState);
    const image = decodeImage(snap.data);
    const sm = new KvStateMachine(meta.index, image.hash, meta.confState);
    for (const [k, id, index] of image.kv) sm.kv.set(k, { id, index });
    for (const id of image.ids) sm.appliedIds.add(id);
    return sm;
  }
}

/** The prefix hash a snapshot stands for. */
export function snapshotPrefixHash(snap: Snapshot): number {
  return snap.metadata.index === 0 ? EMPTY_PREFIX_HASH : decodeImage(snap.data).hash;
}

function decodeImage(data: Uint8Array): SnapshotImage {
  const parsed = JSON.parse(decoder.decode(data)) as SnapshotImage;
  assert(typeof parsed.hash === 'number' && Array.isArray(parsed.kv), 'malformed state machine snapshot');
  return parsed;
}
