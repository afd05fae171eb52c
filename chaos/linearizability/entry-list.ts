/**
 * The time-ordered list of call and return events that the WGL search walks.
 *
 * Each operation has a call entry and a return entry. Linearizing an operation
 * lifts both out of the list; backtracking puts them back. Removed entries keep
 * their own links, so reinsertion in last-out-first-in order restores the list
 * exactly (the dancing-links trick). Arrays of numbers rather than objects keep
 * the hot loop free of allocation.
 */
import { assert } from './errors.js';

/** End of the list. */
export const NONE = -1;

export interface Interval {
  readonly callTime: number;
  /** +Infinity for operations whose outcome is unknown. */
  readonly returnTime: number;
}

export class EntryList {
  /** Sentinel before the first entry. */
  readonly head: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Operation index (into the partition's operations) of each entry. */
  readonly opOf: Int32Array;
  /** 1 for a call entry, 0 for a return entry. */
  readonly isCall: Uint8Array;
  /** The return entry of each call entry, and the call entry of each return entry. */
  readonly match: Int32Array;

  constructor(intervals: readonly Interval[]) {
    const n = intervals.length;
    const order = sortedEvents(intervals);
    this.head = 2 * n;
    this.next = new Int32Array(2 * n + 1);
    this.prev = new Int32Array(2 * n + 1);
    this.opOf = new Int32Array(2 * n);
    this.isCall = new Uint8Array(2 * n);
    this.match = new Int32Array(2 * n);
    const callEntry = new Int32Array(n).fill(NONE);
    order.forEach((event, entry) => {
      const op = event >> 1;
      this.opOf[entry] = op;
      if ((event & 1) === 0) {
        this.isCall[entry] = 1;
        callEntry[op] = entry;
      } else {
        const call = callEntry[op]!;
        assert(call !== NONE, () => `return of operation ${op} sorted before its call`);
        this.match[entry] = call;
        this.match[call] = entry;
      }
      this.next[entry] = entry + 1 < 2 * n ? entry + 1 : NONE;
      this.prev[entry] = entry === 0 ? this.head : entry - 1;
    });
    this.next[this.head] = n === 0 ? NONE : 0;
    this.prev[this.head] = NONE;
  }

  first(): number {
    return this.next[this.head]!;
  }

  /** Removes a call entry and its return entry. */
  lift(call: number): void {
    assert(this.isCall[call] === 1, () => `entry ${call} is not a call`);
    this.unlink(call);
    this.unlink(this.match[call]!);
  }

  /** Undoes the most recent `lift` still in effect, which must be of `call`. */
  unlift(call: number): void {
    this.relink(this.match[call]!);
    this.relink(call);
  }

  private unlink(entry: number): void {
    const before = this.prev[entry]!;
    const after = this.next[entry]!;
    this.next[before] = after;
    if (after !== NONE) this.prev[after] = before;
  }

  private relink(entry: number): void {
    const before = this.prev[entry]!;
    const after = this.next[entry]!;
    this.next[before] = entry;
    if (after !== NONE) this.prev[after] = entry;
  }
}

/**
 * Events encoded as `op * 2 + (isReturn ? 1 : 0)`, by time. At equal times calls
 * sort before returns: operations touching at one instant count as concurrent,
 * the permissive reading when a clock cannot order them.
 */
function sortedEvents(intervals: readonly Interval[]): number[] {
  const events: number[] = [];
  for (let op = 0; op < intervals.length; op++) {
    const { callTime, returnTime } = intervals[op]!;
    assert(callTime <= returnTime, () => `operation ${op} returns at ${returnTime}, before its call at ${callTime}`);
    events.push(op * 2, op * 2 + 1);
  }
  const timeOf = (event: number): number => {
    const interval = intervals[event >> 1]!;
    return (event & 1) === 0 ? interval.callTime : interval.returnTime;
  };
  return events.sort((a, b) => {
    const ta = timeOf(a);
    const tb = timeOf(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    if ((a & 1) !== (b & 1)) return (a & 1) - (b & 1);
    return a - b;
  });
}
