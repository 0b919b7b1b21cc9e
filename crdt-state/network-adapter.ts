/**
 * automerge-repo NetworkAdapter over mesh FramedChannels (one libp2p stream per peer on DOC_PROTOCOL).
 *
 * automerge-repo peer ids ARE libp2p peer ids here, so every inbound message's senderId must equal
 * the Noise-authenticated remote peer of the channel it came on; anything else is dropped. Only
 * the swarm document is served: messages about other document ids are dropped too (otherwise a peer
 * could make us create and store arbitrary documents). Sync data passes the authorship check before
 * automerge-repo sees it.
 */
import { randomBytes } from 'node:crypto'
import { NetworkAdapter, type Message, type PeerId, type PeerMetadata, type StorageId } from '@automerge/automerge-repo'
import type { Logger } from '../common/log.ts'
import { BoundedQueue } from '../common/queue.ts'
import type { FramedChannel, PeerIdString } from '../mesh/interfaces.ts'
import type { DropReason, SendDropReason, SwarmDocumentCounters } from './interfaces.ts'
import type { Verdict } from './authorship.ts'
import { decodeFrame, encodeHello, encodeMessage, type Hello, type WireMessage } from './wire.ts'

export interface ChannelAdapterConfig {
  peerId: PeerIdString
  documentId: string
  maxFrameBytes: number
  sendQueueFrames: number
  /** First cooldown after a peer sent unauthorized changes; doubles per strike up to 64×. */
  rejectCooldownMs: number
  /** A channel whose peer has not said hello by then is closed. Default 10 s. */
  helloTimeoutMs?: number
  /**
   * Initial sync with one peer first: the first peer that attaches is the seed; every other peer is
   * held (no hello sent, not announced to the repo) until this document holds the heads the seed
   * advertised, the seed goes away, the seed stays silent this many milliseconds, or four times
   * this long passed. Without it a new peer pulls the whole document from every member at once.
   * 0 or absent: no seed phase.
   */
  initialSyncTimeoutMs?: number
}

/** Channels kept per peer at once: two (both sides dialled) plus slack for a reconnect in progress. */
const MAX_LINKS_PER_PEER = 4

/** Peers remembered in the cooldown table at most (oldest forgotten first). */
const MAX_PENALIZED = 1024

export interface ChannelAdapterDeps {
  logger: Logger
  /** Authorship check of sync data, before merge. */
  authorize: (syncData: Uint8Array, from: PeerIdString) => Verdict
  /** Whether the local document holds all these change hashes (ends the seed phase). Required with `initialSyncTimeoutMs`. */
  hasHeads?: (heads: string[]) => boolean
}

interface Link {
  channel: FramedChannel
  nonce: string
  remote?: Hello
  queue: BoundedQueue<Uint8Array>
  helloTimer?: ReturnType<typeof setTimeout>
  /** Held during the seed phase: our hello is not sent and the peer is not announced until released. */
  held?: PromiseWithResolvers<void>
}

/**
 * The seed phase: `seeking` until the first channel attaches, `seeding` while syncing with that
 * peer alone, `open` once every peer syncs.
 */
type SeedPhase =
  | { state: 'seeking' }
  | { state: 'seeding', peer: PeerIdString, startedAt: number, timer?: ReturnType<typeof setTimeout>, heads?: string[] }
  | { state: 'open' }

/**
 * The seed phase lasts at most this many times `initialSyncTimeoutMs`, however busy the seed. With
 * the default (2 s) that stays below the 10 s a held peer waits for our hello before it hangs up.
 */
const SEED_PHASE_MAX_FACTOR = 4

interface PeerLinks {
  active?: Link
  links: Set<Link>
}

export function newCounters (): SwarmDocumentCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dropped: { oversized: 0, malformed: 0, 'before-hello': 0, 'spoofed-sender': 0, 'wrong-target': 0, 'foreign-document': 0, 'unsupported-type': 0, unauthorized: 0 },
    sendDropped: { 'no-route': 0, oversized: 0, overflow: 0 },
    rejectedChanges: { 'unknown-actor': 0, revoked: 0, 'not-member': 0, 'forged-genesis': 0, malformed: 0 },
    channelsReplaced: 0,
    channelsRefused: 0,
  }
}

