/**
 * The bytes etcd keeps per revision in its backend, reproduced so that HashKV
 * matches etcd's for the same history and so that the size estimate means the
 * same thing:
 *  - revision key: 8-byte big-endian main, '_', 8-byte big-endian sub, and a
 *    trailing 't' for a tombstone (mvcc/revision.go);
 *  - value: the protobuf encoding of mvccpb.KeyValue, zero fields omitted, fields
 *    in number order (key=1, create_revision=2, mod_revision=3, version=4,
 *    value=5, lease=6). A tombstone stores only the key.
 */
import { assert } from './assert.js';
import type { RevisionRecord } from './key-index.js';
import type { KeyValue } from './types.js';

const REVISION_BYTES = 17;
const TOMBSTONE_MARK = 0x74; // 't'
const REVISION_SEPARATOR = 0x5f; // '_'
const VARINT_BYTES_MAX = 10; // a negative int64 takes ten 7-bit groups

export function revisionKeyBytes(record: RevisionRecord): Uint8Array {
  const out = new Uint8Array(record.tombstone ? REVISION_BYTES + 1 : REVISION_BYTES);
  const view = new DataView(out.buffer);
  setUint64(view, 0, record.main);
  out[8] = REVISION_SEPARATOR;
  setUint64(view, 9, record.sub);
  if (record.tombstone) out[REVISION_BYTES] = TOMBSTONE_MARK;
  return out;
}

const TWO_POW_32 = 2 ** 32;

/** Big-endian 64-bit write of a non-negative safe integer, without BigInt. */
function setUint64(view: DataView, at: number, n: number): void {
  view.setUint32(at, Math.floor(n / TWO_POW_32));
  view.setUint32(at + 4, n % TWO_POW_32);
}

export function revisionKeyLength(record: RevisionRecord): number {
  return record.tombstone ? REVISION_BYTES + 1 : REVISION_BYTES;
}

function varintLength(n: number): number {
  if (n < 0) return VARINT_BYTES_MAX;
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

class Writer {
  readonly bytes: Uint8Array;
  at = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  varint(n: number): void {
    if (n < 0) {
      let v = BigInt.asUintN(64, BigInt(n));
      while (v >= 128n) {
        this.bytes[this.at++] = Number(v & 127n) | 128;
        v >>= 7n;
      }
      this.bytes[this.at++] = Number(v);
      return;
    }
    while (n >= 128) {
      this.bytes[this.at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.bytes[this.at++] = n;
  }
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
}

type Field = { tag: number; int: number } | { tag: number; bytes: Uint8Array };

function fieldsOf(kv: KeyValue, tombstone: boolean): Field[] {
  if (tombstone) return kv.key.length > 0 ? [{ tag: 0x0a, bytes: kv.key }] : [];
  const fields: Field[] = [];
  if (kv.key.length > 0) fields.push({ tag: 0x0a, bytes: kv.key });
  if (kv.createRevision !== 0) fields.push({ tag: 0x10, int: kv.createRevision });
  if (kv.modRevision !== 0) fields.push({ tag: 0x18, int: kv.modRevision });
  if (kv.version !== 0) fields.push({ tag: 0x20, int: kv.version });
  if (kv.value.length > 0) fields.push({ tag: 0x2a, bytes: kv.value });
  if (kv.lease !== 0) fields.push({ tag: 0x30, int: kv.lease });
  return fields;
}

function fieldLength(f: Field): number {
  return 'bytes' in f ? 1 + varintLength(f.bytes.length) + f.bytes.length : 1 + varintLength(f.int);
}

/** The stored value of a revision: protobuf mvccpb.KeyValue (key only for a tombstone). */
export function encodeStoredKeyValue(record: RevisionRecord): Uint8Array {
  const fields = fieldsOf(record.kv, record.tombstone);
  const w = new Writer(fields.reduce((n, f) => n + fieldLength(f), 0));
  for (const f of fields) {
    w.varint(f.tag);
    if ('bytes' in f) {
      w.varint(f.bytes.length);
      w.raw(f.bytes);
    } else {
      w.varint(f.int);
    }
  }
  assert(w.at === w.bytes.length, 'encoded KeyValue length matches its computed size');
  return w.bytes;
}

/** Bytes the revision occupies in etcd's key bucket (revision key + value). */
export function storedRecordBytes(record: RevisionRecord): number {
  return revisionKeyLength(record) + fieldsOf(record.kv, record.tombstone).reduce((n, f) => n + fieldLength(f), 0);
}
