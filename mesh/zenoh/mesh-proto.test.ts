import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
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

  test('every PUT is written to the same bytes as msgpackr writes the whole message', () => {
    const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })
    fc.assert(fc.property(
      fc.record({
        src: fc.string({ minLength: 1, maxLength: 60 }),
        dsts: fc.array(fc.string({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 4 }),
        ttl: fc.integer({ min: 0, max: 255 }),
        key: fc.string({ minLength: 1, maxLength: 300 }),
        payload: fc.oneof(bytes(300), fc.integer({ min: 0, max: 70_000 }).map(n => new Uint8Array(n).fill(5))),
        kind: fc.integer({ min: 0, max: 1 }),
        encId: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 0xffff })),
        schema: fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 300 })),
        att: fc.option(fc.oneof(bytes(40), fc.integer({ min: 250, max: 70_000 }).map(n => new Uint8Array(n).fill(1))), { nil: null }),
        ts: fc.option(bytes(25).map(b => { const t = new Uint8Array(25); t.set(b); return t }), { nil: null }),
        qos: fc.integer({ min: 0, max: 255 }),
        frozen: fc.boolean(),
      }),
      r => {
        const dsts = r.frozen ? Object.freeze([...r.dsts]) as string[] : r.dsts
        const msg: PutMsg = [5, r.src, dsts, r.ttl, r.key, r.payload, r.kind, r.encId, r.schema, r.att, r.ts, r.qos]
        for (let i = 0; i < 2; i++) { // the second time from the head cache when frozen
          const framed = encodeMeshFrame(msg)
          const out = framed instanceof Uint8ArrayList ? framed.subarray() : framed
          expect(Buffer.from(out).equals(Buffer.from(encodeMeshMsg(msg)))).toBe(true)
        }
        expect(decodeMeshFrame(Buffer.from(encodeMeshMsg(msg)))?.[4]).toBe(r.key)
      }), { numRuns: 300 })
  })

  test('a cached head is not reused for another key, source or ttl on the same destination list', () => {
    const dsts = Object.freeze(['B']) as string[]
    const base: PutMsg = [5, 'A', dsts, 32, 'k/one', new Uint8Array([1]), 0, 0, '', null, null, 5]
    for (const msg of [base, [...base.slice(0, 4), 'k/two', ...base.slice(5)], [5, 'Z', ...base.slice(2)], [5, 'A', dsts, 31, ...base.slice(4)]] as PutMsg[]) {
      const back = decodeMeshFrame(encodeMeshFrame(msg) as Uint8Array) as PutMsg
      expect([back[1], back[3], back[4]]).toEqual([msg[1], msg[3], msg[4]])
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
