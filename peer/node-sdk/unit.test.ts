import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { Float32, Table, Vector, makeVector, tableFromArrays, vectorFromArray } from 'apache-arrow'
import { DATA_COLUMN, decodeIpc, decodeMetadata, encodeMetadata, encodeTable, tableValue, toTable } from './codec.ts'
import { parseIoConfig, readNodeConfig, nodeConfigEnv } from './config.ts'
import { InputEvents } from './events.ts'
import { HybridLogicalClock, compareHlc } from './hlc.ts'
import { FrameDecoder, encodeFrame, MAX_HEADER_BYTES } from './stdio.ts'
import { NodeConfigError, StdioFrameError, UnsupportedDataError } from './errors.ts'
import type { Metadata, NodeEvent, NodeInputConfig, NodeRuntimeConfig, SendData } from './interfaces.ts'

const packr = new Packr({ useRecords: false })
const meta = (seq: number): Metadata => ({ timestamp: { wallMs: 1000, logical: seq }, seq, peer: 'p', epoch: 1, parameters: {} })
const input = (id: string, seq: number): NodeEvent => ({ type: 'INPUT', id, value: vectorFromArray([seq]), metadata: meta(seq) })
const seqOf = (e: NodeEvent | undefined): number => (e as { metadata: Metadata }).metadata.seq

describe('codec', () => {
  it('every accepted send shape round-trips through Arrow IPC as the documented column', () => {
    const cases: Array<[SendData, (v: Vector) => unknown, unknown]> = [
      [Float32Array.from([1.5, 2.5]), v => [...v.toArray()], [1.5, 2.5]],
      [[1, 2, 3], v => [v.type.toString(), ...v.toArray()], ['Float64', 1, 2, 3]],
      [new Uint8Array([9, 8]), v => [v.type.toString(), ...v.toArray()], ['Uint8', 9, 8]],
      [Buffer.from([7]), v => [v.type.toString(), ...v.toArray()], ['Uint8', 7]],
      [new Uint8Array([1, 2, 3]).buffer, v => v.length, 3],
      [makeVector(Int16Array.from([-1])), v => [...v.toArray()], [-1]],
      [vectorFromArray(['a', 'b']), v => v.toArray(), ['a', 'b']],
    ]
    for (const [data, view, expected] of cases) {
      const t = decodeIpc(encodeTable(toTable('o', data)))
      expect(t.schema.fields.map(f => f.name)).toEqual([DATA_COLUMN])
      expect(view(tableValue(t))).toEqual(expected)
    }
    const multi = decodeIpc(encodeTable(tableFromArrays({ x: Int32Array.from([1, 2]), y: Float64Array.from([3, 4]) })))
    const v = tableValue(multi)
    expect(v.length).toBe(2)
    expect(v.get(1)?.toJSON()).toEqual({ x: 2, y: 4 })
    expect(() => toTable('o', ['a'] as unknown as number[])).toThrow(UnsupportedDataError)
    expect(() => toTable('o', 'str' as unknown as number[])).toThrow(UnsupportedDataError)
    expect(toTable('o', new Table({ z: vectorFromArray([1], new Float32()) })).schema.fields[0]?.name).toBe('z')
  })

  it('metadata round-trips; anything else in an attachment is rejected, never thrown', () => {
    const m: Metadata = { timestamp: { wallMs: 1_700_000_000_000, logical: 3 }, seq: 42, peer: '12D3KooW', epoch: 7, parameters: { a: 1, b: 'x', c: [true, null], d: { e: 2.5 } } }
    expect(decodeMetadata(encodeMetadata(m))).toEqual(m)
    expect(decodeMetadata(undefined)).toBeUndefined()
    expect(decodeMetadata(new Uint8Array([0xc1]))).toBeUndefined()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => { decodeMetadata(bytes); return true }))
    // Well-formed msgpack that is not our map (any JSON-like value) is refused too.
    fc.assert(fc.property(fc.jsonValue(), junk => decodeMetadata(new Uint8Array(packr.pack(junk))) === undefined))
  })
})

