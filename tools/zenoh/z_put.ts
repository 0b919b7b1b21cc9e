/** z_put: puts a value (or deletes) on a key. Port of the zenoh-ts example. */
import { parse, connectUrl, open, out, num, closeAndExit } from './args.ts'

const v = parse({
  key: { type: 'string', short: 'k', default: 'demo/example/zenoh-ts-put' },
  payload: { type: 'string', short: 'p', default: 'Put from Zenoh-ts!' },
  encoding: { type: 'string' },
  attach: { type: 'string', short: 'a' },
  count: { type: 'string', short: 'n' },
  delete: { type: 'boolean' },
}, 'z_put [--connect ws://HOST:PORT] [-k KEY] [-p PAYLOAD] [--encoding MIME] [-a ATTACHMENT] [-n COUNT] [--delete]')

const session = await open(connectUrl(v.connect))
const count = num(v.count, 'count', 1)
for (let i = 0; i < count; i++) {
  const payload = count > 1 ? `[${i}] ${v.payload}` : v.payload
  if (v.delete === true) {
    out(`Deleting resource ('${v.key}')...`)
    await session.delete(v.key, v.attach === undefined ? undefined : { attachment: v.attach })
  } else {
    out(`Putting Data ('${v.key}': '${payload}')...`)
    await session.put(v.key, payload, { encoding: v.encoding, attachment: v.attach })
  }
}
await closeAndExit(session)