const linkRank = (l: Link): string => {
  const a = l.nonce
  const b = l.remote?.nonce ?? ''
  return a < b ? a + b : b + a
}

export class ChannelNetworkAdapter extends NetworkAdapter {
  readonly counters: SwarmDocumentCounters = newCounters()
  private readonly config: ChannelAdapterConfig
  private readonly log: Logger
  private readonly authorize: ChannelAdapterDeps['authorize']
  private readonly session = randomBytes(12).toString('hex')
  private readonly peers = new Map<PeerIdString, PeerLinks>()
  private readonly connected: Promise<void>
  private resolveConnected!: () => void
  private readonly penalties = new Map<PeerIdString, { until: number, strikes: number }>()
  private meta: PeerMetadata = {}
  private closed = false
  private seed: SeedPhase
  private readonly hasHeads: ChannelAdapterDeps['hasHeads']
  private readonly seedDone = Promise.withResolvers<void>()

  constructor (config: ChannelAdapterConfig, deps: ChannelAdapterDeps) {
    super()
    this.config = config
    this.log = deps.logger
    this.authorize = deps.authorize
    this.hasHeads = deps.hasHeads
    this.seed = (config.initialSyncTimeoutMs ?? 0) > 0 && deps.hasHeads !== undefined ? { state: 'seeking' } : { state: 'open' }
    if (this.seed.state === 'open') this.seedDone.resolve()
    this.connected = new Promise(resolve => { this.resolveConnected = resolve })
  }

  // A peer with no network still has its document: the adapter is ready with zero channels.
  isReady (): boolean { return true }
  whenReady (): Promise<void> { return Promise.resolve() }

  connect (peerId: PeerId, peerMetadata?: PeerMetadata): void {
    if (peerId !== this.config.peerId) this.log.warn({ repoPeerId: peerId, peerId: this.config.peerId }, 'repo peer id differs from the libp2p peer id')
    this.peerId = peerId
    this.meta = peerMetadata ?? {}
    this.peerMetadata = this.meta
    this.resolveConnected()
  }

  disconnect (): void {
    this.closed = true
    this.openSeedPhase('stopped')
    // Pumps still waiting for connect() must wake up and see `closed`.
    this.resolveConnected()
    for (const [, p] of this.peers) for (const l of p.links) this.closeLink(l)
    this.peers.clear()
    this.emit('close')
  }

  connectedPeers (): PeerIdString[] {
    return [...this.peers].filter(([, p]) => p.active !== undefined).map(([id]) => id)
  }

  /** Resolves when the initial sync phase ends (at once without one). */
  whenSeeded (): Promise<void> { return this.seedDone.promise }

  /** Takes ownership of a channel; greets, then reads until it closes. */
  attach (channel: FramedChannel): void {
    if (this.closed) { channel.abort(); return }
    if (channel.remotePeer === this.config.peerId) {
      this.log.warn('refusing a document channel to ourselves')
      channel.abort()
      return
    }
    const penalty = this.penalties.get(channel.remotePeer)
    if (penalty !== undefined && penalty.until > Date.now()) {
      this.counters.channelsRefused++
      this.log.warn({ peer: channel.remotePeer, retryInMs: penalty.until - Date.now() }, 'refusing a document channel from a peer that sent unauthorized changes; it may retry after the cooldown')
      channel.abort()
      return
    }
    const link: Link = {
      channel,
      nonce: randomBytes(12).toString('hex'),
      // drop-newest: a peer that cannot keep up loses its channel (see enqueue) and resyncs on the next one.
      queue: new BoundedQueue<Uint8Array>(this.config.sendQueueFrames, 'drop-newest'),
    }
    const entry = this.peers.get(channel.remotePeer) ?? { links: new Set<Link>() }
    if (entry.links.size >= MAX_LINKS_PER_PEER) {
      this.counters.channelsRefused++
      this.log.warn({ peer: channel.remotePeer, open: entry.links.size }, 'too many document channels from one peer; refusing another')
      channel.abort()
      return
    }
    link.helloTimer = setTimeout(() => {
      if (link.remote !== undefined) return
      this.log.warn({ peer: channel.remotePeer }, 'document channel never greeted; closing it')
      link.channel.abort()
    }, this.config.helloTimeoutMs ?? 10_000)
    // A pending greeting must not keep the process alive.
    link.helloTimer.unref?.()
    if (this.seed.state === 'seeking') this.startSeeding(channel.remotePeer)
    if (this.seed.state === 'seeding' && this.seed.peer !== channel.remotePeer) link.held = Promise.withResolvers<void>()
    entry.links.add(link)
    this.peers.set(channel.remotePeer, entry)
    void this.pump(link)
    void this.read(link)
  }

