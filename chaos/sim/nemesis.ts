/**
 * The fault schedule, drawn tick by tick from the seed: crashes (with restart
 * after a random downtime), partitions (symmetric splits, one-way isolation,
 * single asymmetric links) that heal after a while, membership changes (add a
 * learner under a fresh id, promote a learner, remove a voter or learner —
 * the leader included), leadership transfers and forced campaigns.
 */
import type { Rng } from '../../raft/core/rng.js';
import type { ConfChange } from '../../raft/core/conf-change.js';
import { ConfChangeType } from '../../raft/core/conf-change.js';
import type { Cluster } from './cluster.js';
import type { Replica } from './replica.js';

export interface NemesisRates {
  /** Probability per tick that one live replica crashes. */
  readonly crashPerTick: number;
  /** A crashed replica restarts after 1..downTicksMax ticks. */
  readonly downTicksMax: number;
  /** Probability per tick that a partition starts (when none is active). */
  readonly partitionPerTick: number;
  /** A partition heals after 1..partitionTicksMax ticks. */
  readonly partitionTicksMax: number;
  readonly membershipPerTick: number;
  readonly transferPerTick: number;
  readonly campaignPerTick: number;
  /** Probability that a new leader crashes within NEW_LEADER_CRASH_UNITS_MAX of its election. */
  readonly newLeaderCrash: number;
}

export interface MembershipBounds {
  readonly votersMin: number;
  readonly votersMax: number;
  readonly learnersMax: number;
}

/** Share of membership changes and transfers sent to the leader rather than to a random replica. */
const TO_LEADER_PROBABILITY = 0.7;
/** Share of membership changes that are deliberately invalid (the core must refuse them with a typed error). */
const INVALID_CHANGE_PROBABILITY = 0.05;
/**
 * How a doomed new leader dies: at once, having appended its first entry but
 * sent nothing (a crash loses the messages still in its buffers); right after
 * its first commit, before the followers hear of it; or within
 * NEW_LEADER_CRASH_UNITS_MAX, while it may still be bringing lagging followers
 * up to date one append at a time. Chains of such leaders build the logs of the
 * Raft paper's Figure 8: entries of different terms at one index, each on a minority.
 */
export const NEW_LEADER_CRASH_UNITS_MAX = 40;

export class Nemesis {
  private readonly restartAtTick = new Map<number, number>();
  private healAtTick: number | undefined;
  /** False once the fault phase ends. */
  private active = true;
  /** Doomed leaders that die right after their first commit: id → incarnation. */
  private readonly killAfterCommit = new Map<number, number>();
  crashes = 0;
  partitions = 0;

  constructor(
    private readonly rng: Rng,
    private readonly rates: NemesisRates,
    private readonly bounds: MembershipBounds,
    private readonly cluster: Cluster,
  ) {
    cluster.leaderHooks = {
      elected: (r) => this.maybeDoomLeader(r),
      committed: (r) => this.maybeKillAfterCommit(r),
    };
  }

  onTick(tick: number): void {
    this.restartDue(tick);
    if (this.healAtTick !== undefined && this.healAtTick <= tick) this.healPartitions();
    const r = this.rates;
    if (this.chance(r.crashPerTick)) this.crashOne();
    if (this.healAtTick === undefined && this.chance(r.partitionPerTick)) this.partition(tick);
    if (this.chance(r.membershipPerTick)) this.changeMembership();
    if (this.chance(r.transferPerTick)) this.transfer();
    if (this.chance(r.campaignPerTick)) this.campaign();
  }

  /** Ends the fault phase: partitions heal and every crashed member restarts. */
  healAll(): void {
    this.active = false;
    this.killAfterCommit.clear();
    this.healPartitions();
    this.restartAtTick.clear();
    for (const r of this.cluster.replicas.values()) {
      if (!r.up && !this.cluster.removed.has(r.id)) this.cluster.restart(r.id);
    }
  }

  /** Restarts replicas whose downtime is over; gives every newly crashed one its downtime. */
  private restartDue(tick: number): void {
    for (const r of this.cluster.replicas.values()) {
      if (r.up || this.cluster.removed.has(r.id)) continue;
      const at = this.restartAtTick.get(r.id);
      if (at === undefined) {
        this.restartAtTick.set(r.id, tick + 1 + this.rng.nextInt(this.rates.downTicksMax));
      } else if (at <= tick) {
        this.restartAtTick.delete(r.id);
        this.cluster.restart(r.id);
      }
    }
  }

  private maybeDoomLeader(r: Replica): void {
    if (!this.active || !this.chance(this.rates.newLeaderCrash)) return;
    const mode = this.rng.nextInt(5);
    if (mode < 2) this.cluster.crashLater(r.id, this.cluster.nowUnits);
    else if (mode < 4) this.killAfterCommit.set(r.id, r.incarnation);
    else this.cluster.crashLater(r.id, this.cluster.nowUnits + 1 + this.rng.nextInt(NEW_LEADER_CRASH_UNITS_MAX));
    this.crashes++;
  }

