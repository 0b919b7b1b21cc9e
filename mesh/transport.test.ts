/**
 * The link tuning (transport.ts) over real libp2p TCP + Noise + yamux on 127.0.0.1: bytes arrive
 * intact and in order, and tuned and stock peers interoperate (the wire format is Noise's own).
 */
import { describe, it, expect, afterEach } from 'vitest'
import { randomBytes } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { coalesceStream, coalesceWrites, lazyWindowUpdates, noiseCrypto } from './transport.ts'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { MessageStream } from '@libp2p/interface'

const PROTO = '/test/transport/1'
const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(n => n.stop())) })

/** Window updates yamux streams actually send (the library's sendWindowUpdate with window used). */
let windowUpdates = 0
const eagerUpdate = YamuxStream.prototype.sendWindowUpdate
YamuxStream.prototype.sendWindowUpdate = function (this: YamuxStream) {
  const w = this as unknown as { recvWindow: number, recvWindowCapacity: number }
  if (w.recvWindowCapacity < w.recvWindow) windowUpdates++
  eagerUpdate.call(this)
}

async function node (tuned: boolean, openWindow?: number): Promise<Libp2p> {
  const n = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [tuned ? coalesceWrites(noise({ crypto: noiseCrypto })) : noise()],
    streamMuxers: [tuned ? lazyWindowUpdates(yamux(), openWindow === undefined ? {} : { openWindow }) : yamux()],
    connectionMonitor: { enabled: false },
  })
  nodes.push(n)
  return n
}

/** Opens a stream from `a` to `b`, whose handler echoes every byte. */
async function echoStream (a: Libp2p, b: Libp2p): Promise<Stream> {
  await b.handle(PROTO, (stream) => {
    stream.addEventListener('message', (evt) => {
      if (!stream.send(evt.data)) { stream.pause(); stream.addEventListener('drain', () => stream.resume(), { once: true }) }
    })
  })
  return await a.dialProtocol(b.getMultiaddrs()[0]!, PROTO)
}

async function roundTrip (s: Stream, chunks: Uint8Array[]): Promise<Uint8Array> {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0)
  const got = new Uint8ArrayList()
  const done = new Promise<void>(resolve => {
    s.addEventListener('message', (evt) => { got.append(evt.data); if (got.byteLength >= total) resolve() })
  })
  for (const c of chunks) {
    if (!s.send(c)) await new Promise(resolve => s.addEventListener('drain', resolve, { once: true }))
  }
  await done
  return got.subarray()
}

