/**
 * A map that keeps only its `entriesMax` most recently used entries: the
 * recorder's caches of recent events and of spam buckets, so a component that
 * reports on ever new objects never grows without bound.
 */
import { assert } from './errors.js';

export class BoundedLru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1, `LRU size ${entriesMax} must be an integer >= 1`);
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
