import { readFile, writeFile, rename, mkdir } from 'node:fs/promises'
import { availableParallelism, totalmem } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../../common/log.ts'
import { SwarmflowError, UsageError } from '../../common/errors.ts'
import {
  createMeshHost, createLiveness, createMembership, HEARTBEAT_PROTOCOL, NotAdmittedError,
  type MeshHost, type Liveness, type Membership, type Hello, type FramedChannel, type PeerIdString, type MemberState,
} from '../../mesh/index.ts'
import { createSwarmDocument, DOC_PROTOCOL, type SwarmDocument, type MemberRecord } from '../../crdt-state/index.ts'
import { createControlServer, type ControlServer, type ControlHandler } from '../control/index.ts'
import type { PeerConfig } from '../config/index.ts'
import type { Trust } from './trust.ts'
import { createAdmissions } from './admissions.ts'
import { keepChannelOpen } from './keeper.ts'

export const SOFTWARE_VERSION = '0.1.0'

export interface PeerRuntimeOptions {
  config: PeerConfig
  trust: Trust
  logger: Logger
  /** Extra control routes (dataflows, zenoh, …) added by later layers. */
  routes?: Record<string, ControlHandler>
}

export interface MemberView {
  name: string
  id: PeerIdString
  state: MemberState
  caps: string[]
  labels: Record<string, string>
  lastSeen: number | null
  addresses: string[]
  self: boolean
  publicKey: string
}

export interface PeerRuntime {
  readonly peerId: PeerIdString
  readonly host: MeshHost
  readonly doc: SwarmDocument
  readonly liveness: Liveness
  readonly membership: Membership
  readonly control: ControlServer
  readonly startedAt: number
  start(): Promise<void>
  stop(): Promise<void>
  members(): MemberView[]
  /** Peers not confirmed dead (alive or suspect), including ourselves: the live set placement uses. */
  livePeers(): PeerIdString[]
  status(): Record<string, unknown>
  addRoutes(routes: Record<string, ControlHandler>): void
  /** Adds a named counter source to the control API's GET /metrics. */
  addMetrics(name: string, fn: () => unknown): void
  /** Adds fields to `peer status` (e.g. the zenoh endpoint). */
  extendStatus(fn: () => Record<string, unknown>): void
  onAdmitted(cb: (peer: PeerIdString) => void): () => void
  /** Opens a protocol channel to an admitted peer. */
  open(peer: PeerIdString, protocol: string, opts?: { maxFrameBytes?: number }): Promise<FramedChannel>
  /**
   * Keeps one long-lived channel per admitted peer on `protocol`, opened by the peer with the lower
   * id: opened on admission and reopened with backoff whenever it closes while the peer is still
   * admitted (a slow-peer close, a cooldown, a reset stream).
   */
  keepChannels(protocol: string, attach: (ch: FramedChannel) => void, opts?: { maxFrameBytes?: number }): void
  /** Registers a protocol that only admitted members may use. */
  handleMembers(protocol: string, handler: (ch: FramedChannel) => void, opts?: { maxFrameBytes?: number }): Promise<void>
}

/** Peers this one wants to stay in touch with, kept across restarts so a swarm re-forms by itself. */
const PEERS_FILE = 'peers.json'

/**
 * The peer process: mesh host + admission + liveness + swarm document + control API.
 * Revocations and failed admissions feed the connection gater; members' addresses are remembered.
 */
