/**
 * What a member puts in a normal log entry: the proposer's request id (so the
 * proposer can hand the apply result back to its waiting caller) and the
 * payload: an MVCC command, a membership attribute update, or an alarm change.
 *
 * Encoding: msgpack [FORMAT_VERSION, requestId, kind, payload(, quotaBytes)].
 * A kv entry may carry a fifth element, the proposer's space quota (quota.ts);
 * decoders that predate it ignore it.
 */
import { Packr } from 'msgpackr';
import { pack } from '../../proto/msgpack.js';
import { isRaisedAlarmType, type AlarmChange } from './alarms.js';
import type { MemberContext } from './members.js';

const FORMAT_VERSION = 1;
const packr = new Packr({ useRecords: false });

export type Proposal =
  | {
      readonly requestId: string;
      readonly kind: 'kv';
      readonly command: Uint8Array;
      /** The proposer's space quota; absent = the command is not checked against one. */
      readonly quotaBytes?: number;
    }
  | { readonly requestId: string; readonly kind: 'memberAttributes'; readonly memberId: number; readonly attributes: Partial<MemberContext> }
  | { readonly requestId: string; readonly kind: 'alarm'; readonly change: AlarmChange };

export function encodeProposal(p: Proposal): Uint8Array {
  switch (p.kind) {
    case 'kv': {
      const head = [FORMAT_VERSION, p.requestId, p.kind, p.command];
      return encode(p.quotaBytes === undefined ? head : [...head, p.quotaBytes]);
    }
    case 'memberAttributes':
      return encode([FORMAT_VERSION, p.requestId, p.kind, { memberId: p.memberId, attributes: p.attributes }]);
    case 'alarm':
      return encode([FORMAT_VERSION, p.requestId, p.kind, { ...p.change }]);
  }
}

function encode(v: unknown[]): Uint8Array {
  // A view of packr's output, not a copy: the packr never writes over bytes it handed out.
  const b = pack(v, packr);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Decodes an entry; undefined when it is not a proposal of ours (corrupt or foreign entries are skipped). */
export function decodeProposal(data: Uint8Array): Proposal | undefined {
  let v: unknown;
  try {
    v = packr.unpack(data);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v[0] !== FORMAT_VERSION || typeof v[1] !== 'string') return undefined;
  const [, requestId, kind, payload, quotaBytes] = v as [number, string, string, unknown, unknown];
  if (kind === 'kv' && payload instanceof Uint8Array) {
    const quota = Number.isSafeInteger(quotaBytes) && (quotaBytes as number) > 0 ? { quotaBytes: quotaBytes as number } : {};
    return { requestId, kind, command: payload, ...quota };
  }
  if (kind === 'alarm') {
    const change = decodeAlarmChange(payload);
    return change === undefined ? undefined : { requestId, kind, change };
  }
  if (kind === 'memberAttributes' && typeof payload === 'object' && payload !== null) {
    const o = payload as { memberId?: unknown; attributes?: unknown };
    if (typeof o.memberId === 'number' && typeof o.attributes === 'object' && o.attributes !== null) {
      return { requestId, kind, memberId: o.memberId, attributes: o.attributes as Partial<MemberContext> };
    }
  }
  return undefined;
}

function decodeAlarmChange(payload: unknown): AlarmChange | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const o = payload as { action?: unknown; memberId?: unknown; alarm?: unknown };
  if (o.action !== 'ACTIVATE' && o.action !== 'DEACTIVATE') return undefined;
  if (!Number.isSafeInteger(o.memberId) || !isRaisedAlarmType(o.alarm)) return undefined;
  return { action: o.action, memberId: o.memberId as number, alarm: o.alarm };
}
