/**
 * Output buffers for `encode`, carved out of shared slabs the way Node's Buffer pool does it.
 *
 * Creating an ArrayBuffer costs far more than writing a small packet into it (a zeroed backing store that
 * the GC tracks and sweeps), and is still about half the cost of encoding a 16 KiB PUBLISH. A view into
 * a slab costs a fraction of that.
 *
 * Ownership: each view is handed out once and never written again by the codec, so the caller owns its
 * bytes. Only the underlying `.buffer` is shared with other packets: use the view (byteOffset/length),
 * don't transfer or write through `.buffer`. A retained view keeps its whole slab alive (at most 64 KiB
 * for packets up to 4 KiB, 256 KiB for packets up to 32 KiB); `slice()` one you keep for long.
 */

class Slabs {
  // Allocated on first use, not at import: a cold start that sends a packet or two should not zero
  // 320 KiB first.
  private slab = new ArrayBuffer(0);
  private used = 0;
  constructor(private readonly size: number) {}
  take(n: number): Uint8Array {
    // The empty initial slab and a transferred (detached) one both report byteLength 0: replaced here.
    if (this.used + n > this.slab.byteLength) {
      this.slab = new ArrayBuffer(this.size);
      this.used = 0;
    }
    const view = new Uint8Array(this.slab, this.used, n);
    this.used = (this.used + n + 7) & ~7; // keep views 8-byte aligned, as Node's pool does
    return view;
  }
}

const SMALL_MAX = 4 * 1024;
const MEDIUM_MAX = 32 * 1024;
const small = new Slabs(64 * 1024);
const medium = new Slabs(256 * 1024);

/** A zeroed Uint8Array of `n` bytes that nothing else will write. */
export function allocate(n: number): Uint8Array {
  if (n <= SMALL_MAX) return small.take(n);
  if (n <= MEDIUM_MAX) return medium.take(n);
  return new Uint8Array(n);
}
