/**
 * Random key-value histories for testing the linearizability checker: clients
 * issue overlapping operations against a correct register, each taking effect at
 * a random point inside its interval (ambiguous ones at any point after their
 * call, or never), and the outputs are what that order produces. Planters then
 * change one read so the history becomes certainly non-linearizable.
 */
import type { KvInput, KvOutput, KvValue } from '../../chaos/linearizability/models.js';
import type { Operation } from '../../chaos/linearizability/history.js';
import type { Rng } from '../../raft/core/rng.js';

export type KvOperation = Operation<KvInput, KvOutput>;

export interface GenerateOptions {
  readonly clients: number;
  readonly keys: number;
  readonly operations: number;
  /** Percent of operations whose outcome the client never learns. */
  readonly ambiguousPercent: number;
  /** Percent of operations that fail definitely (never applied). */
  readonly failPercent: number;
  /** Operation durations are drawn from [1, durationMax] time units. */
  readonly durationMax: number;
  /** Think time between a client's operations, from [0, gapMax]. */
  readonly gapMax: number;
}

interface Draft {
  readonly id: number;
  readonly clientId: number;
  readonly callTime: number;
  readonly returnTime: number;
  readonly input: KvInput;
  readonly status: 'ok' | 'fail' | 'info';
  /** When the operation takes effect; undefined when it never does. */
  readonly effectTime: number | undefined;
}

export function generateKvHistory(rng: Rng, options: GenerateOptions): KvOperation[] {
  const drafts = draftOperations(rng, options);
  const outputs = simulateRegister(drafts);
  return drafts.map((d): KvOperation => {
    const base = { id: d.id, clientId: d.clientId, callTime: d.callTime, input: d.input };
    if (d.status === 'fail') return { ...base, status: 'fail', returnTime: d.returnTime };
    if (d.status === 'info') return { ...base, status: 'info', returnTime: Infinity };
    return { ...base, status: 'ok', returnTime: d.returnTime, output: outputs.get(d.id)! };
  });
}

function draftOperations(rng: Rng, options: GenerateOptions): Draft[] {
  const freeAt = new Array<number>(options.clients).fill(0);
  const written = new Map<string, KvValue[]>();
  const drafts: Draft[] = [];
  for (let id = 0; id < options.operations; id++) {
    // The client that is free first goes next, which keeps all clients busy at once.
    const clientId = freeAt.indexOf(Math.min(...freeAt));
    const callTime = freeAt[clientId]! + rng.nextInt(options.gapMax + 1);
    const returnTime = callTime + 1 + rng.nextInt(options.durationMax);
    freeAt[clientId] = returnTime;
    const input = randomInput(rng, id, `k${rng.nextInt(options.keys)}`, written);
    const roll = rng.nextInt(100);
    const status = roll < options.ambiguousPercent ? 'info' : roll < options.ambiguousPercent + options.failPercent ? 'fail' : 'ok';
    let effectTime: number | undefined = callTime + rng.nextFloat() * (returnTime - callTime);
    if (status === 'fail') effectTime = undefined;
    if (status === 'info') {
      // Applied or not, and when applied possibly long after the client gave up.
      effectTime = rng.nextInt(2) === 0 ? undefined : callTime + rng.nextFloat() * options.durationMax * 4;
    }
    drafts.push({ id, clientId, callTime, returnTime, input, status, effectTime });
  }
  return drafts;
}

function randomInput(rng: Rng, id: number, key: string, written: Map<string, KvValue[]>): KvInput {
  const values = written.get(key) ?? [];
  const value = `v${id}`;
  const kind = rng.nextInt(10);
  if (kind < 4) return { type: 'get', key };
  if (kind === 4) return { type: 'delete', key };
  written.set(key, [...values, value]);
  if (kind < 8) return { type: 'put', key, value };
  const pick = rng.nextInt(10);
  const expected = values.length === 0 || pick < 2 ? null : pick < 7 ? values[values.length - 1]! : values[rng.nextInt(values.length)]!;
  return { type: 'cas', key, expected, value };
}

