/**
 * The node SDK, shaped like dora's node API:
 *
 *   import { Node } from 'swarmflow/node'
 *   const node = await Node.init()
 *   for await (const event of node) {
 *     if (event.type === 'INPUT') await node.send('out', event.value, { seen: event.metadata.seq })
 *   }
 *
 * Inputs arrive from the peer's Zenoh endpoint (zenoh-ts) or from local timers; outputs leave as
 * Arrow IPC streams with the metadata in the sample attachment (codec.ts). Leaving the loop (after
 * STOP, or by `break`) closes the node.
 */
import { Encoding, SampleKind, type Session, type LivelinessToken, type Publisher, type Sample, type Subscriber } from '@eclipse-zenoh/zenoh-ts'
import type { Vector } from 'apache-arrow'
import { createLogger, type Logger } from '../../common/log.ts'
// keys.ts directly (not mesh/zenoh/index.ts): it has no dependencies, and the index would load the
// whole router into every node process.
import { ARROW_STREAM_ENCODING, nodeAliveKey, nodeKey, outputKey } from '../../mesh/zenoh/keys.ts'
import { decodeIpc, decodeMetadata, decodeValue, emptyValue, encodeData, encodeMetadata, validParameters } from './codec.ts'
import { readNodeConfig } from './config.ts'
import { openZenohSession, zbytesView } from './socket.ts'
import { shareLargePayloads } from './zero-copy.ts'
import { DataPlaneConnectError, InvalidIpcError, InvalidParametersError, NodeClosedError, UnknownOutputError } from './errors.ts'
import { InputEvents } from './events.ts'
import { HybridLogicalClock } from './hlc.ts'
import type { Metadata, NodeCounters, NodeEvent, NodeInitOptions, NodeInputConfig, NodeRuntimeConfig, Parameters, SendData } from './interfaces.ts'

/** Where a node output is published. One function, so the key space can be re-pointed in one place. */
export function dataKey (cfg: Pick<NodeRuntimeConfig, 'swarm' | 'flow'>, node: string, output: string): string {
  return outputKey(cfg.swarm, cfg.flow, node, output)
}

/** Set by child/preload.mjs in processes a supervisor started. */
interface ControlChannel {
  stopRequested: boolean
  parentGone: boolean
  on(event: 'stop', l: () => void): unknown
  off(event: 'stop', l: () => void): unknown
}

function controlChannel (): ControlChannel | undefined {
  const c = (globalThis as Record<symbol, unknown>)[Symbol.for('swarmflow.control')]
  return c !== null && typeof c === 'object' && typeof (c as ControlChannel).on === 'function' ? c as ControlChannel : undefined
}

/**
 * zenoh-ts 1.10 prints its connection chatter with console.log/warn; in a node process that lands
 * in the node's own log as if the user wrote it. Those exact messages go to our logger at debug;
 * everything else passes through untouched. Installed once per process.
 */
const ZENOH_CHATTER = /^(Successfully opened session with id: |Connected to$|Restart connection$|WebSocket has been disconnected from remote-api-plugin: |WebSocket error: $)/
let chatterLogger: Logger | undefined
function quietZenohConsole (logger: Logger): void {
  if (chatterLogger !== undefined) return
  chatterLogger = logger
  for (const level of ['log', 'warn'] as const) {
    const orig = console[level].bind(console)
    console[level] = (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && ZENOH_CHATTER.test(args[0])) {
        chatterLogger?.debug({ zenoh: args.map(a => typeof a === 'string' ? a : String(a)).join(' ') }, 'zenoh-ts')
        return
      }
      orig(...args)
    }
  }
}

async function withTimeout<T> (p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { t = setTimeout(() => reject(onTimeout()), ms) })])
  } finally {
    clearTimeout(t)
  }
}

interface InputRuntime {
  cfg: NodeInputConfig
  key?: string
  lastSeen: number
  closed: boolean
  timeout?: NodeJS.Timeout
  timer?: NodeJS.Timeout
  ticks: number
}

