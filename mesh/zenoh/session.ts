/**
 * One zenoh-ts client session (one WebSocket): decodes its requests, keeps its declarations,
 * answers with the responses the remote-api plugin defines, and queues what it sends back.
 */
import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import { KeyExpr } from '@eclipse-zenoh/zenoh-ts'
import type { Logger } from '../../common/log.ts'
import { corkForTurn, socketOfWs } from '../../common/cork.ts'
import { writeWsMessage } from '../../common/ws-message.ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { Outbox } from './outbox.ts'
import { DEFAULT_ENCODING, In, IN_MAX, Out, Reader, WireError, type Writer, type Encoding, SEQ_FLAG, patchU32, PIECES_FROM } from './wire.ts'
import type { LocalLivSub, LocalPublisher, LocalQbl, LocalQuerier, LocalSub, LocalToken, MatchListener, QueryData, QuerySink, ReplyData, Sample } from './types.ts'
import type { RouterCore } from './router.ts'

/** A request the client made that the protocol answers with ResponseError (message is the client's Error text). */
class RequestError extends Error {
  override name = 'RequestError'
}

interface PendingQuery { sink: QuerySink, deadline: number }

export interface SessionLimits {
  maxDeclarations: number
  maxPendingQueries: number
  queueFrames: number
  queueBytes: number
  highWaterBytes: number
}

let sessionCounter = 0

export class Session {
  readonly num = ++sessionCounter
  readonly uuid = randomUUID()
  readonly pubs = new Map<number, LocalPublisher>()
  readonly subs = new Map<number, LocalSub>()
  readonly qbls = new Map<number, LocalQbl>()
  readonly queriers = new Map<number, LocalQuerier>()
  readonly tokens = new Map<number, LocalToken>()
  readonly livSubs = new Map<number, LocalLivSub>()
  readonly matchers = new Map<number, MatchListener>()
  readonly transportListeners = new Set<number>()
  readonly linkListeners = new Set<number>()
  /** Queries delivered to this session's queryables, by the query id we gave them. */
  readonly pending = new Map<number, PendingQuery>()
  /** Gets this session started that are not finalized yet (client get ids). */
  readonly gets = new Set<number>()
  private nextQueryId = 0
  private closed = false
  readonly outbox: Outbox<ClientFrame>

  constructor (
    private readonly ws: WebSocket,
    private readonly core: RouterCore,
    private readonly w: Writer,
    private readonly limits: SessionLimits,
    readonly log: Logger,
  ) {
    this.outbox = new Outbox<ClientFrame>(
      {
        write: (f, done) => {
          // frames of one turn (a burst of samples read from the mesh) leave in one system call
          const sock = socketOfWs(ws)
          corkForTurn(sock)
          if (f instanceof Uint8Array) ws.send(f, { binary: true }, () => done())
          else if (writeWsMessage(ws, sock, f, false, done)) core.counters.samplesInPieces++
          else ws.send(f.subarray(), { binary: true }, () => done())
        },
      },
      { maxFrames: limits.queueFrames, maxBytes: limits.queueBytes, highWaterBytes: limits.highWaterBytes },
      () => {
        core.counters.slowSessionsClosed++
        log.warn({ session: this.uuid }, 'client does not read its responses; closing the session (slow consumer)')
        ws.terminate()
      },
      high => { if (high) ws.pause(); else ws.resume() },
    )
  }

  get isClosed (): boolean { return this.closed }

  send (frame: ClientFrame, droppable: boolean): void {
    if (this.closed) return
    if (!this.outbox.push(frame, droppable)) {
      if (droppable) this.core.counters.sessionQueueDrops++
      return
    }
    this.core.counters.framesOut++
    this.core.counters.bytesOut += frame.byteLength
  }

  // ---- inbound --------------------------------------------------------------------------

