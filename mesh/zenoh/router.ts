/**
 * The Zenoh router embedded in every peer: a zenoh-ts remote-api endpoint for local clients and
 * a path-vector router between peers over FramedChannels (see mesh-proto.ts for the model).
 */
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { isIP } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { KeyExpr } from '@eclipse-zenoh/zenoh-ts'
import type { Logger } from '../../common/log.ts'
import type { FramedChannel, PeerIdString } from '../interfaces.ts'
import { ZenohListenError, ZenohRouterConfigError } from './errors.ts'
import type { LocalClient, LocalClientSession, ZenohRouter, ZenohRouterConfig, ZenohRouterCounters, ZenohRouterDeps, ZenohRouterStatus } from './interfaces.ts'
import {
  DEFAULT_TTL, K, MAX_PATH, T, decodeMeshFrame, encodeMeshFrame,
  type DeclKind, type FinalMsg, type MeshMsg, type PutMsg, type QueryMsg, type ReplyMsg, type WireDecl,
} from './mesh-proto.ts'
import type { Uint8ArrayList } from 'uint8arraylist'
import { Outbox } from './outbox.ts'
import { Session, encodeLivelinessSample, encodeSampleFrame, forSubscriber, type ClientFrame } from './session.ts'
import type { LocalLivSub, LocalQbl, LocalSub, LocalToken, MatchListener, QueryData, QuerySink, ReplyData, Sample, SessionRef } from './types.ts'
import { Consolidation, Locality, ReplyKeyExprPolicy, Target, Writer, decodeQuerySettings, encodeTimestamp, patchU32, qosLocality, timestampNtp } from './wire.ts'

interface RemoteDecl { id: number, kind: DeclKind, key: string, ke: KeyExpr, complete: boolean }
interface View { path: string[], decls: Map<number, RemoteDecl>, gen: number }
interface Origin {
  peer: string
  zid: Uint8Array
  views: Map<string, View>
  best: { via: string, view: View } | undefined
  /** neighbours we last sent a ROUTE for this origin (they hold a view through us) */
  announced: Set<string>
}
interface Neighbour {
  peer: string
  zid: Uint8Array
  channel: FramedChannel
  gen: number
  outbox: Outbox<Uint8Array | Uint8ArrayList>
  closed: boolean
}

interface GetState {
  session: Session
  gid: number
  ke: KeyExpr
  consolidation: number
  replyKeyExpr: number
  pendingLocal: number
  pendingOrigins: Set<string>
  timer: NodeJS.Timeout | undefined
  latest: Map<string, { ntp: bigint, r: ReplyData }>
  monotonic: Map<string, bigint>
  done: boolean
}

/** What a Session needs from the router. */
export interface RouterCore {
  readonly counters: ZenohRouterCounters
  readonly zid: Uint8Array
  readonly peerId: string
  newTimestamp(): Uint8Array
  remoteZids(): Uint8Array[]
  neighbourZids(): Uint8Array[]
  neighbours(): Array<{ peer: string, zid: Uint8Array }>
  addSub(s: LocalSub): void
  removeSub(s: LocalSub): void
  addQbl(q: LocalQbl): void
  removeQbl(q: LocalQbl): void
  addToken(t: LocalToken): void
  removeToken(t: LocalToken): void
  addLivSub(l: LocalLivSub, history: boolean): void
  removeLivSub(l: LocalLivSub): void
  addMatcher(m: MatchListener): void
  removeMatcher(m: MatchListener): void
  matching(target: MatchListener['target']): boolean
  publish(s: Sample, from: Session): void
  startGet(session: Session, gid: number, ke: KeyExpr, q: QueryData, qos: number, settings: number, timeoutMs: number): void
  livelinessGet(session: Session, gid: number, ke: KeyExpr): void
}

function zidOf (peer: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(peer).digest().subarray(0, 16))
}

function hex (zid: Uint8Array): string {
  let out = ''
  for (let i = zid.length - 1; i >= 0; i--) out += (zid[i] as number).toString(16).padStart(2, '0')
  return out
}

function parseListen (listen: string | number | undefined): { host: string, port: number } {
  if (listen === undefined) return { host: '127.0.0.1', port: 7447 }
  if (typeof listen === 'number') return { host: '127.0.0.1', port: listen }
  let s = listen.trim()
  if (/^\d+$/.test(s)) return { host: '127.0.0.1', port: Number(s) }
  if (s.startsWith('ws://')) s = s.slice(5).replace(/\/.*$/, '')
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(s)
  if (m === null) throw new ZenohRouterConfigError(`zenoh listen address "${listen}" is not host:port, :port or ws://host:port; e.g. 127.0.0.1:7447`)
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1'
  const port = Number(m[2])
  if (port > 65535) throw new ZenohRouterConfigError(`zenoh listen port ${port} is out of range; use 0–65535`)
  return { host, port }
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
}

function emptyCounters (): ZenohRouterCounters {
  return {
    sessionsOpened: 0, sessionsClosed: 0, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, malformedFrames: 0, textFrames: 0,
    oversizedFrames: 0, errorResponses: 0, sessionQueueDrops: 0, slowSessionsClosed: 0, meshFramesIn: 0, meshFramesOut: 0,
    meshBadFrames: 0, meshQueueDrops: 0, meshUnroutable: 0, putsLocal: 0, putsFromMesh: 0, samplesDelivered: 0, samplesInPieces: 0, queriesStarted: 0,
    queriesTimedOut: 0, repliesRejected: 0,
  }
}

function safeIntersects (ke: KeyExpr, key: string): boolean {
  try { return ke.intersects(key) } catch { return false }
}

