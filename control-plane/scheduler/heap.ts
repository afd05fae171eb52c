/**
 * A binary min-heap of values by key (Kubernetes' scheduler heap): O(log n)
 * push, pop, update and remove by key, so a pod that changes or goes away
 * while queued is found without a scan.
 */
import { assert } from './assert.js';

interface Entry<T> {
  readonly key: string;
  value: T;
}

export class KeyedHeap<T> {
  private readonly entries: Entry<T>[] = [];
  private readonly indexOf = new Map<string, number>();

  /** `less(a, b)`: a comes out before b. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.entries.length;
  }

  has(key: string): boolean {
    return this.indexOf.has(key);
  }

  get(key: string): T | undefined {
    const i = this.indexOf.get(key);
    return i === undefined ? undefined : this.entries[i]?.value;
  }

  /** Adds the value, or replaces the one under the same key (and restores the order). */
  set(key: string, value: T): void {
    const i = this.indexOf.get(key);
    if (i !== undefined) {
      this.at(i).value = value;
      this.fix(i);
      return;
    }
    this.entries.push({ key, value });
    this.indexOf.set(key, this.entries.length - 1);
    this.up(this.entries.length - 1);
  }

  peek(): T | undefined {
    return this.entries[0]?.value;
  }

  pop(): T | undefined {
    const top = this.entries[0];
    if (top === undefined) return undefined;
    this.remove(top.key);
    return top.value;
  }

  remove(key: string): T | undefined {
    const i = this.indexOf.get(key);
    if (i === undefined) return undefined;
    const removed = this.at(i);
    const last = this.entries.pop();
    assert(last !== undefined, 'heap not empty');
    this.indexOf.delete(key);
    if (i < this.entries.length) {
      this.entries[i] = last;
      this.indexOf.set(last.key, i);
      this.fix(i);
    }
    return removed.value;
  }

  values(): T[] {
    return this.entries.map((e) => e.value);
  }

  private at(i: number): Entry<T> {
    const e = this.entries[i];
    assert(e !== undefined, () => `heap index ${i} out of range ${this.entries.length}`);
    return e;
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  /** Moves entry i towards the root while it is less than its parent; true when it moved. */
  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.at(i).value, this.at(parent).value)) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.entries.length && this.less(this.at(left).value, this.at(smallest).value)) smallest = left;
      if (right < this.entries.length && this.less(this.at(right).value, this.at(smallest).value)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const ea = this.at(a);
    const eb = this.at(b);
    this.entries[a] = eb;
    this.entries[b] = ea;
    this.indexOf.set(ea.key, b);
    this.indexOf.set(eb.key, a);
  }
}