  onFrame (buf: Uint8Array): void {
    if (this.closed) return
    const c = this.core.counters
    c.framesIn++
    c.bytesIn += buf.byteLength
    const r = new Reader(buf)
    let id = -1
    let seq: number | undefined
    try {
      const h = r.u8()
      id = h & ~SEQ_FLAG
      if ((h & SEQ_FLAG) !== 0) seq = r.u32()
      if (id > IN_MAX) throw new WireError(`unknown message id ${id}`)
    } catch (err) {
      c.malformedFrames++
      this.log.debug({ err, session: this.uuid }, 'malformed frame header from client; dropped')
      return
    }
    try {
      const handled = this.dispatch(id, seq, r)
      if (seq !== undefined && !handled) this.respondOk(seq, id)
    } catch (err) {
      if (err instanceof WireError) {
        c.malformedFrames++
        this.log.debug({ err: err.message, id, session: this.uuid }, 'malformed message body from client; dropped')
      } else if (err instanceof RequestError) {
        this.log.debug({ err: err.message, id, session: this.uuid }, 'client request refused')
      } else {
        c.malformedFrames++
        // KeyExpr validation throws plain errors from WASM: a bad key expression is bad input.
        this.log.debug({ err: String((err as Error)?.message ?? err), id, session: this.uuid }, 'client request failed')
      }
      if (seq !== undefined) {
        c.errorResponses++
        this.respondError(seq, err instanceof Error ? err.message : String(err))
      }
    }
  }

  private keyExpr (s: string): KeyExpr {
    try {
      return new KeyExpr(s)
    } catch (err) {
      throw new RequestError(`Invalid key expression '${s}': ${String((err as Error)?.message ?? err)}`)
    }
  }

  private checkCount (n: number, what: string): void {
    if (n >= this.limits.maxDeclarations) throw new RequestError(`too many ${what} in this session (limit ${this.limits.maxDeclarations}); undeclare some first`)
  }