  detach (peerId: PeerIdString): void {
    const entry = this.peers.get(peerId)
    if (entry === undefined) return
    if (this.seed.state === 'seeding' && this.seed.peer === peerId) this.openSeedPhase('seed detached')
    this.peers.delete(peerId)
    for (const l of entry.links) this.closeLink(l)
    if (entry.active !== undefined) this.emit('peer-disconnected', { peerId: peerId as PeerId })
  }

  send (message: Message): void {
    const entry = this.peers.get(message.targetId)
    const link = entry?.active
    if (link === undefined) {
      this.counters.sendDropped['no-route']++
      this.log.debug({ peer: message.targetId, type: message.type }, 'no channel to peer; message dropped')
      return
    }
    if (message.type !== 'sync' && message.type !== 'request' && message.type !== 'doc-unavailable') {
      // Ephemeral and remote-heads messages are not part of this protocol.
      this.counters.sendDropped['no-route']++
      return
    }
    const wire: WireMessage = { type: message.type, senderId: message.senderId, targetId: message.targetId, documentId: message.documentId ?? '' }
    if (message.data !== undefined) wire.data = message.data
    const frame = encodeMessage(wire)
    if (frame.byteLength > this.config.maxFrameBytes) {
      this.counters.sendDropped.oversized++
      this.log.error({ peer: message.targetId, bytes: frame.byteLength, max: this.config.maxFrameBytes },
        'sync message exceeds the frame limit and cannot be sent; the document is too large — remove bulky records')
      return
    }
    this.enqueue(link, frame)
  }

  private enqueue (link: Link, frame: Uint8Array): void {
    if (!link.queue.push(frame)) {
      this.counters.sendDropped.overflow++
      this.log.warn({ peer: link.channel.remotePeer, queued: link.queue.size }, 'peer does not keep up with document sync; closing its channel (it resyncs on the next one)')
      link.channel.abort()
    }
  }

  private async pump (link: Link): Promise<void> {
    await this.connected
    if (this.closed) return
    if (link.held !== undefined) {
      await link.held.promise
      if (this.closed || link.queue.isClosed) return
    }
    const hello: Hello = { peerId: this.config.peerId, session: this.session, nonce: link.nonce, meta: {} }
    if (this.meta.storageId !== undefined) hello.meta.storageId = this.meta.storageId
    if (this.meta.isEphemeral !== undefined) hello.meta.isEphemeral = this.meta.isEphemeral
    try {
      await link.channel.send(encodeHello(hello))
      for await (const frame of link.queue) {
        await link.channel.send(frame)
        this.counters.framesOut++
        this.counters.bytesOut += frame.byteLength
      }
    } catch (err) {
      this.log.debug({ err, peer: link.channel.remotePeer }, 'document channel send failed')
      link.channel.abort()
    }
  }

  private async read (link: Link): Promise<void> {
    const peer = link.channel.remotePeer
    try {
      for await (const frame of link.channel) {
        this.counters.framesIn++
        this.counters.bytesIn += frame.byteLength
        if (this.seed.state === 'seeding' && this.seed.peer === peer) this.armSeedTimer()
        this.onFrame(link, frame)
      }
    } catch (err) {
      this.log.debug({ err, peer }, 'document channel read failed')
    } finally {
      clearTimeout(link.helloTimer)
      link.queue.close()
      this.onLinkClosed(link)
    }
  }

  private drop (reason: DropReason, link: Link, detail: Record<string, unknown>): void {
    this.counters.dropped[reason]++
    this.log.warn({ peer: link.channel.remotePeer, reason, ...detail }, 'dropped document frame')
  }

