/**
 * z_liveliness: the zenoh-ts liveliness examples in one tool.
 *   --mode token (default): declares a token on --key and keeps it until killed
 *   --mode sub: watches tokens matching --key (with history) and prints PUT/DELETE
 *   --mode get: lists the alive tokens matching --key
 */
import { Duration } from 'typed-duration'
import { SampleKind, ReplyError, type Sample } from '@eclipse-zenoh/zenoh-ts'
import { parse, connectUrl, open, out, num, closeOnSignal, closeAndExit } from './args.ts'

const v = parse({
  key: { type: 'string', short: 'k', default: 'group1/zenoh-ts' },
  mode: { type: 'string', short: 'm', default: 'token' },
  timeout: { type: 'string', short: 'o', default: '10000' },
  history: { type: 'boolean' },
}, 'z_liveliness [--connect ws://HOST:PORT] [-m token|sub|get] [-k KEYEXPR] [--history] [-o TIMEOUT_MS]')

const session = await open(connectUrl(v.connect))
switch (v.mode) {
  case 'token': {
    await session.liveliness().declareToken(v.key)
    out(`token ${v.key}`)
    out('ready')
    closeOnSignal(session)
    break
  }
  case 'sub': {
    await session.liveliness().declareSubscriber(v.key, {
      history: v.history !== false,
      handler: (s: Sample) => {
        out(s.kind() === SampleKind.PUT
          ? `>> [LivelinessSubscriber] New alive token ('${s.keyexpr().toString()}')`
          : `>> [LivelinessSubscriber] Dropped token ('${s.keyexpr().toString()}')`)
      },
    })
    out('ready')
    closeOnSignal(session)
    break
  }
  case 'get': {
    const rx = await session.liveliness().get(v.key, { timeout: Duration.milliseconds.of(num(v.timeout, 'timeout', 10000)) })
    if (rx !== undefined) {
      for await (const reply of rx) {
        const r = reply.result()
        out(r instanceof ReplyError ? `>> Received (ERROR: '${r.payload().toString()}')` : `>> Alive token ('${r.keyexpr().toString()}')`)
      }
    }
    out('done')
    await closeAndExit(session)
    break
  }
  default:
    process.stderr.write(`unknown --mode ${v.mode}; use token, sub or get\n`)
    await closeAndExit(session, 2)
}
