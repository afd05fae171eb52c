/**
 * Histories of client operations, and the recorder that chaos clients use to
 * build them.
 *
 * An operation is an interval [callTime, returnTime] in one real-time order
 * shared by all clients (a monotonic clock, or a logical counter bumped on every
 * event). Three outcomes, as in Jepsen:
 *  - ok:   the client saw the result; the operation took effect exactly once,
 *          somewhere inside its interval.
 *  - fail: the client knows the operation did not take effect (e.g. rejected
 *          before it was proposed). The checker ignores it.
 *  - info: the outcome is unknown (timeout, crashed client, lost connection).
 *          It may or may not have taken effect, at any time after its call, so
 *          its returnTime is +Infinity and it has no output.
 */
import { HistoryError, HistoryErrorCode } from './errors.js';

export const OpStatus = { Ok: 'ok', Fail: 'fail', Info: 'info' } as const;
export type OpStatus = (typeof OpStatus)[keyof typeof OpStatus];

interface OperationBase<I> {
  /** Unique within one history; stable across partitioning, used in reports. */
  readonly id: number;
  readonly clientId: number;
  readonly callTime: number;
  readonly input: I;
}

export interface OkOperation<I, O> extends OperationBase<I> {
  readonly status: typeof OpStatus.Ok;
  /** Invariant: callTime <= returnTime < Infinity. */
  readonly returnTime: number;
  readonly output: O;
}

export interface FailedOperation<I> extends OperationBase<I> {
  readonly status: typeof OpStatus.Fail;
  readonly returnTime: number;
}

export interface AmbiguousOperation<I> extends OperationBase<I> {
  readonly status: typeof OpStatus.Info;
  /** Always +Infinity: the effect, if any, may land at any time after the call. */
  readonly returnTime: number;
}

export type Operation<I, O> = OkOperation<I, O> | FailedOperation<I> | AmbiguousOperation<I>;
export type History<I, O> = readonly Operation<I, O>[];

/** Throws HistoryError(INVALID_OPERATION) naming the first inconsistent operation. */
export function validateHistory<I, O>(history: History<I, O>): void {
  const seen = new Set<number>();
  for (const op of history) {
    const problem = operationProblem(op);
    if (problem !== undefined) {
      throw new HistoryError(HistoryErrorCode.InvalidOperation, `operation ${op.id} (client ${op.clientId}): ${problem}`);
    }
    if (seen.has(op.id)) {
      throw new HistoryError(HistoryErrorCode.InvalidOperation, `operation id ${op.id} appears twice in the history`);
    }
    seen.add(op.id);
  }
}

function operationProblem<I, O>(op: Operation<I, O>): string | undefined {
  if (!Number.isFinite(op.callTime)) return `callTime ${op.callTime} is not a finite number`;
  switch (op.status) {
    case OpStatus.Ok:
    case OpStatus.Fail:
      if (!Number.isFinite(op.returnTime)) return `returnTime ${op.returnTime} of a completed operation is not finite`;
      if (op.returnTime < op.callTime) return `returnTime ${op.returnTime} is before callTime ${op.callTime}`;
      return undefined;
    case OpStatus.Info:
      if (op.returnTime !== Infinity) return `returnTime ${op.returnTime} of an ambiguous operation must be Infinity`;
      return undefined;
    default:
      return `unknown status ${JSON.stringify((op as { status: unknown }).status)}`;
  }
}

/** A handle returned by `call()`; pass it to exactly one of ok/fail/info. */
export type OpHandle = number;

export interface HistoryRecorderOptions {
  /**
   * Real-time clock shared by all clients; must never go backwards. Equal
   * readings count as concurrent. Default: a logical counter bumped on every call
   * and return, which is exact for clients on one event loop (no ties, no skew).
   */
  readonly now?: () => number;
  /** Default OPERATIONS_MAX_DEFAULT. */
  readonly operationsMax?: number;
}

/**
 * A chaos run of a few minutes issues at most some tens of thousands of operations,
 * and the checker's cost grows faster than linearly; a million means a runaway loop.
 */
export const OPERATIONS_MAX_DEFAULT = 1_000_000;

/** How a thrown error is classified by `record()`: certainly not applied, or unknown. */
export type FailureKind = typeof OpStatus.Fail | typeof OpStatus.Info;

