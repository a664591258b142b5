/**
 * Output buffers for `encode`, carved out of a shared slab like Node's Buffer pool does.
 *
 * Allocating an ArrayBuffer is the dominant cost of encoding a small packet (a fresh backing store, zeroed,
 * tracked by the GC: several times the cost of writing the packet). Views into one slab cost a fraction of it.
 * Each returned view is handed out once and never written again by us, so the caller owns its bytes; only the
 * underlying `.buffer` is shared with other packets (use `byteOffset`/`length`, don't transfer `.buffer`).
 * A small packet kept alive keeps its slab alive, which is why only small packets are pooled and slabs are small.
 */

const SLAB_SIZE = 256 * 1024;
/** Larger packets get their own ArrayBuffer: pooling them gains little and would pin more memory. */
const MAX_POOLED = 32 * 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

export function allocate(n: number): Uint8Array {
  if (n > MAX_POOLED) return new Uint8Array(n);
  // A transferred (detached) slab reports byteLength 0, so it is replaced here too.
  if (used + n > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const view = new Uint8Array(slab, used, n);
  used = (used + n + 7) & ~7; // keep views 8-byte aligned, as Node's pool does
  return view;
}
