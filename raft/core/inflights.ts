/**
 * Append messages sent to one follower and not yet acknowledged, in index order:
 * the window that bounds pipelining by count and by bytes.
 */
import { assert } from './assert.js';

export class Inflights {
  /** Last entry index of each message in flight, oldest first. */
  private readonly indexes: number[] = [];
  private readonly sizesBytes: number[] = [];
  private bytes = 0;

  constructor(
    private readonly maxCount: number,
    /** 0 means no byte bound. */
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.indexes.length;
  }

  full(): boolean {
    return this.indexes.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  add(index: number, sizeBytes: number): void {
    assert(!this.full(), 'cannot add to a full inflights window');
    const last = this.indexes[this.indexes.length - 1];
    assert(last === undefined || index > last, () => `inflight index ${index} is not above ${last}`);
    this.indexes.push(index);
    this.sizesBytes.push(sizeBytes);
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= index) {
      this.bytes -= this.sizesBytes[n]!;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizesBytes.splice(0, n);
    }
  }

  /** Frees the oldest message: lets one probe through when the window is stuck full. */
  freeFirstOne(): void {
    const first = this.indexes[0];
    if (first !== undefined) this.freeLE(first);
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizesBytes.length = 0;
    this.bytes = 0;
  }
}
