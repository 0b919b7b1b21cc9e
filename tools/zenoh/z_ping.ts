/** z_ping: round-trip latency through test/ping → z_pong → test/pong. Prints one JSON summary line. */
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeAndExit } from './args.ts'

const v = parse({
  size: { type: 'string', short: 's', default: '64' },
  samples: { type: 'string', short: 'n', default: '100' },
  warmup: { type: 'string', short: 'w', default: '20' },
  express: { type: 'boolean' },
  timeout: { type: 'string', short: 'o', default: '5000' },
}, 'z_ping [--connect ws://HOST:PORT] [-s PAYLOAD_BYTES] [-n SAMPLES] [-w WARMUP_SAMPLES] [-o PER_SAMPLE_TIMEOUT_MS]')

const size = num(v.size, 'size', 64)
const samples = num(v.samples, 'samples', 100)
const warmup = num(v.warmup, 'warmup', 20)
const timeoutMs = num(v.timeout, 'timeout', 5000)
const session = await open(connectUrl(v.connect))
let waiting: (() => void) | undefined
await session.declareSubscriber('test/pong', { handler: (_s: Sample) => { const w = waiting; waiting = undefined; w?.() } })
const pub = await session.declarePublisher('test/ping', { express: v.express === true })
const payload = new Uint8Array(size)
const rtts: number[] = []
for (let i = 0; i < warmup + samples; i++) {
  const t0 = process.hrtime.bigint()
  const got = new Promise<boolean>(resolve => {
    const t = setTimeout(() => { waiting = undefined; resolve(false) }, timeoutMs)
    waiting = () => { clearTimeout(t); resolve(true) }
  })
  await pub.put(payload)
  if (!(await got)) {
    process.stderr.write(`no pong within ${timeoutMs} ms; is z_pong running on the same swarm?\n`)
    await closeAndExit(session, 1)
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000
  if (i >= warmup) {
    rtts.push(us)
    out(`${size} bytes: seq=${i - warmup} rtt=${us.toFixed(0)}µs lat=${(us / 2).toFixed(0)}µs`)
  }
}
rtts.sort((a, b) => a - b)
const pct = (p: number): number => Math.round(rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? 0)
out(JSON.stringify({ size, samples: rtts.length, rtt_us: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: Math.round(rtts[rtts.length - 1] ?? 0) } }))
await closeAndExit(session)