  /** Returns true when it already answered a request (or the message needs no ack). */
  private dispatch (id: number, seq: number | undefined, r: Reader): boolean {
    const core = this.core
    switch (id) {
      case In.Ping: {
        r.end()
        if (seq !== undefined) this.send(this.w.header(Out.ResponsePing, seq).str(this.uuid).take(), false)
        return true
      }
      case In.DeclarePublisher: {
        const pid = r.u32(); const key = r.str(); const enc = r.encoding(); const qos = r.u8(); r.end()
        if (this.pubs.has(pid)) throw new RequestError(`Publisher with id: '${pid}' already exists`)
        this.checkCount(this.pubs.size, 'publishers')
        const ke = this.keyExpr(key)
        this.pubs.set(pid, { session: this, id: pid, key, ke, enc, qos })
        return false
      }
      case In.UndeclarePublisher: {
        const pid = r.u32(); r.end()
        const p = this.pubs.get(pid)
        if (p === undefined) throw new RequestError(`Publisher with id ${pid} does not exist`)
        this.pubs.delete(pid)
        for (const m of this.matchers.values()) if (m.target.kind === 'pub' && m.target.pub === p) { this.matchers.delete(m.id); core.removeMatcher(m) }
        return false
      }
      case In.DeclareSubscriber: {
        const sid = r.u32(); const key = r.str(); const origin = r.u8(); r.end()
        if (origin > 2) throw new RequestError(`Unsupported locality value ${origin}`)
        if (this.subs.has(sid)) throw new RequestError(`Subscriber with id: '${sid}' already exists`)
        this.checkCount(this.subs.size, 'subscribers')
        const sub: LocalSub = { session: this, id: sid, key, ke: this.keyExpr(key), origin, declId: -1 }
        this.subs.set(sid, sub)
        core.addSub(sub)
        return false
      }
      case In.UndeclareSubscriber: {
        const sid = r.u32(); r.end()
        const sub = this.subs.get(sid)
        if (sub === undefined) throw new RequestError(`Subscriber with id ${sid} does not exist`)
        this.subs.delete(sid)
        core.removeSub(sub)
        return false
      }
      case In.DeclareQueryable: {
        const qid = r.u32(); const key = r.str(); const complete = r.bool(); const origin = r.u8(); r.end()
        if (origin > 2) throw new RequestError(`Unsupported locality value ${origin}`)
        if (this.qbls.has(qid)) throw new RequestError(`Queryable with id: '${qid}' already exists`)
        this.checkCount(this.qbls.size, 'queryables')
        const q: LocalQbl = { session: this, id: qid, key, ke: this.keyExpr(key), complete, origin, declId: -1 }
        this.qbls.set(qid, q)
        core.addQbl(q)
        return false
      }
      case In.UndeclareQueryable: {
        const qid = r.u32(); r.end()
        const q = this.qbls.get(qid)
        if (q === undefined) throw new RequestError(`Queryable with id ${qid} does not exist`)
        this.qbls.delete(qid)
        core.removeQbl(q)
        return false
      }
      case In.DeclareQuerier: {
        const qid = r.u32(); const key = r.str(); const qos = r.u8(); const settings = r.u8(); const timeoutMs = r.u32(); r.end()
        if (this.queriers.has(qid)) throw new RequestError(`Querier with id: '${qid}' already exists`)
        this.checkCount(this.queriers.size, 'queriers')
        this.queriers.set(qid, { session: this, id: qid, key, ke: this.keyExpr(key), qos, settings, timeoutMs })
        return false
      }
      case In.UndeclareQuerier: {
        const qid = r.u32(); r.end()
        const q = this.queriers.get(qid)
        if (q === undefined) throw new RequestError(`Querier with id ${qid} does not exist`)
        this.queriers.delete(qid)
        for (const m of this.matchers.values()) if (m.target.kind === 'querier' && m.target.querier === q) { this.matchers.delete(m.id); core.removeMatcher(m) }
        return false
      }
      case In.DeclareLivelinessToken: {
        const tid = r.u32(); const key = r.str(); r.end()
        if (this.tokens.has(tid)) throw new RequestError(`Liveliness token with id: '${tid}' already exists`)
        this.checkCount(this.tokens.size, 'liveliness tokens')
        this.keyExpr(key)
        const t: LocalToken = { session: this, id: tid, key, declId: -1 }
        this.tokens.set(tid, t)
        core.addToken(t)
        return false
      }
      case In.UndeclareLivelinessToken: {
        const tid = r.u32(); r.end()
        const t = this.tokens.get(tid)
        if (t === undefined) throw new RequestError(`Liveliness token with id ${tid} does not exist`)
        this.tokens.delete(tid)
        core.removeToken(t)
        return false
      }
      case In.DeclareLivelinessSubscriber: {
        const sid = r.u32(); const key = r.str(); const history = r.bool(); r.end()
        if (this.livSubs.has(sid)) throw new RequestError(`Liveliness subscriber with id: '${sid}' already exists`)
        this.checkCount(this.livSubs.size, 'liveliness subscribers')
        const ls: LocalLivSub = { session: this, id: sid, key, ke: this.keyExpr(key) }
        this.livSubs.set(sid, ls)
        // ack first, then the history samples, as zenohd's subscriber callback fires after declare returns
        if (seq !== undefined) this.respondOk(seq, id)
        core.addLivSub(ls, history)
        return true
      }
      case In.UndeclareLivelinessSubscriber: {
        const sid = r.u32(); r.end()
        const ls = this.livSubs.get(sid)
        if (ls === undefined) throw new RequestError(`Liveliness subscriber with id ${sid} does not exist`)
        this.livSubs.delete(sid)
        core.removeLivSub(ls)
        return false
      }
      case In.GetSessionInfo: {
        r.end()
        if (seq === undefined) return true
        const w = this.w.header(Out.ResponseSessionInfo, seq).zid(core.zid)
        const routers = core.remoteZids()
        w.len(routers.length)
        for (const z of routers) w.zid(z)
        w.len(0)
        this.send(w.take(), false)
        return true
      }
      case In.GetTimestamp: {
        r.end()
        if (seq !== undefined) this.send(this.w.header(Out.ResponseTimestamp, seq).raw(core.newTimestamp()).take(), false)
        return true
      }
      case In.Put: {
        const key = r.str(); const payload = r.bytes(); const enc = r.encoding(); const att = r.optBytes(); const ts = r.optTimestamp(); const qos = r.u8(); r.end()
        this.keyExpr(key)
        core.publish({ key, payload, kind: 0, enc, att, ts, qos }, this)
        return false
      }
      case In.Delete: {
        const key = r.str(); const att = r.optBytes(); const ts = r.optTimestamp(); const qos = r.u8(); r.end()
        this.keyExpr(key)
        core.publish({ key, payload: EMPTY, kind: 1, enc: DEFAULT_ENCODING, att, ts, qos }, this)
        return false
      }
      case In.PublisherPut: {
        const pid = r.u32(); const payload = r.bytes(); const enc = r.optEncoding(); const att = r.optBytes(); const ts = r.optTimestamp(); r.end()
        const p = this.pubs.get(pid)
        if (p === undefined) throw new RequestError(`Publisher with id ${pid} does not exist`)
        core.publish({ key: p.key, payload, kind: 0, enc: enc ?? p.enc, att, ts, qos: p.qos }, this)
        return false
      }
      case In.PublisherDelete: {
        const pid = r.u32(); const att = r.optBytes(); const ts = r.optTimestamp(); r.end()
        const p = this.pubs.get(pid)
        if (p === undefined) throw new RequestError(`Publisher with id ${pid} does not exist`)
        core.publish({ key: p.key, payload: EMPTY, kind: 1, enc: DEFAULT_ENCODING, att, ts, qos: p.qos }, this)
        return false
      }
      case In.Get: {
        const gid = r.u32(); const key = r.str(); const params = r.str(); const payload = r.optBytes(); const enc = r.optEncoding(); const att = r.optBytes()
        const qos = r.u8(); const settings = r.u8(); const timeoutMs = r.u32(); r.end()
        const ke = this.keyExprOrFinal(key, gid)
        if (ke === undefined) return false
        this.startGet(gid, ke, { key, params, payload, enc, att, replyKeyExpr: (settings >> 4) & 1 }, qos, settings, timeoutMs)
        return false
      }
      case In.QuerierGet: {
        const gid = r.u32(); const querierId = r.u32(); const params = r.str(); const payload = r.optBytes(); const enc = r.optEncoding(); const att = r.optBytes(); r.end()
        const q = this.queriers.get(querierId)
        if (q === undefined) {
          // the client waits for a final on this get id forever otherwise
          this.sendFinal(gid)
          throw new RequestError(`Querier with id ${querierId} does not exist`)
        }
        this.startGet(gid, q.ke, { key: q.key, params, payload, enc, att, replyKeyExpr: (q.settings >> 4) & 1 }, q.qos, q.settings, q.timeoutMs)
        return false
      }
      case In.LivelinessGet: {
        const gid = r.u32(); const key = r.str(); r.u32(); r.end()
        const ke = this.keyExprOrFinal(key, gid)
        if (ke === undefined) return false
        core.livelinessGet(this, gid, ke)
        return false
      }
      case In.ReplyOk: {
        const qid = r.u32(); const key = r.str(); const payload = r.bytes(); const enc = r.encoding(); const att = r.optBytes(); const ts = r.optTimestamp(); const qos = r.u8(); r.end()
        this.keyExpr(key)
        this.pendingSink(qid).reply({ kind: 0, key, payload, enc, att, ts, qos })
        return false
      }
      case In.ReplyDel: {
        const qid = r.u32(); const key = r.str(); const att = r.optBytes(); const ts = r.optTimestamp(); const qos = r.u8(); r.end()
        this.keyExpr(key)
        this.pendingSink(qid).reply({ kind: 1, key, payload: EMPTY, enc: DEFAULT_ENCODING, att, ts, qos })
        return false
      }
      case In.ReplyErr: {
        const qid = r.u32(); const payload = r.bytes(); const enc = r.encoding(); r.end()
        this.pendingSink(qid).reply({ kind: 2, key: '', payload, enc, att: undefined, ts: undefined, qos: 0 })
        return false
      }
      case In.QueryResponseFinal: {
        const qid = r.u32(); r.end()
        const p = this.pending.get(qid)
        if (p === undefined) throw new RequestError(`Query with id ${qid} does not exist`)
        this.pending.delete(qid)
        p.sink.final()
        return false
      }
      case In.PublisherDeclareMatchingListener:
      case In.QuerierDeclareMatchingListener: {
        const lid = r.u32(); const target = r.u32(); r.end()
        let m: MatchListener
        if (id === In.PublisherDeclareMatchingListener) {
          const p = this.pubs.get(target)
          if (p === undefined) throw new RequestError(`Publisher with id: '${target}' does not exist`)
          m = { session: this, id: lid, target: { kind: 'pub', pub: p }, last: false }
        } else {
          const q = this.queriers.get(target)
          if (q === undefined) throw new RequestError(`Querier with id: '${target}' does not exist`)
          m = { session: this, id: lid, target: { kind: 'querier', querier: q }, last: false }
        }
        if (this.matchers.has(lid)) throw new RequestError(`Matching listener with id: '${lid}' already exists`)
        this.matchers.set(lid, m)
        if (seq !== undefined) this.respondOk(seq, id)
        core.addMatcher(m)
        return true
      }
      case In.UndeclareMatchingListener: {
        const lid = r.u32(); r.end()
        const m = this.matchers.get(lid)
        if (m === undefined) throw new RequestError(`Matching listener with id: '${lid}' does not exist`)
        this.matchers.delete(lid)
        core.removeMatcher(m)
        return false
      }
      case In.PublisherGetMatchingStatus:
      case In.QuerierGetMatchingStatus: {
        const target = r.u32(); r.end()
        let matching: boolean
        if (id === In.PublisherGetMatchingStatus) {
          const p = this.pubs.get(target)
          if (p === undefined) throw new RequestError(`Publisher with id: '${target}' does not exist`)
          matching = core.matching({ kind: 'pub', pub: p })
        } else {
          const q = this.queriers.get(target)
          if (q === undefined) throw new RequestError(`Querier with id: '${target}' does not exist`)
          matching = core.matching({ kind: 'querier', querier: q })
        }
        if (seq !== undefined) this.send(this.w.header(Out.ResponseMatchingStatus, seq).bool(matching).take(), false)
        return true
      }
      case In.GetTransports: {
        r.end()
        if (seq === undefined) return true
        const ns = core.neighbourZids()
        const w = this.w.header(Out.ResponseTransports, seq).len(ns.length)
        for (const z of ns) writeTransport(w, z)
        this.send(w.take(), false)
        return true
      }
      case In.GetLinks: {
        r.end()
        if (seq === undefined) return true
        const ns = core.neighbours()
        const w = this.w.header(Out.ResponseLinks, seq).len(ns.length)
        for (const n of ns) writeLink(w, n.zid, core.peerId, n.peer)
        this.send(w.take(), false)
        return true
      }
      case In.DeclareTransportEventsListener:
      case In.DeclareLinkEventsListener: {
        const lid = r.u32(); const history = r.bool(); r.end()
        const transport = id === In.DeclareTransportEventsListener
        const set = transport ? this.transportListeners : this.linkListeners
        if (set.has(lid)) throw new RequestError(`${transport ? 'Transport' : 'Link'} events listener with id: '${lid}' already exists`)
        set.add(lid)
        if (seq !== undefined) this.respondOk(seq, id)
        if (history) for (const n of core.neighbours()) this.neighbourEvent(lid, transport, 0, n.zid, n.peer)
        return true
      }
      case In.UndeclareTransportEventsListener:
      case In.UndeclareLinkEventsListener: {
        const lid = r.u32(); r.end()
        const transport = id === In.UndeclareTransportEventsListener
        const set = transport ? this.transportListeners : this.linkListeners
        if (!set.delete(lid)) throw new RequestError(`${transport ? 'Transport' : 'Link'} events listener with id: '${lid}' does not exist`)
        return false
      }
      default:
        throw new WireError(`unknown message id ${id}`)
    }
  }

