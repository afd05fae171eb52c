/** Small helpers shared by the store tests: byte strings and result unwrapping. */
import {
  MvccStateMachine,
  type ApplyResult,
  type KeyValue,
  type MvccError,
  type ReadResult,
  type WatchEvent,
} from '../../store/mvcc/index.js';

/** Bytes of a latin1 string (one byte per char, so "\xff" is byte 0xff). */
export function b(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

export function str(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

export function ok<V>(result: ApplyResult<V> | ReadResult<V>): V {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message} (${result.error.detail})`);
  return result.value;
}

export function err<V>(result: ApplyResult<V> | ReadResult<V>): MvccError {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value, (_k, v) => (v instanceof Uint8Array ? str(v) : v))}`);
  return result.error;
}

export function events<V>(result: ApplyResult<V>): readonly WatchEvent[] {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}`);
  return result.events;
}

/** A KeyValue with strings for bytes, for readable expectations. */
export interface KvView {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export function view(kv: KeyValue): KvView {
  return {
    key: str(kv.key),
    value: str(kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

export function views(kvs: readonly KeyValue[]): KvView[] {
  return kvs.map(view);
}

export function keysOf(kvs: readonly KeyValue[]): string[] {
  return kvs.map((kv) => str(kv.key));
}

export interface EventView {
  type: string;
  key: string;
  value: string;
  modRevision: number;
  prev?: string;
}

export function eventViews(evs: readonly WatchEvent[]): EventView[] {
  return evs.map((e) => ({
    type: e.type,
    key: str(e.kv.key),
    value: str(e.kv.value),
    modRevision: e.kv.modRevision,
    ...(e.prevKv === undefined ? {} : { prev: str(e.prevKv.value) }),
  }));
}

/** Puts each [key, value] in its own revision. */
export function putAll(sm: MvccStateMachine, pairs: readonly (readonly [string, string])[]): void {
  for (const [key, value] of pairs) ok(sm.put({ key: b(key), value: b(value) }));
}

export function getOne(sm: MvccStateMachine, key: string, revision = 0): KvView | undefined {
  const kv = ok(sm.range({ key: b(key), revision })).kvs[0];
  return kv === undefined ? undefined : view(kv);
}