export function createZenohRouter (config: ZenohRouterConfig, deps: ZenohRouterDeps): ZenohRouter {
  const log = deps.logger
  const self = deps.peerId
  const { host, port } = parseListen(config.listen)
  const maxFrame = config.maxFrameBytes ?? 16 * 1024 * 1024
  const maxMeshFrame = config.maxMeshFrameBytes ?? 8 * 1024 * 1024
  const timestamping = config.timestamping ?? true
  const maxTimeout = config.maxQueryTimeoutMs ?? 600_000
  const sessionLimits = {
    maxDeclarations: config.maxDeclarationsPerSession ?? 10_000,
    maxPendingQueries: config.maxPendingQueriesPerSession ?? 1000,
    queueFrames: config.sessionQueueFrames ?? 4096,
    queueBytes: config.sessionQueueBytes ?? 32 * 1024 * 1024,
    highWaterBytes: config.socketHighWaterBytes ?? 4 * 1024 * 1024,
  }
  const neighbourQueueFrames = config.neighbourQueueFrames ?? 8192
  const maxRelays = 10_000
  if (!Number.isInteger(maxFrame) || maxFrame < 1024) throw new ZenohRouterConfigError(`maxFrameBytes ${maxFrame} is too small; use at least 1024`)
  const zid = deps.zenohId ?? zidOf(self)
  if (zid.byteLength !== 16) throw new ZenohRouterConfigError(`zenohId must be 16 bytes, got ${zid.byteLength}`)

  const counters = emptyCounters()
  const w = new Writer()
  const sessions = new Set<Session>()
  /** Ends of in-process client sockets (connectLocal), closed at stop. */
  const localClients = new Set<() => void>()

  // Local declarations (all sessions) for matching.
  const subs = new Set<LocalSub>()
  const qbls = new Set<LocalQbl>()
  const qblByDecl = new Map<number, LocalQbl>()
  const livSubs = new Set<LocalLivSub>()
  const matchers = new Set<MatchListener>()
  const selfDecls = new Map<number, WireDecl>()
  let nextDeclId = 1
  /** alive token count per key, local and remote */
  const tokenCount = new Map<string, number>()

  // Mesh state.
  const neighbours = new Map<string, Neighbour>()
  const origins = new Map<string, Origin>()
  let channelGen = 0
  const routeWaiters = new Set<{ peer: string, resolve: () => void }>()

  // Gets started here: by local id (mesh qid).
  const gets = new Map<number, GetState>()
  let nextQid = 1
  /** Queries from the mesh being answered by local queryables: `${src}/${qid}` */
  const relays = new Map<string, { timer: NodeJS.Timeout, pending: number, done: boolean }>()

  let wss: WebSocketServer | undefined
  let url: string | undefined
  let started = false
  let sweepTimer: NodeJS.Timeout | undefined

  // ---- timestamps (monotonic, NTP64 since the Unix epoch as zenoh uses it) --------------
  // (seconds and fraction as two numbers: BigInt arithmetic here cost ~1 µs per sample)
  let lastSec = 0
  let lastFrac = 0
  function newTimestamp (): Uint8Array {
    const ms = Date.now()
    let sec = Math.floor(ms / 1000)
    let frac = Math.floor(((ms % 1000) / 1000) * 4294967296)
    if (sec < lastSec || (sec === lastSec && frac <= lastFrac)) {
      sec = lastSec
      frac = lastFrac + 1
      if (frac > 0xffffffff) { sec++; frac = 0 }
    }
    lastSec = sec
    lastFrac = frac
    return encodeTimestamp(sec, frac, zid)
  }

  // ---- match caches ----------------------------------------------------------------------
  /** key -> remote destinations grouped by next hop; cleared on any subscriber/route change */
  const remoteSubCache = new Map<string, Map<string, string[]>>()
  function invalidate (): void { remoteSubCache.clear() }
  /**
   * key -> local subscribers whose key expression intersects it, in declaration order; cleared when
   * a subscriber comes or goes. Intersection runs in zenoh-ts's wasm (~1 µs a call): without the
   * cache every sample paid it once per subscriber of the peer.
   */
  const localSubCache = new Map<string, LocalSub[]>()
  function localSubsFor (key: string): LocalSub[] {
    let list = localSubCache.get(key)
    if (list !== undefined) return list
    list = []
    for (const sub of subs) if (safeIntersects(sub.ke, key)) list.push(sub)
    if (localSubCache.size >= 4096) localSubCache.clear()
    localSubCache.set(key, list)
    return list
  }

  let matchingScheduled = false
  function scheduleMatching (): void {
    if (matchingScheduled || matchers.size === 0) return
    matchingScheduled = true
    queueMicrotask(() => {
      matchingScheduled = false
      for (const m of matchers) {
        const now = matching(m.target)
        if (now !== m.last) {
          m.last = now
          ;(m.session as Session).sendMatching(m.id, now)
        }
      }
    })
  }

  function matching (target: MatchListener['target']): boolean {
    if (target.kind === 'pub') {
      const p = target.pub
      const dest = qosLocality(p.qos)
      for (const s of subs) {
        if (!localAllowed(dest, s.origin, s.session === p.session)) continue
        if (safeIntersects(s.ke, p.key)) return true
      }
      if (dest === Locality.SessionLocal) return false
      return anyRemote(K.SUB, p.key)
    }
    const q = target.querier
    const dest = qosLocality(q.qos)
    for (const b of qbls) {
      if (!localAllowed(dest, b.origin, b.session === q.session)) continue
      if (safeIntersects(b.ke, q.key)) return true
    }
    if (dest === Locality.SessionLocal) return false
    return anyRemote(K.QBL, q.key)
  }

  function anyRemote (kind: DeclKind, key: string): boolean {
    for (const o of origins.values()) {
      if (o.best === undefined) continue
      for (const d of o.best.view.decls.values()) if (d.kind === kind && safeIntersects(d.ke, key)) return true
    }
    return false
  }

  /** Locality rules: the sender's destination and the receiver's allowed origin. */
  function localAllowed (dest: number, origin: number, sameSession: boolean): boolean {
    if (dest === Locality.SessionLocal && !sameSession) return false
    if (dest === Locality.Remote && sameSession) return false
    if (origin === Locality.SessionLocal && !sameSession) return false
    if (origin === Locality.Remote && sameSession) return false
    return true
  }

  // ---- liveliness ------------------------------------------------------------------------
  function tokenUp (key: string): void {
    const n = (tokenCount.get(key) ?? 0) + 1
    tokenCount.set(key, n)
    if (n === 1) livelinessEvent(key, 0)
  }
  function tokenDown (key: string): void {
    const n = (tokenCount.get(key) ?? 0) - 1
    if (n > 0) { tokenCount.set(key, n); return }
    tokenCount.delete(key)
    livelinessEvent(key, 1)
  }
  function livelinessEvent (key: string, kind: number): void {
    let frame: Uint8Array | undefined
    for (const l of livSubs) {
      if (!safeIntersects(l.ke, key)) continue
      frame = frame === undefined ? encodeLivelinessSample(w, key, kind) : frame.slice()
      patchU32(frame, 1, l.id)
      ;(l.session as Session).send(frame, false)
    }
  }

  // ---- exported declarations (self origin) -----------------------------------------------
  function exportDecl (kind: DeclKind, key: string, complete: boolean): number {
    const id = nextDeclId++
    selfDecls.set(id, [id, kind, key, complete])
    broadcast([T.DECL, self, id, kind, key, complete])
    return id
  }
  function unexportDecl (id: number): void {
    if (!selfDecls.delete(id)) return
    broadcast([T.UNDECL, self, id])
  }

  // ---- mesh send -------------------------------------------------------------------------
  /** `urgent`: routing/declaration messages, which may overtake queued data (see Outbox). */
  function sendTo (n: Neighbour, msg: MeshMsg, droppable: boolean, urgent = false): boolean {
    if (n.closed) return false
    let frame: Uint8Array | Uint8ArrayList
    try {
      frame = encodeMeshFrame(msg)
    } catch (err) {
      log.error({ err }, 'could not encode a mesh message; dropped')
      return false
    }
    if (frame.byteLength > maxMeshFrame) {
      counters.meshUnroutable++
      // debug, not warn: a client publishing oversized samples in a loop would flood the log
      log.debug({ bytes: frame.byteLength, max: maxMeshFrame, peer: n.peer }, 'mesh message larger than the mesh frame limit; dropped (raise maxMeshFrameBytes and the channel maximum together)')
      return false
    }
    if (!n.outbox.push(frame, droppable, urgent)) {
      if (droppable) counters.meshQueueDrops++
      return false
    }
    counters.meshFramesOut++
    return true
  }
  function broadcast (msg: MeshMsg): void {
    for (const n of neighbours.values()) sendTo(n, msg, false, true)
  }

  function announce (o: Origin, n: Neighbour): void {
    const best = o.best
    if (best === undefined || best.via === n.peer || best.view.path.includes(n.peer)) {
      if (o.announced.delete(n.peer)) sendTo(n, [T.UNROUTE, o.peer], false, true)
      return
    }
    if (best.view.path.length + 1 > MAX_PATH) {
      if (o.announced.delete(n.peer)) sendTo(n, [T.UNROUTE, o.peer], false, true)
      return
    }
    const decls: WireDecl[] = []
    for (const d of best.view.decls.values()) decls.push([d.id, d.kind, d.key, d.complete])
    o.announced.add(n.peer)
    sendTo(n, [T.ROUTE, o.peer, [self, ...best.view.path], decls], false, true)
  }

  function syncNeighbour (n: Neighbour): void {
    sendTo(n, [T.ROUTE, self, [self], [...selfDecls.values()]], false, true)
    for (const o of origins.values()) announce(o, n)
    sendTo(n, [T.SYNCED], false, true)
  }

  // ---- origin views ----------------------------------------------------------------------
  function pickBest (o: Origin): { via: string, view: View } | undefined {
    let best: { via: string, view: View } | undefined
    for (const [via, view] of o.views) {
      if (!neighbours.has(via)) continue
      if (best === undefined || view.path.length < best.view.path.length || (view.path.length === best.view.path.length && via < best.via)) best = { via, view }
    }
    return best
  }

  /** Applies the consequences of an origin's effective declarations changing from `before` to `after`. */
  function effectiveChanged (o: Origin, before: Map<number, RemoteDecl>, after: Map<number, RemoteDecl>, forwardDeltas: boolean): void {
    let changed = false
    for (const [id, d] of before) {
      const a = after.get(id)
      if (a !== undefined && a.kind === d.kind && a.key === d.key && a.complete === d.complete) continue
      changed = true
      if (d.kind === K.TOKEN) tokenDown(d.key)
      if (forwardDeltas) forwardDelta(o, [T.UNDECL, o.peer, id])
    }
    for (const [id, a] of after) {
      const d = before.get(id)
      if (d !== undefined && a.kind === d.kind && a.key === d.key && a.complete === d.complete) continue
      changed = true
      if (a.kind === K.TOKEN) tokenUp(a.key)
      if (forwardDeltas) forwardDelta(o, [T.DECL, o.peer, id, a.kind, a.key, a.complete])
    }
    if (changed) { invalidate(); scheduleMatching() }
  }

  function forwardDelta (o: Origin, msg: MeshMsg): void {
    for (const peer of o.announced) {
      const n = neighbours.get(peer)
      if (n !== undefined) sendTo(n, msg, false, true)
    }
  }

  /** Re-selects the best view of an origin; `before` = effective declarations before the change. */
  function reselect (o: Origin, before: Map<number, RemoteDecl>, beforePath: string | undefined): void {
    const best = pickBest(o)
    o.best = best
    const after = best?.view.decls ?? new Map<number, RemoteDecl>()
    const afterPath = best === undefined ? undefined : best.via + '|' + best.view.path.join('/')
    const pathChanged = afterPath !== beforePath
    effectiveChanged(o, before, after, !pathChanged)
    if (pathChanged) {
      invalidate()
      for (const n of neighbours.values()) announce(o, n)
    }
    if (best === undefined) {
      origins.delete(o.peer)
      originGone(o.peer)
      scheduleMatching()
    } else {
      for (const wtr of routeWaiters) if (wtr.peer === o.peer) { routeWaiters.delete(wtr); wtr.resolve() }
    }
  }

  function effectivePath (o: Origin | undefined): string | undefined {
    return o?.best === undefined ? undefined : o.best.via + '|' + o.best.view.path.join('/')
  }

  function toRemoteDecl (d: WireDecl): RemoteDecl | undefined {
    try {
      return { id: d[0], kind: d[1], key: d[2], ke: new KeyExpr(d[2]), complete: d[3] }
    } catch {
      return undefined
    }
  }

  function onRoute (n: Neighbour, originPeer: string, path: string[], decls: WireDecl[]): void {
    if (originPeer === self) return
    if (path[0] !== n.peer || path[path.length - 1] !== originPeer || path.includes(self) || new Set(path).size !== path.length) {
      // a path through us (poison) or an inconsistent one: the neighbour has no usable route
      onUnroute(n, originPeer)
      return
    }
    let o = origins.get(originPeer)
    if (o === undefined) {
      o = { peer: originPeer, zid: zidOf(originPeer), views: new Map(), best: undefined, announced: new Set() }
      origins.set(originPeer, o)
    }
    const map = new Map<number, RemoteDecl>()
    for (const d of decls) {
      const rd = toRemoteDecl(d)
      if (rd === undefined) { counters.meshBadFrames++; continue }
      map.set(rd.id, rd)
    }
    const before = o.best?.view.decls ?? new Map<number, RemoteDecl>()
    const beforePath = effectivePath(o)
    o.views.set(n.peer, { path, decls: map, gen: n.gen })
    reselect(o, before, beforePath)
  }

  function onUnroute (n: Neighbour, originPeer: string): void {
    const o = origins.get(originPeer)
    if (o === undefined || !o.views.has(n.peer)) return
    const before = o.best?.view.decls ?? new Map<number, RemoteDecl>()
    const beforePath = effectivePath(o)
    o.views.delete(n.peer)
    reselect(o, before, beforePath)
  }

  function onDecl (n: Neighbour, originPeer: string, id: number, kind: DeclKind, key: string, complete: boolean): void {
    const o = origins.get(originPeer)
    const view = o?.views.get(n.peer)
    if (o === undefined || view === undefined) return
    const rd = toRemoteDecl([id, kind, key, complete])
    if (rd === undefined) { counters.meshBadFrames++; return }
    const prev = view.decls.get(id)
    view.decls.set(id, rd)
    if (o.best?.view === view) effectiveChanged(o, prev === undefined ? new Map() : new Map([[id, prev]]), new Map([[id, rd]]), true)
  }

  function onUndecl (n: Neighbour, originPeer: string, id: number): void {
    const o = origins.get(originPeer)
    const view = o?.views.get(n.peer)
    if (o === undefined || view === undefined) return
    const d = view.decls.get(id)
    if (d === undefined) return
    view.decls.delete(id)
    if (o.best?.view === view) effectiveChanged(o, new Map([[id, d]]), new Map(), true)
  }

  function onSynced (n: Neighbour): void {
    // views learned on an older channel to this neighbour and not refreshed now are stale
    for (const o of [...origins.values()]) {
      const v = o.views.get(n.peer)
      if (v !== undefined && v.gen !== n.gen) onUnroute(n, o.peer)
    }
  }

  function nextHop (dst: string): Neighbour | undefined {
    const o = origins.get(dst)
    if (o?.best === undefined) return undefined
    return neighbours.get(o.best.via)
  }

  // ---- neighbours ------------------------------------------------------------------------
  function attachNeighbour (channel: FramedChannel): void {
    const peer = channel.remotePeer
    if (peer === self) {
      log.warn('refusing a zenoh channel to ourselves')
      channel.abort()
      return
    }
    const old = neighbours.get(peer)
    const n: Neighbour = {
      peer,
      zid: zidOf(peer),
      channel,
      gen: ++channelGen,
      closed: false,
      outbox: undefined as unknown as Outbox<Uint8Array | Uint8ArrayList>,
    }
    n.outbox = new Outbox<Uint8Array | Uint8ArrayList>(
      {
        write: (f, done) => {
          channel.send(f).then(done, (err: unknown) => {
            log.debug({ err, peer }, 'zenoh mesh send failed')
            done()
          })
        },
      },
      // the FramedChannel applies its own drain backpressure; keep a few frames in flight for coalescing
      { maxFrames: neighbourQueueFrames, maxBytes: 64 * 1024 * 1024, highWaterBytes: 1024 * 1024 },
      () => {
        log.warn({ peer }, 'zenoh neighbour does not keep up with control traffic; dropping the channel')
        channel.abort()
      },
    )
    neighbours.set(peer, n)
    if (old !== undefined) {
      old.closed = true
      old.outbox.close()
      old.channel.abort()
      log.info({ peer }, 'zenoh channel replaced by a newer one from the same peer')
    } else {
      notifyNeighbourEvent(n, 0)
    }
    log.debug({ peer }, 'zenoh neighbour attached')
    syncNeighbour(n)
    void readLoop(n)
  }

  async function readLoop (n: Neighbour): Promise<void> {
    try {
      for await (const frame of n.channel) {
        if (n.closed) break
        counters.meshFramesIn++
        const msg = decodeMeshFrame(frame)
        if (msg === undefined) {
          counters.meshBadFrames++
          log.warn({ peer: n.peer, bytes: frame.byteLength }, 'invalid zenoh mesh frame from neighbour; dropped')
          continue
        }
        try {
          onMeshMessage(n, msg)
        } catch (err) {
          counters.meshBadFrames++
          log.error({ err, peer: n.peer, type: msg[0] }, 'zenoh mesh message handling failed; dropped')
        }
      }
    } catch (err) {
      log.debug({ err, peer: n.peer }, 'zenoh mesh channel read ended with an error')
    }
    if (!n.closed && neighbours.get(n.peer) === n) {
      log.info({ peer: n.peer }, 'zenoh channel to neighbour closed; withdrawing its routes')
      detachNeighbour(n.peer)
    }
  }

  function detachNeighbour (peer: string): void {
    const n = neighbours.get(peer)
    if (n === undefined) return
    neighbours.delete(peer)
    n.closed = true
    n.outbox.close()
    n.channel.abort()
    for (const o of [...origins.values()]) {
      o.announced.delete(peer)
      if (!o.views.has(peer)) continue
      const before = o.best?.view.decls ?? new Map<number, RemoteDecl>()
      const beforePath = effectivePath(o)
      o.views.delete(peer)
      reselect(o, before, beforePath)
    }
    invalidate()
    notifyNeighbourEvent(n, 1)
    log.debug({ peer }, 'zenoh neighbour detached')
  }

  function notifyNeighbourEvent (n: Neighbour, kind: number): void {
    for (const s of sessions) {
      for (const lid of s.transportListeners) s.neighbourEvent(lid, true, kind, n.zid, n.peer)
      for (const lid of s.linkListeners) s.neighbourEvent(lid, false, kind, n.zid, n.peer)
    }
  }

  function onMeshMessage (n: Neighbour, msg: MeshMsg): void {
    switch (msg[0]) {
      case T.ROUTE: onRoute(n, msg[1], msg[2], msg[3]); break
      case T.UNROUTE: onUnroute(n, msg[1]); break
      case T.DECL: onDecl(n, msg[1], msg[2], msg[3], msg[4], msg[5]); break
      case T.UNDECL: onUndecl(n, msg[1], msg[2]); break
      case T.SYNCED: onSynced(n); break
      case T.PUT: onMeshPut(msg); break
      case T.QUERY: onMeshQuery(msg); break
      case T.REPLY: onMeshReply(msg); break
      case T.FINAL: onMeshFinal(msg); break
    }
  }

  // ---- data: put -------------------------------------------------------------------------
  function deliverLocal (s: Sample, from: SessionRef | undefined, dest: number): void {
    let first: ClientFrame | undefined
    for (const sub of localSubsFor(s.key)) {
      // a send below may close a slow session and undeclare its subscribers
      if (!subs.has(sub)) continue
      if (from === undefined) {
        if (sub.origin === Locality.SessionLocal) continue
      } else if (!localAllowed(dest, sub.origin, sub.session === from)) continue
      let frame: ClientFrame
      if (first === undefined) frame = first = encodeSampleFrame(w, s, sub.id)
      else frame = forSubscriber(first, sub.id)
      counters.samplesDelivered++
      ;(sub.session as Session).send(frame, true)
    }
  }

  function remoteTargets (key: string): Map<string, string[]> {
    let hops = remoteSubCache.get(key)
    if (hops !== undefined) return hops
    hops = new Map()
    for (const o of origins.values()) {
      if (o.best === undefined) continue
      for (const d of o.best.view.decls.values()) {
        if (d.kind !== K.SUB || !safeIntersects(d.ke, key)) continue
        const list = hops.get(o.best.via)
        if (list === undefined) hops.set(o.best.via, [o.peer])
        else list.push(o.peer)
        break
      }
    }
    // frozen: encodeMeshFrame keeps the packed head of a PUT by the identity of a frozen list
    for (const list of hops.values()) Object.freeze(list)
    if (remoteSubCache.size >= 4096) remoteSubCache.clear()
    remoteSubCache.set(key, hops)
    return hops
  }

  function publish (s: Sample, from: Session): void {
    counters.putsLocal++
    if (s.ts === undefined && timestamping) s.ts = newTimestamp()
    const dest = qosLocality(s.qos)
    deliverLocal(s, from, dest)
    if (dest === Locality.SessionLocal) return
    const hops = remoteTargets(s.key)
    if (hops.size === 0) return
    for (const [via, dsts] of hops) {
      const n = neighbours.get(via)
      if (n === undefined) continue
      sendTo(n, [T.PUT, self, dsts, DEFAULT_TTL, s.key, s.payload, s.kind, s.enc.id, s.enc.schema, s.att ?? null, s.ts ?? null, s.qos], true)
    }
  }

  function onMeshPut (m: PutMsg): void {
    const [, src, dsts, ttl, key, payload, kind, encId, schema, att, ts, qos] = m
    let mine = false
    const forward = new Map<Neighbour, string[]>()
    for (const d of dsts) {
      if (d === self) { mine = true; continue }
      if (ttl <= 1) { counters.meshUnroutable++; continue }
      const n = nextHop(d)
      if (n === undefined) { counters.meshUnroutable++; continue }
      const list = forward.get(n)
      if (list === undefined) forward.set(n, [d])
      else list.push(d)
    }
    for (const [n, list] of forward) sendTo(n, [T.PUT, src, list, ttl - 1, key, payload, kind, encId, schema, att, ts, qos], true)
    if (mine) {
      counters.putsFromMesh++
      if (safeKey(key)) deliverLocal({ key, payload, kind, enc: { id: encId, schema }, att: att ?? undefined, ts: ts ?? undefined, qos }, undefined, Locality.Any)
    }
  }

  const validKeys = new Map<string, boolean>()
  function safeKey (key: string): boolean {
    let ok = validKeys.get(key)
    if (ok !== undefined) return ok
    try { void new KeyExpr(key); ok = true } catch { ok = false }
    if (validKeys.size > 4096) validKeys.clear()
    validKeys.set(key, ok)
    if (!ok) counters.meshBadFrames++
    return ok
  }

  // ---- queries ---------------------------------------------------------------------------
  interface Targets { local: LocalQbl[], remote: Map<string, number[]> }

  function queryTargets (ke: KeyExpr, key: string, from: SessionRef | undefined, dest: number, target: number): Targets {
    const local: LocalQbl[] = []
    const remote = new Map<string, number[]>()
    const completeOnly = target === Target.AllComplete
    for (const q of qbls) {
      if (from === undefined ? q.origin === Locality.SessionLocal : !localAllowed(dest, q.origin, q.session === from)) continue
      if (!safeIntersects(q.ke, key)) continue
      if (completeOnly && !(q.complete && includesSafe(q.ke, key))) continue
      local.push(q)
    }
    if (dest !== Locality.SessionLocal) {
      for (const o of origins.values()) {
        if (o.best === undefined) continue
        for (const d of o.best.view.decls.values()) {
          if (d.kind !== K.QBL || !safeIntersects(d.ke, key)) continue
          if (completeOnly && !(d.complete && includesSafe(d.ke, key))) continue
          const list = remote.get(o.peer)
          if (list === undefined) remote.set(o.peer, [d.id])
          else list.push(d.id)
        }
      }
    }
    if (target === Target.BestMatching) {
      // zenoh: the nearest complete queryable covering the key if there is one, else all matching ones
      const lc = local.find(q => q.complete && includesSafe(q.ke, key))
      if (lc !== undefined) return { local: [lc], remote: new Map() }
      let bestOrigin: { peer: string, id: number, hops: number } | undefined
      for (const [peer, ids] of remote) {
        const o = origins.get(peer)
        if (o?.best === undefined) continue
        for (const id of ids) {
          const d = o.best.view.decls.get(id)
          if (d === undefined || !d.complete || !includesSafe(d.ke, key)) continue
          const hops = o.best.view.path.length
          if (bestOrigin === undefined || hops < bestOrigin.hops) bestOrigin = { peer, id, hops }
        }
      }
      if (bestOrigin !== undefined) return { local: [], remote: new Map([[bestOrigin.peer, [bestOrigin.id]]]) }
    }
    void ke
    return { local, remote }
  }

  function includesSafe (ke: KeyExpr, key: string): boolean {
    try { return ke.includes(key) } catch { return false }
  }

  function startGet (session: Session, gid: number, ke: KeyExpr, q: QueryData, qos: number, settings: number, timeoutMs: number): void {
    counters.queriesStarted++
    const { target, consolidation } = decodeQuerySettings(settings)
    const dest = qosLocality(qos)
    const timeout = Math.min(timeoutMs, maxTimeout)
    const qid = nextQid
    nextQid = nextQid >= 0xfffffff0 ? 1 : nextQid + 1
    const g: GetState = {
      session, gid, ke, consolidation, replyKeyExpr: q.replyKeyExpr, pendingLocal: 0, pendingOrigins: new Set(),
      timer: undefined, latest: new Map(), monotonic: new Map(), done: false,
    }
    gets.set(qid, g)
    session.gets.add(gid)
    const t = queryTargets(ke, q.key, session, dest, target)
    for (const qb of t.local) {
      g.pendingLocal++
      let finished = false
      ;(qb.session as Session).deliverQuery(qb.id, q, {
        reply: r => { if (!finished) addReply(qid, r) },
        final: () => {
          if (finished) return
          finished = true
          g.pendingLocal--
          maybeFinish(qid)
        },
      }, timeout)
    }
    for (const [peer, ids] of t.remote) {
      const n = nextHop(peer)
      if (n === undefined) continue
      g.pendingOrigins.add(peer)
      sendTo(n, [T.QUERY, qid, self, peer, DEFAULT_TTL, ids, q.key, q.params, q.payload ?? null, q.enc?.id ?? -1, q.enc?.schema ?? '', q.att ?? null, q.replyKeyExpr, qos, timeout], false)
    }
    if (!g.done) {
      g.timer = setTimeout(() => { counters.queriesTimedOut++; finishGet(qid) }, timeout)
      maybeFinish(qid)
    }
  }

  function maybeFinish (qid: number): void {
    const g = gets.get(qid)
    if (g === undefined || g.done) return
    if (g.pendingLocal === 0 && g.pendingOrigins.size === 0) finishGet(qid)
  }

  function finishGet (qid: number): void {
    const g = gets.get(qid)
    if (g === undefined || g.done) return
    g.done = true
    gets.delete(qid)
    if (g.timer !== undefined) clearTimeout(g.timer)
    g.session.gets.delete(g.gid)
    if (g.session.isClosed) return
    for (const { r } of g.latest.values()) g.session.sendReply(g.gid, r)
    g.session.sendFinal(g.gid)
  }

  function addReply (qid: number, r: ReplyData): void {
    const g = gets.get(qid)
    if (g === undefined || g.done) return
    if (r.kind !== 2) {
      if (!safeKey(r.key)) { counters.repliesRejected++; return }
      if (g.replyKeyExpr === ReplyKeyExprPolicy.MatchingQuery && !safeIntersects(g.ke, r.key)) {
        counters.repliesRejected++
        return
      }
      if (r.ts === undefined && timestamping) r.ts = newTimestamp()
    }
    if (r.kind === 2 || g.consolidation === Consolidation.None) { g.session.sendReply(g.gid, r); return }
    const ntp = timestampNtp(r.ts)
    if (g.consolidation === Consolidation.Monotonic) {
      const last = g.monotonic.get(r.key)
      if (last !== undefined && ntp <= last) return
      g.monotonic.set(r.key, ntp)
      g.session.sendReply(g.gid, r)
      return
    }
    // Auto ≡ Latest: keep the newest reply per key, sent at the end
    const prev = g.latest.get(r.key)
    if (prev === undefined || ntp >= prev.ntp) g.latest.set(r.key, { ntp, r })
  }

  /** A route disappeared: gets waiting on that router will hear nothing more from it. */
  function originGone (peer: string): void {
    for (const [qid, g] of gets) {
      if (g.pendingOrigins.delete(peer)) maybeFinish(qid)
    }
  }

  function onMeshQuery (m: QueryMsg): void {
    const [, qid, src, dst, ttl, ids, key, params, payload, encId, schema, att, rke, qos, timeoutMs] = m
    if (dst !== self) {
      const n = ttl > 1 ? nextHop(dst) : undefined
      if (n === undefined) { counters.meshUnroutable++; return }
      sendTo(n, [T.QUERY, qid, src, dst, ttl - 1, ids, key, params, payload, encId, schema, att, rke, qos, timeoutMs], false)
      return
    }
    const relayKey = `${src}/${qid}`
    const finalMsg = (): void => {
      const n = nextHop(src)
      if (n !== undefined) sendTo(n, [T.FINAL, qid, self, src, DEFAULT_TTL], false)
    }
    // relays live until their queryables finalize or the query times out: cap them so a
    // neighbour flooding queries cannot grow our memory (the querier just gets an early final)
    if (!safeKey(key) || relays.has(relayKey) || relays.size >= maxRelays) { finalMsg(); return }
    const q: QueryData = { key, params, payload: payload ?? undefined, enc: encId < 0 ? undefined : { id: encId, schema }, att: att ?? undefined, replyKeyExpr: rke }
    const targets = ids.map(id => qblByDecl.get(id)).filter((x): x is LocalQbl => x !== undefined && x.origin !== Locality.SessionLocal)
    if (targets.length === 0) { finalMsg(); return }
    const timeout = Math.min(timeoutMs, maxTimeout)
    const relay = {
      pending: targets.length,
      done: false,
      timer: setTimeout(() => finishRelay(), timeout),
    }
    relays.set(relayKey, relay)
    function finishRelay (): void {
      if (relay.done) return
      relay.done = true
      clearTimeout(relay.timer)
      relays.delete(relayKey)
      finalMsg()
    }
    for (const t of targets) {
      let finished = false
      ;(t.session as Session).deliverQuery(t.id, q, {
        reply: r => {
          if (finished || relay.done) return
          if (r.kind !== 2 && r.ts === undefined && timestamping) r.ts = newTimestamp()
          const n = nextHop(src)
          if (n !== undefined) sendTo(n, [T.REPLY, qid, self, src, DEFAULT_TTL, r.kind, r.key, r.payload, r.enc.id, r.enc.schema, r.att ?? null, r.ts ?? null, r.qos], true)
        },
        final: () => {
          if (finished) return
          finished = true
          if (--relay.pending === 0) finishRelay()
        },
      }, timeout)
    }
  }

  function onMeshReply (m: ReplyMsg): void {
    const [, qid, src, dst, ttl, kind, key, payload, encId, schema, att, ts, qos] = m
    if (dst !== self) {
      const n = ttl > 1 ? nextHop(dst) : undefined
      if (n === undefined) { counters.meshUnroutable++; return }
      sendTo(n, [T.REPLY, qid, src, dst, ttl - 1, kind, key, payload, encId, schema, att, ts, qos], true)
      return
    }
    const g = gets.get(qid)
    if (g === undefined || !g.pendingOrigins.has(src)) return
    addReply(qid, { kind: kind as 0 | 1 | 2, key, payload, enc: { id: encId, schema }, att: att ?? undefined, ts: ts ?? undefined, qos })
  }

  function onMeshFinal (m: FinalMsg): void {
    const [, qid, src, dst, ttl] = m
    if (dst !== self) {
      const n = ttl > 1 ? nextHop(dst) : undefined
      if (n === undefined) { counters.meshUnroutable++; return }
      sendTo(n, [T.FINAL, qid, src, dst, ttl - 1], false)
      return
    }
    const g = gets.get(qid)
    if (g === undefined) return
    if (g.pendingOrigins.delete(src)) maybeFinish(qid)
  }

  function livelinessGet (session: Session, gid: number, ke: KeyExpr): void {
    for (const key of tokenCount.keys()) {
      if (!safeIntersects(ke, key)) continue
      session.sendReply(gid, { kind: 0, key, payload: new Uint8Array(0), enc: { id: 0, schema: '' }, att: undefined, ts: undefined, qos: 5 })
    }
    session.sendFinal(gid)
  }

  // ---- core object for sessions ------------------------------------------------------------
  const core: RouterCore = {
    counters,
    zid,
    peerId: self,
    newTimestamp,
    remoteZids: () => [...origins.values()].map(o => o.zid),
    neighbourZids: () => [...neighbours.values()].map(n => n.zid),
    neighbours: () => [...neighbours.values()].map(n => ({ peer: n.peer, zid: n.zid })),
    addSub (s) {
      subs.add(s)
      localSubCache.clear()
      if (s.origin !== Locality.SessionLocal) s.declId = exportDecl(K.SUB, s.key, false)
      scheduleMatching()
    },
    removeSub (s) {
      subs.delete(s)
      localSubCache.clear()
      if (s.declId >= 0) unexportDecl(s.declId)
      scheduleMatching()
    },
    addQbl (q) {
      qbls.add(q)
      if (q.origin !== Locality.SessionLocal) {
        q.declId = exportDecl(K.QBL, q.key, q.complete)
        qblByDecl.set(q.declId, q)
      }
      scheduleMatching()
    },
    removeQbl (q) {
      qbls.delete(q)
      if (q.declId >= 0) { qblByDecl.delete(q.declId); unexportDecl(q.declId) }
      scheduleMatching()
    },
    addToken (t) {
      t.declId = exportDecl(K.TOKEN, t.key, false)
      tokenUp(t.key)
    },
    removeToken (t) {
      unexportDecl(t.declId)
      tokenDown(t.key)
    },
    addLivSub (l, history) {
      livSubs.add(l)
      if (!history) return
      for (const key of tokenCount.keys()) {
        if (!safeIntersects(l.ke, key)) continue
        const f = encodeLivelinessSample(w, key, 0)
        patchU32(f, 1, l.id)
        ;(l.session as Session).send(f, false)
      }
    },
    removeLivSub (l) { livSubs.delete(l) },
    addMatcher (m) {
      matchers.add(m)
      m.last = matching(m.target)
      // zenoh notifies a new listener at once when something already matches
      if (m.last) (m.session as Session).sendMatching(m.id, true)
    },
    removeMatcher (m) { matchers.delete(m) },
    matching,
    publish,
    startGet,
    livelinessGet,
  }

  // ---- sessions ----------------------------------------------------------------------------
  function onConnection (ws: WebSocket): void {
    const session = new Session(ws, core, w, sessionLimits, log.child({ session: sessions.size }))
    sessions.add(session)
    counters.sessionsOpened++
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (!isBinary) {
        counters.textFrames++
        log.debug({ session: session.uuid }, 'text frame from zenoh client; dropped (the protocol is binary)')
        return
      }
      const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data
      try {
        session.onFrame(buf)
      } catch (err) {
        // onFrame catches per message; this is a last line so one client cannot crash the peer
        counters.malformedFrames++
        log.error({ err }, 'unexpected failure handling a zenoh client frame; closing the session')
        ws.terminate()
      }
    })
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        counters.oversizedFrames++
        log.warn({ max: maxFrame }, 'zenoh client sent a frame above maxFrameBytes; session closed')
      } else {
        counters.malformedFrames++
        log.debug({ err: err.message, code: err.code }, 'zenoh client websocket error; session closed')
      }
    })
    ws.on('close', () => closeSession(session))
  }

  /**
   * An in-process client: a socket stand-in with exactly what onConnection and Session use of a
   * WebSocket (send with a flush callback, pause/resume, terminate, message/close events).
   */
  function connectLocal (client: LocalClient): LocalClientSession {
    const sock = new EventEmitter() as EventEmitter & { readyState: number, CLOSED: number, send: (f: Uint8Array, o: unknown, cb: () => void) => void, pause: () => void, resume: () => void, terminate: () => void, close: () => void }
    let open = true
    const end = (): void => {
      if (!open) return
      open = false
      localClients.delete(end)
      sock.readyState = 3
      sock.emit('close')
      client.closed?.()
    }
    Object.assign(sock, {
      readyState: 1,
      CLOSED: 3,
      send: (f: Uint8Array, _o: unknown, cb: () => void) => { if (open) client.receive(f, cb); else cb() },
      pause: () => {},
      resume: () => {},
      terminate: end,
      close: end,
    })
    if (!started) { open = false; client.closed?.() } else { localClients.add(end); onConnection(sock as unknown as WebSocket) }
    return {
      send (frame) { if (open) sock.emit('message', frame, true) },
      close: end,
    }
  }

  function closeSession (s: Session): void {
    if (!sessions.delete(s)) return
    counters.sessionsClosed++
    s.close()
    for (const m of s.matchers.values()) matchers.delete(m)
    for (const sub of s.subs.values()) core.removeSub(sub)
    for (const q of s.qbls.values()) core.removeQbl(q)
    for (const t of s.tokens.values()) core.removeToken(t)
    for (const l of s.livSubs.values()) livSubs.delete(l)
    for (const [qid, g] of gets) if (g.session === s) finishGet(qid)
    s.subs.clear(); s.qbls.clear(); s.tokens.clear(); s.livSubs.clear(); s.matchers.clear(); s.pubs.clear(); s.queriers.clear()
  }

  // ---- lifecycle ---------------------------------------------------------------------------
  async function start (): Promise<void> {
    if (started) return
    started = true
    if (!isLoopback(host)) log.warn({ host, port }, 'zenoh endpoint listens on a non-loopback address; remote-api sessions carry no credentials, anyone who reaches it can use the data plane')
    try {
      const server = new WebSocketServer({ host, port, maxPayload: maxFrame, perMessageDeflate: false, clientTracking: true })
      await new Promise<void>((resolve, reject) => {
        server.once('listening', () => resolve())
        server.once('error', reject)
      })
      server.on('connection', onConnection)
      server.on('error', err => log.error({ err }, 'zenoh endpoint error'))
      wss = server
      const addr = server.address()
      const boundPort = typeof addr === 'object' && addr !== null ? addr.port : port
      url = `ws://${host.includes(':') ? `[${host}]` : host}:${boundPort}`
      sweepTimer = setInterval(() => { const now = Date.now(); for (const s of sessions) s.sweep(now) }, 1000)
      sweepTimer.unref()
      log.info({ url }, 'zenoh endpoint listening')
    } catch (err) {
      started = false
      throw new ZenohListenError(`${host}:${port}`, { cause: err })
    }
  }

  async function stop (): Promise<void> {
    if (!started) return
    started = false
    if (sweepTimer !== undefined) clearInterval(sweepTimer)
    for (const peer of [...neighbours.keys()]) detachNeighbour(peer)
    for (const [qid] of gets) finishGet(qid)
    for (const r of relays.values()) clearTimeout(r.timer)
    relays.clear()
    const server = wss
    wss = undefined
    url = undefined
    if (server !== undefined) {
      // graceful close first: a zenoh-ts client closing at the same moment rejects on an abrupt reset
      const clients = [...server.clients]
      await Promise.all(clients.map(ws => new Promise<void>(resolve => {
        if (ws.readyState === ws.CLOSED) { resolve(); return }
        const t = setTimeout(() => { ws.terminate(); resolve() }, 500)
        ws.once('close', () => { clearTimeout(t); resolve() })
        ws.close(1001, 'router stopping')
      })))
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
    for (const end of [...localClients]) end()
    for (const s of [...sessions]) closeSession(s)
    for (const wtr of routeWaiters) wtr.resolve()
    routeWaiters.clear()
  }

  function status (): ZenohRouterStatus {
    let localSubs = 0; let localQbls = 0; let toks = 0; let ls = 0; let pubs = 0; let qrs = 0
    for (const s of sessions) { localSubs += s.subs.size; localQbls += s.qbls.size; toks += s.tokens.size; ls += s.livSubs.size; pubs += s.pubs.size; qrs += s.queriers.size }
    return {
      url,
      peerId: self,
      zenohId: hex(zid),
      sessions: sessions.size,
      neighbours: [...neighbours.keys()],
      routes: [...origins.values()].filter(o => o.best !== undefined).map(o => ({
        peer: o.peer, via: o.best?.via ?? '', hops: o.best?.view.path.length ?? 0, declarations: o.best?.view.decls.size ?? 0,
      })),
      localDeclarations: { subscribers: localSubs, queryables: localQbls, tokens: toks, livelinessSubscribers: ls, publishers: pubs, queriers: qrs },
      counters: { ...counters },
    }
  }

  return {
    start,
    stop,
    get url () { return url },
    peerId: self,
    zenohId: hex(zid),
    counters,
    status,
    attachNeighbour,
    detachNeighbour,
    connectLocal,
    whenRouteTo (peer: PeerIdString, options?: { signal?: AbortSignal }): Promise<void> {
      if (origins.get(peer)?.best !== undefined) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const entry = { peer, resolve }
        routeWaiters.add(entry)
        options?.signal?.addEventListener('abort', () => {
          routeWaiters.delete(entry)
          reject(options.signal?.reason instanceof Error ? options.signal.reason : new ZenohRouterConfigError(`waiting for a route to ${peer} was aborted`))
        }, { once: true })
      })
    },
  }
}
