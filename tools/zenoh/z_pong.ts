/** z_pong: echoes every sample of test/ping to test/pong (pair with z_ping). */
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, closeOnSignal } from './args.ts'

const v = parse({ express: { type: 'boolean' } }, 'z_pong [--connect ws://HOST:PORT] [--express]')
const session = await open(connectUrl(v.connect))
const pub = await session.declarePublisher('test/pong', { express: v.express === true })
await session.declareSubscriber('test/ping', { handler: (s: Sample) => { void pub.put(s.payload()) } })
out('ready')
closeOnSignal(session)
