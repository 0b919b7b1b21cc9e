import { pack, unpack } from 'msgpackr'
import type { Logger } from '../common/log.ts'
import type { FramedChannel, MemberState, PeerIdString } from './interfaces.ts'

export const HEARTBEAT_PROTOCOL = '/swarmflow/hb/1.0.0'

export interface LivenessConfig {
  /** Heartbeat period on every direct link. Default 250 ms. */
  intervalMs?: number
  /** No evidence of life for this long: suspect. Default 750 ms. */
  suspectAfterMs?: number
  /** No evidence of life for this long: dead. Default 1500 ms (a frozen peer is dead within 3 s, and its nodes run elsewhere within 3 s). */
  deadAfterMs?: number
  /** How long a peer's observed departure is gossiped. Default 10 s. */
  goneGossipMs?: number
}

export interface MemberLiveness {
  peerId: PeerIdString
  state: MemberState
  /** Wall-clock ms of the freshest evidence of life (direct or via another peer); undefined if never seen. */
  lastSeen: number | undefined
  /** True when we hold a direct heartbeat link to it. */
  direct: boolean
}

export interface Liveness {
  start(): void
  stop(): void
  /** Hands over a heartbeat channel to a neighbour (either direction). */
  attach(channel: FramedChannel): void
  /** The transport connection to a peer is gone: that is direct evidence of departure. */
  connectionLost(peer: PeerIdString): void
  /** The members whose state is reported (the roster, without ourselves). */
  setRoster(peers: PeerIdString[]): void
  state(peer: PeerIdString): MemberState
  /**
   * Ms since a heartbeat last arrived from the peer directly, undefined if never: a connection
   * that stalls (partition) is silent here while other members may still vouch for the peer.
   */
  directSilence(peer: PeerIdString): number | undefined
  list(): MemberLiveness[]
  /**
   * How long a member has been up without interruption, as it reports itself in its heartbeats
   * (relayed like evidence of life): since its process started or it last resumed from a stall
   * longer than the dead time. Ours for our own id. Undefined when unknown (dead, never heard, or a
   * peer too old to report it).
   */
  upFor(peer: PeerIdString): number | undefined
  /** A member's uptime became known, or it came up again (its `upFor` jumped down). */
  onUptime(cb: (peer: PeerIdString) => void): () => void
  onChange(cb: (peer: PeerIdString, state: MemberState, prev: MemberState) => void): () => void
  readonly counters: { heartbeatsIn: number, heartbeatsOut: number, badFrames: number }
}

interface Entry {
  lastSeen: number | undefined
  /** When we last observed (or were told of) its departure; evidence older than this does not count. */
  goneAt: number | undefined
  state: MemberState
  /** When a heartbeat last arrived from it directly (or its link was attached). */
  heardAt: number | undefined
  /**
   * When it came up (started, or resumed from a long stall), on our clock. Cleared when it dies;
   * when it comes back, the time we saw it come back until it reports its own (`upReported`).
   */
  upSince: number | undefined
  upReported: boolean
}

/**
 * s: sequence; h: ages of the freshest evidence of life per member; g: ages of observed departures;
 * u (added later; older peers ignore it, and send none): how long each member, the sender included,
 * has been up (see Liveness.upFor).
 */
interface Heartbeat { s: number, h: Array<[string, number]>, g: Array<[string, number]>, u?: Array<[string, number]> }

function isHeartbeat (x: unknown): x is Heartbeat {
  if (typeof x !== 'object' || x === null) return false
  const o = x as Record<string, unknown>
  const pairs = (v: unknown): boolean => Array.isArray(v) && v.length <= 4096 && v.every(p =>
    Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && p[0].length < 128 && typeof p[1] === 'number' && Number.isFinite(p[1]) && p[1] >= 0)
  return typeof o.s === 'number' && pairs(o.h) && pairs(o.g) && (o.u === undefined || pairs(o.u))
}

/**
 * Our own heartbeat with a suspicion step (ARCHITECTURE.md "Liveness"). Every direct link carries a
 * small heartbeat every `intervalMs`; each heartbeat also reports how long ago the sender last had
 * evidence of life of every other member, and which members it saw leave. Evidence travels as ages,
 * so it is never refreshed by being relayed, and a peer that only one neighbour can hear (line
 * topology, one lossy radio link) stays alive through that neighbour: this is the "confirm via
 * another peer" step. A lost transport connection is direct evidence of departure (a killed peer is
 * dead at once); silence moves a peer to suspect, then dead (a frozen peer). Heartbeats are never
 * CRDT changes.
 */
