import { describe, expect, it } from 'vitest'
import type { Message, PeerId } from '@automerge/automerge-repo'
import { silentLogger } from '../common/log.ts'
import type { FramedChannel } from '../mesh/interfaces.ts'
import { ChannelNetworkAdapter } from './network-adapter.ts'
import { memoryChannelPair, until } from './testing.ts'
import { encodeHello, encodeMessage } from './wire.ts'

const DOC = 'docid'

function adapter (peerId: string, sendQueueFrames = 4, helloTimeoutMs = 10_000): ChannelNetworkAdapter {
  const a = new ChannelNetworkAdapter({ peerId, documentId: DOC, maxFrameBytes: 1024, sendQueueFrames, rejectCooldownMs: 60_000, helloTimeoutMs }, {
    logger: silentLogger(),
    authorize: () => ({ ok: true, newChanges: 0, heads: [] }),
  })
  a.connect(peerId as PeerId, {})
  return a
}

/** A channel whose remote never reads: every send after the first stays pending until abort. */
function stalledChannel (remotePeer: string): FramedChannel & { push(f: Uint8Array): void, aborted: boolean } {
  const inbox: Uint8Array[] = []
  let wake: (() => void) | undefined
  let sends = 0
  let resolveClosed!: () => void
  const closed = new Promise<void>(resolve => { resolveClosed = resolve })
  const ch = {
    remotePeer,
    protocol: 'test',
    closed,
    aborted: false,
    push (f: Uint8Array) { inbox.push(f); wake?.() },
    send: async () => { if (sends++ > 0) await closed },
    [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
      return {
        next: async () => {
          while (true) {
            const f = inbox.shift()
            if (f !== undefined) return { done: false, value: f }
            if (ch.aborted) return { done: true, value: undefined }
            await new Promise<void>(resolve => { wake = resolve })
          }
        },
      }
    },
    async close () { ch.abort() },
    abort () { ch.aborted = true; wake?.(); resolveClosed() },
  }
  return ch
}

const msg = (targetId: string): Message => ({ type: 'sync', senderId: 'me' as PeerId, targetId: targetId as PeerId, documentId: DOC as never, data: new Uint8Array(10) })

