/**
 * host.replaceSilent over two real mesh hosts (libp2p TCP + Noise + yamux on 127.0.0.1). A reaches B
 * only through a TCP proxy written here, which plays the network: it can freeze the connections it
 * carries (no byte passes either way and both sockets stay open — a stalled TCP connection, as behind
 * a partition, not a closed one), cut new connections while the partition lasts, and forward new
 * connections again once it has healed while the frozen ones stay frozen (TCP's back-off).
 */
import { describe, it, expect } from 'vitest'
import net from 'node:net'
import { pino } from 'pino'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, StreamCloseEvent } from '@libp2p/interface'
import { createMeshHost, type MeshHost } from './host.ts'
import { until } from './zenoh/test-helpers.ts'

const ECHO = '/swarmflow/test/replace-silent-echo/1'

class PartitionProxy implements AsyncDisposable {
  /** Connections forwarded to the target. */
  accepted = 0
  /** Connections cut at once because the partition lasts. */
  refused = 0
  private refusing = false
  private readonly links: Array<{ client: net.Socket, upstream: net.Socket, frozen: boolean }> = []
  private readonly sockets = new Set<net.Socket>()

  private constructor (private readonly server: net.Server) {}

  static async start (targetPort: number): Promise<PartitionProxy> {
    const server = net.createServer()
    const proxy = new PartitionProxy(server)
    server.on('connection', client => { proxy.carry(client, targetPort) })
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
    return proxy
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  private track (s: net.Socket): void {
    this.sockets.add(s)
    s.once('close', () => this.sockets.delete(s))
  }

  private carry (client: net.Socket, targetPort: number): void {
    this.track(client)
    if (this.refusing) { this.refused++; client.destroy(); return }
    this.accepted++
    const upstream = net.connect(targetPort, '127.0.0.1')
    this.track(upstream)
    const link = { client, upstream, frozen: false }
    this.links.push(link)
    // A frozen link delivers nothing, not even a close or a reset: the far side must not learn of it.
    const fail = (s: net.Socket) => () => { if (link.frozen) s.destroy(); else { client.destroy(); upstream.destroy() } }
    client.on('error', fail(client)).on('close', fail(client))
    upstream.on('error', fail(upstream)).on('close', fail(upstream))
    client.pipe(upstream).pipe(client)
  }

  /** The connections carried so far stall both ways; their sockets stay open. */
  freeze (): void {
    for (const l of this.links) {
      l.frozen = true
      l.client.unpipe(l.upstream); l.upstream.unpipe(l.client)
      l.client.pause(); l.upstream.pause()
    }
  }

  /** A partition: carried connections freeze and new ones are cut at once. */
  partition (): void { this.freeze(); this.refusing = true }

  /** The network is back: new connections are forwarded; frozen ones stay frozen. */
  heal (): void { this.refusing = false }

  async [Symbol.asyncDispose] (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

interface TestHost extends MeshHost, AsyncDisposable {
  /** Messages the host logged (debug and up). */
  logged: string[]
}

async function host (): Promise<TestHost> {
  const logged: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logged.push((JSON.parse(line) as { msg: string }).msg) } })
  const h = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
    logger, privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
  })
  await h.start()
  await h.handle(ECHO, ch => { void (async () => { for await (const f of ch) await ch.send(f).catch(() => {}) })() })
  return Object.assign(h, { logged, [Symbol.asyncDispose]: () => h.stop() })
}

/**
 * What happened to the connections from `h` to `remote`: opens and closes in order, the error each
 * was closed with, and how often `remote` was left without any connection (checked at every close,
 * and by the host's own disconnect callback).
 */
function watchLinks (h: MeshHost, remote: string): { events: Array<{ kind: 'open' | 'close', conn: Connection }>, closedWith: Map<string, string>, left: () => number } {
  const events: Array<{ kind: 'open' | 'close', conn: Connection }> = []
  const closedWith = new Map<string, string>()
  let emptied = 0
  let disconnects = 0
  h.libp2p.addEventListener('connection:open', ({ detail: conn }) => {
    if (conn.remotePeer.toString() !== remote) return
    events.push({ kind: 'open', conn })
    conn.addEventListener('close', (evt) => { closedWith.set(conn.id, (evt as StreamCloseEvent).error?.name ?? 'closed') })
  })
  h.libp2p.addEventListener('connection:close', ({ detail: conn }) => {
    if (conn.remotePeer.toString() !== remote) return
    events.push({ kind: 'close', conn })
    if (h.libp2p.getConnections(conn.remotePeer).length === 0) emptied++
  })
  h.onDisconnect(p => { if (p === remote) disconnects++ })
  return { events, closedWith, left: () => emptied + disconnects }
}