export interface NodeInternals {
  logger?: Logger
}

export class Node implements AsyncIterable<NodeEvent>, AsyncDisposable {
  readonly config: Readonly<NodeRuntimeConfig>
  readonly counters: NodeCounters = { received: 0, sent: 0, queueDrops: 0, backpressureDrops: 0, staleDrops: 0, malformed: 0, timerTicks: 0, timerSkips: 0, sentInPieces: 0, receivedShared: 0 }
  /** Resolves (never rejects) once close() has finished. */
  readonly closed: Promise<void>

  private readonly session: Session
  private readonly log: Logger
  private readonly hlc = new HybridLogicalClock()
  private readonly events: InputEvents
  private readonly inputs = new Map<string, InputRuntime>()
  private readonly publishers = new Map<string, Publisher>()
  private readonly subscribers: Subscriber[] = []
  private token: LivelinessToken | undefined
  /** Peers holding a live instance of each upstream node (liveliness tokens). */
  private readonly upstream = new Map<string, Set<string>>()
  private readonly seqs = new Map<string, number>()
  /** The buffer every send() encodes into while zenoh-ts copies each message before put() first yields (see send()). */
  private readonly sendScratch = { buf: new Uint8Array(0) }
  /**
   * zero-copy.ts sends large messages from their pieces: they are written after put() returned, so
   * the bytes handed to put() must stay as they are (no shared scratch, callers' bytes copied).
   */
  private sendsInPieces = false
  /** Highest producer epoch seen per source key (fencing of stale producers). */
  private readonly fence = new Map<string, number>()
  private readonly warned = new Set<string>()
  private readonly encoding = Encoding.fromString(ARROW_STREAM_ENCODING)
  private wake: (() => void) | undefined
  private stopPending = false
  private stopDelivered = false
  private isClosed = false
  private closing: Promise<void> | undefined
  private markClosed!: () => void
  private readonly control: ControlChannel | undefined
  private readonly onControlStop = (): void => { this.requestStop() }

  /**
   * Reads the node's environment, opens a session on the peer's Zenoh endpoint, subscribes to
   * every input and starts its timers. `signal` aborting closes the node.
   */
  static async init (options: NodeInitOptions & NodeInternals = {}): Promise<Node> {
    const cfg = readNodeConfig(options.env ?? process.env)
    const logger = (options.logger ?? createLogger({ level: process.env.SWARMFLOW_LOG_LEVEL ?? 'warn' }))
      .child({ component: 'node-sdk', flow: cfg.flow, node: cfg.nodeId })
    quietZenohConsole(logger)
    let session: Session
    try {
      session = await withTimeout(openZenohSession(cfg.zenoh), options.openTimeoutMs ?? 5000, () => new DataPlaneConnectError(cfg.zenoh))
    } catch (err) {
      throw err instanceof DataPlaneConnectError ? err : new DataPlaneConnectError(cfg.zenoh, { cause: err })
    }
    const node = new Node(cfg, session, logger, options.keepRaw === true)
    const shared = shareLargePayloads(session, node.counters)
    if (shared === undefined) logger.warn('zenoh-ts internals differ from 1.10: large payloads are copied on send and receive (peer/node-sdk/zero-copy.ts)')
    else node.sendsInPieces = shared.sendsInPieces
    try {
      await node.start()
    } catch (err) {
      await node.close()
      throw err
    }
    if (options.signal !== undefined) {
      if (options.signal.aborted) await node.close()
      else options.signal.addEventListener('abort', () => { void node.close() }, { once: true })
    }
    return node
  }

  private readonly keepRaw: boolean

  private constructor (cfg: NodeRuntimeConfig, session: Session, logger: Logger, keepRaw: boolean) {
    this.keepRaw = keepRaw
    this.config = cfg
    this.session = session
    this.log = logger
    this.events = new InputEvents(cfg.inputs)
    this.closed = new Promise<void>(resolve => { this.markClosed = resolve })
    this.control = controlChannel()
  }