  private onFrame (link: Link, frame: Uint8Array): void {
    const peer = link.channel.remotePeer
    if (frame.byteLength > this.config.maxFrameBytes) {
      this.drop('oversized', link, { bytes: frame.byteLength, max: this.config.maxFrameBytes })
      return
    }
    const decoded = decodeFrame(frame)
    switch (decoded.kind) {
      case 'malformed':
        this.drop('malformed', link, { problem: decoded.problem, bytes: frame.byteLength })
        return
      case 'unsupported':
        this.drop('unsupported-type', link, { type: decoded.type })
        return
      case 'hello':
        if (decoded.hello.peerId !== peer) {
          this.drop('spoofed-sender', link, { claimed: decoded.hello.peerId })
          return
        }
        if (link.remote !== undefined) {
          this.drop('malformed', link, { problem: 'second hello on one channel' })
          return
        }
        link.remote = decoded.hello
        clearTimeout(link.helloTimer)
        this.onGreeted(link)
        return
      case 'message': {
        const m = decoded.message
        if (link.remote === undefined) { this.drop('before-hello', link, { type: m.type }); return }
        if (m.senderId !== peer) { this.drop('spoofed-sender', link, { claimed: m.senderId }); return }
        if (m.targetId !== this.config.peerId) { this.drop('wrong-target', link, { target: m.targetId }); return }
        if (m.documentId !== this.config.documentId) { this.drop('foreign-document', link, { documentId: m.documentId }); return }
        let heads: string[] | undefined
        if (m.data !== undefined) {
          const verdict = this.authorize(m.data, peer)
          if (!verdict.ok) {
            this.counters.rejectedChanges[verdict.reason]++
            if (verdict.reason === 'malformed') {
              this.drop('malformed', link, { problem: verdict.detail })
              return
            }
            this.drop('unauthorized', link, { reason: verdict.reason, actor: verdict.actor, detail: verdict.detail })
            this.penalize(peer)
            return
          }
          heads = verdict.heads
        }
        if (link !== this.peers.get(peer)?.active) {
          // In flight on a channel that just lost the duplicate-channel ranking; the repo resyncs on the kept one.
          this.log.debug({ peer }, 'message on a replaced channel ignored')
          return
        }
        this.emit('message', m as Message)
        if (this.seed.state === 'seeding' && this.seed.peer === peer && heads !== undefined) this.onSeedMessage(heads)
      }
    }
  }

  /**
   * A peer whose history holds a change we refuse can never sync with us: every later message of
   * its repo builds on that change, and the two sync states would ping-pong forever (measured: a
   * tight loop of ~170-byte messages). So its channels are closed and refused for a cooldown that
   * doubles with every strike; each retry costs one exchange.
   */
  private penalize (peer: PeerIdString): void {
    const prev = this.penalties.get(peer)
    const strikes = (prev?.strikes ?? 0) + 1
    const cooldown = this.config.rejectCooldownMs * 2 ** Math.min(strikes - 1, 6)
    this.penalties.delete(peer)
    this.penalties.set(peer, { until: Date.now() + cooldown, strikes })
    if (this.penalties.size > MAX_PENALIZED) {
      const oldest = this.penalties.keys().next().value
      if (oldest !== undefined) this.penalties.delete(oldest)
    }
    this.log.warn({ peer, strikes, cooldownMs: cooldown }, 'peer sent unauthorized changes; closing its document channels')
    this.detach(peer)
  }

  private onGreeted (link: Link): void {
    const peer = link.channel.remotePeer
    const entry = this.peers.get(peer)
    if (entry === undefined || !entry.links.has(link)) return
    // Announced when the seed phase ends (openSeedPhase).
    if (link.held !== undefined) return
    const current = entry.active
    if (current === undefined) {
      entry.active = link
      this.announce(peer, link)
      return
    }
    // Both sides dialled, or the peer restarted before we noticed the old channel die. A new session
    // always wins (the old channel is dead or dying); within one session both ends keep the channel
    // with the lower nonce pair, so they agree without talking.
    const keepNew = current.remote?.session !== link.remote?.session || linkRank(link) < linkRank(current)
    const loser = keepNew ? current : link
    if (keepNew) {
      entry.active = link
      // A fresh sync state: whatever was in flight on the old channel may be lost.
      this.emit('peer-disconnected', { peerId: peer as PeerId })
      this.announce(peer, link)
    }
    this.counters.channelsReplaced++
    this.log.debug({ peer, keptNew: keepNew }, 'duplicate document channel; closing one')
    entry.links.delete(loser)
    this.closeLink(loser)
  }

