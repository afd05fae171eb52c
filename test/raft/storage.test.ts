import { describe, it, expect } from 'vitest';
import { AssertionError } from '../../raft/core/assert.js';
import {
  CompactedError,
  RaftErrorCode,
  SnapshotOutOfDateError,
  UnavailableError,
} from '../../raft/core/errors.js';
import { MemoryStorage, limitSize } from '../../raft/core/storage.js';
import type { ConfState, Entry } from '../../raft/core/types.js';
import { ENTRY_OVERHEAD_BYTES } from '../../raft/core/types.js';

const CONF: ConfState = { voters: [1, 2, 3], learners: [] };

function ent(index: number, term: number, payloadBytes = 0): Entry {
  return { index, term, type: 'Normal', data: new Uint8Array(payloadBytes) };
}

/** Storage holding entries first..last with the given terms (terms[0] is the term of `first`). */
function storageWith(first: number, terms: number[]): MemoryStorage {
  const s = new MemoryStorage(CONF);
  if (first > 1) {
    // Reach a log that starts after `first - 1` by installing a snapshot there.
    s.applySnapshot({
      metadata: { index: first - 1, term: terms[0] ?? 1, confState: CONF },
      data: new Uint8Array(),
    });
  }
  s.append(terms.map((t, i) => ent(first + i, t)));
  return s;
}

function indexTerms(entries: readonly Entry[]): Array<[number, number]> {
  return entries.map((e) => [e.index, e.term]);
}

function allEntries(s: MemoryStorage): Entry[] {
  return s.entries(s.firstIndex(), s.lastIndex() + 1, Number.POSITIVE_INFINITY);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('MemoryStorage: a new storage', () => {
  it('is empty: firstIndex 1, lastIndex 0, term(0) = 0, no entries', () => {
    const s = new MemoryStorage(CONF);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.entries(1, 1, 100)).toEqual([]);
    expect(s.snapshot().metadata.index).toBe(0);
  });

  it('reports the seeded membership and an empty hard state as its initial state', () => {
    const s = new MemoryStorage(CONF);
    const init = s.initialState();
    expect(init.confState).toEqual(CONF);
    expect(init.hardState).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  it('returns the hard state last set', () => {
    const s = new MemoryStorage(CONF);
    s.setHardState({ term: 4, vote: 2, commit: 0 });
    s.setHardState({ term: 5, vote: 3, commit: 0 });
    expect(s.initialState().hardState).toEqual({ term: 5, vote: 3, commit: 0 });
  });
});

describe('MemoryStorage.entries', () => {
  // Log: snapshot at 3 (term 3), entries 4..6 with terms 4, 5, 6.
  const make = () => storageWith(4, [4, 5, 6]);

  it('returns the half-open range [lo, hi)', () => {
    const s = make();
    expect(indexTerms(s.entries(4, 6, Number.POSITIVE_INFINITY))).toEqual([
      [4, 4],
      [5, 5],
    ]);
    expect(indexTerms(s.entries(4, 7, Number.POSITIVE_INFINITY))).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    expect(indexTerms(s.entries(6, 7, Number.POSITIVE_INFINITY))).toEqual([[6, 6]]);
  });

  it('returns nothing for an empty range inside the log', () => {
    expect(make().entries(5, 5, 100)).toEqual([]);
  });

  it('throws CompactedError for lo at or below the snapshot index', () => {
    const s = make();
    for (const lo of [2, 3]) {
      const err = thrown(() => s.entries(lo, 6, 100));
      expect(err).toBeInstanceOf(CompactedError);
      const c = err as CompactedError;
      expect(c.code).toBe(RaftErrorCode.Compacted);
      expect(c.index).toBe(lo);
      expect(c.firstIndex).toBe(4);
      expect(c.message).toContain(String(lo));
    }
  });

  it('throws UnavailableError for hi beyond lastIndex + 1', () => {
    const s = make();
    const err = thrown(() => s.entries(4, 8, 100));
    expect(err).toBeInstanceOf(UnavailableError);
    const u = err as UnavailableError;
    expect(u.code).toBe(RaftErrorCode.Unavailable);
    expect(u.lastIndex).toBe(6);
    expect(u.index).toBeGreaterThan(6);
  });

  it('limits the total size to maxBytes but always returns at least one entry', () => {
    const s = new MemoryStorage(CONF);
    s.append([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100), ent(4, 1, 100)]);
    const one = 100 + ENTRY_OVERHEAD_BYTES;
    expect(s.entries(1, 5, 0)).toHaveLength(1);
    expect(s.entries(1, 5, one - 1)).toHaveLength(1);
    expect(s.entries(1, 5, one)).toHaveLength(1);
    expect(s.entries(1, 5, 2 * one)).toHaveLength(2);
    expect(s.entries(1, 5, 2 * one + 1)).toHaveLength(2);
    expect(s.entries(1, 5, 3 * one)).toHaveLength(3);
    expect(s.entries(1, 5, Number.POSITIVE_INFINITY)).toHaveLength(4);
  });

  it('returns entries that callers cannot use to change the stored log', () => {
    const s = new MemoryStorage(CONF);
    s.append([ent(1, 1), ent(2, 1)]);
    const got = s.entries(1, 3, Number.POSITIVE_INFINITY);
    got.length = 0;
    expect(s.entries(1, 3, Number.POSITIVE_INFINITY)).toHaveLength(2);
  });
});

describe('MemoryStorage.term', () => {
  const make = () => storageWith(4, [4, 5, 6]);

  it('answers for the snapshot index from the snapshot metadata and for every entry', () => {
    const s = make();
    expect(s.term(3)).toBe(4); // the snapshot was installed with term 4 (see storageWith)
    expect(s.term(4)).toBe(4);
    expect(s.term(5)).toBe(5);
    expect(s.term(6)).toBe(6);
  });

  it('throws CompactedError below the snapshot index', () => {
    const err = thrown(() => make().term(2));
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).firstIndex).toBe(4);
  });

  it('throws UnavailableError beyond the last index', () => {
    const err = thrown(() => make().term(7));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).index).toBe(7);
    expect((err as UnavailableError).lastIndex).toBe(6);
  });
});

