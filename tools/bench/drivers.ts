/**
 * Side-by-side measurement. A Driver runs round trips and pipelined throughput over one path; the
 * interleaved helpers alternate short blocks over every path of a comparison, so the subject and
 * its baselines see the same machine load (these machines are 2-core and noisy: absolute figures
 * move 30–100 % between runs, interleaved ratios much less).
 */
import type { FrameLink } from './links.ts'
import { roundTripSamples, throughput } from './measure.ts'
import { summarize, type LatencySummary } from './stats.ts'

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

/** Warm-up (discarded), then `total` round trips per driver in alternating blocks. */
export async function interleavedRtt (drivers: Driver[], size: number, total: number, opts: { block?: number, warmup?: number } = {}): Promise<Map<string, LatencySummary>> {
  const block = Math.max(1, Math.min(opts.block ?? (size >= 1 << 20 ? 5 : 50), total))
  const warmup = opts.warmup ?? Math.min(50, Math.max(3, Math.ceil(total / 10)))
  for (const d of drivers) await d.rtt(size, warmup)
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
