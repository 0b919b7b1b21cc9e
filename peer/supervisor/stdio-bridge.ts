/**
 * Bridges an executable that speaks the stdio node protocol (peer/node-sdk/STDIO.md,
 * `SWARMFLOW_STDIO=arrow`) to the data plane: an in-process SDK node subscribes and publishes on
 * the child's behalf; inputs become frames on its stdin, frames on its stdout become outputs.
 */
import type { ChildProcess } from 'node:child_process'
import type { Logger } from '../../common/log.ts'
import { Node, FrameDecoder, encodeFrame, nodeConfigEnv, type NodeEvent, type Parameters } from '../node-sdk/index.ts'
import type { InstanceSpec } from './interfaces.ts'

export interface StdioBridgeCounters {
  framesToChild: number
  framesFromChild: number
  /** Frames from the child with an unusable header, unknown type or output, or a body that is not Arrow IPC. */
  badFrames: number
  sendErrors: number
}

export interface StdioBridge {
  readonly counters: StdioBridgeCounters
  /** Sends STOP to the child (as a frame) and ends the input stream. Idempotent. */
  stop(): void
  /** Closes the data-plane session. Idempotent. */
  close(): Promise<void>
}

/** Outputs in flight before we stop reading the child's stdout (the pipe then blocks the child). */
const MAX_INFLIGHT_SENDS = 16

export interface StdioBridgeDeps {
  logger: Logger
  /** Writes a supervisor line into the node's log. */
  note: (text: string) => void
  /** The supervisor's totals, bumped alongside this bridge's own. */
  counters: { stdioBadFrames: number, stdioSendErrors: number }
}

export function startStdioBridge (spec: InstanceSpec, child: ChildProcess, deps: StdioBridgeDeps): StdioBridge {
  const log = deps.logger.child({ component: 'stdio-bridge' })
  const counters: StdioBridgeCounters = { framesToChild: 0, framesFromChild: 0, badFrames: 0, sendErrors: 0 }
  const decoder = new FrameDecoder()
  const abort = new AbortController()
  let node: Node | undefined
  let stopped = false
  let closed = false
  let inflight = 0
  let chain: Promise<void> = Promise.resolve()
  const stdin = child.stdin
  const stdout = child.stdout

  const bad = (why: string, extra: Record<string, unknown> = {}): void => {
    counters.badFrames++
    deps.counters.stdioBadFrames++
    // The first one explains the problem; a program stuck in a bad loop must not flood the peer's log.
    if (counters.badFrames === 1) log.warn({ key: spec.key, ...extra }, `dropped a frame from the node: ${why} (further ones at debug, counted)`)
    else log.debug({ key: spec.key, ...extra }, `dropped a frame from the node: ${why}`)
  }

  async function writeFrame (bytes: Uint8Array): Promise<void> {
    if (stdin === null || stdin.destroyed || stdin.writableEnded) return
    counters.framesToChild++
    if (!stdin.write(bytes)) {
      // The child reads slowly: stop pulling events, which lets the input queues apply their policies.
      await new Promise<void>(resolve => {
        const done = (): void => { stdin.off('drain', done); stdin.off('close', done); resolve() }
        stdin.once('drain', done)
        stdin.once('close', done)
      })
    }
  }

  async function pump (n: Node): Promise<void> {
    for await (const ev of n as AsyncIterable<NodeEvent>) {
      if (stopped) continue // STOP went out already; the child gets no inputs after it
      if (ev.type === 'INPUT') await writeFrame(encodeFrame({ type: 'INPUT', id: ev.id, metadata: ev.metadata }, ev.raw))
      else if (ev.type === 'INPUT_CLOSED') await writeFrame(encodeFrame({ type: 'INPUT_CLOSED', id: ev.id }))
    }
  }

  function onFrame (header: Record<string, unknown>, body: Uint8Array): void {
    counters.framesFromChild++
    if (header.type !== 'OUTPUT' || typeof header.id !== 'string') { bad('not an OUTPUT frame with a string id', { type: header.type }); return }
    const params = header.parameters ?? {}
    const id = header.id
    const n = node
    if (n === undefined) return // unreachable: stdout is paused until the node is open
    inflight++
    if (inflight >= MAX_INFLIGHT_SENDS) stdout?.pause()
    chain = chain.then(async () => {
      try {
        await n.sendIpc(id, body, params as Parameters)
      } catch (err) {
        counters.sendErrors++
        deps.counters.stdioSendErrors++
        if (counters.sendErrors === 1) deps.note(`[supervisor] output refused: ${(err as Error).message}`)
        log.debug({ key: spec.key, output: id, err }, 'output from stdio node refused')
      } finally {
        inflight--
        if (inflight < MAX_INFLIGHT_SENDS / 2) stdout?.resume()
      }
    })
  }

  stdout?.on('data', (chunk: Buffer) => {
    let r
    try {
      r = decoder.push(chunk)
    } catch (err) {
      // Framing is lost for good; the restart policy decides what happens next.
      deps.note(`[supervisor] stdio protocol broken: ${(err as Error).message}; stopping the node`)
      log.warn({ key: spec.key, err }, 'stdio node broke framing')
      counters.badFrames++
      deps.counters.stdioBadFrames++
      stdout.removeAllListeners('data')
      child.kill('SIGTERM')
      return
    }
    for (let i = 0; i < r.bad; i++) bad('header is not a JSON object with a string type')
    for (const f of r.frames) onFrame(f.header, f.body)
  })
  // Nothing is read from the program until its outputs can be published: the pipe holds them.
  stdout?.pause()

  const env = nodeConfigEnv({
    swarm: spec.swarmId, flow: spec.flow, nodeId: spec.nodeId, zenoh: spec.zenohEndpoint, epoch: spec.epoch,
    peer: spec.peerId, peerName: spec.peerName, inputs: spec.inputs, outputs: spec.outputs,
  })
  void Node.init({ env, keepRaw: true, signal: abort.signal, logger: log }).then(async n => {
    if (closed) { await n.close(); return }
    node = n
    stdout?.resume()
    if (stopped) return
    await pump(n)
  }).catch((err: unknown) => {
    if (closed) return
    deps.note(`[supervisor] stdio bridge could not join the data plane: ${(err as Error).message}`)
    log.warn({ key: spec.key, err }, 'stdio bridge failed; stopping the node')
    child.kill('SIGTERM')
  })

  const bridge: StdioBridge = {
    counters,
    stop () {
      if (stopped) return
      stopped = true
      void writeFrame(encodeFrame({ type: 'STOP' }))
      // Outputs the child still writes while stopping are forwarded; only inputs end here.
      if (node === undefined) abort.abort()
    },
    async close () {
      if (closed) return
      closed = true
      abort.abort()
      await chain
      await node?.close()
    },
  }
  return bridge
}
