/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package: of all candidates running with the same lease, at
 * most one leads at a time, given clocks that run at the same rate (their
 * readings are never compared).
 *
 *   const elector = new LeaderElector({ client, namespace: 'kube-system', name: 'kube-scheduler', identity,
 *     onStartedLeading: (signal) => scheduler.run(signal), onStoppedLeading: () => log('lost the lease') });
 *   await elector.run(shutdown.signal);
 *
 * How safety holds. A candidate judges a lease held by another expired only
 * when leaseDuration has passed on ITS clock since it last saw the lease
 * change (client-go's observedTime). A leader stops leading once
 * renewDeadline has passed since it SENT its last successful renewal; that
 * renewal reached the store after it was sent, and the others saw it after
 * that, so the leader stops at least leaseDuration - renewDeadline before any
 * other candidate may take over. Takeovers are compare-and-swap writes on the
 * resourceVersion that was read, so two candidates cannot both win one.
 * Requests are raced against the deadline: a request that hangs never keeps
 * a leader leading.
 *
 * Callbacks: onStartedLeading(signal) runs the leader's work; `signal` aborts
 * when leadership ends. Return a promise that settles when the work has
 * stopped: the elector waits for it before it runs for leader again, and on
 * shutdown before it releases the lease (client-go's ReleaseOnCancel), so the
 * next leader never overlaps work that is still winding down. onStoppedLeading
 * is called each time leadership ends (not when the elector never led).
 */
import { isConflict, type ApiClient } from '../client/api-client.js';
import type { Clock } from '../client/clock.js';
import { formatMicroTime, LeaseLock, type LeaderElectionRecord, type ObservedLease } from './lease-lock.js';

/** Defaults of kube-scheduler and kube-controller-manager (component-base). */
export const LEASE_DURATION_MS_DEFAULT = 15_000;
export const RENEW_DEADLINE_MS_DEFAULT = 10_000;
export const RETRY_PERIOD_MS_DEFAULT = 2_000;
/** client-go's JitterFactor: a candidate waits retryPeriod × [1, 1 + JITTER_FACTOR) between attempts, so candidates spread out. */
export const JITTER_FACTOR = 1.2;
/** What client-go's ReleaseOnCancel writes: others may take a released lease at once (the holder is empty). */
const RELEASED_LEASE_DURATION_SECONDS = 1;

/**
 * Monotonic milliseconds near the wall clock: a clock step (NTP) must not
 * stretch a leader's term or shorten another's wait. Timers are setTimeout,
 * which Node runs on a monotonic clock too.
 */
export const monotonicClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export interface LeaderElectorOptions {
  readonly client: ApiClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per candidate (host name + a random suffix, say). */
  readonly identity: string;
  /** How long others wait, after they last saw the lease change, before they take it over. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. */
  readonly retryPeriodMs?: number;
  /** Default monotonicClock. */
  readonly clock?: Clock;
  /** For the jitter of acquire attempts, in [0, 1); default Math.random. */
  readonly random?: () => number;
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  readonly onStoppedLeading: () => void;
  /** Called when the observed holder changes to a (non-empty) identity, ours included. */
  readonly onNewLeader?: (identity: string) => void;
  readonly log?: (line: string) => void;
}

export class LeaderElectionConfigError extends Error {
  override readonly name = 'LeaderElectionConfigError';
  readonly code = 'InvalidLeaderElectionConfig';
}

/** What one attempt found. */
type Attempt =
  /** Our write (create, renew or takeover) succeeded. */
  | { readonly kind: 'acquired'; readonly lease: ObservedLease }
  /** Another candidate holds the lease and it has not expired in our observation. */
  | { readonly kind: 'held'; readonly lease: ObservedLease }
  | { readonly kind: 'failed'; readonly error: unknown; readonly lease?: ObservedLease };

const Outcome = { Acquired: 'acquired', Held: 'held', Failed: 'failed' } as const;
type Outcome = (typeof Outcome)[keyof typeof Outcome];

export class LeaderElector {
  private readonly lock: LeaseLock;
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: (line: string) => void;
  /** The lease as last read or written by us, and when (our clock) it last changed. */
  private observed: ObservedLease | undefined;
  private observedAtMs = 0;
  private reportedLeader = '';
  /** Send time of our last successful acquire or renew: leadership ends renewDeadline after it. */
  private lastRenewSentMs = Number.NEGATIVE_INFINITY;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  /** Renew without reading first: our last write succeeded, so the resourceVersion we hold is likely current. */
  private renewWithoutRead = false;
  private leading = false;
  private running = false;
  /** The leader's work (onStartedLeading), settled when it has stopped. */
  private work: Promise<void> = Promise.resolve();
  private workRunning = false;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseDurationMs = o.leaseDurationMs ?? LEASE_DURATION_MS_DEFAULT;
    this.renewDeadlineMs = o.renewDeadlineMs ?? RENEW_DEADLINE_MS_DEFAULT;
    this.retryPeriodMs = o.retryPeriodMs ?? RETRY_PERIOD_MS_DEFAULT;
    validate(o, this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    this.lock = new LeaseLock({ client: o.client, namespace: o.namespace, name: o.name });
    this.clock = o.clock ?? monotonicClock;
    this.log = o.log ?? (() => undefined);
  }

  /** Whether we lead now: between onStartedLeading and the end of the term. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder we last observed, or undefined when none (never read, or released). */
  leader(): string | undefined {
    const holder = this.observed?.record.holderIdentity;
    return holder === undefined || holder === '' ? undefined : holder;
  }

  /** Runs for leader, leads, and runs again after losing, until `signal` aborts; then releases the lease if leading. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error(`leader elector ${this.o.identity} for ${this.lock.describe()} is already running`);
    this.running = true;
    try {
      while (!signal.aborted) {
        if (!(await this.acquire(signal))) break;
        await this.lead(signal);
      }
    } finally {
      this.running = false;
    }
  }

  /** Tries every retryPeriod (jittered) until we hold the lease: true, or false when `signal` aborted. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      // The previous term's work must have stopped before a new term starts.
      if (!this.workRunning) {
        const sentMs = this.clock.nowMs();
        if ((await this.attempt(sentMs + this.renewDeadlineMs, signal)) === Outcome.Acquired) return true;
      }
      const waitMs = this.retryPeriodMs * (1 + (this.o.random ?? Math.random)() * JITTER_FACTOR);
      await sleep(this.clock, waitMs, signal);
    }
    return false;
  }

  /** One term: renews every retryPeriod until renewDeadline passes without success, the lease is lost, or `signal` aborts. */
  private async lead(signal: AbortSignal): Promise<void> {
    const term = new AbortController();
    this.leading = true;
    this.log(`leader election ${this.lock.describe()}: ${this.o.identity} started leading`);
    this.startWork(term.signal);
    let reason = 'shutting down';
    for (;;) {
      const deadlineMs = this.lastRenewSentMs + this.renewDeadlineMs;
      const wakeMs = Math.min(this.lastAttemptMs + this.retryPeriodMs, deadlineMs);
      await sleep(this.clock, wakeMs - this.clock.nowMs(), signal);
      if (signal.aborted) break;
      if (this.clock.nowMs() >= deadlineMs) {
        reason = `no successful renewal within renewDeadline ${this.renewDeadlineMs} ms`;
        break;
      }
      if ((await this.attempt(deadlineMs, signal)) === Outcome.Held) {
        reason = `the lease is held by ${this.observed?.record.holderIdentity ?? '?'}`;
        break;
      }
    }
    this.leading = false;
    term.abort();
    this.log(`leader election ${this.lock.describe()}: ${this.o.identity} stopped leading: ${reason}`);
    try {
      this.o.onStoppedLeading();
    } catch (err) {
      this.log(`leader election ${this.lock.describe()}: onStoppedLeading threw: ${messageOf(err)}`);
    }
    if (signal.aborted) await this.release();
  }

  private startWork(signal: AbortSignal): void {
    this.workRunning = true;
    this.work = (async () => this.o.onStartedLeading(signal))()
      .catch((err: unknown) => this.log(`leader election ${this.lock.describe()}: onStartedLeading failed: ${messageOf(err)}`))
      .finally(() => (this.workRunning = false));
  }

  /**
   * client-go's ReleaseOnCancel, best effort: empties the holder so another
   * candidate may lead at once. Only after the work stopped (bounded by
   * renewDeadline); while it may still run, the lease is left to expire.
   */
  private async release(): Promise<void> {
    const waitUntilMs = this.clock.nowMs() + this.renewDeadlineMs;
    const stopped = await this.withDeadline(this.work.then(() => true), waitUntilMs, new AbortController().signal);
    const prev = this.observed;
    if (stopped !== true || prev === undefined || prev.record.holderIdentity !== this.o.identity) {
      if (stopped !== true) this.log(`leader election ${this.lock.describe()}: not releasing, the leader's work has not stopped`);
      return;
    }
    const nowMs = this.clock.nowMs();
    const record: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationSeconds: RELEASED_LEASE_DURATION_SECONDS,
      acquireTime: formatMicroTime(nowMs),
      renewTime: formatMicroTime(nowMs),
      leaseTransitions: prev.record.leaseTransitions,
    };
    const released = this.lock.update(prev, record).then(
      (lease) => lease,
      (err: unknown) => this.log(`leader election ${this.lock.describe()}: release failed: ${messageOf(err)}`),
    );
    const lease = await this.withDeadline(released, nowMs + this.renewDeadlineMs, new AbortController().signal);
    if (lease) this.observe(lease);
  }

  /**
   * One try to acquire or renew, given up at `deadlineMs` (a late success
   * counts for nothing: it can no longer be trusted to be fresh).
   */
  private async attempt(deadlineMs: number, signal: AbortSignal): Promise<Outcome> {
    const sentMs = this.clock.nowMs();
    this.lastAttemptMs = sentMs;
    const a = await this.withDeadline(this.tryAcquireOrRenew(), deadlineMs, signal);
    if (a === undefined || this.clock.nowMs() >= deadlineMs) {
      this.renewWithoutRead = false;
      if (!signal.aborted) this.log(`leader election ${this.lock.describe()}: no answer before the deadline`);
      return Outcome.Failed;
    }
    if (a.lease !== undefined) this.observe(a.lease);
    switch (a.kind) {
      case 'acquired':
        this.lastRenewSentMs = sentMs;
        this.renewWithoutRead = true;
        return Outcome.Acquired;
      case 'held':
        this.renewWithoutRead = false;
        return Outcome.Held;
      case 'failed':
        this.renewWithoutRead = false;
        this.log(`leader election ${this.lock.describe()}: ${this.o.identity} could not acquire or renew: ${messageOf(a.error)}`);
        return Outcome.Failed;
      default: {
        const never: never = a;
        throw new Error(`unknown attempt ${JSON.stringify(never)}`);
      }
    }
  }

  /** client-go's tryAcquireOrRenew. Never throws; changes no state (a late answer is dropped by the caller). */
  private async tryAcquireOrRenew(): Promise<Attempt> {
    const me = this.o.identity;
    const prev = this.observed;
    if (this.renewWithoutRead && prev !== undefined && prev.record.holderIdentity === me) {
      try {
        return { kind: 'acquired', lease: await this.lock.update(prev, this.nextRecord(prev)) };
      } catch {
        // Someone else wrote, or the API failed: read, then decide.
      }
    }
    let current: ObservedLease | undefined;
    try {
      current = await this.lock.get();
      if (current === undefined) return { kind: 'acquired', lease: await this.lock.create(this.nextRecord(undefined)) };
    } catch (err) {
      return { kind: 'failed', error: err };
    }
    const holder = current.record.holderIdentity;
    if (holder !== '' && holder !== me && !this.expired(current)) return { kind: 'held', lease: current };
    try {
      return { kind: 'acquired', lease: await this.lock.update(current, this.nextRecord(current)) };
    } catch (err) {
      return { kind: 'failed', error: isConflict(err) ? new Error(`${this.lock.describe()} changed under us (409): another candidate won`) : err, lease: current };
    }
  }

  /** Whether `current`'s holder let it lapse: leaseDuration has passed on our clock since it last changed. */
  private expired(current: ObservedLease): boolean {
    const nowMs = this.clock.nowMs();
    const changedAtMs = changed(this.observed, current) ? nowMs : this.observedAtMs;
    return changedAtMs + current.record.leaseDurationSeconds * 1000 <= nowMs;
  }

  /** The record we write: a renewal keeps acquireTime and leaseTransitions, a takeover counts one more transition. */
  private nextRecord(prev: ObservedLease | undefined): LeaderElectionRecord {
    const now = formatMicroTime(this.clock.nowMs());
    const renewal = prev !== undefined && prev.record.holderIdentity === this.o.identity;
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: renewal ? prev.record.acquireTime : now,
      renewTime: now,
      leaseTransitions: prev === undefined ? 0 : prev.record.leaseTransitions + (renewal ? 0 : 1),
    };
  }

  private observe(lease: ObservedLease): void {
    if (changed(this.observed, lease)) this.observedAtMs = this.clock.nowMs();
    this.observed = lease;
    const holder = lease.record.holderIdentity;
    if (holder !== '' && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log(`leader election ${this.lock.describe()}: new leader ${holder}`);
      this.o.onNewLeader?.(holder);
    }
  }

  /** `p`'s value, or undefined once `deadlineMs` (our clock) passes or `signal` aborts; `p` must not reject. */
  private async withDeadline<T>(p: Promise<T>, deadlineMs: number, signal: AbortSignal): Promise<T | undefined> {
    const remainingMs = deadlineMs - this.clock.nowMs();
    if (remainingMs <= 0 || signal.aborted) return undefined;
    // Its own controller, linked to `signal` for this call only: the run's signal lives long.
    const done = new AbortController();
    const abort = (): void => done.abort();
    signal.addEventListener('abort', abort, { once: true });
    const timeout = sleep(this.clock, remainingMs, done.signal).then(() => undefined);
    try {
      return await Promise.race([p, timeout]);
    } finally {
      signal.removeEventListener('abort', abort);
      done.abort();
    }
  }
}