describe('input events', () => {
  const cfg = (id: string, queueSize: number, queuePolicy: NodeInputConfig['queuePolicy']): NodeInputConfig => ({ id, source: { kind: 'node', node: 'a', output: 'o' }, queueSize, queuePolicy })

  it('drop_oldest keeps the newest queue_size per input, in arrival order across inputs', () => {
    const q = new InputEvents([cfg('a', 2, 'drop_oldest'), cfg('b', 3, 'drop_oldest')])
    const results = []
    for (let i = 1; i <= 6; i++) { results.push(q.pushData('a', input('a', i))); if (i === 2) q.pushData('b', input('b', 100)) }
    expect(results.filter(r => r === 'dropped-oldest')).toHaveLength(4)
    const out: Array<[string, number]> = []
    for (let e = q.shift(); e !== undefined; e = q.shift()) out.push([(e as { id: string }).id, seqOf(e)])
    expect(out).toEqual([['b', 100], ['a', 5], ['a', 6]])
  })

  it('backpressure never drops queued events; holds queue_size more, then drops the newest', () => {
    const q = new InputEvents([cfg('a', 2, 'backpressure')])
    const results = []
    for (let i = 1; i <= 8; i++) results.push(q.pushData('a', input('a', i)))
    expect(results).toEqual(['queued', 'queued', 'held', 'held', 'dropped-newest', 'dropped-newest', 'dropped-newest', 'dropped-newest'])
    expect(q.isFull('a')).toBe(true)
    const got: number[] = []
    for (let e = q.shift(); e !== undefined; e = q.shift()) got.push(seqOf(e))
    expect(got).toEqual([1, 2, 3, 4])
  })

  it('control events pass the bounds and keep their place', () => {
    const q = new InputEvents([cfg('a', 1, 'drop_oldest')])
    q.pushData('a', input('a', 1))
    q.pushControl('a', { type: 'INPUT_CLOSED', id: 'a' })
    q.pushData('a', input('a', 2))
    expect(q.shift()?.type).toBe('INPUT_CLOSED')
    expect(seqOf(q.shift())).toBe(2)
    expect(q.shift()).toBeUndefined()
  })
})

describe('hybrid logical clock', () => {
  it('is monotonic locally and never behind what it received', () => {
    let wall = 1000
    const c = new HybridLogicalClock({ clock: () => wall })
    const a = c.now()
    const b = c.now()
    expect(compareHlc(b, a)).toBeGreaterThan(0)
    expect(c.update({ wallMs: 5000, logical: 7 })).toBe(true)
    const d = c.now()
    expect(d).toEqual({ wallMs: 5000, logical: 9 })
    wall = 6000
    expect(c.now()).toEqual({ wallMs: 6000, logical: 0 })
    expect(c.update({ wallMs: 6000 + 120_000, logical: 0 })).toBe(false)
    expect(c.now().wallMs).toBe(6000)
  })
})

describe('node config', () => {
  it('reads the environment the supervisor writes, and refuses what is missing or malformed', () => {
    const cfg: NodeRuntimeConfig = {
      swarm: 's', flow: 'f', nodeId: 'n', zenoh: 'ws://127.0.0.1:7447', epoch: 3, peer: 'p', peerName: 'alpha',
      inputs: [{ id: 'tick', source: { kind: 'timer', intervalMs: 16.7 }, queueSize: 1, queuePolicy: 'drop_oldest', inputTimeoutMs: 500 }],
      outputs: ['out'],
    }
    expect(readNodeConfig(nodeConfigEnv(cfg))).toEqual(cfg)
    expect(() => readNodeConfig({})).toThrow(NodeConfigError)
    expect(() => readNodeConfig({ ...nodeConfigEnv(cfg), SWARMFLOW_EPOCH: '-1' })).toThrow(/SWARMFLOW_EPOCH/)
    expect(() => parseIoConfig('{')).toThrow(NodeConfigError)
    expect(() => parseIoConfig('{"inputs":[{"id":"a/b","source":{"kind":"timer","intervalMs":1},"queueSize":1,"queuePolicy":"drop_oldest"}],"outputs":[]}')).toThrow(/invalid input/)
    expect(() => parseIoConfig('{"inputs":[],"outputs":["a*"]}')).toThrow(/invalid output/)
  })
})

describe('stdio frames', () => {
  it('decodes frames split at any byte, counts bad headers, refuses impossible lengths', () => {
    const frames = [encodeFrame({ type: 'OUTPUT', id: 'o' }, new Uint8Array([1, 2, 3])), encodeFrame({ type: 'STOP' }), encodeFrame({ nope: 1 } as never, new Uint8Array([9]))]
    const all = Buffer.concat(frames)
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: all.length }), { maxLength: 6 }), cuts => {
      const d = new FrameDecoder()
      const pts = [...new Set(cuts)].sort((a, b) => a - b)
      let prev = 0
      const got = []
      let bad = 0
      for (const p of [...pts, all.length]) { const r = d.push(all.subarray(prev, p)); got.push(...r.frames); bad += r.bad; prev = p }
      return got.length === 2 && bad === 1 && got[0]?.header.id === 'o' && [...(got[0]?.body ?? [])].join() === '1,2,3' && got[1]?.header.type === 'STOP'
    }))
    const huge = Buffer.alloc(8)
    huge.writeUInt32LE(MAX_HEADER_BYTES + 1, 0)
    expect(() => new FrameDecoder().push(huge)).toThrow(StdioFrameError)
  })
})