  private keyExprOrFinal (key: string, gid: number): KeyExpr | undefined {
    try {
      return this.keyExpr(key)
    } catch (err) {
      this.sendFinal(gid)
      throw err
    }
  }

  private startGet (gid: number, ke: KeyExpr, q: QueryData, qos: number, settings: number, timeoutMs: number): void {
    if (this.gets.size >= this.limits.maxPendingQueries) {
      this.sendFinal(gid)
      throw new RequestError(`too many gets in flight in this session (limit ${this.limits.maxPendingQueries})`)
    }
    this.core.startGet(this, gid, ke, q, qos, settings, timeoutMs)
  }

  private pendingSink (qid: number): QuerySink {
    const p = this.pending.get(qid)
    if (p === undefined) throw new RequestError(`Query with id ${qid} does not exist`)
    return p.sink
  }

  // ---- outbound -------------------------------------------------------------------------

  respondOk (seq: number, contentId: number): void {
    this.send(this.w.header(Out.ResponseOk, seq).u8(contentId).take(), false)
  }

  respondError (seq: number, message: string): void {
    this.send(this.w.header(Out.ResponseError, seq).str(message).take(), false)
  }

  sendFinal (gid: number): void {
    this.send(this.w.header(Out.QueryResponseFinal).u32(gid).take(), false)
  }

