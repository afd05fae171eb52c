/**
 * The simulated cluster: replicas, their disks, the network between them, and
 * the checkers every replica event is fed to. It delivers messages in virtual
 * time, feeds transport reports (snapshot status, unreachable) back to
 * senders, creates a replica when its addition commits and stops one for good
 * when its removal commits. Nothing here draws faults: the nemesis does.
 */
import { assert } from '../../raft/core/assert.js';
import { applyConfChange, bootstrapEntries, ConfChangeType } from '../../raft/core/conf-change.js';
import type { ConfChange } from '../../raft/core/conf-change.js';
import type { Rng } from '../../raft/core/rng.js';
import type { ConfState, Message, ReadState } from '../../raft/core/types.js';
import { MessageType, StateRole } from '../../raft/core/types.js';
import { Disk } from './disk.js';
import { CommitChecker, ElectionSafetyChecker, LogMatchingChecker, StateMachineChecker } from './invariants.js';
import type { InFlight, NetworkFaults } from './network.js';
import { Network } from './network.js';
import { ReadChecker } from './read-checker.js';
import type { DriverOptions, RaftTuning, ReplicaObserver } from './replica.js';
import { Replica } from './replica.js';
import type { ApplyEffect } from './state-machine.js';
import type { Trace } from './trace.js';

/** Transport reports waiting to be fed back; each message yields at most one, so this is generous. */
export const REPORTS_MAX = 10_000;
/** Replicas created or removed per step; a step commits at most a few conf changes. */
const STRUCTURAL_CHANGES_PER_STEP_MAX = 64;

/** What the client load hears from the cluster. */
export interface ClientHooks {
  acked(proposalId: number): void;
  readState(r: Replica, rs: ReadState): void;
  serveReads(r: Replica): void;
}

export interface LeaderHooks {
  elected(r: Replica): void;
  committed(r: Replica): void;
}

export interface ClusterOptions {
  readonly replicas: number;
  readonly tuning: RaftTuning;
  readonly driver: DriverOptions;
  readonly networkFaults: NetworkFaults;
  readonly networkRng: Rng;
  /** Seeds the Rng of every node incarnation. */
  readonly nodeRng: Rng;
  readonly trace: Trace;
}

interface Report {
  readonly atUnits: number;
  readonly senderId: number;
  readonly senderIncarnation: number;
  readonly target: number;
  readonly kind: 'snapshot-ok' | 'snapshot-failed' | 'unreachable';
}

export class Cluster implements ReplicaObserver {
  readonly replicas = new Map<number, Replica>();
  /** Removed ids; never reused. */
  readonly removed = new Set<number>();
  /** Membership as of the highest index applied anywhere. */
  conf: ConfState = { voters: [], learners: [] };
  nextNodeId: number;
  nowUnits = 0;
  elections = 0;
  readonly network: Network;
  readonly election = new ElectionSafetyChecker();
  readonly logMatching = new LogMatchingChecker();
  readonly commits = new CommitChecker();
  readonly stateMachine = new StateMachineChecker();
  readonly reads = new ReadChecker();
  client: ClientHooks | undefined;
  /** Told about leaders' elections and commits (the nemesis may kill them at such moments). */
  leaderHooks: LeaderHooks | undefined;
  private timedCrashes: { atUnits: number; id: number; incarnation: number }[] = [];
  private reports: Report[] = [];
  private reportHead = 0;
  private readonly structural: { kind: 'create' | 'remove'; id: number }[] = [];

  constructor(private readonly o: ClusterOptions) {
    this.network = new Network(o.networkRng, o.networkFaults);
    this.nextNodeId = o.replicas + 1;
  }

  get trace(): Trace {
    return this.o.trace;
  }

  /** Starts replicas 1..n from the bootstrap entries, durable from the outset. */
  bootstrap(): void {
    const voters = Array.from({ length: this.o.replicas }, (_, i) => i + 1);
    const entries = bootstrapEntries(voters);
    for (const id of voters) {
      const disk = Disk.withDurable(entries, { term: 1, vote: 0, commit: entries.length });
      this.replicas.set(id, new Replica(id, disk, this.o.tuning, this.o.driver, this));
    }
    for (const id of voters) this.restart(id);
  }

