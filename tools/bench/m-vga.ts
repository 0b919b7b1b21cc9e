/** Four concurrent 30 fps VGA (640×480 RGB) streams from nodes on one peer to nodes on another. */
import { join } from 'node:path'
import { startProc, type Proc } from './procs.ts'
import { nodeEnv } from './swarm.ts'
import { summarize } from './stats.ts'
import { absoluteRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'

const HERE = import.meta.dirname
const STREAMS = 4
const FPS = 30

export async function vgaMeasure (ctx: BenchContext): Promise<Row[]> {
  const s = await ctx.swarm(2)
  const A = s.get(s.peers[0]!)
  const B = s.get(s.peers[1]!)
  const nodeFile = join(HERE, 'bench-node.ts')
  const flow = 'bench-vga'
  const procs: Proc[] = []
  try {
    const recv: Proc[] = []
    const send: Proc[] = []
    for (let i = 0; i < STREAMS; i++) {
      // queue of one second of frames: a consumer that falls further behind loses frames (counted)
      recv.push(await startProc(`vga sink ${i}`, [nodeFile, 'vga-recv'], nodeEnv(s, B, flow, `sink${i}`, [{ id: 'frame', node: `cam${i}`, output: 'frame', queueSize: FPS }], [])))
      send.push(await startProc(`vga cam ${i}`, [nodeFile, 'vga-send'], nodeEnv(s, A, flow, `cam${i}`, [], ['frame'])))
    }
    procs.push(...recv, ...send)
    const cmd = { op: 'run', fps: FPS, width: 640, height: 480 }
    // warm-up: routes and subscriptions in place, JIT warm
    await Promise.all(send.map(p => p.call({ ...cmd, ms: 1000 })))
    await new Promise(resolve => setTimeout(resolve, 300))
    await Promise.all(recv.map(p => p.call({ op: 'report' })))
    const ms = ctx.quick ? 3000 : 15_000
    const sent = await Promise.all(send.map(p => p.call<{ sent: number }>({ ...cmd, ms })))
    await new Promise(resolve => setTimeout(resolve, 500))
    const got = await Promise.all(recv.map(p => p.call<{ received: number, lost: number, latencies: number[] }>({ op: 'report' })))
    const totalSent = sent.reduce((a, x) => a + x.sent, 0)
    const totalGot = got.reduce((a, x) => a + x.received, 0)
    const lat = summarize(got.flatMap(g => g.latencies))
    const perStreamP99 = got.map(g => summarize(g.latencies).p99)
    return [
      absoluteRow(`4 × 30 fps VGA streams, two peers: frame latency`, lat.p50, 'ms', { op: '<', limit: 33, text: 'p99 < 33 ms' }, {
        p99: lat.p99, met: lat.p99 < 33, note: `${totalGot}/${totalSent} frames in ${ms / 1000} s; per-stream p99 ${perStreamP99.map(x => x.toFixed(1)).join('/')} ms; max ${lat.max.toFixed(1)} ms`,
      }),
      absoluteRow('4 × 30 fps VGA streams: frames lost', totalSent - totalGot, 'frames', { op: '==', limit: 0, text: 'no loss' }, { note: `${(totalSent * 640 * 480 * 3 / (ms / 1000) / 1e6).toFixed(0)} MB/s offered` }),
    ]
  } finally {
    for (const p of procs) await p.stop()
  }
}