  sendMatching (lid: number, matching: boolean): void {
    this.send(this.w.header(Out.MatchingStatusUpdate).u32(lid).bool(matching).take(), false)
  }

  /** kind 0 = PUT (appeared), 1 = DELETE (gone) */
  neighbourEvent (lid: number, transport: boolean, kind: number, zid: Uint8Array, peer: string): void {
    const w = this.w.header(transport ? Out.InTransportEventUpdate : Out.InLinkEventUpdate).u32(lid).u8(kind)
    if (transport) writeTransport(w, zid)
    else writeLink(w, zid, this.core.peerId, peer)
    this.send(w.take(), false)
  }

  sendReply (gid: number, r: ReplyData): void {
    const w = this.w.header(Out.InReply).u32(gid)
    if (r.kind === 2) {
      w.bool(false).bytes(r.payload).encoding(r.enc)
    } else {
      w.bool(true).str(r.key).bytes(r.payload).u8(r.kind).encoding(r.enc).optBytes(r.att).optTimestamp(r.ts).u8(sampleQos(r.qos))
    }
    this.send(w.take(), true)
  }

  /** Delivers a query to one of this session's queryables; `sink` gets its replies and its final. */
  deliverQuery (qblId: number, q: QueryData, sink: QuerySink, timeoutMs: number): void {
    if (this.closed) { sink.final(); return }
    if (this.pending.size >= this.limits.maxPendingQueries) {
      // evict the oldest: its querier has most likely timed out already
      const [oldId, old] = this.pending.entries().next().value as [number, PendingQuery]
      this.pending.delete(oldId)
      old.sink.final()
    }
    const qid = this.nextQueryId
    this.nextQueryId = (this.nextQueryId + 1) >>> 0
    this.pending.set(qid, { sink, deadline: Date.now() + timeoutMs })
    const w = this.w.header(Out.InQuery).u32(qblId).u32(qid).str(q.key).str(q.params).optBytes(q.payload).optEncoding(q.enc).optBytes(q.att).u8(q.replyKeyExpr)
    this.send(w.take(), false)
  }

