/**
 * Node processes for the end-to-end measures, written against the node SDK exactly as a user's
 * node is (`Node.init()` reads the SWARMFLOW_* environment a supervisor sets; see
 * peer/node-sdk/interfaces.ts). The bench starts them itself with that environment so it can drive
 * them over stdin/stdout:
 *
 *   bench-node.ts pong       — echoes every `ping` input on output `pong` (node.send(event.value))
 *   bench-node.ts ping       — commands on stdin (JSON lines), one JSON result line each:
 *                              {op:'rtt', size, count} → {samples: ms[]}
 *                              {op:'tput', size, ms, window} → {messages, secs}
 *   bench-node.ts vga-send   — {op:'run', fps, ms, width, height, run} → sends frames on `frame` (numbered `run`), replies {sent}
 *   bench-node.ts vga-recv   — receives `frame` inputs; {op:'report', next} → {received, lost, latencies: ms[], earlier}
 *                              (counts restart at each report, of run `next`'s frames; `earlier`: other runs' frames)
 *
 * Every process prints {ready: true} once its node is up.
 */
import { createInterface } from 'node:readline'
import { Node, type NodeEvent } from '../../peer/node-sdk/index.ts'

const now = (): number => performance.timeOrigin + performance.now()

function reply (o: unknown): void { process.stdout.write(JSON.stringify(o) + '\n') }

async function main (): Promise<void> {
  const role = process.argv[2]
  const node = await Node.init()
  process.on('SIGTERM', () => { void node.close().finally(() => process.exit(0)) })

  if (role === 'pong') {
    reply({ ready: true })
    for await (const ev of node) {
      if (ev.type === 'INPUT') await node.send('pong', ev.value)
    }
    return
  }

  if (role === 'vga-recv') {
    let received = 0
    let lost = 0
    let lastSeq = 0
    let latencies: number[] = []
    // a report starts a new count, of the frames of run `next` only (the senders number their runs):
    // frames of an earlier run still queued (a warm-up's backlog) are counted apart, as `earlier`
    let counting: number | undefined
    let earlier = 0
    const rl = createInterface({ input: process.stdin })
    rl.on('line', (line) => {
      reply({ received, lost, latencies, earlier })
      received = 0; lost = 0; latencies = []; earlier = 0
      const next = (JSON.parse(line) as { next?: unknown }).next
      counting = typeof next === 'number' ? next : undefined
    })
    reply({ ready: true })
    for await (const ev of node) {
      if (ev.type !== 'INPUT') continue
      const seq = ev.metadata.seq
      if (lastSeq !== 0 && seq > lastSeq + 1) lost += seq - lastSeq - 1
      lastSeq = seq
      if (counting !== undefined && ev.metadata.parameters.run !== counting) { earlier++; continue }
      received++
      latencies.push(now() - Number(ev.metadata.parameters.t))
    }
    return
  }

  // one reader for the node's events; each command installs its own input handler
  let onInput: (ev: Extract<NodeEvent, { type: 'INPUT' }>) => void = () => {}
  void (async () => { for await (const ev of node) if (ev.type === 'INPUT') onInput(ev) })()
  const rl = createInterface({ input: process.stdin })
  reply({ ready: true })
  for await (const line of rl) {
    const cmd = JSON.parse(line) as { op: string, size: number, count: number, ms: number, window: number, fps: number, width: number, height: number, run?: number }
    if (cmd.op === 'warm') {
      // until the path is routed end to end: ping every 200 ms until one comes back (10 s at most)
      let back = false
      onInput = () => { back = true }
      const by = performance.now() + 10_000
      while (!back && performance.now() < by) {
        await node.send('ping', new Uint8Array(cmd.size).fill(1))
        await new Promise(resolve => setTimeout(resolve, 200))
      }
      await new Promise(resolve => setTimeout(resolve, 200))
      onInput = () => {}
      reply({ ok: back })
    } else if (cmd.op === 'rtt') {
      const payload = new Uint8Array(cmd.size).fill(7)
      const samples: number[] = []
      let lost = 0
      let echoed: (() => void) | undefined
      onInput = () => { const e = echoed; echoed = undefined; e?.() }
      for (let i = 0; i < cmd.count; i++) {
        let timer: NodeJS.Timeout | undefined
        const got = new Promise<boolean>(resolve => { echoed = () => resolve(true); timer = setTimeout(() => resolve(false), 5000) })
        const t0 = performance.now()
        await node.send('ping', payload)
        const ok = await got
        clearTimeout(timer)
        if (ok) samples.push(performance.now() - t0)
        else lost++
      }
      reply({ samples, lost })
    } else if (cmd.op === 'tput') {
      const payload = new Uint8Array(cmd.size).fill(3)
      let inflight = 0
      let messages = 0
      let wake: (() => void) | undefined
      const t0 = performance.now()
      const end = t0 + cmd.ms
      onInput = () => {
        inflight--
        if (performance.now() <= end) messages++
        const w = wake; wake = undefined; w?.()
      }
      while (performance.now() < end) {
        if (inflight >= cmd.window) { await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 100) }); continue }
        inflight++
        await node.send('ping', payload)
      }
      const secs = (performance.now() - t0) / 1000
      const drainBy = performance.now() + 5000
      while (inflight > 0 && performance.now() < drainBy) await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 50) })
      onInput = () => {}
      reply({ messages, secs })
    } else if (cmd.op === 'run') {
      // VGA RGB frames at a fixed rate; the send time travels in the parameters
      const frame = new Uint8Array(cmd.width * cmd.height * 3).fill(9)
      const interval = 1000 / cmd.fps
      const t0 = performance.now()
      let sent = 0
      while (performance.now() - t0 < cmd.ms) {
        const due = t0 + sent * interval
        const wait = due - performance.now()
        if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
        await node.send('frame', frame, { t: now(), run: cmd.run ?? 0 })
        sent++
      }
      reply({ sent })
    }
  }
}

main().catch(err => { console.error(err); process.exit(1) })