  /** The live leader of the highest term, if any live replica believes it leads. */
  leader(): Replica | undefined {
    let best: Replica | undefined;
    for (const r of this.replicas.values()) {
      if (r.up && r.role === StateRole.Leader && (best === undefined || r.term > best.term)) best = r;
    }
    return best;
  }

  liveReplicas(): Replica[] {
    return [...this.replicas.values()].filter((r) => r.up);
  }

  crash(id: number): void {
    const r = this.mustGet(id);
    r.crash();
    const lost = this.network.dropFrom(id, r.incarnation);
    this.trace.note(this.nowUnits, `crash node ${id} (incarnation ${r.incarnation}); ${lost} messages in its buffers lost`);
  }

  /**
   * Crashes `id` at `atUnits` (between message deliveries; at the current time:
   * right after the step under way), if the same incarnation is still up then.
   */
  crashLater(id: number, atUnits: number): void {
    const r = this.mustGet(id);
    this.timedCrashes.push({ atUnits, id, incarnation: r.incarnation });
  }

  restart(id: number): void {
    const r = this.mustGet(id);
    assert(!this.removed.has(id), () => `node ${id} was removed; it never restarts`);
    r.start(this.o.nodeRng.nextInt(0x7fff_ffff) + 1);
    this.trace.note(this.nowUnits, `start node ${id} (incarnation ${r.incarnation}) term=${r.term} commit=${r.commit}`);
    r.drain();
    this.afterStep(r);
  }

  tickAll(): void {
    for (const r of this.replicas.values()) {
      if (!r.up) continue;
      r.tick();
      this.afterStep(r);
    }
  }

  writebackAll(): void {
    for (const r of this.replicas.values()) if (r.up) r.writeback();
  }

  /** Delivers due reports and messages for every time unit in [fromUnits, toUnits). */
  runUnits(fromUnits: number, toUnits: number): void {
    for (let now = fromUnits; now < toUnits; now++) {
      this.nowUnits = now;
      if (this.timedCrashes.length > 0) this.runTimedCrashes(now);
      this.feedReports(now);
      for (let item = this.network.popDue(now); item !== undefined; item = this.network.popDue(now)) {
        this.deliver(item);
      }
    }
    this.nowUnits = toUnits;
  }

  /** Post-processing after any call into a replica: membership actions, then reads it can now serve. */
  afterStep(r: Replica): void {
    if (this.timedCrashes.length > 0) this.runTimedCrashes(this.nowUnits);
    if (this.structural.length > 0) this.applyStructural();
    if (r.up) this.client?.serveReads(r);
  }

  // ReplicaObserver

  send(from: Replica, msg: Message): void {
    assert(msg.to !== from.id, () => `node ${from.id} sent a message to itself: ${msg.type}`);
    const fate = this.network.send(msg, from.id, from.incarnation, this.nowUnits);
    if (fate === 'dropped' || fate === 'overflow') {
      this.trace.message(this.nowUnits, `drop(${fate})`, msg);
      if (msg.type === MessageType.Snap) this.report(from.id, from.incarnation, msg.to, 'snapshot-failed');
    }
  }

  entryHash(r: Replica, index: number, term: number, prefixHash: number): void {
    this.logMatching.onEntry(r.id, index, term, prefixHash);
  }

  committed(r: Replica, commit: number, prefixHash: number | undefined): void {
    this.commits.onCommit(r.id, commit, prefixHash);
    if (r.role === StateRole.Leader) this.leaderHooks?.committed(r);
  }

  becameLeader(r: Replica): void {
    this.elections++;
    this.trace.note(this.nowUnits, `node ${r.id} becomes leader of term ${r.term} (last index ${r.log.lastIndex()})`);
    this.election.onLeader(r.id, r.term);
    this.commits.onLeader(r.id, r.term, r.log);
    this.leaderHooks?.elected(r);
  }

  applied(r: Replica, index: number, prefixHash: number, effect: ApplyEffect): void {
    if (this.stateMachine.onApply(r.id, index, prefixHash)) {
      this.reads.onFirstApply(index, effect.kind === 'write' ? effect : undefined);
      if (effect.kind === 'conf') this.confCommitted(effect.cc);
    }
    if (effect.kind === 'write' || effect.kind === 'duplicate') this.client?.acked(effect.id);
  }

