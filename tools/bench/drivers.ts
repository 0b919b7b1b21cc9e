/**
 * Side-by-side measurement. A Driver runs round trips and pipelined throughput over one path; the
 * interleaved helpers alternate short blocks over every path of a comparison, so the subject and
 * its baselines see the same machine load (these machines are 2-core and noisy: absolute figures
 * move 30–100 % between runs, interleaved ratios much less).
 */
import type { FrameLink } from './links.ts'
import { roundTripSamples, throughput } from './measure.ts'
import { hr, summarize, type LatencySummary } from './stats.ts'

export interface TputResult { messages: number, secs: number }

export interface Driver {
  name: string
  /** `count` sequential round trips of `size` bytes; latencies in ms. */
  rtt(size: number, count: number): Promise<number[]>
  /** Pipelined echo for `durationMs` with `window` messages in flight. */
  tput(size: number, durationMs: number, window: number): Promise<TputResult>
}

export function linkDriver (link: FrameLink, name = link.name): Driver {
  return {
    name,
    rtt: async (size, count) => await roundTripSamples(link, size, { count, warmup: 0 }),
    tput: async (size, durationMs, window) => {
      const r = await throughput(link, size, { durationMs, window })
      return { messages: r.messages, secs: r.secs }
    },
  }
}

/**
 * Warm-up (discarded), then `total` round trips per driver in alternating blocks. The warm-up is
 * `warmup` round trips and, with `warmupMs`, round trips for at least that long per driver: V8
 * compiles a path's code only after many runs of it, and a path with more code takes longer to
 * settle. Measured (64 B, successive blocks of 3000 round trips after 50 of warm-up): the mesh link
 * 0.218, 0.134, 0.144, 0.115, 0.100, 0.099 ms p50, the bare libp2p stream 0.133, 0.076, 0.077,
 * 0.076, 0.064, 0.066 ms: with 50 round trips of warm-up the bench timed the mesh link while it
 * was still being compiled. Every driver of a comparison gets the same warm-up.
 */
export async function interleavedRtt (drivers: Driver[], size: number, total: number, opts: { block?: number, warmup?: number, warmupMs?: number } = {}): Promise<Map<string, LatencySummary>> {
  const block = Math.max(1, Math.min(opts.block ?? (size >= 1 << 20 ? 5 : 50), total))
  const warmup = opts.warmup ?? Math.min(50, Math.max(3, Math.ceil(total / 10)))
  for (const d of drivers) {
    await d.rtt(size, warmup)
    const until = hr() + (opts.warmupMs ?? 0)
    while (hr() < until) await d.rtt(size, block)
  }
  const samples = new Map<string, number[]>(drivers.map(d => [d.name, []]))
  for (let done = 0; done < total; done += block) {
    const n = Math.min(block, total - done)
    for (const d of drivers) (samples.get(d.name) as number[]).push(...await d.rtt(size, n))
  }
  return new Map([...samples].map(([k, v]) => [k, summarize(v)]))
}

/** Throughput in `slices` alternating slices per driver; messages/s and MB/s of payload. */
export async function interleavedTput (drivers: Driver[], size: number, totalMs: number, opts: { slices?: number, window: number }): Promise<Map<string, { msgsPerSec: number, mbPerSec: number }>> {
  const slices = opts.slices ?? 3
  const acc = new Map<string, TputResult>(drivers.map(d => [d.name, { messages: 0, secs: 0 }]))
  for (const d of drivers) await d.tput(size, Math.min(200, totalMs / slices), opts.window) // warm-up
  for (let i = 0; i < slices; i++) {
    for (const d of drivers) {
      const r = await d.tput(size, totalMs / slices, opts.window)
      const a = acc.get(d.name) as TputResult
      a.messages += r.messages
      a.secs += r.secs
    }
  }
  return new Map([...acc].map(([k, v]) => [k, { msgsPerSec: v.messages / v.secs, mbPerSec: v.messages * size / v.secs / 1e6 }]))
}
