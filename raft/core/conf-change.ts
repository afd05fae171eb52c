/**
 * Membership changes, one server at a time (Raft thesis §4.1).
 *
 * Method: a node uses the latest configuration in its log, committed or not — a
 * change takes effect as soon as its entry is appended, and is undone if that
 * entry is truncated away. Safety follows from two rules the leader enforces:
 *  1. at most one change is uncommitted at a time, so any two consecutive
 *     configurations differ by one voter and their majorities overlap;
 *  2. a new leader appends no change until an entry of its own term has
 *     committed (the fix from the raft-dev errata to the single-server method),
 *     so a change from an older term can never be overtaken.
 * Learners never count toward a quorum, so adding or removing them is always safe;
 * promoting a learner is the voter addition.
 */
import { assert, assertNever } from './assert.js';
import { InvalidConfChangeError } from './errors.js';
import type { ConfState, Entry } from './types.js';
import { EntryType } from './types.js';

export const ConfChangeType = {
  /** Add a voter, or promote an existing learner to voter. */
  AddVoter: 'AddVoter',
  /** Add a learner (non-voting member that receives the log). */
  AddLearner: 'AddLearner',
  /** Remove a voter or learner. */
  RemoveNode: 'RemoveNode',
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: number;
  /** Opaque application payload (e.g. the new member's peer URL). */
  readonly context?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const parsed: unknown = JSON.parse(decoder.decode(data));
  assert(isConfChange(parsed), () => `malformed conf change entry: ${decoder.decode(data)}`);
  return parsed;
}

function isConfChange(v: unknown): v is ConfChange {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o['type'] === 'string' &&
    Object.values(ConfChangeType).includes(o['type'] as ConfChangeType) &&
    typeof o['nodeId'] === 'number'
  );
}

/**
 * Validates `cc` against `cs`; throws InvalidConfChangeError when the change is a
 * no-op, names node 0, or would leave the cluster without voters.
 */
export function validateConfChange(cs: ConfState, cc: ConfChange): void {
  if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0) {
    throw new InvalidConfChangeError(`node id must be a positive integer, got ${cc.nodeId}`);
  }
  const isVoter = cs.voters.includes(cc.nodeId);
  const isLearner = cs.learners.includes(cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      if (isVoter) throw new InvalidConfChangeError(`node ${cc.nodeId} is already a voter`);
      return;
    case ConfChangeType.AddLearner:
      if (isLearner) throw new InvalidConfChangeError(`node ${cc.nodeId} is already a learner`);
      if (isVoter) {
        throw new InvalidConfChangeError(`node ${cc.nodeId} is a voter; demoting a voter to learner is not supported`);
      }
      return;
    case ConfChangeType.RemoveNode:
      if (!isVoter && !isLearner) throw new InvalidConfChangeError(`node ${cc.nodeId} is not a member`);
      if (isVoter && cs.voters.length === 1) {
        throw new InvalidConfChangeError(`node ${cc.nodeId} is the last voter and cannot be removed`);
      }
      return;
    default:
      assertNever(cc.type, 'conf change type');
  }
}

/** The configuration after `cc`. Pure; does not validate (apply rejects nothing). */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  const voters = cs.voters.filter((id) => id !== cc.nodeId);
  const learners = cs.learners.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      voters.push(cc.nodeId);
      break;
    case ConfChangeType.AddLearner:
      learners.push(cc.nodeId);
      break;
    case ConfChangeType.RemoveNode:
      break;
    default:
      assertNever(cc.type, 'conf change type');
  }
  voters.sort((a, b) => a - b);
  learners.sort((a, b) => a - b);
  return { voters, learners };
}

export function confStateEqual(a: ConfState, b: ConfState): boolean {
  return sameIds(a.voters, b.voters) && sameIds(a.learners, b.learners);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((v, i) => v === sb[i]);
}

/**
 * The first entries of a new cluster's log: one AddVoter change per voter, at
 * term 1. The driver appends them and persists hard state
 * { term: 1, vote: 0, commit: voters.length } before starting the node, so a
 * member that joins later learns the initial membership from the log itself.
 * `contexts` attaches application data per voter (e.g. its name and URLs).
 */
export function bootstrapEntries(voters: readonly number[], contexts?: ReadonlyMap<number, string>): Entry[] {
  assert(voters.length > 0, 'a cluster needs at least one voter');
  return voters.map((nodeId, i) => {
    const context = contexts?.get(nodeId);
    const cc: ConfChange = context === undefined ? { type: ConfChangeType.AddVoter, nodeId } : { type: ConfChangeType.AddVoter, nodeId, context };
    return { term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange(cc) };
  });
}
