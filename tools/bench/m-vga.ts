/**
 * Concurrent 30 fps VGA (640×480 RGB, 921 600 B) streams from nodes on one peer to nodes on
 * another: each stream is a sender node process and a receiver node process (node SDK), so a run
 * of 4 streams is 2 peers + 8 node processes. Reported: frame latency (send call → delivered to the
 * receiver's loop, same clock), frames lost, and the CPU every process used during the run (the
 * machines here have 2 vCPUs).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startProc, type Proc } from './procs.ts'
import { nodeEnv } from './swarm.ts'
import { summarize } from './stats.ts'
import { absoluteRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'

const HERE = import.meta.dirname
const FPS = 30

/** CPU time (user + system, ms) of a process so far; 0 once it is gone. */
function cpuMs (pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch { return 0 }
}

/** Senders number the frames of each run; receivers count the measured run's only (bench-node.ts). */
const WARMUP_RUN = 1
const MEASURED_RUN = 2

async function streams (ctx: BenchContext, n: number, ms: number): Promise<Row[]> {
  const s = await ctx.swarm(2)
  const A = s.get(s.peers[0]!)
  const B = s.get(s.peers[1]!)
  const nodeFile = join(HERE, 'bench-node.ts')
  const flow = `bench-vga${n}`
  const procs: Proc[] = []
  try {
    const recv: Proc[] = []
    const send: Proc[] = []
    for (let i = 0; i < n; i++) {
      // queue of one second of frames: a consumer that falls further behind loses frames (counted)
      recv.push(await startProc(`vga sink ${i}`, [nodeFile, 'vga-recv'], nodeEnv(s, B, flow, `sink${i}`, [{ id: 'frame', node: `cam${i}`, output: 'frame', queueSize: FPS }], [])))
      send.push(await startProc(`vga cam ${i}`, [nodeFile, 'vga-send'], nodeEnv(s, A, flow, `cam${i}`, [], ['frame'])))
    }
    procs.push(...recv, ...send)
    const cmd = { op: 'run', fps: FPS, width: 640, height: 480 }
    // warm-up: routes and subscriptions in place, JIT warm
    await Promise.all(send.map(p => p.call({ ...cmd, ms: 1000, run: WARMUP_RUN })))
    await new Promise(resolve => setTimeout(resolve, 500))
    await Promise.all(recv.map(p => p.call({ op: 'report', next: MEASURED_RUN })))
    const pids = [s.peers[0]!.pid, s.peers[1]!.pid, ...send.map(p => p.proc.pid), ...recv.map(p => p.proc.pid)]
    const cpu0 = pids.map(cpuMs)
    const t0 = Date.now()
    const sent = await Promise.all(send.map(p => p.call<{ sent: number }>({ ...cmd, ms, run: MEASURED_RUN })))
    const wall = Date.now() - t0
    const cpu = pids.map((p, i) => cpuMs(p) - (cpu0[i] as number))
    await new Promise(resolve => setTimeout(resolve, 1000))
    const got = await Promise.all(recv.map(p => p.call<{ received: number, lost: number, latencies: number[], earlier: number }>({ op: 'report' })))
    const totalSent = sent.reduce((a, x) => a + x.sent, 0)
    const totalGot = got.reduce((a, x) => a + x.received, 0)
    const lat = summarize(got.flatMap(g => g.latencies))
    const cores = (x: number): string => (x / wall).toFixed(2)
    const cpuNote = `CPU during the run: peers ${cores(cpu[0] as number)} + ${cores(cpu[1] as number)} cores, senders ${cores(cpu.slice(2, 2 + n).reduce((a, b) => a + b, 0))}, receivers ${cores(cpu.slice(2 + n).reduce((a, b) => a + b, 0))} (total ${cores(cpu.reduce((a, b) => a + b, 0))} of 2)`
    // frames of the warm-up still queued when the run began arrive during it: not counted, but told
    const earlier = got.reduce((a, x) => a + x.earlier, 0)
    const backlog = earlier > 0 ? `; ${earlier} warm-up frames arrived during the run (not counted)` : ''
    ctx.log(`${n} streams: p50 ${lat.p50.toFixed(1)} ms p99 ${lat.p99.toFixed(1)} ms, ${totalGot}/${totalSent} frames${backlog}; ${cpuNote}`)
    const label = `${n} × 30 fps VGA stream${n > 1 ? 's' : ''}, two peers`
    const rows = [absoluteRow(`${label}: frame latency`, lat.p50, 'ms', { op: '<', limit: 33, text: n === 4 ? 'p99 < 33 ms' : '— (target at 4 streams)' }, {
      p99: lat.p99, met: n === 4 ? lat.p99 < 33 : undefined, note: `${totalGot}/${totalSent} frames in ${(ms / 1000).toFixed(0)} s, max ${lat.max.toFixed(1)} ms${backlog}; ${cpuNote}`,
    })]
    const gaps = got.reduce((a, x) => a + x.lost, 0)
    if (n === 4) {
      rows.push(absoluteRow(`${label}: frames lost`, totalSent - totalGot, 'frames', { op: '==', limit: 0, text: 'no loss' }, {
        note: `not delivered within 1 s of the run's end; ${gaps} of them dropped on the way (sequence gaps at the receivers), the rest still queued; ${(totalSent * 640 * 480 * 3 / (wall / 1000) / 1e6).toFixed(0)} MB/s offered`,
      }))
    }
    return rows
  } finally {
    for (const p of procs) await p.stop()
  }
}

export async function vgaMeasure (ctx: BenchContext): Promise<Row[]> {
  const ms = ctx.quick ? 3000 : 15_000
  const rows: Row[] = []
  // full runs also show where the capacity ends: 1 and 2 streams
  if (!ctx.quick) for (const n of [1, 2]) rows.push(...await streams(ctx, n, ms))
  rows.push(...await streams(ctx, 4, ms))
  return rows
}