  restoredSnapshot(r: Replica, index: number, prefixHash: number): void {
    this.stateMachine.onSnapshot(r.id, index, prefixHash);
  }

  readState(r: Replica, rs: ReadState): void {
    this.client?.readState(r, rs);
  }

  // Internals

  private deliver(item: InFlight): void {
    const m = item.msg;
    const r = this.replicas.get(m.to);
    const reason = r === undefined || !r.up ? 'down' : this.network.isBlocked(item.senderId, m.to) ? 'partition' : undefined;
    if (reason !== undefined || r === undefined) {
      this.trace.message(this.nowUnits, `drop(${reason})`, m);
      if (m.type === MessageType.Snap) this.report(item.senderId, item.senderIncarnation, m.to, 'snapshot-failed');
      else if (m.type === MessageType.App) this.report(item.senderId, item.senderIncarnation, m.to, 'unreachable');
      return;
    }
    this.trace.message(this.nowUnits, 'deliver', m);
    r.step(m);
    if (m.type === MessageType.Snap) this.report(item.senderId, item.senderIncarnation, m.to, 'snapshot-ok');
    this.afterStep(r);
  }

  private runTimedCrashes(now: number): void {
    const due = this.timedCrashes.filter((c) => c.atUnits <= now);
    if (due.length === 0) return;
    this.timedCrashes = this.timedCrashes.filter((c) => c.atUnits > now);
    for (const c of due) {
      const r = this.mustGet(c.id);
      if (r.up && r.incarnation === c.incarnation) this.crash(c.id);
    }
  }

  private report(senderId: number, senderIncarnation: number, target: number, kind: Report['kind']): void {
    if (this.reports.length - this.reportHead >= REPORTS_MAX) return;
    this.reports.push({ atUnits: this.nowUnits + 1, senderId, senderIncarnation, target, kind });
  }

  private feedReports(now: number): void {
    while (this.reportHead < this.reports.length) {
      const rep = this.reports[this.reportHead]!;
      if (rep.atUnits > now) break;
      this.reportHead++;
      const sender = this.replicas.get(rep.senderId);
      // A report reaches only the incarnation whose transport sent the message.
      if (sender === undefined || !sender.up || sender.incarnation !== rep.senderIncarnation) continue;
      this.trace.note(now, `report ${rep.kind} ${rep.senderId}->${rep.target}`);
      if (rep.kind === 'unreachable') sender.reportUnreachable(rep.target);
      else sender.reportSnapshot(rep.target, rep.kind === 'snapshot-ok');
      this.afterStep(sender);
    }
    if (this.reportHead === this.reports.length) {
      this.reports = [];
      this.reportHead = 0;
    }
  }

  private confCommitted(cc: ConfChange): void {
    this.conf = applyConfChange(this.conf, cc);
    this.trace.note(this.nowUnits, `committed ${cc.type} ${cc.nodeId}`);
    if (cc.type === ConfChangeType.RemoveNode) {
      this.structural.push({ kind: 'remove', id: cc.nodeId });
    } else if (!this.replicas.has(cc.nodeId) && !this.removed.has(cc.nodeId)) {
      this.structural.push({ kind: 'create', id: cc.nodeId });
    }
  }

  private applyStructural(): void {
    for (let n = 0; n < STRUCTURAL_CHANGES_PER_STEP_MAX && this.structural.length > 0; n++) {
      const change = this.structural.shift()!;
      if (change.kind === 'remove') {
        this.removed.add(change.id);
        const r = this.replicas.get(change.id);
        if (r?.up === true) this.crash(change.id);
        this.trace.note(this.nowUnits, `node ${change.id} removed for good`);
      } else if (!this.replicas.has(change.id) && !this.removed.has(change.id)) {
        this.replicas.set(change.id, new Replica(change.id, new Disk(), this.o.tuning, this.o.driver, this));
        this.restart(change.id);
      }
    }
  }

  private mustGet(id: number): Replica {
    const r = this.replicas.get(id);
    assert(r !== undefined, () => `no replica ${id}`);
    return r;
  }
}
