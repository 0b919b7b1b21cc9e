import { describe, expect, it } from 'vitest'
import { Table, makeVector, tableFromIPC, tableToIPC, vectorFromArray, Utf8, type Vector } from 'apache-arrow'
import { decodeColumn, encodeColumn, fastColumn } from './ipc-fast.ts'

const LENGTHS = [0, 1, 3, 8, 63, 4099]
const ARRAYS: Array<(n: number) => ArrayBufferView> = [
  n => Uint8Array.from({ length: n }, (_, i) => i * 7),
  n => Int8Array.from({ length: n }, (_, i) => (i % 256) - 128),
  n => Int16Array.from({ length: n }, (_, i) => i - 30),
  n => Uint16Array.from({ length: n }, (_, i) => i * 3),
  n => Int32Array.from({ length: n }, (_, i) => i * -1000),
  n => Uint32Array.from({ length: n }, (_, i) => i * 100_000),
  n => BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -3_000_000_000n),
  n => BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 5_000_000_000n),
  n => Float32Array.from({ length: n }, (_, i) => i / 3),
  n => Float64Array.from({ length: n }, (_, i) => i * Math.PI),
]

const arrowBytes = (a: ArrayBufferView): Uint8Array => tableToIPC(new Table({ data: makeVector(a as Uint8Array) }), 'stream')
const same = (v: Vector, a: ArrayBufferView): void => {
  expect(String(v.type)).toBe(String(makeVector(a as Uint8Array).type))
  expect(v.length).toBe((a as Uint8Array).length)
  expect(v.nullCount).toBe(0)
  expect(Array.from(v.toArray() as Uint8Array)).toEqual(Array.from(a as Uint8Array))
}

describe('ipc-fast', () => {
  it('writes streams apache-arrow reads as the same table (every fixed-width type, many lengths)', () => {
    for (const make of ARRAYS) {
      for (const n of LENGTHS) {
        const a = make(n)
        const col = fastColumn(a)
        expect(col).toBeDefined()
        const bytes = encodeColumn('data', col!)
        const t = tableFromIPC(bytes)
        expect(t.numCols).toBe(1)
        expect(t.schema.fields[0]!.name).toBe('data')
        const ref = tableFromIPC(arrowBytes(a)).schema.fields[0]!
        expect([String(t.schema.fields[0]!.type), t.schema.fields[0]!.nullable]).toEqual([String(ref.type), ref.nullable])
        same(t.getChildAt(0) as Vector, a)
      }
    }
  })

  it('writes the same bytes into a reused scratch buffer as into a fresh one (padding zeroed, grown when short)', () => {
    const scratch = { buf: new Uint8Array(64).fill(0xAB) }
    for (const n of [5, 1, 13, 3, 1000, 7]) {
      const values = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xFF)
      const col = fastColumn(values)
      if (col === undefined) throw new Error('not fast')
      const fresh = encodeColumn('data', col)
      const reused = encodeColumn('data', col, scratch)
      expect(reused.buffer).toBe(scratch.buf.buffer)
      expect(Buffer.compare(Buffer.from(reused), Buffer.from(fresh))).toBe(0)
      scratch.buf.fill(0xCD)
    }
    // beyond 16 MiB a stream gets its own buffer
    const big = fastColumn(new Uint8Array(16 * 1024 * 1024 + 1))
    if (big === undefined) throw new Error('not fast')
    expect(encodeColumn('data', big, scratch).buffer).not.toBe(scratch.buf.buffer)
  })

  it("reads apache-arrow's own streams, and its own, to the same vector", () => {
    for (const make of ARRAYS) {
      for (const n of LENGTHS) {
        const a = make(n)
        same(decodeColumn(arrowBytes(a)) as Vector, a)
        const col = fastColumn(a)!
        same(decodeColumn(encodeColumn('data', col)) as Vector, a)
      }
    }
  })

  it('reads values at an odd offset in the received buffer (copied, not misaligned)', () => {
    const a = Float64Array.from([1.5, -2, 3e300])
    const b = arrowBytes(a)
    const shifted = new Uint8Array(b.byteLength + 1)
    shifted.set(b, 1)
    same(decodeColumn(shifted.subarray(1)) as Vector, a)
  })

  it('sends one-chunk vectors without nulls and Buffers fast; leaves everything else to apache-arrow', () => {
    expect(fastColumn(makeVector(new Int32Array([1, 2, 3])))?.values).toEqual(new Int32Array([1, 2, 3]))
    expect(fastColumn(Buffer.from([1, 2]))?.values.constructor).toBe(Uint8Array)
    expect(fastColumn(makeVector(new Int32Array([1, 2, 3, 4])).slice(1, 3))).toBeUndefined() // offset data: apache-arrow's path
    expect(fastColumn(vectorFromArray([1, null, 3]))).toBeUndefined()
    expect(fastColumn(vectorFromArray(['a', 'b'], new Utf8()))).toBeUndefined()
    expect(fastColumn(new Uint8ClampedArray(3))).toBeUndefined()
    expect(fastColumn(new DataView(new ArrayBuffer(2)))).toBeUndefined()
    expect(fastColumn([1, 2])).toBeUndefined()
  })

  it('declines streams of another shape (strings, nulls, two columns, two batches)', () => {
    expect(decodeColumn(tableToIPC(new Table({ s: vectorFromArray(['a', 'b'], new Utf8()) }), 'stream'))).toBeUndefined()
    expect(decodeColumn(tableToIPC(new Table({ x: vectorFromArray([1, null, 3]) }), 'stream'))).toBeUndefined()
    expect(decodeColumn(tableToIPC(new Table({ x: makeVector(new Int8Array(2)), y: makeVector(new Int8Array(2)) }), 'stream'))).toBeUndefined()
    const two = new Table({ x: makeVector(new Int8Array([1, 2])) }).concat(new Table({ x: makeVector(new Int8Array([3])) }))
    expect(two.batches.length).toBe(2)
    expect(decodeColumn(tableToIPC(two, 'stream'))).toBeUndefined()
  })

  // Mutations are made after the schema message: apache-arrow itself (which decodes schemas for the
  // cache, and every stream the fast reader declines) is not what is under test here.
  it('never throws on mutated or cut record batches, and never reads them differently from apache-arrow', () => {
    let seed = 12345
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
    const base = arrowBytes(Int32Array.from({ length: 20 }, (_, i) => i))
    const schemaEnd = 8 + new DataView(base.buffer, base.byteOffset).getInt32(4, true)
    let accepted = 0
    let declined = 0
    for (let i = 0; i < 4000; i++) {
      const b = base.slice(0, i % 10 === 0 ? schemaEnd + rnd(base.byteLength - schemaEnd) : base.byteLength)
      for (let k = 0; k < 1 + rnd(3); k++) if (b.byteLength > schemaEnd) b[schemaEnd + rnd(b.byteLength - schemaEnd)] = rnd(256)
      const fast = decodeColumn(b)
      if (fast === undefined) { declined++; continue }
      accepted++
      // whatever the fast reader accepts, apache-arrow reads to the same column
      const t = tableFromIPC(b)
      const v = t.getChildAt(0) as Vector
      expect(String(fast.type)).toBe(String(v.type))
      expect(fast.length).toBe(v.length)
      expect(Array.from(fast.toArray() as Int32Array)).toEqual(Array.from(v.toArray() as Int32Array))
    }
    expect(accepted).toBeGreaterThan(0)
    expect(declined).toBeGreaterThan(0)
  })
})
