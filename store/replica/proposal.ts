/**
 * What a member puts in a normal log entry: the proposer's request id (so the
 * proposer can hand the apply result back to its waiting caller) and the
 * payload: an MVCC command or a membership attribute update.
 *
 * Encoding: msgpack [FORMAT_VERSION, requestId, kind, payload].
 */
import { Packr } from 'msgpackr';
import type { MemberContext } from './members.js';

const FORMAT_VERSION = 1;
const packr = new Packr({ useRecords: false });

export type Proposal =
  | { readonly requestId: string; readonly kind: 'kv'; readonly command: Uint8Array }
  | { readonly requestId: string; readonly kind: 'memberAttributes'; readonly memberId: number; readonly attributes: Partial<MemberContext> };

export function encodeProposal(p: Proposal): Uint8Array {
  const payload = p.kind === 'kv' ? p.command : { memberId: p.memberId, attributes: p.attributes };
  return new Uint8Array(packr.pack([FORMAT_VERSION, p.requestId, p.kind, payload]));
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
  const [, requestId, kind, payload] = v as [number, string, string, unknown];
  if (kind === 'kv' && payload instanceof Uint8Array) return { requestId, kind, command: payload };
  if (kind === 'memberAttributes' && typeof payload === 'object' && payload !== null) {
    const o = payload as { memberId?: unknown; attributes?: unknown };
    if (typeof o.memberId === 'number' && typeof o.attributes === 'object' && o.attributes !== null) {
      return { requestId, kind, memberId: o.memberId, attributes: o.attributes as Partial<MemberContext> };
    }
  }
  return undefined;
}
