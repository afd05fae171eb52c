/**
 * A deliberately naive reference model of etcd's MVCC semantics for the property
 * test: it keeps a full copy of the key space after every revision and answers
 * reads by filtering those copies. Keys and values are latin1 strings; byte
 * order comes from Buffer.compare. No indexes, no histories per key, no
 * compaction bookkeeping beyond "which revision is the oldest readable".
 */

export interface ModelKv {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
}

export type ModelRange =
  | { readonly kind: 'single'; readonly key: string }
  | { readonly kind: 'prefix'; readonly key: string }
  | { readonly kind: 'fromKey'; readonly key: string }
  | { readonly kind: 'between'; readonly key: string; readonly end: string };

export interface ModelEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly prev?: string;
}

export type ModelOp =
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly prevKv: boolean }
  | { readonly op: 'delete'; readonly range: ModelRange; readonly prevKv: boolean }
  | { readonly op: 'range'; readonly range: ModelRange; readonly revision: number; readonly limit: number };

export interface ModelCompare {
  readonly key: string;
  readonly target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  readonly result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  readonly operand: number | string;
}

export interface ModelRangeQuery {
  readonly range: ModelRange;
  readonly revision: number;
  readonly limit: number;
  readonly sortOrder: 'NONE' | 'ASCEND' | 'DESCEND';
  readonly sortTarget: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  readonly countOnly: boolean;
  readonly keysOnly: boolean;
  readonly minModRevision: number;
}

export type Outcome = { readonly error: string } | { readonly value: unknown; readonly events?: readonly ModelEvent[] };

export function cmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

/** The range end etcd clients use for a prefix: last byte below 0xff incremented; all-0xff means "from key". */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '\0';
}

/** [start, end) with end undefined for a single key and '' for "no upper bound". */
function bounds(r: ModelRange): { start: string; end: string | undefined } {
  switch (r.kind) {
    case 'single':
      return { start: r.key, end: undefined };
    case 'fromKey':
      return { start: r.key, end: '' };
    case 'prefix': {
      const end = prefixEnd(r.key);
      return { start: r.key, end: end === '\0' ? '' : end };
    }
    case 'between':
      return { start: r.key, end: r.end === '\0' ? '' : r.end };
  }
}

export function inRange(r: ModelRange, key: string): boolean {
  const { start, end } = bounds(r);
  if (end === undefined) return key === start;
  return cmp(key, start) >= 0 && (end === '' || cmp(key, end) < 0);
}

/** The interval etcd's duplicate-key check sees for a delete: the raw range end, "\0" included. */
function deleteConflicts(r: ModelRange, key: string): boolean {
  if (r.kind === 'single') return key === r.key;
  const rawEnd = r.kind === 'fromKey' ? '\0' : r.kind === 'prefix' ? prefixEnd(r.key) : r.end;
  return cmp(key, r.key) >= 0 && cmp(key, rawEnd) < 0;
}

function sorted(state: ReadonlyMap<string, ModelKv>): ModelKv[] {
  return [...state.values()].sort((a, b) => cmp(a.key, b.key));
}

export class Model {
  revision = 1;
  compactRevision = -1;
  /** Key space after each revision; states[r] for r in 1..revision. */
  private readonly states: Map<string, ModelKv>[] = [new Map(), new Map()];
  /** Every event ever, in order. */
  private readonly log: ModelEvent[] = [];

  private at(rev: number): ReadonlyMap<string, ModelKv> {
    return this.states[rev]!;
  }

  private readRevision(requested: number, current: number): number | string {
    if (requested > current) return 'FUTURE_REVISION';
    const rev = requested <= 0 ? current : requested;
    return rev < this.compactRevision ? 'COMPACTED' : rev;
  }