  /** Finalizes queries whose querier gave up long ago (their queryable never finalized). */
  sweep (now: number): void {
    for (const [qid, p] of this.pending) {
      if (p.deadline > now) continue
      this.pending.delete(qid)
      p.sink.final()
    }
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.outbox.close()
    for (const p of this.pending.values()) p.sink.final()
    this.pending.clear()
  }
}

const EMPTY = new Uint8Array(0)

/** Samples delivered to clients carry locality "any", as zenohd's plugin writes them. */
export function sampleQos (qos: number): number {
  return (qos & 0x3f) | (2 << 6)
}

/**
 * A frame for a client: whole, or the pieces of one message (a large sample: header, payload,
 * tail), written to the client's socket without being joined (common/ws-message.ts).
 */
export type ClientFrame = Uint8Array | Uint8ArrayList

/**
 * InSample frame for subscriber `id` (offset 1). A payload from PIECES_FROM on is not
 * copied into it: the frame is then [header, payload, tail] (a VGA frame, ~0.9 MB, was copied once
 * more in every peer that delivered it). `forSubscriber` makes the same frame for another subscriber.
 */
export function encodeSampleFrame (w: Writer, s: Sample, id: number): ClientFrame {
  w.header(Out.InSample).u32(id).str(s.key).len(s.payload.byteLength)
  const at = w.pos
  w.u8(s.kind).encoding(s.enc).optBytes(s.att).optTimestamp(s.ts).u8(sampleQos(s.qos))
  return s.payload.byteLength >= PIECES_FROM ? w.takeAround(at, s.payload) : w.takeWith(at, s.payload)
}

/** `frame` (from encodeSampleFrame) addressed to subscriber `id`: the header is copied, a payload in pieces is shared. */
export function forSubscriber (frame: ClientFrame, id: number): ClientFrame {
  if (frame instanceof Uint8Array) {
    const copy = frame.slice()
    patchU32(copy, 1, id)
    return copy
  }
  const [head, ...rest] = frame
  const h = (head as Uint8Array).slice()
  patchU32(h, 1, id)
  return new Uint8ArrayList(h, ...rest)
}

export function encodeLivelinessSample (w: Writer, key: string, kind: number): Uint8Array {
  return w.header(Out.InSample).u32(0).str(key).len(0).u8(kind).encoding(DEFAULT_ENCODING).u8(0).u8(0).u8(sampleQos(5)).take()
}

function writeTransport (w: Writer, zid: Uint8Array): void {
  // whatami router (1), qos on, unicast
  w.zid(zid).u8(1).bool(true).bool(false)
}

function writeLink (w: Writer, zid: Uint8Array, self: string, peer: string): void {
  w.zid(zid).str(`libp2p/${self}`).str(`libp2p/${peer}`).u8(0).u16(65535).bool(true).len(0).u8(0).u8(0).u8(1).u8(1)
}

export type { Encoding }
