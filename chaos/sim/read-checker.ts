/**
 * Linearizable reads (ReadIndex, Raft thesis §6.4). A read issued when the
 * highest commit index anywhere was C must get a read index >= C, and the value
 * it returns, once served at applied index A >= read index, must be the last
 * write to its key at or below A — hence no older than the last write at or
 * below C. The write history comes from the first replica to apply each index
 * (state machine safety makes that history canonical).
 */
import { assert } from '../../raft/core/assert.js';
import type { RegisterValue } from './state-machine.js';
import { Invariant, InvariantViolationError } from './invariants.js';

interface TrackedRead {
  readonly key: number;
  /** Highest commit index anywhere when the read was issued. */
  readonly commitAtIssue: number;
  readIndex: number | undefined;
}

interface WriteRecord {
  readonly index: number;
  readonly id: number;
}

export class ReadChecker {
  private readonly reads = new Map<string, TrackedRead>();
  private readonly writesByKey = new Map<number, WriteRecord[]>();
  private historyIndex = 0;

  /** Index up to which the write history is known. */
  get knownIndex(): number {
    return this.historyIndex;
  }

  /** The first application anywhere of `index`; `write` is set when it wrote a register. */
  onFirstApply(index: number, write: { key: number; id: number } | undefined): void {
    assert(index > this.historyIndex, () => `first application of ${index} after ${this.historyIndex}`);
    this.historyIndex = index;
    if (write === undefined) return;
    let list = this.writesByKey.get(write.key);
    if (list === undefined) {
      list = [];
      this.writesByKey.set(write.key, list);
    }
    list.push({ index, id: write.id });
  }

  onIssued(ctx: string, key: number, commitAtIssue: number): void {
    assert(!this.reads.has(ctx), () => `read ${ctx} issued twice`);
    this.reads.set(ctx, { key, commitAtIssue, readIndex: undefined });
  }

  onReadIndex(ctx: string, readIndex: number): void {
    const r = this.mustGet(ctx);
    if (readIndex < r.commitAtIssue) {
      throw new InvariantViolationError(
        Invariant.LinearizableRead,
        `read ${ctx} got read index ${readIndex}, but index ${r.commitAtIssue} was committed before it was issued`,
      );
    }
    r.readIndex = readIndex;
  }

  /** The read is answered from a state machine that applied up to `appliedIndex`. */
  onServed(ctx: string, appliedIndex: number, value: RegisterValue | undefined): void {
    const r = this.mustGet(ctx);
    this.reads.delete(ctx);
    assert(r.readIndex !== undefined, () => `read ${ctx} served without a read index`);
    if (appliedIndex < r.readIndex) {
      this.fail(ctx, `served at applied index ${appliedIndex}, below its read index ${r.readIndex}`);
    }
    assert(appliedIndex <= this.historyIndex, () => `read ${ctx} served at ${appliedIndex} beyond history ${this.historyIndex}`);
    const expected = this.lastWrite(r.key, appliedIndex);
    const got = value === undefined ? 'nothing' : `write ${value.id} at index ${value.index}`;
    const want = expected === undefined ? 'nothing' : `write ${expected.id} at index ${expected.index}`;
    if (expected?.index !== value?.index || expected?.id !== value?.id) {
      this.fail(ctx, `of key ${r.key} at applied index ${appliedIndex} returned ${got}; history says ${want}`);
    }
    const mustSee = this.lastWrite(r.key, r.commitAtIssue);
    if (mustSee !== undefined && (value === undefined || value.index < mustSee.index)) {
      this.fail(ctx, `of key ${r.key} returned ${got}, older than write ${mustSee.id} at index ${mustSee.index} committed before the read`);
    }
  }

  /** The read will never be served (its replica crashed, or the client gave up). */
  forget(ctx: string): void {
    this.reads.delete(ctx);
  }

  get pendingReads(): number {
    return this.reads.size;
  }

  private lastWrite(key: number, atOrBelow: number): WriteRecord | undefined {
    const list = this.writesByKey.get(key);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length; // first position with index > atOrBelow
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.index <= atOrBelow) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : list[lo - 1];
  }

  private mustGet(ctx: string): TrackedRead {
    const r = this.reads.get(ctx);
    assert(r !== undefined, () => `unknown read ${ctx}`);
    return r;
  }

  private fail(ctx: string, what: string): never {
    throw new InvariantViolationError(Invariant.LinearizableRead, `read ${ctx} ${what}`);
  }
}
