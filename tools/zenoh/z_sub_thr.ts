/** z_sub_thr: counts samples on test/thr and prints the rate every --number samples; exits after --samples rounds. */
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeAndExit, closeOnSignal } from './args.ts'

const v = parse({
  number: { type: 'string', short: 'n', default: '10000' },
  samples: { type: 'string', short: 's', default: '10' },
}, 'z_sub_thr [--connect ws://HOST:PORT] [-n SAMPLES_PER_ROUND] [-s ROUNDS]')

const perRound = num(v.number, 'number', 10000)
const rounds = num(v.samples, 'samples', 10)
const session = await open(connectUrl(v.connect))
let n = 0
let round = 0
let t0 = 0
let bytes = 0
const rates: number[] = []
await session.declareSubscriber('test/thr', {
  handler: (s: Sample) => {
    if (n === 0) t0 = performance.now()
    n++
    bytes += s.payload().len()
    if (n < perRound) return
    const secs = (performance.now() - t0) / 1000
    const rate = perRound / secs
    rates.push(rate)
    out(`${rate.toFixed(1)} msg/s ${(bytes * 8 / secs / 1e6).toFixed(1)} Mbit/s`)
    n = 0
    bytes = 0
    if (++round >= rounds) {
      out(JSON.stringify({ rounds: rates.length, msgs_per_s: Math.round(rates.reduce((a, b) => a + b, 0) / rates.length) }))
      void closeAndExit(session)
    }
  },
})
out('ready')
closeOnSignal(session)
