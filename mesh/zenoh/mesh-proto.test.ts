import { describe, expect, test } from 'vitest'
import { Packr } from 'msgpackr'
import { Uint8ArrayList } from 'uint8arraylist'
import { ZERO_COPY_FROM, decodeMeshFrame, encodeMeshFrame, encodeMeshMsg, type PutMsg } from './mesh-proto.ts'
import { Writer } from './wire.ts'

const put = (n: number, att: Uint8Array | null = null): PutMsg => [5, 'A', ['B', 'C'], 32, 'demo/key', new Uint8Array(n).map((_, i) => i * 7), 0, 10, 'schema', att, new Uint8Array(25).fill(3), 5]

describe('mesh frames', () => {
  test('a large PUT in pieces is the same msgpack as the whole message and decodes to it', () => {
    for (const n of [ZERO_COPY_FROM - 1, ZERO_COPY_FROM, 70_000, 1 << 20]) {
      for (const att of [null, new Uint8Array([1, 2, 3])]) {
        const msg = put(n, att)
        const framed = encodeMeshFrame(msg)
        const bytes = framed instanceof Uint8ArrayList ? framed.subarray() : framed
        expect(n >= ZERO_COPY_FROM ? framed instanceof Uint8ArrayList : framed instanceof Uint8Array).toBe(true)
        expect(Buffer.from(bytes).equals(Buffer.from(encodeMeshMsg(msg)))).toBe(true)
        const back = decodeMeshFrame(bytes) as PutMsg
        expect(back[4]).toBe('demo/key')
        expect(Buffer.from(back[5]).equals(Buffer.from(msg[5]))).toBe(true)
        expect(back.slice(6, 9)).toEqual([0, 10, 'schema'])
        expect(back[9] === null ? null : Array.from(back[9])).toEqual(att === null ? null : [1, 2, 3])
        // and any msgpack reader agrees
        expect((new Packr({ useRecords: false }).unpack(bytes) as unknown[]).length).toBe(12)
      }
    }
  })

  test('takeWith writes the body once at the recorded offset', () => {
    const w = new Writer()
    w.header(5).u32(9).str('k')
    const at = w.pos
    const out = w.u8(1).u8(2).takeWith(at, new Uint8Array([7, 7, 7]))
    expect(Array.from(out)).toEqual([5, 9, 0, 0, 0, 1, 107, 7, 7, 7, 1, 2])
  })
})
