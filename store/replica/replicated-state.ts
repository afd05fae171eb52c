/**
 * What every member applies committed entries to: the MVCC state machine plus
 * the membership table. Implements the Raft driver's StateMachine; hands each
 * apply result to the proposer's waiter (by request id) and each revision's
 * events to the watch hub.
 *
 * Snapshot image: msgpack { version, mvcc: <MVCC snapshot bytes>, members }.
 */
import { Packr } from 'msgpackr';
import { decodeConfChange } from '../../raft/core/conf-change.js';
import type { Entry, Snapshot } from '../../raft/core/types.js';
import { EntryType } from '../../raft/core/types.js';
import type { StateMachine } from '../../raft/driver/raft-driver.js';
import type { Member } from '../etcd-server/types.js';
import { applyEncodedCommand } from '../mvcc/commands.js';
import { MvccStateMachine, type ApplyResult } from '../mvcc/state-machine.js';
import { Members } from './members.js';
import { decodeProposal } from './proposal.js';
import { WatchHub } from './watch-hub.js';

const IMAGE_VERSION = 1;
const packr = new Packr({ useRecords: false });

export class SnapshotImageError extends Error {
  readonly code = 'SNAPSHOT_IMAGE_INVALID';
  constructor(detail: string) {
    super(`state-machine snapshot is unusable: ${detail}`);
    this.name = 'SnapshotImageError';
  }
}

export type ApplyOutcome = ApplyResult<unknown> | { readonly ok: true; readonly value: undefined; readonly events: readonly [] };

export interface ReplicatedStateHooks {
  /** The proposer's waiter for `requestId`, if it is this member's. */
  onResult(requestId: string, outcome: ApplyOutcome): void;
  /** Membership changed (a conf change or a snapshot applied). */
  onMembersChanged(members: readonly Member[]): void;
}

export class ReplicatedState implements StateMachine {
  mvcc = new MvccStateMachine();
  members = new Members();
  readonly watchHub = new WatchHub(() => this.mvcc);
  /** Index of the last applied entry. */
  appliedIndex = 0;

  constructor(private readonly hooks: ReplicatedStateHooks) {}

  apply(entries: readonly Entry[]): void {
    let membersChanged = false;
    for (const e of entries) {
      this.appliedIndex = e.index;
      if (e.type === EntryType.ConfChange) {
        this.members.applyConfChange(decodeConfChange(e.data));
        membersChanged = true;
        continue;
      }
      if (e.data.byteLength === 0) continue; // a leader's no-op
      const p = decodeProposal(e.data);
      if (p === undefined) continue;
      if (p.kind === 'memberAttributes') {
        this.members.applyAttributes(p.memberId, p.attributes);
        membersChanged = true;
        this.hooks.onResult(p.requestId, { ok: true, value: undefined, events: [] });
        continue;
      }
      const result = applyEncodedCommand(p.command, this.mvcc);
      if (result.ok && result.events.length > 0) this.watchHub.onApplied(this.mvcc.currentRevision, result.events);
      this.hooks.onResult(p.requestId, result);
    }
    if (membersChanged) this.hooks.onMembersChanged(this.members.list());
  }

  restore(snapshot: Snapshot): void {
    const image = decodeImage(snapshot.data);
    const mvcc = MvccStateMachine.restore(image.mvcc);
    if (!(mvcc instanceof MvccStateMachine)) throw new SnapshotImageError(mvcc.message);
    this.mvcc = mvcc;
    this.members = Members.fromJSON(image.members);
    this.appliedIndex = snapshot.metadata.index;
    this.watchHub.onRestored();
    this.hooks.onMembersChanged(this.members.list());
  }

  snapshot(): Uint8Array {
    return new Uint8Array(packr.pack({ version: IMAGE_VERSION, mvcc: this.mvcc.snapshot(), members: this.members.toJSON() }));
  }
}

export function decodeImage(data: Uint8Array): { mvcc: Uint8Array; members: Member[] } {
  let o: unknown;
  try {
    o = packr.unpack(data);
  } catch (err) {
    throw new SnapshotImageError(`cannot decode: ${String(err)}`);
  }
  const img = o as { version?: unknown; mvcc?: unknown; members?: unknown };
  if (img.version !== IMAGE_VERSION) throw new SnapshotImageError(`unknown image version ${String(img.version)}`);
  if (!(img.mvcc instanceof Uint8Array) || !Array.isArray(img.members)) throw new SnapshotImageError('missing mvcc or members');
  return { mvcc: img.mvcc, members: img.members as Member[] };
}
