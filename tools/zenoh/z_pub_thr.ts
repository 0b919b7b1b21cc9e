/** z_pub_thr: publishes fixed-size samples on test/thr as fast as the session accepts them. */
import { parse, connectUrl, open, out, num, closeAndExit, closeOnSignal } from './args.ts'

const v = parse({
  size: { type: 'string', short: 's', default: '8' },
  number: { type: 'string', short: 'n', default: '0' },
  express: { type: 'boolean' },
}, 'z_pub_thr [--connect ws://HOST:PORT] [-s PAYLOAD_BYTES] [-n COUNT (0 = until killed)]')

const size = num(v.size, 'size', 8)
const count = num(v.number, 'number', 0)
const session = await open(connectUrl(v.connect))
const pub = await session.declarePublisher('test/thr', { express: v.express === true })
const payload = new Uint8Array(size).fill(1)
let stop = false
closeOnSignal(session, () => { stop = true })
out('ready')
const t0 = performance.now()
let sent = 0
while (!stop && (count === 0 || sent < count)) {
  await pub.put(payload)
  sent++
}
const secs = (performance.now() - t0) / 1000
out(JSON.stringify({ size, sent, msgs_per_s: Math.round(sent / secs) }))
await closeAndExit(session)
