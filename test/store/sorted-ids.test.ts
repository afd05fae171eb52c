/**
 * The chunked sorted id set behind the key index must behave like one sorted
 * array: same order, same iteration from any start, same result after removals,
 * across chunk splits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedIds } from '../../store/mvcc/sorted-ids.js';

function contents(ids: SortedIds): string[] {
  const out: string[] = [];
  ids.forEach((id) => out.push(id));
  return out;
}

function from(ids: SortedIds, start: string, max = Infinity): string[] {
  const out: string[] = [];
  ids.forEachFrom(start, (id) => {
    out.push(id);
    return out.length < max;
  });
  return out;
}

describe('SortedIds', () => {
  it('keeps byte order through thousands of inserts (several chunk splits)', () => {
    const ids = new SortedIds();
    const all = Array.from({ length: 5000 }, (_, i) => `k${(i * 7919) % 5000}`);
    for (const id of all) ids.insert(id);
    const sorted = [...all].sort();
    expect(ids.size).toBe(5000);
    expect(contents(ids)).toEqual(sorted);
    expect(from(ids, 'k2500', 3)).toEqual(sorted.filter((id) => id >= 'k2500').slice(0, 3));
    expect(from(ids, 'zzz')).toEqual([]);
    expect(from(ids, '')).toHaveLength(5000);
  });

  it('refuses a duplicate insert', () => {
    const ids = new SortedIds();
    ids.insert('a');
    expect(() => ids.insert('a')).toThrow(/already indexed/);
  });

  it('matches a sorted array for random inserts, removals and scans', () => {
    const id = fc.string({ unit: fc.constantFrom('a', 'b', '\0', '\xff'), minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.uniqueArray(id, { maxLength: 3000 }), fc.array(id, { maxLength: 50 }), fc.array(id, { maxLength: 5 }), (inserted, removed, starts) => {
        const ids = new SortedIds();
        for (const x of inserted) ids.insert(x);
        const gone = new Set(removed.filter((x) => inserted.includes(x)));
        ids.removeAll(gone);
        const expected = inserted.filter((x) => !gone.has(x)).sort();
        expect(contents(ids)).toEqual(expected);
        expect(ids.size).toBe(expected.length);
        for (const start of starts) expect(from(ids, start)).toEqual(expected.filter((x) => x >= start));
        for (const x of ['ab', '\xff\xff']) if (!expected.includes(x)) ids.insert(x);
        expect(contents(ids)).toEqual([...new Set([...expected, 'ab', '\xff\xff'])].sort());
      }),
      { numRuns: 100 },
    );
  });
});
