import { describe, it, expect, afterEach } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshHost, type MeshHost } from './host.ts'
import { silentLogger } from '../common/log.ts'
import type { FramedChannel } from './interfaces.ts'
import { ChannelClosedError, FrameTooLargeError } from './errors.ts'

const hosts: MeshHost[] = []
afterEach(async () => { await Promise.all(hosts.splice(0).map(h => h.stop())) })

async function host (): Promise<MeshHost> {
  const h = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
    logger: silentLogger(), privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
  })
  await h.start()
  hosts.push(h)
  return h
}

async function pair (protocol: string, opts: { maxFrameBytes?: number } = {}): Promise<{ a: FramedChannel, b: FramedChannel, hb: MeshHost }> {
  const ha = await host()
  const hb = await host()
  const inbound = Promise.withResolvers<FramedChannel>()
  await hb.handle(protocol, ch => inbound.resolve(ch), opts)
  await ha.dial(hb.multiaddrs()[0] as string)
  const a = await ha.open(hb.peerId, protocol, opts)
  await a.send(new Uint8Array([0])) // the inbound handler runs once the first bytes arrive
  const b = await inbound.promise
  const first = await b[Symbol.asyncIterator]().next()
  expect(first.value).toEqual(new Uint8Array([0]))
  return { a, b, hb }
}

describe('framed channel over a real libp2p Noise+yamux stream', () => {
  it('keeps frame boundaries and order for small (coalesced) and large frames', async () => {
    const { a, b } = await pair('/test/framed/1')
    expect(a.remotePeer).not.toEqual('')
    const sizes = [1, 3, 64, 0, 4096, 100_000, 7, 1_048_576, 2]
    const sent = sizes.map((n, i) => new Uint8Array(n).fill(i + 1))
    for (const f of sent) await a.send(f)
    const it = b[Symbol.asyncIterator]()
    for (const f of sent) {
      const r = await it.next()
      expect(r.done).toBe(false)
      expect(r.value.byteLength).toBe(f.byteLength)
      expect(Buffer.from(r.value).equals(Buffer.from(f))).toBe(true)
    }
  })

  it('delivers 20 000 small frames in order without loss', async () => {
    const { a, b } = await pair('/test/framed/2')
    const n = 20_000
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        const f = new Uint8Array(8)
        new DataView(f.buffer).setUint32(0, i)
        await a.send(f)
      }
    })()
    let expected = 0
    for await (const f of b) {
      expect(new DataView(f.buffer, f.byteOffset).getUint32(0)).toBe(expected)
      if (++expected === n) break
    }
    await sending
    expect(expected).toBe(n)
  })

  it('refuses to send an oversized frame; after abort both ends see the channel closed', async () => {
    const { a, b } = await pair('/test/framed/3', { maxFrameBytes: 1024 })
    await expect(a.send(new Uint8Array(2048))).rejects.toBeInstanceOf(FrameTooLargeError)
    a.abort()
    await a.closed
    await expect(a.send(new Uint8Array(1))).rejects.toBeInstanceOf(ChannelClosedError)
    await b.closed
    const r = await b[Symbol.asyncIterator]().next()
    expect(r.done).toBe(true)
  })

  it('drops, counts and closes when the remote announces a frame over the limit', async () => {
    const ha = await host()
    const hb = await host()
    const inbound = Promise.withResolvers<FramedChannel & { counters: { oversizedIn: number } }>()
    let bad = 0
    await hb.handle('/test/framed/5', ch => inbound.resolve(ch as never), { maxFrameBytes: 1000, onBadFrame: () => { bad++ } })
    await ha.dial(hb.multiaddrs()[0] as string)
    const a = await ha.open(hb.peerId, '/test/framed/5', { maxFrameBytes: 1 << 20 })
    await a.send(new Uint8Array(5000))
    const b = await inbound.promise
    await b.closed
    expect(b.counters.oversizedIn).toBe(1)
    expect(bad).toBe(1)
    const r = await b[Symbol.asyncIterator]().next()
    expect(r.done).toBe(true)
  })
})