/** client-go's checks: the leader must give up (renewDeadline) before others may take over (leaseDuration), with room for a retry. */
function validate(o: LeaderElectorOptions, leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  const fail = (message: string): never => {
    throw new LeaderElectionConfigError(`leader election ${o.namespace}/${o.name}: ${message}`);
  };
  if (o.identity === '') fail('identity must not be empty');
  if (o.name === '' || o.namespace === '') fail('namespace and name must not be empty');
  if (!(retryPeriodMs > 0)) fail(`retryPeriodMs must be positive, got ${retryPeriodMs}`);
  if (!(leaseDurationMs > renewDeadlineMs)) fail(`leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`);
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) fail(`renewDeadlineMs (${renewDeadlineMs}) must be greater than ${JITTER_FACTOR} × retryPeriodMs (${retryPeriodMs})`);
}

/** A change others' expiry is judged from: holder, renewTime or resourceVersion. */
function changed(before: ObservedLease | undefined, after: ObservedLease): boolean {
  return (
    before === undefined ||
    before.resourceVersion !== after.resourceVersion ||
    before.record.holderIdentity !== after.record.holderIdentity ||
    before.record.renewTime !== after.record.renewTime
  );
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts or `ms` is not positive. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = (): void => {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.after(ms, done);
    signal.addEventListener('abort', done);
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
