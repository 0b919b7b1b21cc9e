/**
 * Joins a zenohd (remote-api plugin) as a backbone: one zenoh-ts session on the local router and
 * one on the backbone, a subscriber on `prefix` on each side, every sample re-published on the
 * other side with payload, encoding, attachment, timestamp and QoS unchanged.
 *
 * Loop prevention, two layers:
 * 1. Both subscribers only accept samples from *other* sessions (locality REMOTE), so what the
 *    bridge publishes on one side never comes straight back to it.
 * 2. Samples are identified by (key, timestamp) — routers stamp every sample and the bridge keeps
 *    the stamp — and a bounded set remembers what crossed recently; a sample that already crossed
 *    (or was seen on the other side) is not forwarded again, which breaks longer cycles
 *    (swarm → zenohd → another bridge → swarm).
 * Run one bridge per swarm and backbone: two bridges of one swarm on one zenohd race and can
 * deliver a sample twice (each sees it from the swarm before the other's copy).
 */
import { Config, Locality, SampleKind, Session, type Sample, type Subscriber } from '@eclipse-zenoh/zenoh-ts'
import { KeyExpr } from '@eclipse-zenoh/zenoh-ts'
import type { Backbone, BackboneConfig, BackboneCounters, BackboneDeps } from './interfaces.ts'
import { BackboneConfigError, BackboneConnectError } from './errors.ts'

const SEEN_MAX = 16_384

class SeenSet {
  private set = new Set<string>()
  add (id: string): void {
    if (this.set.size >= SEEN_MAX) {
      // drop the oldest quarter (Set iterates in insertion order)
      let n = SEEN_MAX / 4
      for (const k of this.set) { this.set.delete(k); if (--n === 0) break }
    }
    this.set.add(id)
  }

  has (id: string): boolean { return this.set.has(id) }
}

function sampleId (s: Sample): string | undefined {
  const ts = s.timestamp()
  if (ts === undefined) return undefined
  return `${s.keyexpr().toString()}|${ts.getNtp64().toString(16)}|${ts.getId().toString()}`
}

async function openWithin (url: string, ms: number): Promise<Session> {
  let timer: NodeJS.Timeout | undefined
  const opening = Session.open(new Config(url))
  try {
    return await Promise.race([
      opening,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no session within ${ms} ms`)), ms) }),
    ])
  } catch (err) {
    // zenoh-ts keeps retrying in the background; close whatever it ends up opening
    opening.then(s => s.close().catch(() => {}), () => {})
    throw new BackboneConnectError(url, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}

export function createBackbone (config: BackboneConfig, deps: BackboneDeps): Backbone {
  const log = deps.logger
  if (!/^wss?:\/\/[^/]+/.test(config.url)) throw new BackboneConfigError(`backbone url "${config.url}" is not ws://HOST:PORT (the zenohd remote-api endpoint)`)
  try {
    void new KeyExpr(config.prefix)
  } catch (err) {
    throw new BackboneConfigError(`backbone prefix "${config.prefix}" is not a valid key expression (e.g. "swarmflow/<swarm>/**"): ${String((err as Error).message)}`)
  }
  const openTimeout = config.openTimeoutMs ?? 5000
  const counters: BackboneCounters = { toBackbone: 0, fromBackbone: 0, loopsSuppressed: 0, errors: 0 }
  const crossed = new SeenSet()
  let local: Session | undefined
  let remote: Session | undefined
  const subs: Subscriber[] = []
  let started = false

  function forward (s: Sample, to: Session, direction: 'toBackbone' | 'fromBackbone'): void {
    const id = sampleId(s)
    if (id !== undefined) {
      if (crossed.has(id)) { counters.loopsSuppressed++; return }
      crossed.add(id)
    }
    counters[direction]++
    const common = { attachment: s.attachment(), timestamp: s.timestamp(), priority: s.priority(), congestionControl: s.congestionControl(), express: s.express() }
    const done = s.kind() === SampleKind.DELETE
      ? to.delete(s.keyexpr(), common)
      : to.put(s.keyexpr(), s.payload(), { ...common, encoding: s.encoding() })
    done.catch((err: unknown) => {
      counters.errors++
      log.warn({ err: String((err as Error)?.message ?? err), key: s.keyexpr().toString(), direction }, 'backbone forward failed')
    })
  }

  async function start (): Promise<void> {
    if (started) return
    const localUrl = deps.router.url
    if (localUrl === undefined) throw new BackboneConfigError('start the zenoh router before the backbone: it has no endpoint url yet')
    started = true
    try {
      local = await openWithin(localUrl, openTimeout)
      remote = await openWithin(config.url, openTimeout)
      const l = local
      const r = remote
      subs.push(await l.declareSubscriber(config.prefix, { allowedOrigin: Locality.REMOTE, handler: (s: Sample) => forward(s, r, 'toBackbone') }))
      subs.push(await r.declareSubscriber(config.prefix, { allowedOrigin: Locality.REMOTE, handler: (s: Sample) => forward(s, l, 'fromBackbone') }))
      log.info({ url: config.url, prefix: config.prefix }, 'bridging the swarm with the zenoh backbone')
    } catch (err) {
      await stop()
      if (err instanceof BackboneConnectError) throw err
      throw new BackboneConnectError(config.url, { cause: err })
    }
  }

  async function stop (): Promise<void> {
    started = false
    for (const s of subs.splice(0)) await s.undeclare().catch(() => {})
    const sessions = [local, remote]
    local = undefined
    remote = undefined
    for (const s of sessions) if (s !== undefined && !s.isClosed()) await s.close().catch(() => {})
  }

  return { start, stop, counters }
}
