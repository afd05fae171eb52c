/**
 * What every member applies committed entries to: the MVCC state machine plus
 * the membership table and the raised alarms. Implements the Raft driver's StateMachine; hands each
 * apply result to the proposer's waiter (by request id) and each revision's
 * events to the watch hub.
 *
 * Snapshot image: msgpack { version, mvcc: <MVCC snapshot bytes>, members, alarms }.
 * `alarms` came later; an image without it has none raised. So did `removedMembers`
 * (ids removed from the cluster, oldest first; members.ts); without it, none.
 */
import { Packr } from 'msgpackr';
import { packWithBytes, packWithBytesHead } from '../../proto/msgpack.js';
import { decodeConfChange } from '../../raft/core/conf-change.js';
import type { Entry, Snapshot } from '../../raft/core/types.js';
import { EntryType } from '../../raft/core/types.js';
import type { StateMachine } from '../../raft/driver/raft-driver.js';
import type { AlarmMember, Member } from '../etcd-server/types.js';
import { applyCommand, decodeCommand } from '../mvcc/commands.js';
import { MalformedCommandError } from '../mvcc/errors.js';
import { MvccStateMachine, type ApplyResult } from '../mvcc/state-machine.js';
import type { SnapshotStream } from '../mvcc/snapshot.js';
import { AlarmTable } from './alarms.js';
import { Members } from './members.js';
import { decodeProposal, type Proposal } from './proposal.js';
import { admit } from './quota.js';
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

export type ApplyOutcome =
  | ApplyResult<unknown>
  | { readonly ok: true; readonly value: unknown; readonly events: readonly [] }
  /** Refused before the MVCC saw it: the space quota, a raised alarm (quota.ts), a full alarm table. */
  | { readonly ok: false; readonly error: Error };

const APPLIED_NO_EVENTS = { ok: true, value: undefined, events: [] } as const;

export interface ReplicatedStateHooks {
  /** The proposer's waiter for `requestId`, if it is this member's. */
  onResult(requestId: string, outcome: ApplyOutcome): void;
  /** Membership changed (a conf change or a snapshot applied). */
  onMembersChanged(members: readonly Member[]): void;
  /**
   * The write at log `index` was refused because it would reach its proposer's
   * space quota and no NOSPACE alarm is raised yet: this member should raise one
   * for itself through the log, as every etcd member does on such a refusal.
   */
  onNoSpace?(index: number): void;
}

export class ReplicatedState implements StateMachine {
  mvcc = new MvccStateMachine();
  members = new Members();
  alarms = new AlarmTable();
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
      if (p.kind === 'memberAttributes') membersChanged = true;
      this.hooks.onResult(p.requestId, this.applyProposal(p, e.index));
    }
    if (membersChanged) this.hooks.onMembersChanged(this.members.list());
  }

  private applyProposal(p: Proposal, index: number): ApplyOutcome {
    switch (p.kind) {
      case 'memberAttributes':
        this.members.applyAttributes(p.memberId, p.attributes);
        return APPLIED_NO_EVENTS;
      case 'alarm': {
        const changed = this.alarms.apply(p.change);
        return changed instanceof Error ? { ok: false, error: changed } : { ok: true, value: changed, events: [] };
      }
      case 'kv':
        return this.applyKv(p.command, p.quotaBytes, index);
    }
  }

  /** An MVCC command, unless the quota or a raised alarm refuses it (quota.ts). */
  private applyKv(entry: Uint8Array, quotaBytes: number | undefined, index: number): ApplyOutcome {
    const command = decodeCommand(entry);
    if (command instanceof MalformedCommandError) return { ok: false, error: command };
    const admission = admit(command, { alarms: this.alarms, usedBytes: this.mvcc.status().dbSizeBytes, quotaBytes });
    if (!admission.ok) {
      if (admission.raiseNoSpace) this.hooks.onNoSpace?.(index);
      return { ok: false, error: admission.error };
    }
    const result = applyCommand(command, this.mvcc);
    if (result.ok && result.events.length > 0) this.watchHub.onApplied(this.mvcc.currentRevision, result.events);
    return result;
  }

  restore(snapshot: Snapshot): void {
    const image = decodeImage(snapshot.data);
    const mvcc = MvccStateMachine.restore(image.mvcc);
    if (!(mvcc instanceof MvccStateMachine)) throw new SnapshotImageError(mvcc.message);
    this.mvcc = mvcc;
    this.members = Members.fromJSON(image.members, image.removedMembers);
    this.alarms = image.alarms;
    this.appliedIndex = snapshot.metadata.index;
    this.watchHub.onRestored();
    this.hooks.onMembersChanged(this.members.list());
  }

  snapshot(): Uint8Array {
    return encodeImage(this.imageContents());
  }

  /**
   * The same image as snapshot(), of this moment's state, in chunks of about
   * `chunkBytes` encoded as they are read: a backup streams it without ever
   * holding a buffer as large as the state.
   */
  snapshotStream(chunkBytes: number): SnapshotStream {
    const mvcc = this.mvcc.snapshotStream(chunkBytes);
    const head = packWithBytesHead(imageHead(this.imageTable()), 'mvcc', mvcc.byteLength, packr);
    function* chunks(): Generator<Uint8Array> {
      yield head;
      yield* mvcc.chunks;
    }
    return { byteLength: head.byteLength + mvcc.byteLength, chunks: chunks() };
  }

  private imageContents(): ImageContents {
    return { mvcc: this.mvcc.snapshot(), ...this.imageTable() };
  }

  private imageTable(): Omit<ImageContents, 'mvcc'> {
    return { members: this.members.toJSON(), alarms: this.alarms.toJSON(), removedMembers: this.members.removedIds() };
  }
}

interface ImageContents {
  readonly mvcc: Uint8Array;
  readonly members: readonly Member[];
  readonly alarms?: readonly AlarmMember[];
  readonly removedMembers?: readonly number[];
}

function imageHead(image: Omit<ImageContents, 'mvcc'>): object {
  return { version: IMAGE_VERSION, members: image.members, alarms: image.alarms ?? [], removedMembers: image.removedMembers ?? [] };
}

/** The snapshot image of an MVCC snapshot and a membership table (a restore builds one for the new cluster). */
export function encodeImage(image: ImageContents): Uint8Array {
  // The state's bytes are all but a few hundred of the image's: copied once, not packed.
  return packWithBytes(imageHead(image), 'mvcc', image.mvcc, packr);
}


export function decodeImage(data: Uint8Array): { mvcc: Uint8Array; members: Member[]; alarms: AlarmTable; removedMembers: number[] } {
  let o: unknown;
  try {
    o = packr.unpack(data);
  } catch (err) {
    throw new SnapshotImageError(`cannot decode: ${String(err)}`);
  }
  const img = o as { version?: unknown; mvcc?: unknown; members?: unknown; alarms?: unknown; removedMembers?: unknown };
  if (img.version !== IMAGE_VERSION) throw new SnapshotImageError(`unknown image version ${String(img.version)}`);
  if (!(img.mvcc instanceof Uint8Array) || !Array.isArray(img.members)) throw new SnapshotImageError('missing mvcc or members');
  const alarms = AlarmTable.fromJSON(img.alarms);
  if (typeof alarms === 'string') throw new SnapshotImageError(alarms);
  const removedMembers = Array.isArray(img.removedMembers) ? img.removedMembers.filter((id): id is number => Number.isSafeInteger(id)) : [];
  return { mvcc: img.mvcc, members: img.members as Member[], alarms, removedMembers };
}