/** Sends one frame A → B on a new channel and waits `ms` for it to come back. */
async function echoes (a: MeshHost, b: MeshHost, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms)
  let ch
  try { ch = await a.open(b.peerId, ECHO, { signal }) } catch { return false }
  try {
    await ch.send(Uint8Array.of(7, 8, 9), { signal })
    const it = ch[Symbol.asyncIterator]()
    const timeout = new Promise<undefined>(resolve => { signal.addEventListener('abort', () => resolve(undefined), { once: true }) })
    const got = await Promise.race([it.next(), timeout])
    return got !== undefined && got.done !== true && Array.from(got.value).join() === '7,8,9'
  } catch {
    return false
  } finally {
    ch.abort()
  }
}

const connsTo = (a: MeshHost, b: MeshHost): Connection[] => a.libp2p.getConnections(peerIdFromString(b.peerId))
const idsTo = (a: MeshHost, b: MeshHost): string[] => connsTo(a, b).map(c => c.id)
const tcpPort = (h: MeshHost): number => Number(multiaddr(h.multiaddrs()[0] as string).getComponents().find(c => c.name === 'tcp')?.value)

/** A negative check needs a window: long enough for the fresh-dial loop to dial twice (it retries every 250 ms). */
const quietWindow = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 600)) }

/**
 * A and B connected through the proxy only. B's signed peer record names its own listen address and
 * identify makes it the only one A keeps; a partition would cut that path too, so once identify is
 * done A is left with the proxy's address alone: every fresh dial crosses the proxy.
 */
async function throughProxy (a: TestHost, b: TestHost, proxy: PartitionProxy): Promise<Connection> {
  const bId = peerIdFromString(b.peerId)
  const identified = new Promise<void>(resolve => {
    a.libp2p.addEventListener('peer:identify', ({ detail }) => { if (detail.peerId.equals(bId)) resolve() })
  })
  await a.dial(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${b.peerId}`, { remember: false })
  await identified
  await a.libp2p.peerStore.patch(bId, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}`)] })
  expect(await echoes(a, b, 3000)).toBe(true)
  const conns = connsTo(a, b)
  expect(conns).toHaveLength(1)
  expect(proxy.accepted).toBe(1)
  return conns[0] as Connection
}

const ageOf = (c: Connection): number => Date.now() - (c.timeline.upgraded ?? c.timeline.open)
const oldEnough = async (c: Connection, ms: number): Promise<void> => { await until(() => ageOf(c) >= ms, ms + 1000, `a connection ${ms} ms old`) }
const ended = (c: Connection): boolean => c.status === 'closed' || c.status === 'aborted'