describe('channel network adapter', () => {
  it('bounds the send queue: a peer that stops reading past twice the capacity loses its channel, counted', async () => {
    const a = adapter('me', 4)
    const ch = stalledChannel('slow')
    const seen: string[] = []
    a.on('peer-candidate', p => seen.push(p.peerId))
    a.attach(ch)
    ch.push(encodeHello({ peerId: 'slow', session: 's', nonce: 'n', meta: {} }))
    await until('peer announced', () => seen.includes('slow'))
    for (let i = 0; i < 8; i++) a.send(msg('slow'))
    expect(a.counters.sendDropped.overflow).toBeGreaterThanOrEqual(1)
    await until('channel aborted', () => ch.aborted)
    a.send(msg('nobody'))
    expect(a.counters.sendDropped['no-route']).toBe(1)
    a.disconnect()
  })

  it('refuses to send a message over the frame limit', async () => {
    const a = adapter('me')
    const ch = stalledChannel('p')
    a.attach(ch)
    ch.push(encodeHello({ peerId: 'p', session: 's', nonce: 'n', meta: {} }))
    await until('greeted', () => a.connectedPeers().includes('p'))
    a.send({ ...msg('p'), data: new Uint8Array(4096) })
    expect(a.counters.sendDropped.oversized).toBe(1)
    a.disconnect()
  })

  it('drops a hello naming another peer, and messages before a hello, then works once greeted', async () => {
    const a = adapter('me')
    const got: Message[] = []
    a.on('message', m => got.push(m))
    const ch = stalledChannel('p')
    a.attach(ch)
    ch.push(encodeHello({ peerId: 'someone-else', session: 's', nonce: 'n', meta: {} }))
    ch.push(encodeMessage({ type: 'sync', senderId: 'p', targetId: 'me', documentId: DOC, data: new Uint8Array([1]) }))
    ch.push(encodeHello({ peerId: 'p', session: 's', nonce: 'n', meta: {} }))
    ch.push(encodeMessage({ type: 'sync', senderId: 'p', targetId: 'somebody', documentId: DOC, data: new Uint8Array([1]) }))
    ch.push(encodeMessage({ type: 'sync', senderId: 'p', targetId: 'me', documentId: DOC, data: new Uint8Array([2]) }))
    await until('one message delivered', () => got.length === 1)
    expect(a.counters.dropped).toMatchObject({ 'spoofed-sender': 1, 'before-hello': 1, 'wrong-target': 1 })
    expect(got[0]?.data).toEqual(new Uint8Array([2]))
    a.disconnect()
  })

  it('agrees on one of two channels between the same two peers', async () => {
    const a = adapter('peer-a')
    const b = adapter('peer-b')
    const [a1, b1] = memoryChannelPair('peer-a', 'peer-b')
    const [b2, a2] = memoryChannelPair('peer-b', 'peer-a')
    // Opposite attach orders on the two sides, as when both dial at once.
    a.attach(a1)
    b.attach(b2)
    a.attach(a2)
    b.attach(b1)
    await until('one channel replaced on each side', () => a.counters.channelsReplaced === 1 && b.counters.channelsReplaced === 1)
    let closed1 = false
    let closed2 = false
    void a1.closed.then(() => { closed1 = true })
    void a2.closed.then(() => { closed2 = true })
    await until('exactly one of the two channels closed', () => closed1 !== closed2)
    expect(a.connectedPeers()).toEqual(['peer-b'])
    expect(b.connectedPeers()).toEqual(['peer-a'])
    a.disconnect()
    b.disconnect()
  })

  it('closes a channel that never says hello, and caps channels per peer', async () => {
    const a = adapter('me', 4, 50)
    const silent = stalledChannel('mute')
    a.attach(silent)
    await until('silent channel closed', () => silent.aborted)
    const b = adapter('me')
    const chans = Array.from({ length: 6 }, () => stalledChannel('many'))
    for (const c of chans) b.attach(c)
    expect(chans.filter(c => c.aborted)).toHaveLength(2)
    expect(b.counters.channelsRefused).toBe(2)
    a.disconnect()
    b.disconnect()
  })

  describe('initial sync with one peer first', () => {
    /** 'me' in its seed phase; every sync message it receives advertises the heads in `advertised`. */
    const seeding = (timeoutMs: number): { a: ChannelNetworkAdapter, held: { synced: boolean }, announced: string[] } => {
      const held = { synced: false }
      const a = new ChannelNetworkAdapter({ peerId: 'me', documentId: DOC, maxFrameBytes: 1024, sendQueueFrames: 4, rejectCooldownMs: 60_000, initialSyncTimeoutMs: timeoutMs }, {
        logger: silentLogger(),
        authorize: () => ({ ok: true, newChanges: 0, heads: ['h1'] }),
        hasHeads: heads => held.synced && heads.includes('h1'),
      })
      a.connect('me' as PeerId, {})
      const announced: string[] = []
      a.on('peer-candidate', p => announced.push(p.peerId))
      return { a, held, announced }
    }
    const greet = (ch: ReturnType<typeof stalledChannel>): void => ch.push(encodeHello({ peerId: ch.remotePeer, session: 's', nonce: 'n', meta: {} }))
    const syncFrom = (ch: ReturnType<typeof stalledChannel>): void => ch.push(encodeMessage({ type: 'sync', senderId: ch.remotePeer, targetId: 'me', documentId: DOC, data: new Uint8Array([1]) }))

    it('holds every other peer (no hello from us, not announced) until the document holds the seed\'s heads', async () => {
      const { a, held, announced } = seeding(60_000)
      const remote = adapter('other')
      const [meSide, otherSide] = memoryChannelPair('me', 'other')
      const seed = stalledChannel('seed')
      a.attach(seed)
      a.attach(meSide)
      remote.attach(otherSide)
      greet(seed)
      await until('seed announced', () => announced.includes('seed'))
      await until('other greeted us', () => a.counters.framesIn >= 2)
      syncFrom(seed)
      await until('seed message read', () => a.counters.framesIn >= 3)
      // The seed's heads are not in the document yet: 'other' still waits and has not heard from us.
      expect(announced).toEqual(['seed'])
      expect(remote.connectedPeers()).toEqual([])
      held.synced = true
      a.documentChanged()
      await until('other announced', () => announced.includes('other'))
      await until('other got our hello', () => remote.connectedPeers().includes('me'))
      a.disconnect()
      remote.disconnect()
    })

    /** 'me' seeding with a timeout of `timeoutMs`, a seed and another peer attached in that order, both greeted. */
    const seedAndOther = (timeoutMs: number): ReturnType<typeof seeding> & { seed: ReturnType<typeof stalledChannel>, other: ReturnType<typeof stalledChannel> } => {
      const s = seeding(timeoutMs)
      const seed = stalledChannel('seed')
      const other = stalledChannel('other')
      s.a.attach(seed)
      s.a.attach(other)
      greet(seed)
      greet(other)
      return { ...s, seed, other }
    }

    it('releases the held peers when the seed goes away, or after the timeout', async () => {
      const first = seedAndOther(60_000)
      await until('seed announced', () => first.announced.includes('seed'))
      first.seed.abort()
      await until('other announced after the seed left', () => first.announced.includes('other'))
      first.a.disconnect()

      const second = seedAndOther(50)
      await until('other announced after the timeout', () => second.announced.includes('other'))
      expect(second.seed.aborted).toBe(false)
      second.a.disconnect()
    })
  })
})
