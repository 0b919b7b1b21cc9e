import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PrivateKey, Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../common/log.ts'
import type { ChannelHandler, FramedChannel, PeerIdString } from './interfaces.ts'
import { createFramedChannel, type FramedChannelOptions } from './framed.ts'
import { DialError, SilentConnectionError } from './errors.ts'
import { coalesceWrites, lazyWindowUpdates, noiseCrypto } from './transport.ts'

export interface MeshHostConfig {
  /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/0. */
  listen: string[]
  /** Multiaddrs (with /p2p/<id>) to dial at start and keep re-dialling while disconnected. */
  bootstrap?: string[]
  /** Discover peers on the LAN with mDNS. */
  mdns?: boolean
  /** mDNS service tag; peers of one swarm share one, so other swarms' peers are not even dialled. */
  mdnsServiceTag?: string
  /** mDNS query interval (ms). */
  mdnsIntervalMs?: number
  /** Re-dial backoff bounds (ms). Default 500 ms doubling to 2 s: a healed partition reconnects within ~2 s. */
  redialMinMs?: number
  redialMaxMs?: number
  /** TCP connect timeout of one fresh dial beside a silent connection (replaceSilent). Default 500 ms. */
  freshDialMs?: number
}

export interface MeshHostDeps {
  logger: Logger
  privateKey: PrivateKey
  /** Peers this host must refuse at every stage (revoked, failed admission). */
  isDenied: (peerId: PeerIdString) => boolean
}

export interface MeshHost {
  readonly peerId: PeerIdString
  readonly libp2p: Libp2p
  start(): Promise<void>
  stop(): Promise<void>
  multiaddrs(): string[]
  /** Registers an inbound protocol whose streams become FramedChannels. */
  handle(protocol: string, handler: ChannelHandler, opts?: FramedChannelOptions): Promise<void>
  /** Opens a FramedChannel to a connected (or dialable) peer. */
  open(peer: PeerIdString, protocol: string, opts?: FramedChannelOptions & { signal?: AbortSignal }): Promise<FramedChannel>
  /** Dials a multiaddr (with /p2p/ id) and remembers it for re-dialling while it stays wanted. */
  dial(addr: string, opts?: { signal?: AbortSignal, remember?: boolean }): Promise<PeerIdString>
  /** Addresses to keep re-dialling with backoff (remembered peers, bootstrap). */
  want(addrs: string[]): void
  connectedPeers(): PeerIdString[]
  /** Remote addresses of connected peers (for the remembered-peers file). */
  peerAddrs(peer: PeerIdString): string[]
  /** Closes every connection to a peer (revocation, failed admission). */
  hangUp(peer: PeerIdString): Promise<void>
  /**
   * The connections to a connected peer went silent for `silentForMs` (no heartbeat over them).
   * Dials it afresh beside them, again and again while `stillSilent()` holds; once a fresh
   * connection is up (dialled by either side) the silent ones are aborted, so channels reopen on it.
   * Connections younger than `silentForMs` are not counted as silent (their channels may still be
   * opening). The peer is never left without a connection by this: a frozen peer that resumes still
   * has its old ones until a new one works.
   */
  replaceSilent(peer: PeerIdString, opts: { silentForMs: number, stillSilent: () => boolean }): void
  onConnect(cb: (peer: PeerIdString, conn: Connection) => void): () => void
  onDisconnect(cb: (peer: PeerIdString) => void): () => void
}

/**
 * The libp2p host: TCP + Noise (always) + Yamux + identify, mDNS and bootstrap discovery, and a
 * re-dial loop so a swarm that lost its network re-forms by itself when it returns.
 */
