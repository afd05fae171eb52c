/**
 * ReadIndex requests on the leader waiting for a heartbeat quorum to confirm
 * that it is still the leader (thesis §6.4). Requests are confirmed in order:
 * acknowledging a later request confirms every earlier one.
 */
import type { Message } from './types.js';

export interface ReadIndexStatus {
  readonly req: Message;
  /** The commit index when the request arrived: the read must observe at least this. */
  readonly index: number;
  readonly acks: Set<number>;
}

/** A bound on waiting reads so a leader that lost its quorum cannot grow without limit. */
export const MAX_PENDING_READ_INDEX_REQUESTS = 65_536;

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Registers a request; returns false when one with the same context is already waiting. */
  addRequest(index: number, req: Message): boolean {
    const ctx = req.context ?? '';
    if (this.pending.has(ctx)) return false;
    this.pending.set(ctx, { req, index, acks: new Set() });
    this.queue.push(ctx);
    return true;
  }

  /** Records a heartbeat acknowledgement; returns the acks so far, or undefined if unknown. */
  recvAck(from: number, ctx: string): Set<number> | undefined {
    const rs = this.pending.get(ctx);
    if (rs === undefined) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Removes and returns every request up to and including `ctx`, oldest first. */
  advance(ctx: string): ReadIndexStatus[] {
    const at = this.queue.indexOf(ctx);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const c of done) {
      const rs = this.pending.get(c);
      this.pending.delete(c);
      if (rs !== undefined) out.push(rs);
    }
    return out;
  }

  lastPendingRequestCtx(): string | undefined {
    return this.queue[this.queue.length - 1];
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
