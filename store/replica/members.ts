/**
 * The membership table every member keeps: id → name and URLs, learner or
 * voter. It changes only by applying log entries (conf changes carry the new
 * member's URLs; a member publishes its name and client URLs once it starts),
 * so every member holds the same table at the same index.
 *
 * It also remembers the ids removed from the cluster: a removed id never comes
 * back (added members get fresh ids), and a member that hears from a removed one
 * tells it so, which is how a removed member that missed its own removal learns
 * of it and stops (grpc-transport.ts).
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

/**
 * Removed ids remembered, oldest forgotten first. Each is one operator's
 * `member remove`; a member removed a thousand removals ago and still running
 * would only campaign in vain, never disturb the cluster.
 */
export const MAX_REMOVED_IDS_REMEMBERED = 1024;

export class Members {
  private readonly byId = new Map<number, Member>();
  /** In removal order (a Set keeps insertion order), so every member forgets the same ids. */
  private readonly removed = new Set<number>();

  list(): Member[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): Member | undefined {
    return this.byId.get(id);
  }

  isRemoved(id: number): boolean {
    return this.removed.has(id);
  }

  /** Removed ids, oldest first. */
  removedIds(): number[] {
    return [...this.removed];
  }

  /** Applies a committed conf change. */
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
        this.rememberRemoved(cc.nodeId);
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

  private rememberRemoved(id: number): void {
    this.removed.add(id);
    for (const oldest of this.removed) {
      if (this.removed.size <= MAX_REMOVED_IDS_REMEMBERED) break;
      this.removed.delete(oldest);
    }
  }

  toJSON(): Member[] {
    return this.list();
  }

  /** `removed`: ids in removal order, as `removedIds()` gave them (absent in images that predate it). */
  static fromJSON(members: readonly Member[], removed: readonly number[] = []): Members {
    const m = new Members();
    for (const x of members) m.byId.set(x.id, { ...x, peerUrls: [...x.peerUrls], clientUrls: [...x.clientUrls] });
    for (const id of removed) if (Number.isSafeInteger(id) && id > 0) m.rememberRemoved(id);
    return m;
  }
}
