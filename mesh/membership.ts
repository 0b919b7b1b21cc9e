import { pack, unpack } from 'msgpackr'
import type { Logger } from '../common/log.ts'
import { SwarmflowError } from '../common/errors.ts'
import type { FramedChannel, PeerIdString } from './interfaces.ts'
import type { MeshHost } from './host.ts'

export const HELLO_PROTOCOL = '/swarmflow/hello/1.0.0'

/** What a peer says about itself when it first speaks. */
export interface Hello {
  /** Member certificate, encoded by mesh/admission. */
  cert: string
  name: string
  caps: string[]
  labels: Record<string, string>
  addrs: string[]
  version: string
}

/** Decides whether a remote peer may be a member; throws a typed error to refuse. */
export interface AdmissionPolicy {
  localHello(): Hello
  verify(peer: PeerIdString, hello: Hello): Promise<void>
}

/** Our hello was refused by the remote; carries the remote's error code and message. */
export class AdmissionRefusedError extends SwarmflowError {
  readonly peer: PeerIdString
  constructor (peer: PeerIdString, code: string, message: string) {
    super(`refused by peer ${peer}: ${message}`, { code })
    this.peer = peer
  }
}

type Msg =
  | ({ t: 'hello' } & Hello)
  | ({ t: 'welcome' } & Hello)
  | { t: 'ack' }
  | { t: 'refused', code: string, message: string }

const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 256 && v.every(s => typeof s === 'string' && s.length <= 1024)
const isHelloFields = (o: Record<string, unknown>): boolean =>
  typeof o.cert === 'string' && o.cert.length < 64 * 1024 && typeof o.name === 'string' && o.name.length <= 256 &&
  isStrArr(o.caps) && isStrArr(o.addrs) && typeof o.version === 'string' &&
  typeof o.labels === 'object' && o.labels !== null && Object.values(o.labels).every(v => typeof v === 'string')

function parseMsg (raw: Uint8Array): Msg | undefined {
  let o: unknown
  try { o = unpack(raw) } catch { return undefined }
  if (typeof o !== 'object' || o === null) return undefined
  const m = o as Record<string, unknown>
  if ((m.t === 'hello' || m.t === 'welcome') && isHelloFields(m)) return m as Msg
  if (m.t === 'ack') return { t: 'ack' }
  if (m.t === 'refused' && typeof m.code === 'string' && typeof m.message === 'string') return { t: 'refused', code: m.code.slice(0, 100), message: m.message.slice(0, 2000) }
  return undefined
}

export interface Membership {
  start(): Promise<void>
  stop(): void
  isAdmitted(peer: PeerIdString): boolean
  admitted(): Map<PeerIdString, Hello>
  /** Resolves once the peer is admitted, rejects on refusal or timeout. */
  whenAdmitted(peer: PeerIdString, opts?: { signal?: AbortSignal }): Promise<Hello>
  /** Runs (or re-runs) the handshake with a connected peer now. */
  handshake(peer: PeerIdString): Promise<Hello>
  /** Forgets a peer (disconnect or revocation). */
  forget(peer: PeerIdString): void
  onAdmitted(cb: (peer: PeerIdString, hello: Hello) => void): () => void
  onRefused(cb: (peer: PeerIdString, err: Error, byRemote: boolean) => void): () => void
  readonly counters: { admitted: number, refusedByUs: number, refusedByThem: number, badFrames: number }
}

/**
 * Admission when a peer first speaks: a three-message handshake on its own stream, opened by the
 * peer with the lower id (or by whoever calls handshake()): hello → welcome|refused → ack|refused.
 * Each side checks the other's certificate with the policy, so both learn the verdict and a refused
 * joiner can print why. Until admitted, no other protocol carries data (callers check isAdmitted).
 */