export async function createPeerRuntime (opts: PeerRuntimeOptions): Promise<PeerRuntime> {
  const { config, trust } = opts
  const log = opts.logger
  const selfId = trust.peerId
  const startedAt = Date.now()
  const routes: Record<string, ControlHandler> = { ...opts.routes }
  /** Temporarily refused peers (failed admission): peer → until (ms). */
  const refusedUntil = new Map<PeerIdString, number>()
  const REFUSE_MS = 30_000
  const admittedCbs = new Set<(peer: PeerIdString) => void>()
  const statusExtras: Array<() => Record<string, unknown>> = []

  const revokedPeer = (peer: PeerIdString): boolean => {
    try { return trust.isRevokedPeer(peer) } catch { return false }
  }
  const isDenied = (peer: PeerIdString): boolean => {
    const until = refusedUntil.get(peer)
    if (until !== undefined) {
      if (until > Date.now()) return true
      refusedUntil.delete(peer)
    }
    return revokedPeer(peer)
  }

  const host = await createMeshHost({
    listen: config.listen,
    bootstrap: config.bootstrap,
    mdns: config.mdns,
    mdnsServiceTag: `sf-${trust.swarm.id}`.slice(0, 60),
  }, { logger: log.child({ component: 'mesh' }), privateKey: trust.libp2pKey, isDenied })

  const doc = createSwarmDocument({ swarmId: trust.swarm.id, swarmName: trust.swarm.name, dataDir: config.dataDir }, {
    logger: log.child({ component: 'crdt-state' }),
    peerId: selfId,
    authz: trust.documentAuthz(() => doc),
  })
  trust.attachDocument(() => doc)

  const liveness = createLiveness({ intervalMs: config.heartbeatMs, suspectAfterMs: config.suspectMs, deadAfterMs: config.deadMs }, {
    logger: log.child({ component: 'liveness' }), selfId,
  })

  const localHello = (): Hello => ({
    cert: trust.certificate,
    name: config.name,
    caps: config.caps,
    labels: config.labels,
    addrs: host.multiaddrs(),
    version: SOFTWARE_VERSION,
  })

  const admissions = createAdmissions({
    doc,
    checkRedemption: trust.checkRedemption.bind(trust),
    logger: log.child({ component: 'admission' }),
    onInviteConflict (peer) {
      // Admitted before our first sync on an invite another key redeemed first: out, as if
      // refused (its next handshake is refused from the document).
      refusedUntil.set(peer, Date.now() + REFUSE_MS)
      cutOff(peer)
    },
  })

  const membership = createMembership({ timeoutMs: 5000 }, {
    logger: log.child({ component: 'admission' }),
    host,
    policy: {
      localHello,
      async verify (peer, hello) {
        // Throws to refuse: a bad certificate, or an invite another key already holds.
        admissions.admit(peer, hello, trust.verifyMember(peer, hello.cert))
      },
    },
  })

  const control = createControlServer({ dataDir: config.dataDir, listen: config.control }, { logger: log.child({ component: 'control' }), routes })

  // Channels of member-only protocols wait briefly for the handshake that runs concurrently.
  const whenMember = async (ch: FramedChannel): Promise<boolean> => {
    if (membership.isAdmitted(ch.remotePeer)) return true
    try {
      await membership.whenAdmitted(ch.remotePeer, { signal: AbortSignal.timeout(6000) })
      return true
    } catch {
      log.warn({ peer: ch.remotePeer, protocol: ch.protocol }, 'dropped channel from a peer that is not an admitted member')
      ch.abort(new NotAdmittedError(`peer ${ch.remotePeer} is not an admitted member`))
      return false
    }
  }

  const handleMembers = async (protocol: string, handler: (ch: FramedChannel) => void, hopts?: { maxFrameBytes?: number }): Promise<void> => {
    await host.handle(protocol, (ch) => { void whenMember(ch).then(ok => { if (ok) handler(ch) }) }, hopts)
  }

  const open = async (peer: PeerIdString, protocol: string, oopts?: { maxFrameBytes?: number }): Promise<FramedChannel> => {
    if (!membership.isAdmitted(peer)) throw new NotAdmittedError(`peer ${peer} is not an admitted member; cannot open ${protocol}`)
    return await host.open(peer, protocol, oopts)
  }

  const kept: Array<{ protocol: string, attach: (ch: FramedChannel) => void, opts?: { maxFrameBytes?: number } }> = []
  /** (peer, protocol) pairs with a keeper loop running. */
  const keeping = new Set<string>()
  const keep = (peer: PeerIdString, k: { protocol: string, attach: (ch: FramedChannel) => void, opts?: { maxFrameBytes?: number } }): void => {
    const id = `${peer} ${k.protocol}`
    if (keeping.has(id) || selfId >= peer) return
    keeping.add(id)
    void keepChannelOpen({
      open: async () => await open(peer, k.protocol, k.opts),
      attach: k.attach,
      wanted: () => !stopped && membership.isAdmitted(peer),
      onOpenFailed: err => log.debug({ peer, protocol: k.protocol, err: err.message }, 'could not open channel; retrying'),
    }).finally(() => keeping.delete(id))
  }

  // After admission, the peer with the lower id opens (and keeps) the long-lived channels.
  membership.onAdmitted((peer) => {
    refusedUntil.delete(peer)
    for (const k of kept) keep(peer, k)
    for (const cb of admittedCbs) { try { cb(peer) } catch (err) { log.error({ err }, 'admitted listener threw') } }
  })
  membership.onRefused((peer, err, byRemote) => {
    if (!byRemote) {
      // Refused by us: keep it out for a while (a revoked peer stays out for good via the gater).
      refusedUntil.set(peer, Date.now() + REFUSE_MS)
      void host.hangUp(peer)
    }
  })
  /** A member we no longer accept (revoked, or its admission undone): forgotten, its channels closed, hung up. */
  function cutOff (peer: PeerIdString): void {
    membership.forget(peer)
    doc.detachPeer(peer)
    liveness.connectionLost(peer)
    void host.hangUp(peer)
  }
  host.onDisconnect((peer) => {
    if (host.connectedPeers().includes(peer)) return
    membership.forget(peer)
    liveness.connectionLost(peer)
    doc.detachPeer(peer)
  })

  // A member whose heartbeats stop arriving on our own link while we stay connected to it is, most
  // likely, behind a partition: the connection stalled, and once the network is back it resumes only
  // when TCP retransmits (its back-off has grown to seconds by then). It is dialled afresh beside the
  // silent connection, which is closed only once the fresh one works (host.replaceSilent). It is not
  // hung up: a frozen peer that resumes must still find its connections (hanging up made it see every
  // member gone and keep its nodes running for > 15 s). After a stall of our own every link looks
  // silent; that view is ours, not the links', so it waits for the dead time before judging again.
  const sweepMs = Math.max(50, Math.min(250, config.heartbeatMs))
  let lastSweep = Date.now()
  let judgeLinksFrom = 0
  const sweepSilentLinks = (): void => {
    const now = Date.now()
    if (now - lastSweep > config.suspectMs) judgeLinksFrom = now + config.deadMs
    lastSweep = now
    if (now < judgeLinksFrom) return
    const connected = new Set(host.connectedPeers())
    for (const l of liveness.list()) {
      const peer = l.peerId
      if (!connected.has(peer) || !membership.isAdmitted(peer)) continue
      const silence = liveness.directSilence(peer)
      if (silence === undefined || silence < config.deadMs) continue
      // no heartbeat link but vouched for by others: the keeper is reopening the channel; a link
      // that exists and stays silent, or a member nobody hears, is a connection problem
      if (!l.direct && l.state !== 'dead') continue
      host.replaceSilent(peer, { silentForMs: config.deadMs, stillSilent: () => (liveness.directSilence(peer) ?? Infinity) >= config.suspectMs })
    }
  }
  let sweepTimer: NodeJS.Timeout | undefined

  const applyRoster = (): void => {
    const members = doc.listMembers()
    liveness.setRoster(members.filter(m => !doc.isRevoked(m.publicKey)).map(m => m.peerId))
    // The document is a discovery source too: every member's advertised addresses are kept dialled.
    host.want(members.filter(m => m.peerId !== selfId && !doc.isRevoked(m.publicKey))
      .flatMap(m => m.addresses.filter(a => !a.includes('/ip4/0.0.0.0/') && !a.includes('/ip6/::/')).map(a => a.includes('/p2p/') ? a : `${a}/p2p/${m.peerId}`)))
    for (const m of members) {
      if (m.peerId !== selfId && doc.isRevoked(m.publicKey) && (host.connectedPeers().includes(m.peerId) || membership.isAdmitted(m.peerId))) {
        log.warn({ peer: m.peerId, name: m.name }, 'member revoked: disconnecting')
        cutOff(m.peerId)
      }
    }
  }

  // Declared so placement can honour nodes' resource needs (a member declaring none gets none of those nodes).
  const resources = { cpu: availableParallelism(), memory_mb: Math.floor(totalmem() / (1024 * 1024)) }
  const writeSelfRecord = (): void => {
    const existing = doc.getMember(selfId)
    const addrs = host.multiaddrs()
    const same = existing !== undefined && existing.name === config.name && existing.certificate === trust.certificate &&
      JSON.stringify(existing.caps) === JSON.stringify(config.caps) && JSON.stringify(existing.labels) === JSON.stringify(config.labels) &&
      JSON.stringify(existing.addresses) === JSON.stringify(addrs) && existing.softwareVersion === SOFTWARE_VERSION &&
      JSON.stringify(existing.resources) === JSON.stringify(resources)
    if (same) return
    const rec: MemberRecord = {
      peerId: selfId, publicKey: trust.publicKeyHex, certificate: trust.certificate, name: config.name,
      caps: config.caps, labels: config.labels, resources, addresses: addrs,
      softwareVersion: SOFTWARE_VERSION, joinedAt: existing?.joinedAt ?? Date.now(), updatedAt: Date.now(),
    }
    doc.upsertMember(rec)
  }

  // Remembered peers.
  const peersFile = join(config.dataDir, PEERS_FILE)
  const loadRemembered = async (): Promise<string[]> => {
    try {
      const v = JSON.parse(await readFile(peersFile, 'utf8')) as unknown
      return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : []
    } catch { return [] }
  }
  const saveRemembered = async (): Promise<void> => {
    const addrs = new Set<string>()
    for (const m of doc.listMembers()) {
      if (m.peerId === selfId || doc.isRevoked(m.publicKey)) continue
      for (const a of host.peerAddrs(m.peerId)) addrs.add(a.includes('/p2p/') ? a : `${a}/p2p/${m.peerId}`)
      for (const a of m.addresses) if (!a.includes('/ip4/0.0.0.0/')) addrs.add(a.includes('/p2p/') ? a : `${a}/p2p/${m.peerId}`)
    }
    const tmp = `${peersFile}.tmp`
    await writeFile(tmp, JSON.stringify([...addrs].slice(0, 256), null, 1))
    await rename(tmp, peersFile)
  }
  let rememberTimer: NodeJS.Timeout | undefined
  let started = false
  let stopped = false

  const members = (): MemberView[] => {
    const live = new Map(liveness.list().map(l => [l.peerId, l]))
    return doc.listMembers().filter(m => !doc.isRevoked(m.publicKey)).map(m => {
      const self = m.peerId === selfId
      const l = live.get(m.peerId)
      return {
        name: m.name, id: m.peerId, state: self ? 'alive' : (l?.state ?? 'dead'), caps: m.caps, labels: m.labels,
        lastSeen: self ? Date.now() : (l?.lastSeen ?? null), addresses: self ? host.multiaddrs() : (host.peerAddrs(m.peerId).length ? host.peerAddrs(m.peerId) : m.addresses),
        self, publicKey: m.publicKey,
      }
    }).sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  }

  const status = (): Record<string, unknown> => {
    const ms = members()
    return {
      id: selfId,
      name: config.name,
      swarm: { id: trust.swarm.id, name: trust.swarm.name },
      listen: host.multiaddrs(),
      dataDir: config.dataDir,
      uptimeMs: Date.now() - startedAt,
      startedAt,
      pid: process.pid,
      version: SOFTWARE_VERSION,
      admin: trust.isAdmin,
      membersAlive: ms.filter(m => m.state === 'alive').length,
      membersTotal: ms.length,
      ...Object.assign({}, ...statusExtras.map(f => f())),
    }
  }

  routes['GET /status'] = async () => runtime.status()
  routes['GET /members'] = async () => members()
  const metricSources: Record<string, () => unknown> = {
    doc: () => doc.counters(),
    liveness: () => liveness.counters,
    admission: () => ({ ...membership.counters, ...admissions.counters }),
  }
  // Every guarded drop in the peer is counted somewhere; this gathers the counters in one place.
  routes['GET /metrics'] = async () => Object.fromEntries(Object.entries(metricSources).map(([k, f]) => [k, f()]))
  routes['POST /revoke'] = async ({ body }) => {
    const target = typeof (body as { peer?: unknown })?.peer === 'string' ? (body as { peer: string }).peer : ''
    const reason = typeof (body as { reason?: unknown })?.reason === 'string' ? (body as { reason: string }).reason : 'revoked by admin'
    const all = doc.listMembers()
    const matches = all.filter(m => m.peerId === target || m.name === target)
    if (matches.length === 0) throw new UsageError(`no member named or with id '${target}'; see 'peer members'`)
    if (matches.length > 1) throw new UsageError(`'${target}' names ${matches.length} members; use the peer id instead`)
    const m = matches[0] as MemberRecord
    if (m.peerId === selfId) throw new UsageError('a peer cannot revoke itself; revoke it from another admin member')
    const revocation = trust.makeRevocation(m.publicKey, reason)
    doc.addRevocation({ publicKey: m.publicKey, revocation, reason, revokedAt: Date.now(), revokedBy: selfId })
    applyRoster()
    return { id: m.peerId, name: m.name }
  }

  const runtime: PeerRuntime = {
    peerId: selfId,
    host,
    doc,
    liveness,
    membership,
    control,
    startedAt,
    async start () {
      if (started) return
      started = true
      try {
        await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
        await doc.start()
        await doc.whenReady({ signal: AbortSignal.timeout(30_000) })
        doc.onChange((evt) => {
          if (evt.sections.has('members') || evt.sections.has('revocations')) applyRoster()
        })
        // The channel's limit sits above the document's own (8 MiB): an oversized sync frame is then
        // dropped and counted by the document instead of closing the channel.
        const docFrames = { maxFrameBytes: 9 * 1024 * 1024 }
        await handleMembers(DOC_PROTOCOL, ch => doc.attachPeer(ch), docFrames)
        await handleMembers(HEARTBEAT_PROTOCOL, ch => liveness.attach(ch), { maxFrameBytes: 256 * 1024 })
        runtime.keepChannels(DOC_PROTOCOL, ch => doc.attachPeer(ch), docFrames)
        runtime.keepChannels(HEARTBEAT_PROTOCOL, ch => liveness.attach(ch), { maxFrameBytes: 256 * 1024 })
        await membership.start()
        await host.start()
        writeSelfRecord()
        applyRoster()
        liveness.start()
        lastSweep = Date.now()
        sweepTimer = setInterval(sweepSilentLinks, sweepMs)
        sweepTimer.unref()
        host.want(await loadRemembered())
        await control.start()
        rememberTimer = setInterval(() => { saveRemembered().catch(err => log.debug({ err }, 'could not save remembered peers')) }, 10_000)
        rememberTimer.unref()
        log.info({ peerId: selfId, name: config.name, swarm: trust.swarm.name, addrs: host.multiaddrs() }, 'peer started')
      } catch (err) {
        await runtime.stop().catch(() => {})
        throw err
      }
    },
    async stop () {
      if (stopped) return
      stopped = true
      admissions.close()
      if (rememberTimer) clearInterval(rememberTimer)
      if (sweepTimer) clearInterval(sweepTimer)
      if (started) await saveRemembered().catch(() => {})
      await control.stop().catch(err => log.warn({ err }, 'control stop failed'))
      liveness.stop()
      membership.stop()
      await host.stop().catch(err => log.warn({ err }, 'mesh stop failed'))
      await doc.stop().catch(err => log.warn({ err }, 'document stop failed'))
      log.info('peer stopped')
    },
    members,
    livePeers () {
      // Placement reacts to membership changes only after suspicion (ARCHITECTURE.md): a suspect
      // peer keeps its nodes until it is confirmed dead, so lossy radio does not flap placements.
      return [selfId, ...liveness.list().filter(l => l.state !== 'dead').map(l => l.peerId)]
    },
    status,
    addRoutes (r) { Object.assign(routes, r) },
    extendStatus (fn) { statusExtras.push(fn) },
    addMetrics (name, fn) { metricSources[name] = fn },
    onAdmitted (cb) { admittedCbs.add(cb); return () => admittedCbs.delete(cb) },
    open,
    handleMembers,
    keepChannels (protocol, attach, kopts) {
      const k = { protocol, attach, ...(kopts ? { opts: kopts } : {}) }
      kept.push(k)
      for (const peer of membership.admitted().keys()) keep(peer, k)
    },
  }
  return runtime
}

export class NotAMemberError extends SwarmflowError {}
