/**
 * Prefix hashes of a Raft log. The hash at index i covers every entry 1..i
 * (index, term, type and data), so two logs with equal hashes at i hold the
 * same prefix (up to collisions of a 53-bit hash, which only ever hide a bug,
 * never invent one). Both the log tracker and the state machine use the same
 * chain, which lets snapshots carry the hash of the prefix they stand for.
 */
import type { Entry } from '../../raft/core/types.js';

/** Hash of the empty prefix (before index 1). */
export const EMPTY_PREFIX_HASH = 0;

const TWO_POW_32 = 0x1_0000_0000;
/** Top lane keeps 21 bits so the combined hash is a safe integer (53 bits). */
const HIGH_LANE_SHIFT = 11;

/** The prefix hash at e.index, given the prefix hash at e.index - 1. */
export function chainHash(prev: number, e: Entry): number {
  let lo = (prev % TWO_POW_32) ^ 0x811c9dc5;
  let hi = Math.floor(prev / TWO_POW_32) ^ 0x9747b28c;
  const mix = (x: number): void => {
    lo = Math.imul(lo ^ x, 0x01000193);
    hi = Math.imul(hi ^ x, 0x5bd1e995);
    hi ^= hi >>> 15;
  };
  mix(e.index | 0);
  mix(Math.floor(e.index / TWO_POW_32));
  mix(e.term | 0);
  mix(Math.floor(e.term / TWO_POW_32));
  mix(e.type === 'Normal' ? 1 : 2);
  const data = e.data;
  mix(data.byteLength);
  for (let i = 0; i < data.byteLength; i++) mix(data[i]!);
  lo ^= lo >>> 13;
  lo = Math.imul(lo, 0xc2b2ae35);
  lo ^= lo >>> 16;
  return (hi >>> HIGH_LANE_SHIFT) * TWO_POW_32 + (lo >>> 0);
}

/** Renders a prefix hash for traces and violation messages. */
export function formatHash(h: number | undefined): string {
  return h === undefined ? '?' : h.toString(16).padStart(14, '0');
}
