/**
 * Safety checker for simulated clusters (Raft paper, Figure 3), run after
 * every step of a test network:
 *  - Election Safety: at most one leader per term;
 *  - State Machine Safety: no two nodes apply different entries at one index;
 *  - Leader Completeness: a leader of a later term holds every applied entry;
 *  - Read safety: a ReadState's index is at least every commit index known
 *    anywhere when the read was requested (linearizable reads).
 * Violations throw an Error naming the seed, so a failure can be replayed.
 */
import type { Entry } from '../../raft/core/types.js';
import { text } from './driver.js';
import type { Network } from './network.js';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

export interface SafetyStats {
  /** Distinct terms in which some node was leader. */
  readonly leaderTerms: number;
  /** Distinct log indexes applied somewhere. */
  readonly appliedIndexes: number;
  /** ReadStates checked. */
  readonly readsServed: number;
}

function entryKey(e: Entry): string {
  return `${e.term}/${e.type}/${text(e)}`;
}

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, number>();
  /** index → applied entry and the highest term known when it was first seen applied. */
  private readonly appliedAt = new Map<number, { key: string; observedTerm: number }>();
  /** read ctx → the largest commit index known anywhere when it was requested. */
  private readonly readFloor = new Map<string, number>();
  private readonly readsSeen = new Map<number, number>();
  private readsServed = 0;

  constructor(
    private readonly net: Network,
    private readonly label: string,
  ) {}

  /** Call just before asking any node for a read with `ctx`. */
  noteReadRequested(ctx: string): void {
    this.readFloor.set(ctx, Math.max(...[...this.net.nodes.keys()].map((id) => this.net.status(id).commit)));
  }

  check(): void {
    const ids = [...this.net.nodes.keys()];
    const maxTerm = Math.max(...ids.map((id) => this.net.status(id).term));
    for (const id of ids) {
      this.checkLeader(id);
      this.checkApplied(id, maxTerm);
      this.checkReads(id);
    }
    for (const id of this.net.leaders()) this.checkCompleteness(id);
  }

  stats(): SafetyStats {
    return { leaderTerms: this.leaderOfTerm.size, appliedIndexes: this.appliedAt.size, readsServed: this.readsServed };
  }

  private fail(what: string): never {
    throw new SafetyViolation(`${this.label}: ${what}`);
  }

  private checkLeader(id: number): void {
    const st = this.net.status(id);
    if (st.role !== 'Leader') return;
    const other = this.leaderOfTerm.get(st.term);
    if (other !== undefined && other !== id) this.fail(`nodes ${other} and ${id} both lead term ${st.term}`);
    this.leaderOfTerm.set(st.term, id);
  }

  private checkApplied(id: number, maxTerm: number): void {
    for (const e of this.net.mustNode(id).appliedEntries) {
      const seen = this.appliedAt.get(e.index);
      if (seen === undefined) this.appliedAt.set(e.index, { key: entryKey(e), observedTerm: maxTerm });
      else if (seen.key !== entryKey(e)) {
        this.fail(`node ${id} applied ${entryKey(e)} at index ${e.index}, another node applied ${seen.key}`);
      }
    }
  }

  private checkReads(id: number): void {
    const states = this.net.mustNode(id).readStates;
    for (let i = this.readsSeen.get(id) ?? 0; i < states.length; i++) {
      const rs = states[i]!;
      const floor = this.readFloor.get(rs.requestCtx);
      if (floor !== undefined && rs.index < floor) {
        this.fail(`node ${id} got read ${rs.requestCtx} at index ${rs.index}, but ${floor} was committed when it was asked`);
      }
      this.readsServed++;
    }
    this.readsSeen.set(id, states.length);
  }

  private checkCompleteness(id: number): void {
    const st = this.net.status(id);
    const s = this.net.mustNode(id).storage;
    const log = new Map(this.net.log(id).map((e) => [e.index, entryKey(e)]));
    for (const [index, seen] of this.appliedAt) {
      if (st.term <= seen.observedTerm || index < s.firstIndex()) continue;
      if (log.get(index) !== seen.key) {
        this.fail(`leader ${id} of term ${st.term} lacks committed entry ${index} (${seen.key})`);
      }
    }
  }
}