interface PendingOp<I> {
  readonly clientId: number;
  readonly callTime: number;
  readonly input: I;
}

/**
 * Records a history from concurrent async clients. Each clientId is one
 * sequential process: it has at most one outstanding operation. After an
 * ambiguous outcome the client may go on; its old operation stays open forever.
 */
export class HistoryRecorder<I, O> {
  private readonly now: () => number;
  private readonly operationsMax: number;
  private logicalTime = 0;
  private readonly pending = new Map<OpHandle, PendingOp<I>>();
  private readonly busyClients = new Set<number>();
  private readonly completed: Operation<I, O>[] = [];
  private nextId = 0;

  constructor(options: HistoryRecorderOptions = {}) {
    this.now = options.now ?? (() => ++this.logicalTime);
    this.operationsMax = options.operationsMax ?? OPERATIONS_MAX_DEFAULT;
  }

  /** Marks the invocation; call it just before the request leaves the client. */
  call(clientId: number, input: I): OpHandle {
    if (this.nextId >= this.operationsMax) {
      throw new HistoryError(
        HistoryErrorCode.HistoryFull,
        `history holds ${this.nextId} operations; the limit is ${this.operationsMax}`,
      );
    }
    if (this.busyClients.has(clientId)) {
      throw new HistoryError(HistoryErrorCode.ClientBusy, `client ${clientId} called while its previous operation is outstanding`);
    }
    const id = this.nextId++;
    this.busyClients.add(clientId);
    this.pending.set(id, { clientId, callTime: this.now(), input });
    return id;
  }

  /** The client received the response `output`; call it as soon as the response arrives. */
  ok(handle: OpHandle, output: O): void {
    const op = this.take(handle);
    this.completed.push({ ...this.base(handle, op), status: OpStatus.Ok, returnTime: this.now(), output });
  }

  /** The client knows the operation did not and will not take effect. */
  fail(handle: OpHandle): void {
    const op = this.take(handle);
    this.completed.push({ ...this.base(handle, op), status: OpStatus.Fail, returnTime: this.now() });
  }

  /** The outcome is unknown (timeout, connection lost): it may take effect at any later time. */
  info(handle: OpHandle): void {
    const op = this.take(handle);
    this.completed.push({ ...this.base(handle, op), status: OpStatus.Info, returnTime: Infinity });
  }

  /** Same as `info`: a timed-out request may still be applied. */
  timeout(handle: OpHandle): void {
    this.info(handle);
  }

  /**
   * Runs `invoke` as one operation of `clientId`: ok with its result, or, when it
   * throws, fail/info as `classify` says (default info, the only safe guess) and
   * rethrows.
   */
  async record(
    clientId: number,
    input: I,
    invoke: () => Promise<O>,
    classify: (error: unknown) => FailureKind = () => OpStatus.Info,
  ): Promise<O> {
    const handle = this.call(clientId, input);
    let output: O;
    try {
      output = await invoke();
    } catch (error) {
      if (classify(error) === OpStatus.Fail) this.fail(handle);
      else this.info(handle);
      throw error;
    }
    this.ok(handle, output);
    return output;
  }

  /** Number of operations still outstanding. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The history so far, ordered by id; operations still outstanding count as ambiguous. */
  history(): History<I, O> {
    const open: Operation<I, O>[] = [...this.pending].map(([id, op]) => ({
      ...this.base(id, op),
      status: OpStatus.Info,
      returnTime: Infinity,
    }));
    return [...this.completed, ...open].sort((a, b) => a.id - b.id);
  }

  private base(id: OpHandle, op: PendingOp<I>): OperationBase<I> {
    return { id, clientId: op.clientId, callTime: op.callTime, input: op.input };
  }

  private take(handle: OpHandle): PendingOp<I> {
    const op = this.pending.get(handle);
    if (op === undefined) {
      const issued = Number.isInteger(handle) && handle >= 0 && handle < this.nextId;
      throw issued
        ? new HistoryError(HistoryErrorCode.OperationCompleted, `operation ${handle} already completed`)
        : new HistoryError(HistoryErrorCode.UnknownOperation, `operation ${handle} was never called`);
    }
    this.pending.delete(handle);
    this.busyClients.delete(op.clientId);
    return op;
  }
}
