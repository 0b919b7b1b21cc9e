import type { FrameLink } from './links.ts'
import { hr } from './stats.ts'

/** Sequential ping-pong: one frame in flight; returns every round-trip latency in ms. */
export async function roundTripSamples (link: FrameLink, size: number, opts: { count: number, warmup?: number, deadlineMs?: number }): Promise<number[]> {
  const payload = new Uint8Array(size).fill(7)
  const samples: number[] = []
  let resolveEcho: (() => void) | undefined
  link.onFrame(() => { const r = resolveEcho; resolveEcho = undefined; r?.() })
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000)
  const total = opts.count + (opts.warmup ?? Math.min(50, Math.ceil(opts.count / 10)))
  for (let i = 0; i < total && Date.now() < deadline; i++) {
    const echoed = new Promise<void>(resolve => { resolveEcho = resolve })
    const t0 = hr()
    await link.send(payload)
    await echoed
    if (i >= total - opts.count) samples.push(hr() - t0)
  }
  return samples
}

/** Pipelined echo with a bounded window: echoed messages, seconds, messages per second and MB/s. */
export async function throughput (link: FrameLink, size: number, opts: { durationMs: number, window: number }): Promise<{ msgsPerSec: number, mbPerSec: number, messages: number, secs: number }> {
  const payload = new Uint8Array(size).fill(3)
  let inflight = 0
  let received = 0
  let wake: (() => void) | undefined
  link.onFrame(() => { received++; inflight--; const w = wake; wake = undefined; w?.() })
  const t0 = hr()
  const end = t0 + opts.durationMs
  while (hr() < end) {
    if (inflight >= opts.window) { await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 100) }); continue }
    inflight++
    await link.send(payload)
  }
  // count what was echoed within the run only: the tail still in flight is drained, not counted
  const secs = (hr() - t0) / 1000
  const counted = received
  const drainDeadline = hr() + 10_000
  while (inflight > 0 && hr() < drainDeadline) await new Promise<void>(resolve => { wake = resolve; setTimeout(resolve, 50) })
  link.onFrame(() => {})
  return { msgsPerSec: counted / secs, mbPerSec: (counted * size) / secs / 1e6, messages: counted, secs }
}