  private async start (): Promise<void> {
    const cfg = this.config
    for (const out of cfg.outputs) {
      this.publishers.set(out, await this.session.declarePublisher(dataKey(cfg, cfg.nodeId, out), { encoding: this.encoding }))
    }
    // Our liveliness token: consumers learn that this node instance is up, and that it is gone
    // when the session ends (exit, crash or kill) — dora's "upstream finished" → INPUT_CLOSED.
    this.token = await this.session.liveliness().declareToken(nodeAliveKey(cfg.swarm, cfg.flow, cfg.nodeId, cfg.peer))
    const now = Date.now()
    const upstreamNodes = new Set<string>()
    for (const input of cfg.inputs) {
      const rt: InputRuntime = { cfg: input, lastSeen: now, closed: false, ticks: 0 }
      this.inputs.set(input.id, rt)
      if (input.source.kind === 'node') {
        const key = dataKey(cfg, input.source.node, input.source.output)
        rt.key = key
        this.subscribers.push(await this.session.declareSubscriber(key, { handler: (sample: Sample) => { this.onSample(rt, sample) } }))
        upstreamNodes.add(input.source.node)
      } else {
        this.startTimer(rt, input.source.intervalMs)
      }
      if (input.inputTimeoutMs !== undefined) this.armTimeout(rt)
    }
    for (const up of upstreamNodes) {
      this.upstream.set(up, new Set())
      const selector = `${nodeKey(cfg.swarm, cfg.flow, up)}/alive/*`
      this.subscribers.push(await this.session.liveliness().declareSubscriber(selector, { history: true, handler: (s: Sample) => { this.onLiveliness(up, s) } }))
    }
    if (this.control !== undefined) {
      this.control.on('stop', this.onControlStop)
      if (this.control.stopRequested) this.requestStop()
    }
  }

  private warnOnce (kind: string, obj: Record<string, unknown>, msg: string): void {
    if (this.warned.has(kind)) { this.log.debug(obj, msg); return }
    this.warned.add(kind)
    this.log.warn(obj, `${msg} (further ones logged at debug, counted in node.counters)`)
  }

  private onSample (rt: InputRuntime, sample: Sample): void {
    if (this.isClosed) return
    const input = rt.cfg.id
    try {
      this.counters.received++
      if (sample.encoding().toString() !== ARROW_STREAM_ENCODING) {
        this.counters.malformed++
        this.warnOnce('encoding', { input, encoding: sample.encoding().toString() }, 'dropped a sample that is not an Arrow IPC stream')
        return
      }
      const meta = decodeMetadata(sample.attachment()?.toBytes())
      if (meta === undefined) {
        this.counters.malformed++
        this.warnOnce('metadata', { input }, 'dropped a sample without valid swarmflow metadata')
        return
      }
      const key = rt.key as string
      const highest = this.fence.get(key) ?? -1
      if (meta.epoch < highest) {
        this.counters.staleDrops++
        this.warnOnce('stale', { input, epoch: meta.epoch, highest, producer: meta.peer }, 'dropped a sample from a stale producer')
        return
      }
      if (meta.epoch > highest) this.fence.set(key, meta.epoch)
      const bytes = sample.payload().toBytes()
      let value: Vector
      try { value = decodeValue(bytes) } catch (err) {
        this.counters.malformed++
        this.warnOnce('ipc', { input, err }, 'dropped a sample whose payload does not decode as Arrow IPC')
        return
      }
      this.hlc.update(meta.timestamp)
      const event: NodeEvent = { type: 'INPUT', id: input, value, metadata: meta }
      if (this.keepRaw) event.raw = bytes
      this.deliver(rt, event)
    } catch (err) {
      // Anything unexpected from a network input is this sample's problem only.
      this.counters.malformed++
      this.warnOnce('unexpected', { input, err }, 'dropped a sample that failed to process')
    }
  }