describe('link tuning: native ChaCha with cached keys, writes coalesced per event-loop turn', () => {
  for (const [label, ta, tb] of [['tuned ↔ tuned', true, true], ['tuned → stock', true, false], ['stock → tuned', false, true]] as const) {
    it(`${label}: many small writes in one turn, 4 KiB, 100 KB and 1 MiB writes arrive intact and in order`, async () => {
      const a = await node(ta)
      const b = await node(tb)
      const s = await echoStream(a, b)
      const chunks = [
        ...Array.from({ length: 2000 }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 7])),
        randomBytes(4096), randomBytes(1023), randomBytes(1024), randomBytes(100_000), randomBytes(1 << 20), randomBytes(5),
      ]
      const back = await roundTrip(s, chunks)
      expect(Buffer.from(back).equals(Buffer.concat(chunks))).toBe(true)
    })
  }

  it('a burst in one turn leaves in batches of about 16 KiB as it is written; the rest at the end of the turn', async () => {
    // the batching policy alone, on a stand-in for the secured stream (it records what it is handed)
    const sent: Array<{ bytes: number, inTurn: boolean }> = []
    let inTurn = false
    const secured = {
      writeStatus: 'writable',
      writableNeedsDrain: false,
      sendData: (d: Uint8ArrayList) => { sent.push({ bytes: d.byteLength, inTurn }); return { sentBytes: d.byteLength, canSendMore: true } },
      close: async () => {},
      abort: () => {},
    }
    const s = coalesceStream(secured as unknown as MessageStream) as unknown as typeof secured
    inTurn = true
    for (let i = 0; i < 200; i++) s.sendData(new Uint8ArrayList(new Uint8Array(238)))
    inTurn = false
    await new Promise(resolve => setImmediate(resolve))
    expect(sent.reduce((n, b) => n + b.bytes, 0)).toBe(200 * 238)
    // a batch leaves with the write that takes it to 16 KiB: 69 writes of 238 bytes
    const perBatch = Math.ceil(16384 / 238)
    const early = sent.filter(b => b.inTurn)
    expect(early).toHaveLength(Math.floor(200 / perBatch))
    for (const b of early) expect(b.bytes).toBe(perBatch * 238)
    expect(sent.filter(b => !b.inTurn)).toHaveLength(1)
  })

  it('a close right after writes still delivers them', async () => {
    const a = await node(true)
    const b = await node(true)
    const got = new Uint8ArrayList()
    const ended = Promise.withResolvers<void>()
    await b.handle(PROTO, (stream) => {
      stream.addEventListener('message', (evt) => got.append(evt.data))
      stream.addEventListener('remoteCloseWrite', () => ended.resolve())
    })
    const s = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTO)
    const data = randomBytes(10_000)
    for (let i = 0; i < 100; i++) s.send(data.subarray(i * 100, (i + 1) * 100))
    await s.close()
    await ended.promise
    expect(Buffer.from(got.subarray()).equals(data)).toBe(true)
  })

  it('a frame written just before the connection is hung up still arrives', async () => {
    const a = await node(true)
    const b = await node(true)
    const got = Promise.withResolvers<Uint8Array>()
    await b.handle(PROTO, (stream) => { stream.addEventListener('message', (evt) => got.resolve(evt.data.subarray())) })
    const s = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTO)
    s.send(new TextEncoder().encode('refused: bye'))
    await a.hangUp(b.peerId)
    expect(new TextDecoder().decode(await got.promise)).toBe('refused: bye')
  })

  it('lazy window updates: a ping-pong of small messages sends none; stock yamux one per message', async () => {
    const pingPong = async (tuned: boolean): Promise<number> => {
      const before = windowUpdates
      const a = await node(tuned)
      const b = await node(tuned)
      const s = await echoStream(a, b)
      for (let i = 0; i < 300; i++) {
        const back = await roundTrip(s, [randomBytes(64)])
        expect(back.byteLength).toBe(64)
      }
      return windowUpdates - before
    }
    const stock = await pingPong(false)
    const lazy = await pingPong(true)
    expect(stock).toBeGreaterThanOrEqual(600)
    expect(lazy).toBeLessThan(10) // stream set-up only
  })

  it('streams open with a 2 MiB window each way (yamux: 256 KiB); a 1.5 MiB echo on a fresh stream then needs fewer window updates', async () => {
    const echo = async (openWindow?: number): Promise<{ window: number, updates: number }> => {
      const a = await node(true, openWindow)
      const b = await node(true, openWindow)
      const s = await echoStream(a, b)
      expect((await roundTrip(s, [randomBytes(16)])).byteLength).toBe(16) // negotiation done, grants sent
      // what b granted a: how much a may send before it must wait for b's event loop
      const window = (s as unknown as { sendWindowCapacity: number }).sendWindowCapacity
      const before = windowUpdates
      const big = randomBytes(1536 * 1024)
      const back = await roundTrip(s, [big])
      expect(Buffer.compare(back, big)).toBe(0)
      return { window, updates: windowUpdates - before }
    }
    const opened = await echo()
    const stock = await echo(0) // yamux's own 256 KiB
    expect(opened.window).toBeGreaterThanOrEqual(2 * 1024 * 1024 - 1024)
    expect(stock.window).toBeLessThanOrEqual(256 * 1024)
    expect(opened.updates).toBeLessThan(stock.updates)
  })

  it('native ChaCha20-Poly1305 over lists of pieces (runs of small ones joined, large ones alone) matches the library byte for byte', () => {
    const k = randomBytes(32)
    const nonce = new Uint8Array(12)
    nonce[4] = 3
    const ad = randomBytes(32)
    const flat = (x: Uint8Array | Uint8ArrayList): Buffer => Buffer.from(x instanceof Uint8Array ? x : x.subarray())
    // noise bundles its own copy of uint8arraylist (same shape, another nominal type)
    type Cipher = (data: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array) => Uint8Array | Uint8ArrayList
    const encrypt = noiseCrypto.chaCha20Poly1305Encrypt as unknown as Cipher
    const decrypt = noiseCrypto.chaCha20Poly1305Decrypt as unknown as Cipher
    const shapes = [
      Array.from({ length: 138 }, (_, i) => i % 2 === 0 ? 12 : 226), // a 16 KiB batch of 64-byte samples
      [12, 9000, 12, 40, 12, 8192, 5, 8191], // small runs between large pieces
      Array.from({ length: 65519 / 7 }, () => 7), // one whole Noise message of tiny pieces
      [12, 65507],
    ]
    for (const shape of shapes) {
      const list = new Uint8ArrayList(...shape.map(n => randomBytes(n)))
      const expected = defaultCrypto.chaCha20Poly1305Encrypt(list.subarray(), nonce, ad, k)
      const ct = encrypt(list, nonce, ad, k)
      expect(flat(ct).equals(flat(expected as Uint8Array | Uint8ArrayList))).toBe(true)
      // the receiver sees the ciphertext in arbitrary read chunks
      const ctList = new Uint8ArrayList()
      const bytes = flat(ct)
      for (let off = 0, i = 0; off < bytes.length; i++) { const n = [3, 5000, 17, 9000][i % 4] as number; ctList.append(bytes.subarray(off, off + n)); off += n }
      expect(flat(decrypt(ctList, nonce, ad, k)).equals(list.subarray())).toBe(true)
    }
  })

  it('native ChaCha20-Poly1305 round-trips with the library implementation and rejects a bad tag', () => {
    const k = randomBytes(32)
    const nonce = new Uint8Array(12)
    nonce[4] = 9
    const ad = randomBytes(32)
    for (const n of [0, 10, 1023, 1024, 4096, 65519]) {
      const pt = randomBytes(n)
      const ct = noiseCrypto.chaCha20Poly1305Encrypt(pt, nonce, ad, k)
      const flat = ct instanceof Uint8Array ? ct : ct.subarray()
      expect(flat.byteLength).toBe(n + 16)
      const back = noiseCrypto.chaCha20Poly1305Decrypt(flat, nonce, ad, k)
      expect(Buffer.from(back instanceof Uint8Array ? back : back.subarray()).equals(pt)).toBe(true)
      const bad = Uint8Array.from(flat)
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(bad, nonce, ad, k)).toThrow()
    }
  })
})