/** Applies the operations that take effect in effect-time order and returns each one's output. */
function simulateRegister(drafts: readonly Draft[]): Map<number, KvOutput> {
  const applied = drafts
    .filter((d) => d.effectTime !== undefined)
    .sort((a, b) => a.effectTime! - b.effectTime! || a.id - b.id);
  const values = new Map<string, KvValue>();
  const outputs = new Map<number, KvOutput>();
  for (const d of applied) {
    const current = values.get(d.input.key) ?? null;
    const input = d.input;
    switch (input.type) {
      case 'get':
        outputs.set(d.id, { type: 'get', value: current });
        break;
      case 'put':
        values.set(input.key, input.value);
        outputs.set(d.id, { type: 'put' });
        break;
      case 'delete':
        values.delete(input.key);
        outputs.set(d.id, { type: 'delete', deleted: current === null ? 0 : 1 });
        break;
      case 'cas': {
        const succeeded = current === input.expected;
        if (succeeded) values.set(input.key, input.value);
        outputs.set(d.id, { type: 'cas', succeeded });
        break;
      }
    }
  }
  return outputs;
}

export interface PlantedBug {
  readonly history: KvOperation[];
  readonly opId: number;
  readonly description: string;
}

function definiteReads(history: readonly KvOperation[]): KvOperation[] {
  return history.filter((op) => op.status === 'ok' && op.input.type === 'get');
}

function withReadResult(history: readonly KvOperation[], opId: number, value: KvValue): KvOperation[] {
  return history.map((op) => (op.id === opId && op.status === 'ok' ? { ...op, output: { type: 'get', value } } : op));
}

/** One read now returns a value that no operation ever wrote. */
export function plantNeverWrittenRead(rng: Rng, history: readonly KvOperation[]): PlantedBug | undefined {
  const reads = definiteReads(history);
  if (reads.length === 0) return undefined;
  const read = reads[rng.nextInt(reads.length)]!;
  return {
    history: withReadResult(history, read.id, 'never-written'),
    opId: read.id,
    description: `read #${read.id} returns a value never written`,
  };
}

/** The value an acknowledged operation stored, if it stored one. */
function storedValue(op: KvOperation): KvValue | null | undefined {
  if (op.status !== 'ok') return undefined;
  if (op.input.type === 'put') return op.input.value;
  if (op.input.type === 'delete') return null;
  if (op.input.type === 'cas' && op.output.type === 'cas' && op.output.succeeded) return op.input.value;
  return undefined;
}

/** Random tries to find a write, an overwrite and a read in that real-time order. */
const PLANT_ATTEMPTS_MAX = 200;

/**
 * One read now returns a value W wrote although a later write W2 overwrote it,
 * with W returned before W2 was called and W2 returned before the read was
 * called. Values are unique per writer, so no order can explain the read.
 */
export function plantOverwrittenRead(rng: Rng, history: readonly KvOperation[]): PlantedBug | undefined {
  const reads = definiteReads(history);
  const writes = history.filter((op) => storedValue(op) !== undefined);
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[rng.nextInt(items.length)]);
  for (let attempt = 0; attempt < PLANT_ATTEMPTS_MAX && reads.length > 0; attempt++) {
    const read = pick(reads)!;
    const sameKey = writes.filter((w) => w.input.key === read.input.key);
    const overwrite = pick(sameKey.filter((w) => w.returnTime < read.callTime));
    if (overwrite === undefined) continue;
    const first = pick(sameKey.filter((w) => w.returnTime < overwrite.callTime && typeof storedValue(w) === 'string'));
    if (first === undefined) continue;
    const value = storedValue(first) as KvValue;
    return {
      history: withReadResult(history, read.id, value),
      opId: read.id,
      description: `read #${read.id} returns ${value}, overwritten by #${overwrite.id} before the read began`,
    };
  }
  return undefined;
}