/** Milliseconds on a clock that never steps (CLOCK_MONOTONIC), offset to read like epoch ms at start. */
const monotonicNow = (): number => performance.timeOrigin + performance.now()

export function createLiveness (config: LivenessConfig, deps: { logger: Logger, selfId: PeerIdString, now?: () => number }): Liveness {
  const interval = config.intervalMs ?? 250
  const suspectAfter = config.suspectAfterMs ?? 750
  const deadAfter = config.deadAfterMs ?? 1500
  const goneGossip = config.goneGossipMs ?? 10_000
  // A monotonic clock: a robot often boots with a wrong wall clock and has it stepped later (NTP,
  // GPS). On Date.now a step forward aged every member past the dead time at once (all dead, every
  // node re-placed here) and a step back kept dead members alive; it also looked like our own stall.
  // Only durations leave this module (heartbeat ages, uptimes); list() converts lastSeen to wall time.
  const now = deps.now ?? monotonicNow
  const log = deps.logger
  const entries = new Map<PeerIdString, Entry>()
  const roster = new Set<PeerIdString>()
  const links = new Map<PeerIdString, { channel: FramedChannel, sending: boolean }>()
  const cbs = new Set<(peer: PeerIdString, state: MemberState, prev: MemberState) => void>()
  const uptimeCbs = new Set<(peer: PeerIdString) => void>()
  const uptimeChanged = (peer: PeerIdString): void => {
    for (const cb of uptimeCbs) {
      try { cb(peer) } catch (err) { log.error({ err }, 'uptime listener threw') }
    }
  }
  const counters = { heartbeatsIn: 0, heartbeatsOut: 0, badFrames: 0 }
  let timer: NodeJS.Timeout | undefined
  let seq = 0
  /** When this peer came up: start(), or the end of a stall longer than the dead time. */
  let upSince = now()
  let lastBeatAt: number | undefined

  const entry = (peer: PeerIdString): Entry => {
    let e = entries.get(peer)
    if (!e) { e = { lastSeen: undefined, goneAt: undefined, state: 'dead', heardAt: undefined, upSince: undefined, upReported: false }; entries.set(peer, e) }
    return e
  }

  // Before the roster is known (first seconds of a join) every peer counts; after, only members do,
  // so gossip cannot resurrect a revoked or unknown peer.
  const tracked = (peer: PeerIdString): boolean => peer !== deps.selfId && (roster.size === 0 || roster.has(peer) || links.has(peer))

  const evidence = (peer: PeerIdString, at: number): void => {
    if (!tracked(peer)) return
    const e = entry(peer)
    if (e.goneAt !== undefined && at <= e.goneAt) return
    if (e.lastSeen === undefined || at > e.lastSeen) e.lastSeen = at
  }

  const gone = (peer: PeerIdString, at: number): void => {
    if (!tracked(peer)) return
    const e = entry(peer)
    if (e.lastSeen !== undefined && e.lastSeen >= at) return
    if (e.goneAt === undefined || at > e.goneAt) e.goneAt = at
  }

  const evaluate = (): void => {
    const t = now()
    for (const [peer, e] of entries) {
      let next: MemberState
      if (e.lastSeen === undefined || (e.goneAt !== undefined && e.goneAt >= e.lastSeen)) next = 'dead'
      else {
        const age = t - e.lastSeen
        next = age < suspectAfter ? 'alive' : age < deadAfter ? 'suspect' : 'dead'
      }
      if (next !== e.state) {
        const prev = e.state
        e.state = next
        // A member that died and comes back counts as just up until it says otherwise: its old
        // uptime must not make it look settled in the moment before its first report arrives.
        if (next === 'dead') {
          e.upSince = undefined
          e.upReported = false
        } else if (prev === 'dead' && e.upSince === undefined) {
          e.upSince = t
          uptimeChanged(peer)
        }
        log.info({ peer, state: next, prev }, 'member liveness changed')
        for (const cb of cbs) {
          try { cb(peer, next, prev) } catch (err) { log.error({ err }, 'liveness listener threw') }
        }
      }
    }
  }

  const beat = (): void => {
    const t = now()
    // Our own timer stood still for the dead time (SIGSTOP, swapped out, debugger): the others
    // declared us dead, so we come back as from a restart.
    if (lastBeatAt !== undefined && t - lastBeatAt > deadAfter) {
      log.info({ stalledMs: t - lastBeatAt }, 'heartbeat timer stalled for longer than the dead time; up again from now')
      upSince = t
    }
    lastBeatAt = t
    const h: Array<[string, number]> = []
    const g: Array<[string, number]> = []
    const u: Array<[string, number]> = [[deps.selfId, t - upSince]]
    for (const [peer, e] of entries) {
      if (e.lastSeen !== undefined && (e.goneAt === undefined || e.lastSeen > e.goneAt)) h.push([peer, t - e.lastSeen])
      else if (e.goneAt !== undefined && t - e.goneAt < goneGossip) g.push([peer, t - e.goneAt])
      if (e.state !== 'dead' && e.upSince !== undefined) u.push([peer, Math.max(0, t - e.upSince)])
    }
    const frame = pack({ s: seq++, h, g, u } satisfies Heartbeat)
    for (const link of links.values()) {
      if (link.sending) continue // a frozen or slow neighbour: do not pile heartbeats up behind it
      link.sending = true
      link.channel.send(frame).then(() => { counters.heartbeatsOut++ }, () => {}).finally(() => { link.sending = false })
    }
    evaluate()
  }

  const read = async (channel: FramedChannel): Promise<void> => {
    const peer = channel.remotePeer
    try {
      for await (const raw of channel) {
        let msg: unknown
        try { msg = unpack(raw) } catch { msg = undefined }
        if (!isHeartbeat(msg)) {
          counters.badFrames++
          log.warn({ peer, bytes: raw.byteLength }, 'dropped malformed heartbeat')
          continue
        }
        counters.heartbeatsIn++
        const t = now()
        evidence(peer, t)
        if (tracked(peer)) entry(peer).heardAt = t
        for (const [p, age] of msg.h) if (p !== peer) evidence(p, t - age)
        for (const [p, age] of msg.g) if (p !== peer) gone(p, t - age)
        for (const [p, upFor] of msg.u ?? []) {
          if (p === deps.selfId || !tracked(p)) continue
          const e = entry(p)
          // What a relay says of a member we hold dead may predate its death (a stale uptime would
          // make it look settled when it comes back); its own report, or a relay's once it is alive
          // again, will do.
          if (p !== peer && e.state === 'dead') continue
          const at = t - upFor
          // A member's own report is exact (up to transit time). A relayed one counts while we only
          // have our own guess, or when it says the member came up again later than we knew (a
          // restart the relay heard first).
          // (upSince is defined whenever upReported is true: both are cleared together)
          if (p === peer || !e.upReported || at > (e.upSince as number) + deadAfter) {
            const jumped = !e.upReported || Math.abs(at - (e.upSince as number)) > deadAfter
            e.upSince = at
            e.upReported = true
            if (jumped) uptimeChanged(p)
          }
        }
      }
    } catch (err) {
      log.debug({ peer, err: (err as Error).message }, 'heartbeat channel ended')
    } finally {
      if (links.get(peer)?.channel === channel) links.delete(peer)
    }
  }

  return {
    counters,
    start () {
      if (timer) return
      upSince = now()
      lastBeatAt = undefined
      timer = setInterval(beat, interval)
      timer.unref()
    },
    stop () {
      if (timer) clearInterval(timer)
      timer = undefined
      for (const l of links.values()) l.channel.abort()
      links.clear()
    },
    attach (channel) {
      const old = links.get(channel.remotePeer)
      links.set(channel.remotePeer, { channel, sending: false })
      if (old && old.channel !== channel) old.channel.abort()
      evidence(channel.remotePeer, now())
      if (tracked(channel.remotePeer)) entry(channel.remotePeer).heardAt = now()
      void read(channel)
      evaluate()
    },
    connectionLost (peer) {
      links.get(peer)?.channel.abort()
      links.delete(peer)
      gone(peer, now())
      evaluate()
    },
    setRoster (peers) {
      roster.clear()
      for (const p of peers) if (p !== deps.selfId) { roster.add(p); entry(p) }
      for (const p of [...entries.keys()]) if (!roster.has(p)) entries.delete(p)
    },
    state (peer) {
      return entries.get(peer)?.state ?? 'dead'
    },
    directSilence (peer) {
      const at = entries.get(peer)?.heardAt
      return at === undefined ? undefined : Math.max(0, now() - at)
    },
    upFor (peer) {
      if (peer === deps.selfId) return Math.max(0, now() - upSince)
      const e = entries.get(peer)
      if (e === undefined || e.state === 'dead' || e.upSince === undefined) return undefined
      return Math.max(0, now() - e.upSince)
    },
    list () {
      const toWall = Date.now() - now()
      return [...entries].map(([peerId, e]) => ({ peerId, state: e.state, lastSeen: e.lastSeen === undefined ? undefined : e.lastSeen + toWall, direct: links.has(peerId) }))
    },
    onChange (cb) { cbs.add(cb); return () => cbs.delete(cb) },
    onUptime (cb) { uptimeCbs.add(cb); return () => { uptimeCbs.delete(cb) } },
  }
}