describe('MemoryStorage.append', () => {
  it('appends contiguous entries at the end', () => {
    const s = new MemoryStorage(CONF);
    s.append([ent(1, 1), ent(2, 1)]);
    s.append([ent(3, 2)]);
    expect(indexTerms(allEntries(s))).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    expect(s.lastIndex()).toBe(3);
  });

  it('ignores an empty batch', () => {
    const s = storageWith(1, [1, 1]);
    s.append([]);
    expect(s.lastIndex()).toBe(2);
  });

  it('replaces a conflicting suffix (truncates everything after the first new entry)', () => {
    const s = storageWith(1, [1, 1, 1, 1]);
    s.append([ent(3, 2)]);
    expect(indexTerms(allEntries(s))).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    expect(s.lastIndex()).toBe(3);
  });

  it('overwrites with a longer conflicting batch', () => {
    const s = storageWith(1, [1, 1, 1]);
    s.append([ent(2, 3), ent(3, 3), ent(4, 3), ent(5, 3)]);
    expect(indexTerms(allEntries(s))).toEqual([
      [1, 1],
      [2, 3],
      [3, 3],
      [4, 3],
      [5, 3],
    ]);
  });

  it('drops the part of a batch that is already compacted', () => {
    const s = storageWith(4, [4, 5, 6]); // snapshot at 3
    s.append([ent(2, 3), ent(3, 4), ent(4, 4), ent(5, 7)]);
    expect(s.firstIndex()).toBe(4);
    expect(indexTerms(allEntries(s))).toEqual([
      [4, 4],
      [5, 7],
    ]);
  });

  it('ignores a batch that lies entirely before the first retained index', () => {
    const s = storageWith(4, [4, 5, 6]);
    s.append([ent(1, 1), ent(2, 2), ent(3, 3)]);
    expect(indexTerms(allEntries(s))).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
  });

  it('refuses a batch that would leave a gap after the last index', () => {
    const s = storageWith(1, [1, 1]);
    expect(() => s.append([ent(4, 1)])).toThrow(AssertionError);
    expect(s.lastIndex()).toBe(2);
  });
});

describe('MemoryStorage.compact', () => {
  it('discards entries up to and including the index and keeps its term answerable', () => {
    const s = storageWith(1, [1, 2, 3, 4, 5]);
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
    expect(s.term(3)).toBe(3);
    expect(indexTerms(allEntries(s))).toEqual([
      [4, 4],
      [5, 5],
    ]);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, 100)).toThrow(CompactedError);
  });

  it('can compact the whole log', () => {
    const s = storageWith(1, [1, 2, 3]);
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(3);
    expect(s.entries(4, 4, 100)).toEqual([]);
  });

  it('throws CompactedError when the index is already compacted', () => {
    const s = storageWith(1, [1, 2, 3, 4]);
    s.compact(2);
    for (const i of [1, 2]) {
      const err = thrown(() => s.compact(i));
      expect(err).toBeInstanceOf(CompactedError);
      expect((err as CompactedError).firstIndex).toBe(3);
    }
    expect(s.firstIndex()).toBe(3);
  });

  it('refuses to compact beyond the last index', () => {
    const s = storageWith(1, [1, 2, 3]);
    expect(() => s.compact(4)).toThrow(AssertionError);
    expect(s.firstIndex()).toBe(1);
  });

  it('does not change the snapshot (compaction and snapshotting are separate steps)', () => {
    const s = storageWith(1, [1, 2, 3]);
    s.compact(2);
    expect(s.snapshot().metadata.index).toBe(0);
  });
});

