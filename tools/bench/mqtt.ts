/**
 * The broker baseline: a real mosquitto on a free loopback port, and an echo client in its own
 * process (client → mosquitto → echo client → mosquitto → client: two hops each way).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import type { FrameLink } from './links.ts'

export function mosquittoPath (): string | undefined {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    try { execFileSync(p, ['-h'], { stdio: 'ignore' }); return p } catch (err) {
      // mosquitto -h exits 3 but exists
      if ((err as { status?: number }).status !== undefined) return p
    }
  }
  return undefined
}

export async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const a = s.address()
  await new Promise<void>(resolve => s.close(() => resolve()))
  return typeof a === 'object' && a ? a.port : 0
}

export async function startMosquitto (): Promise<{ port: number, proc: ChildProcess, stop: () => Promise<void> }> {
  const bin = mosquittoPath()
  if (!bin) throw new Error('mosquitto is not installed (apt-get install mosquitto); .ci/run installs it')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'sf-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nmax_inflight_messages 0\nmessage_size_limit 0\n`)
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { connectTimeout: 1000, reconnectPeriod: 0 })
      await c.endAsync()
      break
    } catch { await new Promise(r => setTimeout(r, 100)) }
  }
  return { port, proc, stop: async () => { proc.kill('SIGTERM'); await new Promise(r => proc.once('exit', r)) } }
}

/** Echo client process body: subscribes to <t>/ping and republishes on <t>/pong. */
export async function runMqttEcho (url: string, topic: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  c.on('message', (_t, payload) => { c.publish(`${topic}/pong`, payload, { qos: 0 }) })
  await c.subscribeAsync(`${topic}/ping`, { qos: 0 })
  console.log(JSON.stringify({ ready: true }))
}

export async function mqttLink (url: string, topic: string): Promise<FrameLink> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  let cb: (f: Uint8Array) => void = () => {}
  c.on('message', (_t, payload) => cb(payload))
  await c.subscribeAsync(`${topic}/pong`, { qos: 0 })
  return {
    name: 'mosquitto',
    send (frame) {
      // qos 0 like the data plane's best-effort puts; wait on the socket when mqtt.js buffers
      return new Promise<void>((resolve, reject) => c.publish(`${topic}/ping`, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), { qos: 0 }, err => err ? reject(err) : resolve()))
    },
    onFrame (f) { cb = f },
    async close () { await c.endAsync() },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void runMqttEcho(process.argv[2] as string, process.argv[3] as string)
}
