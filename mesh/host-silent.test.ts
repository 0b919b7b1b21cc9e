/**
 * host.replaceSilent on real libp2p hosts (TCP + Noise + yamux on 127.0.0.1). The silent connection
 * runs through a TCP relay written here that can freeze the connections it carries — bytes stop both
 * ways, sockets stay open, as on a link behind a partition — while it still relays new connections
 * (the network is back, the old connection is stuck in TCP's back-off).
 */
import { afterEach, describe, expect, it } from 'vitest'
import net from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshHost, type MeshHost } from './host.ts'
import { silentLogger } from '../common/log.ts'
import { until } from './zenoh/test-helpers.ts'

const ECHO = '/swarmflow/test-echo/1.0.0'

class FreezableRelay {
  private readonly pairs: Array<[net.Socket, net.Socket]> = []
  private server?: net.Server
  port = 0

  async start (targetPort: number): Promise<void> {
    this.server = net.createServer(client => {
      const upstream = net.connect(targetPort, '127.0.0.1')
      client.pipe(upstream).pipe(client)
      const drop = (): void => { client.destroy(); upstream.destroy() }
      client.on('error', drop); upstream.on('error', drop)
      this.pairs.push([client, upstream])
    })
    await new Promise<void>(resolve => this.server?.listen(0, '127.0.0.1', resolve))
    this.port = (this.server?.address() as net.AddressInfo).port
  }

  /** Stops every connection relayed so far, both ways, without closing it. New ones still pass. */
  freeze (): void {
    for (const [a, b] of this.pairs) { a.unpipe(b); b.unpipe(a); a.pause(); b.pause() }
  }

  async stop (): Promise<void> {
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy() }
    await new Promise<void>(resolve => this.server?.close(() => resolve()) ?? resolve())
  }
}

async function host (): Promise<MeshHost> {
  const h = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
    logger: silentLogger(), privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
  })
  await h.start()
  await h.handle(ECHO, ch => { void (async () => { for await (const f of ch) await ch.send(f).catch(() => {}) })() })
  return h
}

/** One frame A → B and back on a fresh channel, within 3 s. */
async function echoes (a: MeshHost, b: MeshHost): Promise<boolean> {
  let ch
  try { ch = await a.open(b.peerId, ECHO, { signal: AbortSignal.timeout(3000) }) } catch { return false }
  try {
    await ch.send(Uint8Array.of(1, 2, 3))
    const it = ch[Symbol.asyncIterator]()
    const got = await Promise.race([it.next(), new Promise<undefined>(resolve => setTimeout(resolve, 3000))])
    return got !== undefined && got.done !== true && Array.from(got.value).join() === '1,2,3'
  } finally {
    ch.abort()
  }
}

const portOf = (h: MeshHost): number => Number((h.multiaddrs()[0] as string).split('/tcp/')[1]?.split('/')[0])
const connIds = (a: MeshHost, b: MeshHost): string[] => a.libp2p.getConnections().filter(c => c.remotePeer.toString() === b.peerId).map(c => c.id)

describe('host.replaceSilent', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const f of cleanup.splice(0).reverse()) await f().catch(() => {}) })

  /** A and B connected only through a relay; returns the relayed connection's id. */
  async function relayed (): Promise<{ a: MeshHost, b: MeshHost, relay: FreezableRelay, relayedId: string }> {
    const [a, b] = await Promise.all([host(), host()])
    cleanup.push(async () => { await a.stop() }, async () => { await b.stop() })
    const relay = new FreezableRelay()
    await relay.start(portOf(b))
    cleanup.push(async () => { await relay.stop() })
    await a.dial(`/ip4/127.0.0.1/tcp/${relay.port}/p2p/${b.peerId}`, { remember: false })
    expect(await echoes(a, b)).toBe(true)
    const ids = connIds(a, b)
    expect(ids).toHaveLength(1)
    return { a, b, relay, relayedId: ids[0] as string }
  }

  it('dials a fresh connection beside a frozen one, moves traffic to it, then aborts the frozen one; never without a connection', async () => {
    const { a, b, relay, relayedId } = await relayed()
    relay.freeze()
    expect(await echoes(a, b)).toBe(false) // the relayed connection really is stuck
    let unconnected = 0
    const sampler = setInterval(() => { if (!a.connectedPeers().includes(b.peerId)) unconnected++ }, 5)
    try {
      a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => true })
      a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => true }) // a second call joins the first
      await until(() => !connIds(a, b).includes(relayedId) && connIds(a, b).length > 0, 10_000, 'the frozen connection replaced')
    } finally {
      clearInterval(sampler)
    }
    expect(unconnected).toBe(0)
    expect(connIds(a, b)).toHaveLength(1)
    expect(await echoes(a, b)).toBe(true)
  })

  it('leaves the connection alone when it is no longer silent, or younger than the silence asked for', async () => {
    const { a, b, relay, relayedId } = await relayed()
    relay.freeze()
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => false })
    a.replaceSilent(b.peerId, { silentForMs: 60_000, stillSilent: () => true })
    await new Promise(resolve => setTimeout(resolve, 1500))
    expect(connIds(a, b)).toEqual([relayedId])
  })
})
