/** z_queryable: answers queries on a key. Port of the zenoh-ts example. */
import type { Query } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeOnSignal, closeAndExit } from './args.ts'

const v = parse({
  key: { type: 'string', short: 'k', default: 'demo/example/zenoh-ts-queryable' },
  payload: { type: 'string', short: 'p', default: 'Queryable from Zenoh-ts!' },
  complete: { type: 'boolean' },
  count: { type: 'string', short: 'n' },
}, 'z_queryable [--connect ws://HOST:PORT] [-k KEYEXPR] [-p PAYLOAD] [--complete] [-n EXIT_AFTER_N_QUERIES]')

const session = await open(connectUrl(v.connect))
const limit = num(v.count, 'count', 0)
let n = 0
await session.declareQueryable(v.key, {
  complete: v.complete === true,
  handler: async (query: Query) => {
    out(`>> [Queryable ] Received Query '${query.selector().toString()}'`)
    await query.reply(v.key, v.payload)
    await query.finalize()
    if (limit > 0 && ++n >= limit) await closeAndExit(session)
  },
})
out('ready')
closeOnSignal(session)
