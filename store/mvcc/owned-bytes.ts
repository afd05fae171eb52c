/**
 * Copies of the bytes the store keeps (keys and values). A write arrives as a
 * view into its log entry, which is itself a view into a network frame or a
 * disk read: keeping the view would keep the whole frame alive. Each small
 * copy gets its own place in a shared slab instead of its own ArrayBuffer, so
 * the garbage collector tracks one buffer per slab rather than one per value
 * (per-value buffers cost a native allocation and sweeping work each).
 *
 * A slab lives while any value in it does, so slabs are kept small: after a
 * compaction frees most of a slab, at most SLAB_BYTES stay held by a survivor.
 */

/** Size of one shared slab. */
export const SLAB_BYTES = 16 * 1024;
/** Larger copies get a buffer of their own (a slab would waste its tail on them). */
export const MAX_SLABBED_BYTES = 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A copy of `src` that the caller may keep; never shares bytes with `src`. */
export function ownedCopy(src: Uint8Array): Uint8Array {
  const n = src.byteLength;
  // Uint8Array's slice copies; a Buffer's would not.
  if (n > MAX_SLABBED_BYTES) return Uint8Array.prototype.slice.call(src);
  if (used + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(src);
  used += n;
  return out;
}
