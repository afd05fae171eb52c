/**
 * The test driver's side of the Ready contract (see types.ts, Ready): persist
 * snapshot, entries and hard state; only then send; apply in order. It also
 * checks what the core must guarantee for that order to be safe, and throws on
 * a violation:
 *  - term and commit never go back, and a vote is never changed within a term;
 *  - no message speaks for a term, a vote or an entry that is not durable;
 *  - committed entries come in index order, without gaps, and persisted.
 */
import { applyConfChange, decodeConfChange } from '../../raft/core/conf-change.js';
import type { RaftConfig } from '../../raft/core/config.js';
import type { RawNode } from '../../raft/core/raw-node.js';
import type { MemoryStorage } from '../../raft/core/storage.js';
import type { ConfState, Entry, HardState, ReadState, Ready } from '../../raft/core/types.js';

export type NodeConfig = Partial<Omit<RaftConfig, 'id' | 'storage' | 'rng'>>;

/** A node of the test network with its storage and its test state machine. */
export interface TestNode {
  readonly id: number;
  raw: RawNode;
  readonly storage: MemoryStorage;
  readonly config: NodeConfig;
  /** Last applied index (snapshot or entry). */
  appliedIndex: number;
  /** Committed entries handed out and applied since the last snapshot restore. */
  appliedEntries: Entry[];
  /** State-machine payloads as restored from the last applied snapshot. */
  snapshotState: string[];
  /** Membership as of the last applied snapshot (or the storage's initial one). */
  snapshotConf: ConfState;
  readStates: ReadState[];
  /** Every Ready this node produced, in order. */
  readys: Ready[];
  lastHardState: HardState;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export function text(e: Entry): string {
  return decoder.decode(e.data);
}

/** Entry payloads the test state machine records: non-empty normal entries. */
export function payloads(entries: readonly Entry[]): string[] {
  return entries.filter((e) => e.type === 'Normal' && e.data.byteLength > 0).map(text);
}

/** The membership after applying the conf changes among `entries` to `base`. */
export function confAfter(base: ConfState, entries: readonly Entry[]): ConfState {
  let cs = base;
  for (const e of entries) if (e.type === 'ConfChange') cs = applyConfChange(cs, decodeConfChange(e.data));
  return cs;
}

export function persist(node: TestNode, rd: Ready): void {
  if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0) node.storage.applySnapshot(rd.snapshot);
  node.storage.append(rd.entries);
  if (rd.hardState !== undefined) {
    const prev = node.lastHardState;
    if (rd.hardState.term < prev.term) {
      throw new Error(`node ${node.id}: term went back from ${prev.term} to ${rd.hardState.term}`);
    }
    if (rd.hardState.commit < prev.commit) {
      throw new Error(`node ${node.id}: commit went back from ${prev.commit} to ${rd.hardState.commit}`);
    }
    if (rd.hardState.term === prev.term && prev.vote !== 0 && rd.hardState.vote !== prev.vote) {
      throw new Error(`node ${node.id}: changed its vote in term ${prev.term} from ${prev.vote} to ${rd.hardState.vote}`);
    }
    node.storage.setHardState(rd.hardState);
    node.lastHardState = rd.hardState;
  }
}

/**
 * The Ready contract: nothing is said in a term, for a vote or about an entry
 * before that term, vote or entry is durable (the driver persisted this Ready
 * just before calling this).
 */
export function checkMessagesDurable(node: TestNode, rd: Ready): void {
  const hs = node.lastHardState;
  const lastIndex = node.storage.lastIndex();
  for (const m of rd.messages) {
    const what = `node ${node.id} sent ${m.type} to ${m.to} at term ${m.term}`;
    // Pre-votes speak of a term the sender has not entered; forwarded requests carry no term.
    if (m.type === 'PreVote' || m.type === 'PreVoteResp' || m.term === 0) continue;
    if (m.term > hs.term) throw new Error(`${what} while its durable term is ${hs.term}`);
    // A vote is safe once it is durable, or once a later term is: a node never votes in an older term.
    const voteDurable = (vote: number) => hs.term > m.term || (hs.term === m.term && hs.vote === vote);
    if (m.type === 'Vote' && !voteDurable(node.id)) {
      throw new Error(`${what} before its own vote was durable (durable vote ${hs.vote} in term ${hs.term})`);
    }
    if (m.type === 'VoteResp' && m.reject !== true && !voteDurable(m.to)) {
      throw new Error(`${what} granting a vote that is not durable (durable vote ${hs.vote} in term ${hs.term})`);
    }
    if (m.type === 'AppResp' && m.reject !== true && (m.index ?? 0) > lastIndex) {
      throw new Error(`${what} acknowledging index ${m.index ?? 0} beyond its durable last index ${lastIndex}`);
    }
  }
}

export function applyReady(node: TestNode, rd: Ready): void {
  if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0) {
    node.snapshotState = JSON.parse(decoder.decode(rd.snapshot.data)) as string[];
    node.snapshotConf = rd.snapshot.metadata.confState;
    node.appliedEntries = [];
    node.appliedIndex = rd.snapshot.metadata.index;
  }
  for (const e of rd.committedEntries) {
    if (e.index !== node.appliedIndex + 1) {
      throw new Error(`node ${node.id}: applying entry ${e.index} after ${node.appliedIndex}`);
    }
    if (e.index > node.storage.lastIndex()) {
      throw new Error(`node ${node.id}: entry ${e.index} committed before it was persisted`);
    }
    node.appliedEntries.push(e);
    node.appliedIndex = e.index;
  }
  node.readStates.push(...rd.readStates);
}
