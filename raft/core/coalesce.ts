/**
 * Coalescing of outgoing messages within one Ready. Under load a leader sees
 * many proposals between two Readies; each one broadcasts an append of its own
 * entry, and a follower forwards each proposal on its own. Joining such a
 * message to the one queued just before it for the same peer sends the same
 * entries in fewer messages, and the receiver answers once instead of once per
 * entry. The joined message is exactly what the sender would have sent had all
 * the entries been there at once:
 *
 * - App: the earlier append ends where the later one starts (same term, the
 *   later one's index and log term are the earlier one's last entry), and the
 *   commit index is the later, higher one;
 * - Prop: a follower's forwarded proposals, in their order;
 * - Heartbeat: a later heartbeat replaces the queued one. Its commit is no
 *   lower, and the acknowledgement of its read context confirms every read
 *   request queued before it (a leader releases reads up to the acknowledged
 *   one), so the earlier heartbeat adds nothing. One without a read context
 *   never replaces one with.
 *
 * Only the latest message queued for that peer is extended, so nothing sent to
 * a peer changes order, and a message never grows beyond `maxBytes` of entries.
 */
import type { Message } from './types.js';
import { MessageType, entriesBytes } from './types.js';

/** Extends the last message in `queue` for `m.to` with `m`'s entries when that sends the same thing; returns whether it did. */
export function coalesceInto(queue: Message[], m: Message, maxBytes: number): boolean {
  if (m.type === MessageType.Heartbeat) return replaceHeartbeat(queue, m);
  if (m.type !== MessageType.App && m.type !== MessageType.Prop) return false;
  const add = m.entries;
  if (add === undefined || add.length === 0) return false;
  for (let i = queue.length - 1; i >= 0; i--) {
    const prev = queue[i]!;
    if (prev.to !== m.to) continue;
    if (prev.type !== m.type || prev.term !== m.term || prev.from !== m.from) return false;
    const have = prev.entries;
    if (have === undefined || have.length === 0) return false;
    if (m.type === MessageType.App) {
      const last = have[have.length - 1]!;
      if (m.index !== last.index || m.logTerm !== last.term) return false;
    }
    if (entriesBytes(have) + entriesBytes(add) > maxBytes) return false;
    queue[i] = m.type === MessageType.App ? { ...prev, entries: have.concat(add), commit: m.commit } : { ...prev, entries: have.concat(add) };
    return true;
  }
  return false;
}

function replaceHeartbeat(queue: Message[], m: Message): boolean {
  for (let i = queue.length - 1; i >= 0; i--) {
    const prev = queue[i]!;
    if (prev.to !== m.to) continue;
    if (prev.type !== MessageType.Heartbeat || prev.term !== m.term || prev.from !== m.from) return false;
    if (m.context === undefined && prev.context !== undefined) return false;
    if ((m.commit ?? 0) < (prev.commit ?? 0)) return false;
    queue[i] = m;
    return true;
  }
  return false;
}
