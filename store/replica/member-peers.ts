/**
 * A member's peer transport, wired to the rest of the member: messages go to
 * the Raft driver (once it exists: a snapshot restored at start already needs
 * the peers), the peer set follows the replicated membership, removed members
 * are refused, and this member's own removal (applied here, or reported by a
 * peer) goes to its RemovalWatch.
 */
import type { RaftDriver } from '../../raft/driver/raft-driver.js';
import { GrpcTransport } from '../../raft/transport/grpc-transport.js';
import { NetworkFaults } from '../../raft/transport/network-faults.js';
import type { StateMachine } from '../../raft/driver/raft-driver.js';
import { formatId } from './member-id.js';
import type { Members } from './members.js';
import type { RemovalWatch } from './removal.js';
import type { ReplicatedState } from './replicated-state.js';

export interface MemberPeersOptions {
  readonly selfId: number;
  readonly clusterId: number;
  /** Whom to dial while this member has applied no membership yet (identity.ts). */
  readonly fallbackPeers: ReadonlyArray<{ readonly id: number; readonly peerUrl: string }>;
  readonly removal: RemovalWatch;
  /** The membership table as applied so far. */
  readonly members: () => Members;
  /** Chaos failpoint: a file listing peers to cut off (raft/transport/network-faults.ts). */
  readonly networkFaultsFile?: string;
  readonly log?: (line: string) => void;
}

export class MemberPeers {
  readonly transport: GrpcTransport;
  /** Set once the driver exists; messages that arrive before are dropped (Raft resends). */
  driver: RaftDriver | undefined;

  constructor(private readonly o: MemberPeersOptions) {
    const faults = o.networkFaultsFile === undefined ? undefined : new NetworkFaults(o.networkFaultsFile, o.log);
    this.transport = new GrpcTransport(o.selfId, formatId(o.clusterId), faults);
    this.transport.setHandlers({
      onMessage: (m) => this.driver?.receive(m),
      onUnreachable: (id) => this.driver?.reportUnreachable(id),
      onSnapshotStatus: (id, ok) => this.driver?.reportSnapshot(id, ok),
      onRemoved: (reporter) => o.removal.notice(`member ${formatId(reporter)} refuses its messages`),
      membership: () => {
        const list = o.members().list();
        return list.length > 0 ? list : undefined;
      },
    });
  }

  /** The applied membership changed: dial its members, refuse the removed ones, and notice this member's removal. */
  onMembersChanged(members: Members): void {
    const list = members.list();
    const wanted = new Map(list.filter((m) => m.id !== this.o.selfId && m.peerUrls[0] !== undefined).map((m) => [m.id, m.peerUrls[0]!]));
    if (list.length === 0) for (const p of this.o.fallbackPeers) wanted.set(p.id, p.peerUrl);
    this.transport.syncPeers(wanted);
    this.transport.setRemoved(members.removedIds());
    if (members.isRemoved(this.o.selfId)) this.o.removal.notice('it applied its own removal');
  }

  /** Whether peer `id` was heard from within `withinMs` (membership changes check it on the leader). */
  heardWithinMs(id: number, withinMs: number): boolean {
    return this.transport.heardWithinMs(id, withinMs);
  }
}

/** `state` as the driver's state machine, saying in the log when a snapshot replaces it (from disk or from the leader). */
export function loggingSnapshots(state: ReplicatedState, log: (line: string) => void): StateMachine {
  return {
    apply: (entries) => state.apply(entries),
    restore: (snapshot) => {
      state.restore(snapshot);
      log(`applied a snapshot at index ${snapshot.metadata.index} (term ${snapshot.metadata.term})`);
    },
    snapshot: () => state.snapshot(),
  };
}
