import { describe, expect, it } from 'vitest'
import { SLAB_BYTES, SMALL_BYTES_MAX, concatSmall, smallBytes } from './small-bytes.ts'
import { encodeTimestamp, patchU32, timestampNtp } from '../mesh/zenoh/wire.ts'

describe('smallBytes', () => {
  it('hands out zero-filled, non-overlapping views, across slab boundaries', () => {
    const views: Uint8Array[] = []
    // sizes up to the maximum, enough of them to span several slabs
    for (let i = 0, total = 0; total < 3 * SLAB_BYTES; i++) {
      const n = 1 + (i * 997) % SMALL_BYTES_MAX
      const v = smallBytes(n)
      expect(v.byteLength).toBe(n)
      expect(v.every(b => b === 0)).toBe(true)
      v.fill(i % 255 + 1)
      views.push(v)
      total += n
    }
    expect(new Set(views.map(v => v.buffer)).size).toBeGreaterThanOrEqual(3)
    // writing each view left every other view intact
    views.forEach((v, i) => expect(v.every(b => b === i % 255 + 1)).toBe(true))
  })

  it('allocates larger arrays on their own', () => {
    const big = smallBytes(SMALL_BYTES_MAX + 1)
    expect(big.byteOffset).toBe(0)
    expect(big.buffer.byteLength).toBe(SMALL_BYTES_MAX + 1)
  })

  it('concatSmall joins parts in order', () => {
    const out = concatSmall([Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)], 3)
    expect([...out]).toEqual([1, 2, 3])
  })
})

describe('byte-wise writers that replaced DataViews', () => {
  it('encodeTimestamp writes NTP64 little-endian, the zid length and the zid', () => {
    const zid = Uint8Array.from({ length: 16 }, (_, i) => i + 1)
    const ts = encodeTimestamp(0xdeadbeef, 0x89abcdef, zid)
    expect(timestampNtp(ts)).toBe((0xdeadbeefn << 32n) | 0x89abcdefn)
    expect(ts[8]).toBe(16)
    expect([...ts.subarray(9)]).toEqual([...zid])
  })

  it('patchU32 writes little-endian at the offset of a view inside a larger buffer', () => {
    const backing = new Uint8Array(16)
    const frame = backing.subarray(5, 13)
    patchU32(frame, 1, 0xfedcba98)
    expect(new DataView(backing.buffer).getUint32(6, true)).toBe(0xfedcba98)
    expect(backing[5]).toBe(0)
    expect(backing[10]).toBe(0)
  })
})