describe('MemoryStorage.createSnapshot', () => {
  it('records index, term of that entry, membership and data, without compacting', () => {
    const s = storageWith(1, [1, 1, 2, 2]);
    const cs: ConfState = { voters: [1, 2], learners: [4] };
    const data = new TextEncoder().encode('state@3');
    const snap = s.createSnapshot(3, cs, data);
    expect(snap.metadata).toEqual({ index: 3, term: 2, confState: cs });
    expect(new TextDecoder().decode(snap.data)).toBe('state@3');
    expect(s.snapshot()).toBe(snap);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(4);
  });

  it('makes the snapshot membership the initial state seen on restart', () => {
    const s = storageWith(1, [1, 1, 2]);
    const cs: ConfState = { voters: [1, 2, 3, 4], learners: [] };
    s.createSnapshot(2, cs, new Uint8Array());
    expect(s.initialState().confState).toEqual(cs);
  });

  it('throws SnapshotOutOfDateError for an index at or below the current snapshot', () => {
    const s = storageWith(1, [1, 1, 2, 2]);
    s.createSnapshot(3, CONF, new Uint8Array());
    for (const i of [2, 3]) {
      const err = thrown(() => s.createSnapshot(i, CONF, new Uint8Array()));
      expect(err).toBeInstanceOf(SnapshotOutOfDateError);
      const o = err as SnapshotOutOfDateError;
      expect(o.code).toBe(RaftErrorCode.SnapshotOutOfDate);
      expect(o.index).toBe(i);
      expect(o.currentIndex).toBe(3);
    }
    expect(s.snapshot().metadata.index).toBe(3);
  });

  it('refuses an index beyond the last entry', () => {
    const s = storageWith(1, [1, 1]);
    expect(() => s.createSnapshot(3, CONF, new Uint8Array())).toThrow(AssertionError);
    expect(s.snapshot().metadata.index).toBe(0);
  });

  it('supports the snapshot-then-compact sequence a driver performs', () => {
    const s = storageWith(1, [1, 1, 2, 2, 3]);
    s.createSnapshot(4, CONF, new Uint8Array([9]));
    s.compact(4);
    expect(s.firstIndex()).toBe(5);
    expect(s.term(4)).toBe(2);
    expect(s.snapshot().metadata.index).toBe(4);
    expect(indexTerms(allEntries(s))).toEqual([[5, 3]]);
  });
});

describe('MemoryStorage.applySnapshot', () => {
  it('replaces the whole log with the snapshot', () => {
    const s = storageWith(1, [1, 1, 1]);
    const cs: ConfState = { voters: [1, 2, 3, 5], learners: [] };
    s.applySnapshot({ metadata: { index: 10, term: 4, confState: cs }, data: new Uint8Array([1]) });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(4);
    expect(() => s.term(3)).toThrow(CompactedError);
    expect(s.snapshot().metadata.index).toBe(10);
    expect(s.initialState().confState).toEqual(cs);
  });

  it('accepts entries that follow the snapshot', () => {
    const s = new MemoryStorage(CONF);
    s.applySnapshot({ metadata: { index: 5, term: 2, confState: CONF }, data: new Uint8Array() });
    s.append([ent(6, 2), ent(7, 3)]);
    expect(indexTerms(allEntries(s))).toEqual([
      [6, 2],
      [7, 3],
    ]);
  });

  it('discards entries beyond the snapshot index too (the snapshot supersedes the log)', () => {
    const s = storageWith(1, [1, 1, 1, 1, 1, 1]);
    s.applySnapshot({ metadata: { index: 3, term: 1, confState: CONF }, data: new Uint8Array() });
    expect(s.lastIndex()).toBe(3);
    expect(() => s.term(4)).toThrow(UnavailableError);
  });

  it('throws SnapshotOutOfDateError for a snapshot not newer than the current one, keeping the log', () => {
    const s = storageWith(1, [1, 1, 2, 2]);
    s.createSnapshot(3, CONF, new Uint8Array());
    for (const index of [2, 3]) {
      const err = thrown(() =>
        s.applySnapshot({ metadata: { index, term: 1, confState: CONF }, data: new Uint8Array() }),
      );
      expect(err).toBeInstanceOf(SnapshotOutOfDateError);
      expect((err as SnapshotOutOfDateError).currentIndex).toBe(3);
    }
    expect(s.lastIndex()).toBe(4);
    expect(s.snapshot().metadata.index).toBe(3);
  });
});

describe('limitSize', () => {
  it('returns the input unchanged when everything fits and never returns nothing for a non-empty input', () => {
    const es = [ent(1, 1, 10), ent(2, 1, 10)];
    expect(limitSize(es, Number.POSITIVE_INFINITY)).toBe(es);
    expect(limitSize(es, 0)).toHaveLength(1);
    expect(limitSize([], 0)).toEqual([]);
  });
});
