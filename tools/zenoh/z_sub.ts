/** z_sub: subscribes and prints every sample. Port of the zenoh-ts example. */
import { SampleKind, type Sample } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeOnSignal, closeAndExit } from './args.ts'

const v = parse({
  key: { type: 'string', short: 'k', default: 'demo/example/**' },
  count: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
}, 'z_sub [--connect ws://HOST:PORT] [-k KEYEXPR] [-n EXIT_AFTER_N_SAMPLES] [--json]')

const session = await open(connectUrl(v.connect))
const limit = num(v.count, 'count', 0)
let n = 0
await session.declareSubscriber(v.key, {
  handler: (s: Sample) => {
    const kind = s.kind() === SampleKind.PUT ? 'PUT' : 'DELETE'
    if (v.json === true) {
      out(JSON.stringify({ kind, key: s.keyexpr().toString(), payload: s.payload().toString(), encoding: s.encoding().toString(), attachment: s.attachment()?.toString() }))
    } else {
      out(`>> [Subscriber] Received ${kind} ('${s.keyexpr().toString()}': '${s.payload().toString()}')`)
    }
    if (limit > 0 && ++n >= limit) void closeAndExit(session)
  },
})
out('ready')
closeOnSignal(session)