  range(q: ModelRangeQuery, current = this.revision, state?: ReadonlyMap<string, ModelKv>): Outcome {
    const rev = this.readRevision(q.revision, current);
    if (typeof rev === 'string') return { error: rev };
    const view = rev === current && state !== undefined ? state : this.at(rev);
    let kvs = sorted(view).filter((kv) => inRange(q.range, kv.key));
    const count = kvs.length;
    if (q.countOnly) kvs = [];
    const fetchAll = q.sortOrder !== 'NONE' || q.minModRevision !== 0;
    if (!fetchAll && q.limit > 0) kvs = kvs.slice(0, q.limit + 1);
    if (q.minModRevision !== 0) kvs = kvs.filter((kv) => kv.modRevision >= q.minModRevision);
    const order = q.sortTarget !== 'KEY' && q.sortOrder === 'NONE' ? 'ASCEND' : q.sortOrder;
    if (order !== 'NONE') {
      const by = (kv: ModelKv): number | string => (q.sortTarget === 'VERSION' ? kv.version : q.sortTarget === 'CREATE' ? kv.createRevision
        : q.sortTarget === 'MOD' ? kv.modRevision : q.sortTarget === 'VALUE' ? kv.value : kv.key);
      const compare = (a: ModelKv, b: ModelKv): number => {
        const x = by(a);
        const y = by(b);
        return typeof x === 'number' ? x - (y as number) : cmp(x, y as string);
      };
      kvs = [...kvs].sort((a, b) => (order === 'DESCEND' ? -compare(a, b) : compare(a, b)));
    }
    const more = q.limit > 0 && kvs.length > q.limit;
    if (more) kvs = kvs.slice(0, q.limit);
    if (q.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
    return { value: { revision: current, kvs, more, count } };
  }

  /** Applies the ops of one write request to a copy of the current state. */
  private write(ops: readonly ModelOp[]): { responses: unknown[]; events: ModelEvent[] } {
    const rev = this.revision + 1;
    const before = this.at(this.revision);
    const state = new Map(before);
    const events: ModelEvent[] = [];
    const responses: unknown[] = [];
    for (const op of ops) {
      const current = events.length > 0 ? rev : this.revision;
      if (op.op === 'range') {
        const q = { range: op.range, revision: op.revision, limit: op.limit, sortOrder: 'NONE', sortTarget: 'KEY', countOnly: false, keysOnly: false, minModRevision: 0 } as const;
        responses.push((this.range(q, current, state) as { value: unknown }).value);
      } else if (op.op === 'put') {
        const prev = state.get(op.key);
        const kv = { key: op.key, value: op.value, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1 };
        state.set(op.key, kv);
        events.push({ type: 'PUT', key: op.key, value: op.value, modRevision: rev, ...(prev ? { prev: before.get(op.key)?.value } : {}) });
        responses.push({ revision: rev, ...(op.prevKv && prev ? { prevKv: prev } : {}) });
      } else {
        const doomed = sorted(state).filter((kv) => inRange(op.range, kv.key));
        for (const kv of doomed) {
          state.delete(kv.key);
          const prevValue = before.get(kv.key)?.value;
          events.push({ type: 'DELETE', key: kv.key, value: '', modRevision: rev, ...(prevValue === undefined ? {} : { prev: prevValue }) });
        }
        responses.push({ revision: events.length > 0 ? rev : this.revision, deleted: doomed.length, prevKvs: op.prevKv ? doomed : [] });
      }
    }
    if (events.length > 0) {
      this.revision = rev;
      this.states.push(state);
      this.log.push(...events);
    }
    return { responses, events: events.map((e) => this.withPrevRule(e)) };
  }

  /** prev_kv is omitted for creates and when the revision before the event is compacted. */
  private withPrevRule(e: ModelEvent): ModelEvent {
    const { prev, ...rest } = e;
    if (prev === undefined || e.modRevision - 1 < this.compactRevision) return rest;
    return e;
  }

  put(key: string, value: string, prevKv: boolean): Outcome {
    const { responses, events } = this.write([{ op: 'put', key, value, prevKv }]);
    return { value: responses[0], events };
  }

  delete(range: ModelRange, prevKv: boolean): Outcome {
    const { responses, events } = this.write([{ op: 'delete', range, prevKv }]);
    return { value: responses[0], events };
  }

  private holds(c: ModelCompare): boolean {
    const kv = this.at(this.revision).get(c.key);
    if (kv === undefined && c.target === 'VALUE') return false;
    const diff = c.target === 'VALUE' ? cmp(kv!.value, c.operand as string)
      : (c.target === 'VERSION' ? kv?.version ?? 0 : c.target === 'CREATE' ? kv?.createRevision ?? 0 : kv?.modRevision ?? 0) - (c.operand as number);
    return c.result === 'EQUAL' ? diff === 0 : c.result === 'NOT_EQUAL' ? diff !== 0 : c.result === 'GREATER' ? diff > 0 : diff < 0;
  }

  txn(compares: readonly ModelCompare[], success: readonly ModelOp[], failure: readonly ModelOp[]): Outcome {
    for (const ops of [success, failure]) {
      const puts = ops.flatMap((op) => (op.op === 'put' ? [op.key] : []));
      const dels = ops.flatMap((op) => (op.op === 'delete' ? [op.range] : []));
      if (new Set(puts).size !== puts.length || puts.some((k) => dels.some((r) => deleteConflicts(r, k)))) return { error: 'DUPLICATE_KEY' };
    }
    const succeeded = compares.every((c) => this.holds(c));
    const ops = succeeded ? success : failure;
    for (const op of ops) {
      if (op.op !== 'range' || op.revision === 0) continue;
      if (op.revision > this.revision) return { error: 'FUTURE_REVISION' };
      if (op.revision < this.compactRevision) return { error: 'COMPACTED' };
    }
    const { responses, events } = this.write(ops);
    return { value: { revision: this.revision, succeeded, responses }, events };
  }

  compact(rev: number): Outcome {
    if (rev <= this.compactRevision) return { error: 'COMPACTED' };
    if (rev > this.revision) return { error: 'FUTURE_REVISION' };
    this.compactRevision = rev;
    return { value: { revision: this.revision }, events: [] };
  }

  /** History from `start`: revisions after the compact revision, plus each key's last event at it. */
  events(range: ModelRange, start: number): Outcome {
    if (start < this.compactRevision) return { error: 'COMPACTED' };
    const kept = this.log.filter((e, i) => {
      if (e.modRevision < start || e.modRevision < this.compactRevision || !inRange(range, e.key)) return false;
      if (e.modRevision > this.compactRevision) return true;
      return !this.log.slice(i + 1).some((later) => later.key === e.key && later.modRevision === e.modRevision);
    });
    return { value: kept.map((e) => this.withPrevRule(e)) };
  }
}