  private announce (peer: PeerIdString, link: Link): void {
    const meta: PeerMetadata = {}
    if (link.remote?.meta.storageId !== undefined) meta.storageId = link.remote.meta.storageId as StorageId
    if (link.remote?.meta.isEphemeral !== undefined) meta.isEphemeral = link.remote.meta.isEphemeral
    this.emit('peer-candidate', { peerId: peer as PeerId, peerMetadata: meta })
  }

  private onLinkClosed (link: Link): void {
    const peer = link.channel.remotePeer
    link.held?.resolve()
    const entry = this.peers.get(peer)
    if (this.seed.state === 'seeding' && this.seed.peer === peer && (entry === undefined || [...entry.links].every(l => l === link))) {
      this.openSeedPhase('seed channel closed')
    }
    if (entry === undefined || !entry.links.delete(link)) return
    if (entry.active !== link) {
      if (entry.links.size === 0 && entry.active === undefined) this.peers.delete(peer)
      return
    }
    entry.active = undefined
    this.emit('peer-disconnected', { peerId: peer as PeerId })
    // Fall back to another greeted channel to the same peer, if any.
    const next = [...entry.links].filter(l => l.remote !== undefined).sort((a, b) => linkRank(a) < linkRank(b) ? -1 : 1)[0]
    if (next !== undefined) {
      entry.active = next
      this.announce(peer, next)
    } else if (entry.links.size === 0) {
      this.peers.delete(peer)
    }
  }

  private startSeeding (peer: PeerIdString): void {
    this.seed = { state: 'seeding', peer, startedAt: Date.now() }
    this.armSeedTimer()
    this.log.debug({ peer, timeoutMs: this.config.initialSyncTimeoutMs }, 'initial document sync with one peer first')
  }

  /** (Re)starts the silence timer: every frame from the seed shows it is still sending. */
  private armSeedTimer (): void {
    if (this.seed.state !== 'seeding') return
    const timeoutMs = this.config.initialSyncTimeoutMs ?? 0
    const left = this.seed.startedAt + SEED_PHASE_MAX_FACTOR * timeoutMs - Date.now()
    clearTimeout(this.seed.timer)
    this.seed.timer = setTimeout(() => this.openSeedPhase(left <= timeoutMs ? 'time limit' : 'seed silent'), Math.max(0, Math.min(timeoutMs, left)))
    this.seed.timer.unref?.()
  }

  /**
   * The seed advertises its heads in every sync message. Once this document holds them, it has
   * (at least) everything the seed had: the other peers then only send what the seed lacked. The
   * repo may apply a message after a storage read, so the check also runs on every document change
   * (`documentChanged`).
   */
  private onSeedMessage (heads: string[]): void {
    if (this.seed.state !== 'seeding') return
    this.seed.heads = heads
    this.checkSeeded()
  }

  /** Called by the document on every change: the seed phase may be over. */
  documentChanged (): void {
    if (this.seed.state === 'seeding') this.checkSeeded()
  }

  private checkSeeded (): void {
    if (this.seed.state !== 'seeding' || this.seed.heads === undefined) return
    const heads = this.seed.heads
    let done = false
    try { done = this.hasHeads?.(heads) ?? true } catch (err) {
      this.log.warn({ err }, 'checking the document heads failed; ending the initial sync phase')
      done = true
    }
    if (done) this.openSeedPhase('synced')
  }

  /** Ends the seed phase: held peers get our hello and are announced to the repo. */
  private openSeedPhase (why: string): void {
    if (this.seed.state === 'open') return
    if (this.seed.state === 'seeding') {
      clearTimeout(this.seed.timer)
      this.log.info({ peer: this.seed.peer, why, ms: Date.now() - this.seed.startedAt }, 'initial document sync done; syncing with every peer')
    }
    this.seed = { state: 'open' }
    this.seedDone.resolve()
    for (const [, entry] of this.peers) {
      for (const link of entry.links) {
        if (link.held === undefined) continue
        const held = link.held
        delete link.held
        held.resolve()
        if (link.remote !== undefined && !this.closed) this.onGreeted(link)
      }
    }
  }

  private closeLink (link: Link): void {
    link.queue.close()
    // Give queued frames a chance to leave; close() is graceful, abort() the fallback inside it.
    link.channel.close().catch(() => link.channel.abort())
  }
}