describe('host.replaceSilent over a real stalled TCP connection', () => {
  it('keeps dialling through a partition; after the heal a fresh connection carries traffic, then the frozen one is aborted; the peers never lose each other', async () => {
    await using a = await host()
    await using b = await host()
    const aLinks = watchLinks(a, b.peerId)
    const bLinks = watchLinks(b, a.peerId)
    await using proxy = await PartitionProxy.start(tcpPort(b))
    const frozen = await throughProxy(a, b, proxy)

    proxy.partition()
    expect(await echoes(a, b, 500)).toBe(false) // the connection really is stalled, not closed
    expect(frozen.status).toBe('open')
    expect(ageOf(frozen)).toBeGreaterThanOrEqual(200)

    let consulted = 0
    a.replaceSilent(b.peerId, { silentForMs: 200, stillSilent: () => { consulted++; return true } })
    await until(() => proxy.refused >= 2, 5000, 'two fresh dials cut by the partition')
    expect(idsTo(a, b)).toEqual([frozen.id]) // failed dials leave the silent connection in place

    // when the frozen connection is aborted, the fresh one must already be open
    let freshAtAbort: Connection[] | undefined
    frozen.addEventListener('close', () => { freshAtAbort = connsTo(a, b).filter(c => c.id !== frozen.id && c.status === 'open') })
    proxy.heal()
    await until(() => ended(frozen), 5000, 'the frozen connection to be aborted')

    const opened = aLinks.events.filter(e => e.kind === 'open').map(e => e.conn)
    expect(opened).toHaveLength(2)
    const fresh = opened[1] as Connection
    expect(fresh.direction).toBe('outbound')
    expect(fresh.remoteAddr.toString()).toContain(`/tcp/${proxy.port}/`) // through the healed network
    expect(freshAtAbort?.map(c => c.id)).toEqual([fresh.id])
    expect(aLinks.closedWith.get(frozen.id)).toBe('SilentConnectionError')
    expect(proxy.accepted).toBe(2)
    expect(consulted).toBeGreaterThanOrEqual(2)

    expect(idsTo(a, b)).toEqual([fresh.id])
    expect(await echoes(a, b, 3000)).toBe(true) // over the fresh connection, the only one left
    expect(aLinks.left()).toBe(0)
    expect(bLinks.left()).toBe(0)
  }, 12_000)

  it('does not dial when stillSilent() is false, and a later call while it is true still does', async () => {
    await using a = await host()
    await using b = await host()
    await using proxy = await PartitionProxy.start(tcpPort(b))
    const frozen = await throughProxy(a, b, proxy)
    proxy.freeze() // the network works; only the old connection is stuck
    await oldEnough(frozen, 100)

    let consulted = 0
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => { consulted++; return false } })
    await quietWindow()
    expect(consulted).toBe(1)
    expect(proxy.accepted).toBe(1)
    expect(idsTo(a, b)).toEqual([frozen.id])

    // the refusal left nothing behind: the same connection is replaced as soon as it is still silent
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => true })
    await until(() => ended(frozen) && connsTo(a, b).length === 1, 5000, 'the frozen connection replaced')
    expect(proxy.accepted).toBe(2)
  }, 12_000)

  it('stops dialling once stillSilent() turns false during a partition; the silent connection stays', async () => {
    await using a = await host()
    await using b = await host()
    await using proxy = await PartitionProxy.start(tcpPort(b))
    const frozen = await throughProxy(a, b, proxy)
    proxy.partition()
    await oldEnough(frozen, 100)

    let silent = true
    let consulted = 0
    let consultedAfterTurn = 0
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: () => { consulted++; if (!silent) consultedAfterTurn++; return silent } })
    await until(() => proxy.refused >= 1, 5000, 'a fresh dial cut by the partition')
    silent = false // heartbeats arrive again over the old connection
    // the loop consults stillSilent() between dials: once it has seen false no dial is in flight
    await until(() => consultedAfterTurn >= 1, 5000, 'the dial loop to see stillSilent() false')
    const refused = proxy.refused
    const seen = consulted
    proxy.heal()
    await quietWindow()
    expect(proxy.refused).toBe(refused)
    expect(proxy.accepted).toBe(1)
    expect(consulted).toBe(seen)
    expect(idsTo(a, b)).toEqual([frozen.id])
  }, 12_000)

  it('leaves a connection younger than silentForMs alone; the same call with a shorter silence replaces it', async () => {
    await using a = await host()
    await using b = await host()
    await using proxy = await PartitionProxy.start(tcpPort(b))
    const frozen = await throughProxy(a, b, proxy)
    proxy.freeze()

    let consulted = 0
    const silentForMs = ageOf(frozen) + 5000
    a.replaceSilent(b.peerId, { silentForMs, stillSilent: () => { consulted++; return true } })
    await quietWindow()
    expect(ageOf(frozen)).toBeLessThan(silentForMs) // still younger than asked, at the end of the window too
    expect(consulted).toBe(0)
    expect(proxy.accepted).toBe(1)
    expect(idsTo(a, b)).toEqual([frozen.id])

    a.replaceSilent(b.peerId, { silentForMs: ageOf(frozen), stillSilent: () => true })
    await until(() => ended(frozen) && connsTo(a, b).length === 1, 5000, 'the frozen connection replaced')
    expect(proxy.accepted).toBe(2)
  }, 12_000)

  it('runs one dial loop per peer: concurrent and later calls while it runs are no-ops; one fresh connection', async () => {
    await using a = await host()
    await using b = await host()
    const aLinks = watchLinks(a, b.peerId)
    await using proxy = await PartitionProxy.start(tcpPort(b))
    const frozen = await throughProxy(a, b, proxy)
    proxy.partition()
    await oldEnough(frozen, 100)

    const consulted = [0, 0, 0]
    const stillSilent = (i: number) => () => { consulted[i] = (consulted[i] ?? 0) + 1; return true }
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: stillSilent(0) })
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: stillSilent(1) })
    await until(() => proxy.refused >= 1, 5000, 'a fresh dial cut by the partition')
    a.replaceSilent(b.peerId, { silentForMs: 100, stillSilent: stillSilent(2) })
    await until(() => proxy.refused >= 2, 5000, 'a second fresh dial cut by the partition')
    proxy.heal()
    await until(() => ended(frozen), 5000, 'the frozen connection to be aborted')
    await quietWindow() // a second loop, had one started, would dial again in here

    expect(consulted[0]).toBeGreaterThanOrEqual(2)
    expect(consulted[1]).toBe(0)
    expect(consulted[2]).toBe(0)
    expect(a.logged.filter(m => m.includes('dialling a fresh connection beside the silent one'))).toHaveLength(1)
    expect(aLinks.events.filter(e => e.kind === 'open')).toHaveLength(2) // the relayed one and one fresh
    expect(proxy.accepted).toBe(2)
    expect(connsTo(a, b)).toHaveLength(1)
    expect(aLinks.left()).toBe(0)
  }, 12_000)
})
