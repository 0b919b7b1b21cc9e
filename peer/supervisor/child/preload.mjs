/**
 * Loaded with `--import` into every Node-runtime node process the supervisor starts (after tsx).
 * Plain JavaScript on purpose: it runs before anything else and its hooks run on the loader thread.
 *
 * 1. Module resolution for node files that live outside this install (a peer's data dir, where
 *    shipped files land): bare specifiers such as `apache-arrow` and `swarmflow/node` that do not
 *    resolve from the file's own location are resolved again from this install (see hooks.mjs).
 *    CommonJS `require` falls back through NODE_PATH, which the supervisor sets.
 * 2. The control pipe (fd SWARMFLOW_CONTROL_FD): JSON lines from the supervisor, published on
 *    `globalThis[Symbol.for('swarmflow.control')]` for the SDK. Its end-of-file means the peer is
 *    gone (even SIGKILLed): the process exits after SWARMFLOW_ORPHAN_GRACE_MS (default 2000) so no
 *    node outlives its peer, SDK or not.
 */
import { register } from 'node:module'
import { Socket } from 'node:net'
import { EventEmitter } from 'node:events'

register(new URL('./hooks.mjs', import.meta.url), {
  data: { anchor: new URL('../../../package.json', import.meta.url).href },
})

const fd = Number(process.env.SWARMFLOW_CONTROL_FD)
if (Number.isInteger(fd) && fd > 2) {
  const control = new EventEmitter()
  control.stopRequested = false
  control.parentGone = false
  globalThis[Symbol.for('swarmflow.control')] = control
  let sock
  try {
    sock = new Socket({ fd, readable: true, writable: false })
  } catch {
    sock = undefined // fd not open (started by hand with the variable set): no control channel
  }
  if (sock !== undefined) {
    // The pipe must never keep a finished node alive.
    sock.unref()
    let carry = ''
    sock.on('data', (chunk) => {
      const lines = (carry + chunk.toString('utf8')).split('\n')
      carry = lines.pop() ?? ''
      if (carry.length > 65536) carry = ''
      for (const line of lines) {
        let msg
        try { msg = JSON.parse(line) } catch { continue }
        if (msg !== null && typeof msg === 'object' && msg.type === 'STOP') {
          control.stopRequested = true
          control.emit('stop')
        }
      }
    })
    const gone = () => {
      if (control.parentGone) return
      control.parentGone = true
      control.stopRequested = true
      control.emit('stop')
      control.emit('parent-gone')
      const grace = Number(process.env.SWARMFLOW_ORPHAN_GRACE_MS ?? 2000)
      setTimeout(() => process.exit(0), Number.isFinite(grace) && grace >= 0 ? grace : 2000).unref()
    }
    sock.on('end', gone)
    sock.on('close', gone)
    sock.on('error', gone)
  }
}