export async function createMeshHost (config: MeshHostConfig, deps: MeshHostDeps): Promise<MeshHost> {
  const log = deps.logger
  const denied = (id: PeerId): boolean => deps.isDenied(id.toString())
  const peerDiscovery = config.mdns === false
    ? []
    : [mdns({ serviceTag: config.mdnsServiceTag ?? 'swarmflow.local', interval: config.mdnsIntervalMs ?? 2000 })]

  const node = await createLibp2p({
    privateKey: deps.privateKey,
    start: false,
    addresses: { listen: config.listen },
    transports: [tcp()],
    // native ChaCha with cached keys; the writes of one event-loop turn in one Noise message (transport.ts)
    connectionEncrypters: [coalesceWrites(noise({ crypto: noiseCrypto }))],
    streamMuxers: [lazyWindowUpdates(yamux())],
    peerDiscovery,
    services: { identify: identify() },
    connectionManager: { maxConnections: 256, dialTimeout: 5000, reconnectRetries: 0 },
    // Our own heartbeat watches liveness (mesh/liveness.ts). libp2p's monitor must not abort a
    // connection that stalled during a partition: after the heal that connection carries traffic
    // again, and aborting it then made members flap alive → dead → alive (and bumped epochs).
    connectionMonitor: { enabled: true, pingInterval: 10_000, abortConnectionOnPingFailure: false },
    connectionGater: {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied,
      denyInboundUpgradedConnection: denied,
      denyOutboundUpgradedConnection: denied,
      // Loopback and private addresses are exactly where a field swarm lives.
      denyDialMultiaddr: () => false,
    },
  })

  const peerId = node.peerId.toString()
  const wanted = new Map<string, { addr: Multiaddr, peer: string | undefined, failures: number, nextAt: number, dialing?: boolean }>()
  const connectCbs = new Set<(peer: PeerIdString, conn: Connection) => void>()
  const disconnectCbs = new Set<(peer: PeerIdString) => void>()
  let redialTimer: NodeJS.Timeout | undefined
  let started = false
  const minBackoff = config.redialMinMs ?? 500
  const maxBackoff = config.redialMaxMs ?? 2_000
  const freshDialMs = config.freshDialMs ?? 500
  /** Peers being re-dialled beside silent connections: peer → ids of those connections and the check. */
  const silent = new Map<PeerIdString, { ids: Set<string>, silentForMs: number, stillSilent: () => boolean }>()

  // A connection that stalled in a partition resumes only when TCP retransmits, and its back-off has
  // grown to seconds by the heal; a fresh connection works at once. Inbound ones count too: the other
  // side of a partition re-dials us at the same time.
  node.addEventListener('connection:open', (evt) => {
    const conn = evt.detail
    const id = conn.remotePeer.toString()
    const s = silent.get(id)
    if (s !== undefined && !s.ids.has(conn.id)) retireSilent(id, conn)
  })

  function retireSilent (peer: PeerIdString, fresh: Connection): void {
    const s = silent.get(peer)
    if (s === undefined) return
    silent.delete(peer)
    if (!s.stillSilent()) {
      // The old connection carries heartbeats again (a frozen peer resumed). The fresh one is closed,
      // or every freeze would leave one more connection — but not at once: the other side may be
      // retiring its silent ones in favour of this one; then the old ones are gone and it stays.
      setTimeout(() => {
        if (!started || fresh.status !== 'open') return
        if (!node.getConnections(fresh.remotePeer).some(c => s.ids.has(c.id))) return
        log.debug({ peer, fresh: fresh.id }, 'closing a spare connection: the silent one works again')
        fresh.close().catch(err => { fresh.abort(err as Error) })
      }, s.silentForMs).unref()
      return
    }
    for (const c of node.getConnections(fresh.remotePeer)) {
      if (!s.ids.has(c.id)) continue
      log.info({ peer, stale: c.remoteAddr.toString(), fresh: fresh.remoteAddr.toString(), direction: fresh.direction }, 'replacing a silent connection with a fresh one')
      c.abort(new SilentConnectionError(`connection ${c.id} to ${peer} was silent for the dead time; replaced by ${fresh.id}`))
    }
  }

  node.addEventListener('peer:connect', (evt) => {
    const id = evt.detail.toString()
    const conn = node.getConnections(evt.detail)[0]
    for (const w of wanted.values()) if (w.peer === id) { w.failures = 0; w.nextAt = 0 }
    if (conn) for (const cb of connectCbs) safe(() => cb(id, conn))
  })
  node.addEventListener('peer:disconnect', (evt) => {
    const id = evt.detail.toString()
    for (const cb of disconnectCbs) safe(() => cb(id))
  })
  node.addEventListener('peer:discovery', (evt) => {
    const id = evt.detail.id
    if (!started || id.equals(node.peerId) || denied(id)) return
    if (node.getConnections(id).length > 0) return
    node.dial(id, { signal: AbortSignal.timeout(5000) }).catch((err: Error) => {
      log.debug({ peer: id.toString(), err: err.message }, 'dial of discovered peer failed')
    })
  })

  function safe (fn: () => void): void {
    try { fn() } catch (err) { log.error({ err }, 'mesh event handler threw') }
  }

  /**
   * Dials every wanted address whose peer is not connected, each on its own backoff. Dials run
   * concurrently (at most one per address): during a partition packets vanish and a dial waits its
   * whole timeout, which must not hold up the others.
   */
  async function redialTick (): Promise<void> {
    const now = Date.now()
    for (const [key, w] of wanted) {
      if (!started) return
      if (w.dialing) continue
      if (w.peer !== undefined && (node.getConnections(peerIdFromString(w.peer)).length > 0 || deps.isDenied(w.peer))) continue
      if (now < w.nextAt) continue
      w.dialing = true
      node.dial(w.addr, { signal: AbortSignal.timeout(4000) }).then((conn) => {
        w.peer = conn.remotePeer.toString()
        w.failures = 0
      }, (err: Error) => {
        w.failures++
        w.nextAt = Date.now() + Math.min(maxBackoff, minBackoff * 2 ** Math.min(w.failures - 1, 10)) * (0.8 + Math.random() * 0.4)
        log.debug({ addr: key, failures: w.failures, err: err.message }, 'redial failed')
      }).finally(() => { w.dialing = false })
    }
  }

  const scheduleRedial = (): void => {
    if (!started) return
    redialTimer = setTimeout(() => {
      redialTick().catch(err => log.warn({ err }, 'redial tick failed')).finally(scheduleRedial)
    }, 250)
    redialTimer.unref()
  }

  const host: MeshHost = {
    peerId,
    libp2p: node,
    async start () {
      if (started) return
      await node.start()
      started = true
      log.info({ peerId, addrs: host.multiaddrs() }, 'mesh host listening')
      host.want(config.bootstrap ?? [])
      scheduleRedial()
    },
    async stop () {
      if (!started) return
      started = false
      silent.clear()
      if (redialTimer) clearTimeout(redialTimer)
      await node.stop()
    },
    multiaddrs () {
      return node.getMultiaddrs().map(ma => ma.toString())
    },
    async handle (protocol, handler, opts) {
      await node.handle(protocol, (stream: Stream, connection: Connection) => {
        const remote = connection.remotePeer.toString()
        if (deps.isDenied(remote)) { stream.abort(new DialError(`peer ${remote} is denied`)); return }
        handler(createFramedChannel(stream, remote, protocol, { logger: log, ...opts }))
      }, { maxInboundStreams: 64, maxOutboundStreams: 64, runOnLimitedConnection: false })
    },
    async open (peer, protocol, opts) {
      try {
        const stream = await node.dialProtocol(peerIdFromString(peer), protocol, { signal: opts?.signal ?? AbortSignal.timeout(5000) })
        return createFramedChannel(stream, peer, protocol, { logger: log, ...opts })
      } catch (err) {
        throw new DialError(`could not open ${protocol} to ${peer}: ${(err as Error).message}`, { cause: err })
      }
    },
    async dial (addr, opts) {
      let ma: Multiaddr
      try { ma = multiaddr(addr) } catch (err) {
        throw new DialError(`'${addr}' is not a multiaddr (expected e.g. /ip4/192.168.1.20/tcp/4001/p2p/12D3Koo…)`, { cause: err })
      }
      try {
        const conn = await node.dial(ma, { signal: opts?.signal ?? AbortSignal.timeout(5000) })
        const id = conn.remotePeer.toString()
        if (opts?.remember !== false) wanted.set(addr, { addr: ma, peer: id, failures: 0, nextAt: 0 })
        return id
      } catch (err) {
        throw new DialError(`could not reach ${addr}: ${(err as Error).message}; check the address and that the peer is running`, { cause: err })
      }
    },
    want (addrs) {
      for (const a of addrs) {
        if (wanted.has(a)) continue
        try {
          const ma = multiaddr(a)
          const p = ma.getComponents().find(c => c.name === 'p2p')?.value
          if (p === peerId) continue
          wanted.set(a, { addr: ma, peer: p, failures: 0, nextAt: 0 })
        } catch {
          log.warn({ addr: a }, 'ignoring an address that is not a multiaddr')
        }
      }
    },
    connectedPeers () {
      return node.getPeers().map(p => p.toString())
    },
    peerAddrs (peer) {
      return node.getConnections(peerIdFromString(peer)).map(c => c.remoteAddr.toString())
    },
    async hangUp (peer) {
      await node.hangUp(peerIdFromString(peer)).catch(() => {})
    },
    replaceSilent (peer, { silentForMs, stillSilent }) {
      if (!started || silent.has(peer) || deps.isDenied(peer)) return
      let pid: PeerId
      try { pid = peerIdFromString(peer) } catch { return }
      const now = Date.now()
      const ids = new Set(node.getConnections(pid).filter(c => now - (c.timeline.upgraded ?? c.timeline.open) >= silentForMs).map(c => c.id))
      // none old enough: not connected (the re-dial loop and discovery take care of it), or a fresh
      // connection whose channels are still being opened
      if (ids.size === 0) return
      silent.set(peer, { ids, silentForMs, stillSilent })
      log.info({ peer, connections: ids.size }, 'member silent while connected: dialling a fresh connection beside the silent one')
      void (async () => {
        let attempts = 0
        // One dial at a time (libp2p joins concurrent dials to one peer anyway), each short: during a
        // partition a SYN vanishes and only its retransmission (1 s, 3 s, …) would follow it.
        while (started && silent.get(peer)?.ids === ids) {
          if (!stillSilent() || deps.isDenied(peer) || !node.getConnections(pid).some(c => ids.has(c.id))) { silent.delete(peer); break }
          attempts++
          const t0 = Date.now()
          const attempt = freshDialAttempt(freshDialMs)
          try {
            const conn = await node.dial(pid, { force: true, signal: attempt.signal, onProgress: attempt.onProgress })
            if (!ids.has(conn.id)) retireSilent(peer, conn)
          } catch (err) {
            log.debug({ peer, attempts, err: (err as Error).message }, 'fresh dial beside a silent connection failed')
            // a refused or unreachable address fails at once: do not spin on it
            const wait = Math.max(0, 250 - (Date.now() - t0))
            if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait).unref())
          } finally {
            attempt.done()
          }
        }
        if (silent.get(peer)?.ids === ids) silent.delete(peer)
      })()
    },
    onConnect (cb) { connectCbs.add(cb); return () => connectCbs.delete(cb) },
    onDisconnect (cb) { disconnectCbs.add(cb); return () => disconnectCbs.delete(cb) },
  }
  return host
}

/**
 * The deadline of one fresh dial: `connectMs` for the TCP connect (a SYN lost in a partition is
 * retransmitted only after 1 s, so a new attempt with a new SYN is quicker), then 5 s for the
 * handshake once the socket is connected (a peer that is slow or frozen still gets the chance to
 * answer). A deadline that fires late — this process itself stalled — is given one more turn, so a
 * connect that completed meanwhile is not aborted unread.
 */
function freshDialAttempt (connectMs: number): { signal: AbortSignal, onProgress: (evt: { type: string }) => void, done: () => void } {
  const ac = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const arm = (ms: number): void => {
    if (timer !== undefined) clearTimeout(timer)
    const due = Date.now() + ms
    timer = setTimeout(() => {
      if (Date.now() - due > 100) { arm(50); return }
      ac.abort(new DialError(`no connection within ${ms} ms`))
    }, ms)
    timer.unref()
  }
  arm(connectMs)
  let connected = false
  return {
    signal: ac.signal,
    onProgress (evt) {
      if (!connected && evt.type.startsWith('upgrader:')) { connected = true; arm(5000) }
    },
    done () { if (timer !== undefined) clearTimeout(timer) },
  }
}