  private maybeKillAfterCommit(r: Replica): void {
    if (this.killAfterCommit.get(r.id) !== r.incarnation) return;
    this.killAfterCommit.delete(r.id);
    this.cluster.crashLater(r.id, this.cluster.nowUnits);
  }

  private chance(p: number): boolean {
    return p > 0 && this.rng.nextFloat() < p;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.rng.nextInt(items.length)];
  }

  private crashOne(): void {
    const victim = this.pick(this.cluster.liveReplicas());
    if (victim === undefined) return;
    this.cluster.crash(victim.id);
    this.crashes++;
  }

  private members(): number[] {
    return [...this.cluster.replicas.keys()].filter((id) => !this.cluster.removed.has(id));
  }

  private partition(tick: number): void {
    const ids = this.members();
    if (ids.length < 2) return;
    const net = this.cluster.network;
    const kind = this.rng.nextInt(4);
    let what: string;
    if (kind === 0) {
      // Symmetric split into two non-empty sides.
      const shuffled = this.shuffle(ids);
      const cut = 1 + this.rng.nextInt(ids.length - 1);
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      for (const x of a) {
        for (const y of b) {
          net.block(x, y);
          net.block(y, x);
        }
      }
      what = `split {${a.join(',')}} | {${b.join(',')}}`;
    } else if (kind === 1 || kind === 2) {
      // One node hears nobody (1) or nobody hears it (2); the other direction works.
      const x = this.pick(ids)!;
      for (const y of ids) {
        if (y === x) continue;
        if (kind === 1) net.block(y, x);
        else net.block(x, y);
      }
      what = kind === 1 ? `node ${x} deaf` : `node ${x} mute`;
    } else {
      // A few one-way links: A hears B but B does not hear A.
      const links: string[] = [];
      const count = 1 + this.rng.nextInt(3);
      for (let n = 0; n < count; n++) {
        const [x, y] = this.shuffle(ids);
        net.block(x!, y!);
        links.push(`${x}-/->${y}`);
      }
      what = `one-way ${links.join(' ')}`;
    }
    this.partitions++;
    this.healAtTick = tick + 1 + this.rng.nextInt(this.rates.partitionTicksMax);
    this.cluster.trace.note(this.cluster.nowUnits, `partition ${what}`);
  }

  private healPartitions(): void {
    if (this.cluster.network.blockedLinks > 0) this.cluster.trace.note(this.cluster.nowUnits, 'partitions heal');
    this.cluster.network.healPartitions();
    this.healAtTick = undefined;
  }

  private changeMembership(): void {
    const cc = this.drawConfChange();
    const target = this.target();
    if (cc === undefined || target === undefined) return;
    const outcome = target.proposeConfChange(cc);
    this.cluster.trace.note(this.cluster.nowUnits, `propose ${cc.type} ${cc.nodeId} via node ${target.id}: ${outcome}`);
    this.cluster.afterStep(target);
  }

  private drawConfChange(): ConfChange | undefined {
    const { voters, learners } = this.cluster.conf;
    const b = this.bounds;
    if (this.chance(INVALID_CHANGE_PROBABILITY)) {
      const v = this.pick(voters);
      return v === undefined ? undefined : { type: ConfChangeType.AddVoter, nodeId: v };
    }
    const options: (() => ConfChange | undefined)[] = [];
    if (learners.length < b.learnersMax) {
      options.push(() => ({ type: ConfChangeType.AddLearner, nodeId: this.cluster.nextNodeId++ }));
    }
    if (learners.length > 0 && voters.length < b.votersMax) {
      options.push(() => ({ type: ConfChangeType.AddVoter, nodeId: this.pick(learners)! }));
    }
    if (voters.length > b.votersMin) {
      options.push(() => ({ type: ConfChangeType.RemoveNode, nodeId: this.pick(voters)! }));
    }
    if (learners.length > 0) options.push(() => ({ type: ConfChangeType.RemoveNode, nodeId: this.pick(learners)! }));
    return this.pick(options)?.();
  }

  private transfer(): void {
    const from = this.target();
    const to = this.pick(this.cluster.conf.voters);
    if (from === undefined || to === undefined) return;
    const outcome = from.transferLeadership(to);
    this.cluster.trace.note(this.cluster.nowUnits, `transfer leadership to ${to} via node ${from.id}: ${outcome}`);
    this.cluster.afterStep(from);
  }

  private campaign(): void {
    const r = this.pick(this.cluster.liveReplicas());
    if (r === undefined) return;
    const outcome = r.campaign();
    this.cluster.trace.note(this.cluster.nowUnits, `node ${r.id} campaigns: ${outcome}`);
    this.cluster.afterStep(r);
  }

  /** Usually the leader, sometimes any live replica (which forwards, or refuses with a typed error). */
  private target(): Replica | undefined {
    const leader = this.cluster.leader();
    if (leader !== undefined && this.chance(TO_LEADER_PROBABILITY)) return leader;
    return this.pick(this.cluster.liveReplicas());
  }

  private shuffle(ids: readonly number[]): number[] {
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
