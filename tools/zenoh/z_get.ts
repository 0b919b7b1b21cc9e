/** z_get: sends a query and prints the replies until the query is finalized. Port of the zenoh-ts example. */
import { Duration } from 'typed-duration'
import { QueryTarget, ConsolidationMode, ReplyError } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeAndExit } from './args.ts'

const v = parse({
  selector: { type: 'string', short: 's', default: 'demo/example/**' },
  payload: { type: 'string', short: 'p' },
  target: { type: 'string', short: 't', default: 'BEST_MATCHING' },
  timeout: { type: 'string', short: 'o', default: '10000' },
  consolidation: { type: 'string', default: 'AUTO' },
}, 'z_get [--connect ws://HOST:PORT] [-s SELECTOR] [-p PAYLOAD] [-t BEST_MATCHING|ALL|ALL_COMPLETE] [-o TIMEOUT_MS] [--consolidation AUTO|NONE|MONOTONIC|LATEST]')

const target = QueryTarget[v.target as keyof typeof QueryTarget]
const consolidation = ConsolidationMode[v.consolidation as keyof typeof ConsolidationMode]
if (target === undefined || consolidation === undefined) {
  process.stderr.write(`unknown --target ${v.target} or --consolidation ${v.consolidation}\n`)
  process.exit(2)
}
const session = await open(connectUrl(v.connect))
out(`Sending Query '${v.selector}'...`)
const rx = await session.get(v.selector, { payload: v.payload, target, consolidation, timeout: Duration.milliseconds.of(num(v.timeout, 'timeout', 10000)) })
let n = 0
if (rx !== undefined) {
  for await (const reply of rx) {
    const r = reply.result()
    n++
    if (r instanceof ReplyError) out(`>> Received (ERROR: '${r.payload().toString()}')`)
    else out(`>> Received ('${r.keyexpr().toString()}': '${r.payload().toString()}')`)
  }
}
out(`done ${n}`)
await closeAndExit(session)
