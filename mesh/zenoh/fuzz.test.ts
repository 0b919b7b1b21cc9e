/**
 * Hostile input: thousands of random and mutated frames into the endpoint and into a mesh
 * channel; a client that stops reading. The router must stay up, keep serving others, and keep
 * its memory bounded.
 */
import { describe, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { Writer, In } from './wire.ts'
import { encodeMeshMsg, T } from './mesh-proto.ts'
import { Inbox, channelPair, openSession, startRouter, until, within } from './test-helpers.ts'

/** Small deterministic PRNG (mulberry32) so a failure reproduces. */
function rng (seed: number): () => number {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One valid frame of every client message kind (ids small so mutations hit existing state too). */
function validFrames (): Uint8Array[] {
  const w = new Writer()
  const f: Uint8Array[] = []
  const ts = (x: Writer): Writer => x.u8(1).u64(123n).bytes(new Uint8Array(16))
  f.push(w.header(In.DeclarePublisher, 1).u32(1).str('fz/a').u16(0).str('').u8(0x25).take())
  f.push(w.header(In.UndeclarePublisher, 2).u32(1).take())
  f.push(w.header(In.DeclareSubscriber, 3).u32(2).str('fz/**').u8(2).take())
  f.push(w.header(In.UndeclareSubscriber, 4).u32(2).take())
  f.push(w.header(In.DeclareQueryable, 5).u32(3).str('fz/q').bool(true).u8(2).take())
  f.push(w.header(In.UndeclareQueryable, 6).u32(3).take())
  f.push(w.header(In.DeclareQuerier, 7).u32(4).str('fz/q').u8(5).u8(1).u32(50).take())
  f.push(w.header(In.DeclareLivelinessToken, 8).u32(5).str('fz/tok').take())
  f.push(w.header(In.UndeclareLivelinessToken, 9).u32(5).take())
  f.push(w.header(In.DeclareLivelinessSubscriber, 10).u32(6).str('fz/*').bool(true).take())
  f.push(w.header(In.GetSessionInfo, 11).take())
  f.push(w.header(In.GetTimestamp, 12).take())
  f.push(ts(w.header(In.Put).str('fz/a').bytes(new Uint8Array(20)).u16(0).str('').u8(1).bytes(new Uint8Array(3))).u8(0x25).take())
  f.push(w.header(In.Delete).str('fz/a').u8(0).u8(0).u8(0x25).take())
  f.push(w.header(In.PublisherPut).u32(1).bytes(new Uint8Array(8)).u8(0).u8(0).u8(0).take())
  f.push(w.header(In.Get).u32(7).str('fz/q').str('a=1').u8(0).u8(0).u8(0).u8(5).u8(0).u32(50).take())
  f.push(w.header(In.QuerierGet).u32(8).u32(4).str('').u8(0).u8(0).u8(0).take())
  f.push(w.header(In.LivelinessGet).u32(9).str('fz/**').u32(50).take())
  f.push(w.header(In.ReplyOk).u32(0).str('fz/q').bytes(new Uint8Array(4)).u16(0).str('').u8(0).u8(0).u8(5).take())
  f.push(w.header(In.ReplyErr).u32(0).bytes(new Uint8Array(4)).u16(0).str('').take())
  f.push(w.header(In.QueryResponseFinal).u32(0).take())
  f.push(w.header(In.Ping, 13).take())
  f.push(w.header(In.PublisherDeclareMatchingListener, 14).u32(10).u32(1).take())
  f.push(w.header(In.UndeclareMatchingListener, 15).u32(10).take())
  f.push(w.header(In.GetTransports, 16).take())
  f.push(w.header(In.GetLinks, 17).take())
  f.push(w.header(In.DeclareTransportEventsListener, 18).u32(11).bool(true).take())
  f.push(w.header(In.DeclareLinkEventsListener, 19).u32(12).bool(false).take())
  return f
}

function mutate (frame: Uint8Array, r: () => number): Uint8Array {
  const out = Uint8Array.from(frame)
  const kind = Math.floor(r() * 4)
  if (kind === 0) { // flip bytes
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256)
    return out
  }
  if (kind === 1) return out.subarray(0, Math.floor(r() * out.length)) // truncate
  if (kind === 2) { // append garbage
    const extra = new Uint8Array(1 + Math.floor(r() * 16)).map(() => Math.floor(r() * 256))
    const x = new Uint8Array(out.length + extra.length); x.set(out); x.set(extra, out.length); return x
  }
  // huge ULEB length in the middle
  const pos = Math.floor(r() * out.length)
  out.set([0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, out.length - pos), pos)
  return out
}

function randomFrame (r: () => number): Uint8Array {
  const n = Math.floor(r() * 64)
  const f = new Uint8Array(n).map(() => Math.floor(r() * 256))
  if (n > 0 && r() < 0.7) f[0] = Math.floor(r() * 37) | (r() < 0.5 ? 0x80 : 0)
  return f
}

describe('fuzz', () => {
  test('20 000 random and mutated frames: the endpoint stays up, serves others, memory bounded', async () => {
    await using router = await startRouter('fuzz', { maxDeclarationsPerSession: 200 })
    await using witness = await openSession(router)
    const seen = new Inbox<Sample>()
    await witness.declareSubscriber('ok/*', { handler: seen.push })
    const r = rng(0xC0FFEE)
    const valid = validFrames()
    const heap0 = process.memoryUsage().heapUsed
    for (let round = 0; round < 4; round++) {
      const ws = new WebSocket(router.url as string)
      ws.on('message', () => {})
      ws.on('error', () => {})
      await within(2000, 'fuzz socket open', new Promise(resolve => ws.once('open', resolve)))
      for (let i = 0; i < 5000; i++) {
        const pick = r()
        const frame = pick < 0.3 ? randomFrame(r) : pick < 0.9 ? mutate(valid[Math.floor(r() * valid.length)] as Uint8Array, r) : valid[Math.floor(r() * valid.length)] as Uint8Array
        if (ws.readyState !== ws.OPEN) break
        ws.send(frame)
        if (i % 500 === 0) { ws.send('text frame'); await new Promise(resolve => setImmediate(resolve)) }
      }
      // the router answers a ping on the fuzzed socket once it has chewed through everything before it
      const pong = new Promise<void>(resolve => ws.on('message', (d: Buffer) => { if (d[0] === 0x80 && d.readUInt32LE(1) === 0xfffffff0) resolve() }))
      ws.send(Buffer.from([0x99, 0xf0, 0xff, 0xff, 0xff]))
      await within(10_000, 'fuzzed session still answering', pong)
      await new Promise(resolve => { ws.once('close', resolve); ws.close() })
    }
    expect(router.counters.malformedFrames).toBeGreaterThan(1000)
    expect(router.counters.textFrames).toBeGreaterThanOrEqual(40)
    await until(() => router.status().sessions === 1, 5000, 'fuzz sessions closed')
    // everything a fuzz session declared went with it
    expect(router.status().localDeclarations).toMatchObject({ subscribers: 1, queryables: 0, tokens: 0 })
    await witness.put('ok/x', 'alive')
    expect((await seen.next()).payload().toString()).toBe('alive')
    ;(globalThis as { gc?: () => void }).gc?.()
    const grown = process.memoryUsage().heapUsed - heap0
    expect(grown).toBeLessThan(64 * 1024 * 1024)
  })

  test('a client that stops reading: its samples are dropped (drop-newest, counted), others unaffected', async () => {
    await using router = await startRouter('slow', { sessionQueueFrames: 64, sessionQueueBytes: 1024 * 1024, socketHighWaterBytes: 256 * 1024 })
    // raw subscriber that never reads its socket
    const ws = new WebSocket(router.url as string)
    await within(2000, 'open', new Promise(resolve => ws.once('open', resolve)))
    const w = new Writer()
    const acked = new Promise<void>(resolve => ws.once('message', () => resolve()))
    ws.send(w.header(In.DeclareSubscriber, 1).u32(1).str('slow/**').u8(2).take())
    await within(2000, 'subscriber ack', acked)
    ws.pause()
    await using fast = await openSession(router)
    const got = new Inbox<Sample>()
    await fast.declareSubscriber('slow/**', { handler: got.push })
    await using pub = await openSession(router)
    const payload = new Uint8Array(16 * 1024)
    const total = 2000 // 32 MiB offered to a reader that takes nothing: far beyond twice its queue
    // paced by the reading subscriber (batches of 16), so only the stalled reader can fall behind
    for (let i = 0; i < total; i += 16) {
      for (let j = 0; j < 16; j++) await pub.put('slow/x', payload)
      await got.take(16, 5000, 'a batch at the reading subscriber')
    }
    await until(() => router.counters.sessionQueueDrops > 0, 5000, 'drops counted')
    const heap = process.memoryUsage().heapUsed
    expect(router.counters.sessionQueueDrops).toBeGreaterThan(total / 2)
    expect(heap).toBeLessThan(512 * 1024 * 1024)
    ws.terminate()
  })

  test('mesh: 5 000 random and mutated frames from a neighbour are counted and dropped; routing continues', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    const { a, b } = channelPair('A', 'B')
    A.attachNeighbour(a)
    // B is played by hand: send garbage on b, then behave
    const r = rng(42)
    const good = encodeMeshMsg([T.ROUTE, 'B', ['B'], [[1, 0, 'mesh/**', false]]])
    for (let i = 0; i < 5000; i++) {
      const frame = r() < 0.5 ? randomFrame(r) : mutate(good, r)
      await b.send(frame)
    }
    await b.send(encodeMeshMsg([T.PUT, 'X', ['A'], 0, 'bad key/**/**', new Uint8Array(1), 0, 0, '', null, null, 0]))
    B.attachNeighbour(b)
    await within(5000, 'route after garbage', A.whenRouteTo('B'))
    await using sb = await openSession(B)
    const got = new Inbox<Sample>()
    await sb.declareSubscriber('mesh/ok', { handler: got.push })
    await using sa = await openSession(A)
    await until(() => (A.status().routes[0]?.declarations ?? 0) >= 1, 2000, 'subscriber known')
    await sa.put('mesh/ok', 'through')
    expect((await got.next()).payload().toString()).toBe('through')
    expect(A.counters.meshBadFrames).toBeGreaterThan(1000)
  })
})