export function createMembership (config: { timeoutMs?: number }, deps: { logger: Logger, host: MeshHost, policy: AdmissionPolicy }): Membership {
  const log = deps.logger
  const timeoutMs = config.timeoutMs ?? 5000
  const admittedPeers = new Map<PeerIdString, Hello>()
  const inflight = new Map<PeerIdString, Promise<Hello>>()
  const waiters = new Map<PeerIdString, Array<{ resolve: (h: Hello) => void, reject: (e: Error) => void }>>()
  const admittedCbs = new Set<(peer: PeerIdString, hello: Hello) => void>()
  const refusedCbs = new Set<(peer: PeerIdString, err: Error, byRemote: boolean) => void>()
  const counters = { admitted: 0, refusedByUs: 0, refusedByThem: 0, badFrames: 0 }
  const unsubs: Array<() => void> = []

  const admit = (peer: PeerIdString, hello: Hello): void => {
    const fresh = !admittedPeers.has(peer)
    admittedPeers.set(peer, hello)
    for (const w of waiters.get(peer) ?? []) w.resolve(hello)
    waiters.delete(peer)
    if (!fresh) return
    counters.admitted++
    log.info({ peer, name: hello.name }, 'peer admitted')
    for (const cb of admittedCbs) { try { cb(peer, hello) } catch (err) { log.error({ err }, 'admitted listener threw') } }
  }

  const refuse = (peer: PeerIdString, err: Error, byRemote: boolean): void => {
    if (byRemote) counters.refusedByThem++
    else counters.refusedByUs++
    admittedPeers.delete(peer)
    log.warn({ peer, code: (err as SwarmflowError).code, reason: err.message, byRemote }, byRemote ? 'we were refused by peer' : 'refused peer')
    for (const w of waiters.get(peer) ?? []) w.reject(err)
    waiters.delete(peer)
    for (const cb of refusedCbs) { try { cb(peer, err, byRemote) } catch (e) { log.error({ err: e }, 'refused listener threw') } }
  }

  const codeOf = (err: unknown): string => (err as SwarmflowError).code ?? (err as Error).name ?? 'Error'

  const next = async (it: AsyncIterator<Uint8Array>): Promise<Msg | undefined> => {
    const r = await Promise.race([it.next(), new Promise<IteratorResult<Uint8Array>>(resolve => setTimeout(() => resolve({ done: true, value: undefined }), timeoutMs).unref())])
    if (r.done) return undefined
    const m = parseMsg(r.value)
    if (!m) counters.badFrames++
    return m
  }

  // Responder side.
  const onInbound = (ch: FramedChannel): void => {
    const peer = ch.remotePeer
    void (async () => {
      const it = ch[Symbol.asyncIterator]()
      try {
        const m = await next(it)
        if (m?.t !== 'hello') { counters.badFrames++; log.warn({ peer }, 'dropped handshake without a valid hello'); ch.abort(); return }
        try {
          await deps.policy.verify(peer, m)
        } catch (err) {
          await ch.send(pack({ t: 'refused', code: codeOf(err), message: (err as Error).message })).catch(() => {})
          refuse(peer, err as Error, false)
          await ch.close()
          return
        }
        await ch.send(pack({ t: 'welcome', ...deps.policy.localHello() }))
        const r = await next(it)
        if (r?.t === 'ack') admit(peer, m)
        else if (r?.t === 'refused') refuse(peer, new AdmissionRefusedError(peer, r.code, r.message), true)
        await ch.close()
      } catch (err) {
        log.debug({ peer, err: (err as Error).message }, 'inbound handshake failed')
        ch.abort()
      }
    })()
  }

  const handshake = (peer: PeerIdString): Promise<Hello> => {
    const running = inflight.get(peer)
    if (running) return running
    const p = (async (): Promise<Hello> => {
      const ch = await deps.host.open(peer, HELLO_PROTOCOL)
      const it = ch[Symbol.asyncIterator]()
      try {
        await ch.send(pack({ t: 'hello', ...deps.policy.localHello() }))
        const m = await next(it)
        if (m === undefined) throw new AdmissionRefusedError(peer, 'Timeout', 'no answer to our hello')
        if (m.t === 'refused') {
          const err = new AdmissionRefusedError(peer, m.code, m.message)
          refuse(peer, err, true)
          throw err
        }
        if (m.t !== 'welcome') throw new AdmissionRefusedError(peer, 'Protocol', `unexpected '${m.t}'`)
        try {
          await deps.policy.verify(peer, m)
        } catch (err) {
          await ch.send(pack({ t: 'refused', code: codeOf(err), message: (err as Error).message })).catch(() => {})
          refuse(peer, err as Error, false)
          throw err
        }
        await ch.send(pack({ t: 'ack' }))
        admit(peer, m)
        return m
      } finally {
        await ch.close().catch(() => {})
      }
    })().finally(() => inflight.delete(peer))
    inflight.set(peer, p)
    return p
  }

  return {
    counters,
    async start () {
      await deps.host.handle(HELLO_PROTOCOL, onInbound, { maxFrameBytes: 256 * 1024 })
      unsubs.push(deps.host.onConnect((peer) => {
        if (deps.host.peerId < peer && !admittedPeers.has(peer)) {
          handshake(peer).catch(err => log.debug({ peer, err: (err as Error).message }, 'handshake did not complete'))
        }
      }))
      unsubs.push(deps.host.onDisconnect((peer) => { if (deps.host.connectedPeers().includes(peer)) return; admittedPeers.delete(peer) }))
    },
    stop () {
      for (const u of unsubs.splice(0)) u()
      for (const [, ws] of waiters) for (const w of ws) w.reject(new SwarmflowError('membership stopped'))
      waiters.clear()
    },
    isAdmitted: (peer) => admittedPeers.has(peer),
    admitted: () => new Map(admittedPeers),
    whenAdmitted (peer, opts) {
      const h = admittedPeers.get(peer)
      if (h) return Promise.resolve(h)
      return new Promise((resolve, reject) => {
        const list = waiters.get(peer) ?? []
        const entry = { resolve, reject }
        list.push(entry)
        waiters.set(peer, list)
        opts?.signal?.addEventListener('abort', () => {
          waiters.set(peer, (waiters.get(peer) ?? []).filter(e => e !== entry))
          reject(new SwarmflowError(`peer ${peer} was not admitted in time`))
        }, { once: true })
      })
    },
    handshake,
    forget (peer) { admittedPeers.delete(peer) },
    onAdmitted (cb) { admittedCbs.add(cb); return () => admittedCbs.delete(cb) },
    onRefused (cb) { refusedCbs.add(cb); return () => refusedCbs.delete(cb) },
  }
}