  private onLiveliness (node: string, sample: Sample): void {
    if (this.isClosed) return
    const key = sample.keyexpr().toString()
    const peer = key.slice(key.lastIndexOf('/') + 1)
    const holders = this.upstream.get(node)
    if (holders === undefined || peer.length === 0) return
    if (sample.kind() === SampleKind.PUT) { holders.add(peer); return }
    if (!holders.delete(peer) || holders.size > 0) return
    // The last instance of the upstream node went away: its inputs are closed until data comes again.
    for (const rt of this.inputs.values()) {
      if (rt.cfg.source.kind === 'node' && rt.cfg.source.node === node && !rt.closed) this.closeInput(rt)
    }
  }

  private closeInput (rt: InputRuntime): void {
    rt.closed = true
    clearTimeout(rt.timeout)
    this.events.pushControl(rt.cfg.id, { type: 'INPUT_CLOSED', id: rt.cfg.id })
    this.signal()
  }

  private deliver (rt: InputRuntime, event: NodeEvent): void {
    rt.lastSeen = Date.now()
    if (rt.closed) {
      // A re-elected producer came back after input_timeout: the input is open again.
      rt.closed = false
      if (rt.cfg.inputTimeoutMs !== undefined) this.armTimeout(rt)
    }
    const r = this.events.pushData(rt.cfg.id, event)
    if (r === 'dropped-oldest') this.counters.queueDrops++
    else if (r === 'dropped-newest') {
      this.counters.backpressureDrops++
      this.warnOnce('backpressure', { input: rt.cfg.id }, 'input under backpressure overflowed its pull buffer; dropped the newest sample')
    }
    this.signal()
  }

  private startTimer (rt: InputRuntime, intervalMs: number): void {
    // Scheduled against a fixed origin so ticks do not drift with event-loop delays
    // (dora/timer/hz/N); after a stall the missed ticks are skipped, not fired in a burst.
    const origin = performance.now()
    let slot = 1
    const tick = (): void => {
      if (this.isClosed) return
      rt.ticks++
      if (this.events.isFull(rt.cfg.id) && rt.cfg.queuePolicy === 'backpressure') {
        this.counters.timerSkips++
      } else {
        this.counters.timerTicks++
        const meta: Metadata = { timestamp: this.hlc.now(), seq: rt.ticks, peer: this.config.peer, epoch: this.config.epoch, parameters: {} }
        this.deliver(rt, { type: 'INPUT', id: rt.cfg.id, value: emptyValue(), metadata: meta })
      }
      slot = Math.max(slot + 1, Math.floor((performance.now() - origin) / intervalMs) + 1)
      rt.timer = setTimeout(tick, Math.max(0, origin + slot * intervalMs - performance.now()))
    }
    rt.timer = setTimeout(tick, intervalMs)
  }

  private armTimeout (rt: InputRuntime): void {
    const ms = rt.cfg.inputTimeoutMs as number
    clearTimeout(rt.timeout)
    const check = (): void => {
      if (this.isClosed || rt.closed) return
      const idle = Date.now() - rt.lastSeen
      if (idle >= ms) {
        this.closeInput(rt)
        return
      }
      // One timer per input, re-armed only when it fires: a busy input costs nothing per message.
      rt.timeout = setTimeout(check, ms - idle)
    }
    rt.timeout = setTimeout(check, Math.max(0, ms - (Date.now() - rt.lastSeen)))
  }

