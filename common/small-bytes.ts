/**
 * Small, short-lived byte arrays carved out of shared slabs.
 *
 * Why: V8 gives a Uint8Array of more than 64 bytes (and any typed array whose `.buffer` is read)
 * its own off-heap backing store, registered with the garbage collector. On these VMs that costs
 * 1.2–4.3 µs per array of 100–1100 bytes and ~4 µs at 4–8 KiB, against 20–40 ns for a small view
 * into a slab and ~0.4 µs for a 4 KiB one (Node 24, 5·10⁵–2·10⁶ allocations each); the data path
 * allocates several such frames per message. Node's
 * `Buffer.allocUnsafe` pools the same way, but a Buffer's `slice()` is a view rather than a copy and
 * its memory is not zeroed, so the mesh code, which passes frames around as plain Uint8Arrays, uses
 * this instead.
 *
 * The arrays are zero-filled views (`byteOffset` is not 0: read them through `byteOffset` when
 * making a DataView). A view keeps its whole slab (64 KiB) alive: use it for frames that leave the
 * process soon, never for values held in long-lived state.
 */
export const SLAB_BYTES = 64 * 1024
/** Larger arrays are allocated on their own: their backing store costs little next to their bytes. */
export const SMALL_BYTES_MAX = 8 * 1024

let slab = new ArrayBuffer(SLAB_BYTES)
let used = 0

export function smallBytes (n: number): Uint8Array {
  if (n > SMALL_BYTES_MAX) return new Uint8Array(n)
  if (used + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    used = 0
  }
  const view = new Uint8Array(slab, used, n)
  // 8-byte alignment keeps any DataView access on the view aligned as in a fresh array
  used += (n + 7) & ~7
  return view
}

/** `parts` joined into one small-bytes array (or a fresh one when larger than SMALL_BYTES_MAX). */
export function concatSmall (parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = smallBytes(total)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.byteLength }
  return out
}
