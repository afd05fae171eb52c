/**
 * A token bucket, as client-go's flowcontrol token-bucket limiter (without
 * its blocking Wait): at most `burst` tokens, refilled at `ratePerSecond`.
 * Time is passed in, so callers drive it from their Clock and tests from a
 * FakeClock.
 *
 * Changing the rate starts a new bucket, as Kubernetes' SwapLimiter does:
 * full for a positive rate, empty for 0 — a rate of 0 means "stop now", not
 * "spend what is left".
 */
import { assert } from './errors.js';

/** Float refills (0.1 token/s in 100 ms steps) must reach a whole token despite rounding. */
const TOKEN_EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private ratePerSecondNow: number;

  /** Starts full for a positive rate, empty for 0, unless `startFull` says otherwise (a spam filter with no refill still allows its burst). */
  constructor(ratePerSecond: number, readonly burst: number, nowMs: number, o: { readonly startFull?: boolean } = {}) {
    assert(Number.isFinite(ratePerSecond) && ratePerSecond >= 0, `token rate ${ratePerSecond} must be a finite number >= 0`);
    assert(Number.isInteger(burst) && burst >= 1, `token burst ${burst} must be an integer >= 1`);
    this.ratePerSecondNow = ratePerSecond;
    this.tokens = (o.startFull ?? ratePerSecond > 0) ? burst : 0;
    this.lastMs = nowMs;
  }

  get ratePerSecond(): number {
    return this.ratePerSecondNow;
  }

  /** Swaps in a new bucket at `ratePerSecond`; does nothing when the rate is unchanged. */
  setRate(ratePerSecond: number, nowMs: number): void {
    assert(Number.isFinite(ratePerSecond) && ratePerSecond >= 0, `token rate ${ratePerSecond} must be a finite number >= 0`);
    if (ratePerSecond === this.ratePerSecondNow) return;
    this.ratePerSecondNow = ratePerSecond;
    this.tokens = ratePerSecond > 0 ? this.burst : 0;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one. */
  tryTake(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1 - TOKEN_EPSILON) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  private refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.lastMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs / 1000) * this.ratePerSecondNow);
    this.lastMs = Math.max(this.lastMs, nowMs);
  }
}
