/**
 * Injected randomness for the Raft core. The core never uses a global random source:
 * whoever builds a node hands in an Rng, so a simulator seeded with S replays
 * exactly, and production uses a seed from the OS.
 */
export interface Rng {
  /** Uniform integer in [0, bound). Invariant: bound >= 1. */
  nextInt(bound: number): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
}

/**
 * SplitMix64-derived generator over 32-bit halves (xoshiro128** state seeded by
 * splitmix32). Small, fast, and good enough for timeouts and fault schedules.
 */
export class SeededRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0 || 0x9e3779b9;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // Mix the upper bits of large seeds too (seeds are up to 2^53).
    const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
    this.s0 = (this.s0 ^ high) >>> 0 || 1;
  }

  private nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  nextInt(bound: number): number {
    if (!(bound >= 1) || !Number.isInteger(bound)) {
      throw new RangeError(`nextInt bound must be a positive integer, got ${bound}`);
    }
    return Math.floor(this.nextFloat() * bound);
  }

  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