  private signal (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** Queues STOP ahead of pending inputs; the event stream ends after it. */
  private requestStop (): void {
    if (this.stopPending) return
    this.stopPending = true
    this.signal()
  }

  /** The next event, or undefined once the stream has ended (after STOP, or closed). */
  async next (): Promise<NodeEvent | undefined> {
    while (true) {
      if (this.isClosed || this.stopDelivered) return undefined
      if (this.stopPending) {
        this.stopDelivered = true
        return { type: 'STOP' }
      }
      const ev = this.events.shift()
      if (ev !== undefined) return ev
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  [Symbol.asyncIterator] (): AsyncIterator<NodeEvent> {
    return {
      next: async (): Promise<IteratorResult<NodeEvent>> => {
        const ev = await this.next()
        if (ev !== undefined) return { done: false, value: ev }
        await this.close()
        return { done: true, value: undefined }
      },
      return: async (): Promise<IteratorResult<NodeEvent>> => {
        await this.close()
        return { done: true, value: undefined }
      },
    }
  }

  /**
   * Publishes `data` on output `outputId` as one Arrow IPC stream. Vectors, typed arrays,
   * number[] (as Float64) and bytes become a one-column table named `data` (DATA_COLUMN).
   */
  async send (outputId: string, data: SendData, parameters: Parameters = {}): Promise<void> {
    if (this.isClosed) throw new NodeClosedError(`send() to ${JSON.stringify(outputId)}`)
    if (!this.publishers.has(outputId)) throw new UnknownOutputError(outputId, this.config.outputs)
    if (!validParameters(parameters)) throw new InvalidParametersError(outputId)
    // Encoded into bytes of its own (sent from their pieces, zero-copy.ts), or into one buffer
    // reused for every send where zenoh-ts copies each message into the outgoing frame before
    // put() first yields (node.test.ts sends without awaiting to hold both to that). Either way a
    // VGA frame is allocated once per send, not twice.
    await this.publish(outputId, encodeData(outputId, data, this.sendsInPieces ? undefined : this.sendScratch), parameters)
  }

  /** Publishes bytes that already are one Arrow IPC stream (checked, not re-encoded). For bridges. */
  async sendIpc (outputId: string, ipc: Uint8Array, parameters: Parameters = {}): Promise<void> {
    if (this.isClosed) throw new NodeClosedError(`sendIpc() to ${JSON.stringify(outputId)}`)
    if (!this.publishers.has(outputId)) throw new UnknownOutputError(outputId, this.config.outputs)
    if (!validParameters(parameters)) throw new InvalidParametersError(outputId)
    try { decodeIpc(ipc) } catch (err) { throw new InvalidIpcError(outputId, { cause: err }) }
    // the caller may reuse its bytes once this returns; a message sent from its pieces is written later
    await this.publish(outputId, this.sendsInPieces ? ipc.slice() : ipc, parameters)
  }

  private async publish (outputId: string, ipc: Uint8Array, parameters: Parameters): Promise<void> {
    const seq = (this.seqs.get(outputId) ?? 0) + 1
    this.seqs.set(outputId, seq)
    const meta: Metadata = { timestamp: this.hlc.now(), seq, peer: this.config.peer, epoch: this.config.epoch, parameters }
    // No per-put encoding: the publisher was declared with it and the router applies it (zenoh-ts
    // would serialize it again for every sample). The attachment is handed over without zenoh-ts's
    // Uint8Array.from copy: zenoh-ts copies it into the outgoing frame before put() first yields,
    // or, sent from its pieces, it is packed into bytes msgpackr never writes again.
    await (this.publishers.get(outputId) as Publisher).put(zbytesView(ipc), { attachment: zbytesView(encodeMetadata(meta)) })
    this.counters.sent++
  }

  /** Ends the event stream, stops timers, undeclares everything and closes the session. Idempotent. */
  async close (): Promise<void> {
    if (this.closing !== undefined) return await this.closing
    this.isClosed = true
    this.signal()
    this.closing = (async () => {
      this.control?.off('stop', this.onControlStop)
      for (const rt of this.inputs.values()) { clearTimeout(rt.timer); clearTimeout(rt.timeout) }
      this.events.clear()
      for (const s of this.subscribers.splice(0)) await s.undeclare().catch(() => {})
      for (const p of this.publishers.values()) await p.undeclare().catch(() => {})
      await this.token?.undeclare().catch(() => {})
      await this.session.close().catch((err: unknown) => { this.log.debug({ err }, 'session close failed') })
      this.markClosed()
    })()
    await this.closing
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }
}
