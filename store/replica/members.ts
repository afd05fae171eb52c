/**
 * The membership table every member keeps: id → name and URLs, learner or
 * voter. It changes only by applying log entries (conf changes carry the new
 * member's URLs; a member publishes its name and client URLs once it starts),
 * so every member holds the same table at the same index.
 */
import { ConfChangeType, type ConfChange } from '../../raft/core/conf-change.js';
import type { Member } from '../etcd-server/types.js';

/** What a conf change entry's context carries about the member it adds. */
export interface MemberContext {
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

export function encodeMemberContext(c: MemberContext): string {
  return JSON.stringify(c);
}

function decodeMemberContext(s: string | undefined): MemberContext {
  if (s === undefined) return { name: '', peerUrls: [], clientUrls: [] };
  try {
    const o = JSON.parse(s) as Partial<MemberContext>;
    return {
      name: typeof o.name === 'string' ? o.name : '',
      peerUrls: Array.isArray(o.peerUrls) ? o.peerUrls.filter((u) => typeof u === 'string') : [],
      clientUrls: Array.isArray(o.clientUrls) ? o.clientUrls.filter((u) => typeof u === 'string') : [],
    };
  } catch {
    return { name: '', peerUrls: [], clientUrls: [] };
  }
}

export class Members {
  private readonly byId = new Map<number, Member>();

  list(): Member[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): Member | undefined {
    return this.byId.get(id);
  }

  /** Applies a committed conf change. Returns the member added/updated, if any. */
  applyConfChange(cc: ConfChange): void {
    const existing = this.byId.get(cc.nodeId);
    switch (cc.type) {
      case ConfChangeType.AddVoter:
      case ConfChangeType.AddLearner: {
        const ctx = decodeMemberContext(cc.context);
        this.byId.set(cc.nodeId, {
          id: cc.nodeId,
          name: existing?.name || ctx.name,
          peerUrls: ctx.peerUrls.length > 0 ? ctx.peerUrls : (existing?.peerUrls ?? []),
          clientUrls: existing?.clientUrls.length ? existing.clientUrls : ctx.clientUrls,
          isLearner: cc.type === ConfChangeType.AddLearner,
        });
        return;
      }
      case ConfChangeType.RemoveNode:
        this.byId.delete(cc.nodeId);
        return;
    }
  }

  /** A member published its name and client URLs (or an operator changed its peer URLs). */
  applyAttributes(id: number, attrs: Partial<MemberContext>): void {
    const m = this.byId.get(id);
    if (m === undefined) return;
    this.byId.set(id, {
      ...m,
      ...(attrs.name !== undefined ? { name: attrs.name } : {}),
      ...(attrs.clientUrls !== undefined ? { clientUrls: [...attrs.clientUrls] } : {}),
      ...(attrs.peerUrls !== undefined ? { peerUrls: [...attrs.peerUrls] } : {}),
    });
  }

  toJSON(): Member[] {
    return this.list();
  }

  static fromJSON(members: readonly Member[]): Members {
    const m = new Members();
    for (const x of members) m.byId.set(x.id, { ...x, peerUrls: [...x.peerUrls], clientUrls: [...x.clientUrls] });
    return m;
  }
}
