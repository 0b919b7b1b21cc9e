import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { spawnReady, tcpLink, bareLibp2pLink, type FrameLink } from './links.ts'
import { roundTrips, throughput } from './measure.ts'
import { startMosquitto, mqttLink } from './mqtt.ts'

export interface BenchContext { quick: boolean }

export interface Row {
  measure: string
  value: number
  unit: string
  p99?: number
  baseline?: string
  baselineValue?: number
  /** value / baselineValue for latencies; value / baselineValue for rates too (read with the target). */
  ratio?: number
  target?: string
  met?: boolean
}

export interface Measure { id: string, run: (ctx: BenchContext) => Promise<Row[]> }

const HERE = import.meta.dirname
const SIZES: Array<[string, number]> = [['64 B', 64], ['4 KiB', 4096], ['1 MiB', 1 << 20]]

async function withProc<T> (p: { proc: ChildProcess }, fn: () => Promise<T>): Promise<T> {
  try { return await fn() } finally { p.proc.kill('SIGTERM') }
}

const rttCount = (ctx: BenchContext, size: number): number => size >= 1 << 20 ? (ctx.quick ? 20 : 200) : (ctx.quick ? 300 : 3000)

/** Round trips over a link at every size. */
async function rttSeries (ctx: BenchContext, link: FrameLink): Promise<Map<number, { p50: number, p99: number }>> {
  const out = new Map<number, { p50: number, p99: number }>()
  for (const [, size] of SIZES) out.set(size, await roundTrips(link, size, { count: rttCount(ctx, size) }))
  return out
}

async function tputSeries (ctx: BenchContext, link: FrameLink): Promise<{ small: number, big: number }> {
  const small = await throughput(link, 64, { durationMs: ctx.quick ? 1000 : 5000, window: 256 })
  const big = await throughput(link, 1 << 20, { durationMs: ctx.quick ? 1000 : 5000, window: 4 })
  return { small: small.msgsPerSec, big: big.mbPerSec }
}

export const MEASURES: Measure[] = [
  {
    id: 'baselines',
    async run (ctx) {
      const rows: Row[] = []
      const tcpSrv = await spawnReady([join(HERE, 'echo-servers.ts'), 'tcp'])
      await withProc(tcpSrv, async () => {
        const link = await tcpLink(tcpSrv.info.port as number)
        const rtt = await rttSeries(ctx, link)
        for (const [label, size] of SIZES) { const r = rtt.get(size)!; rows.push({ measure: `raw TCP echo RTT ${label}`, value: r.p50, p99: r.p99, unit: 'ms' }) }
        const t = await tputSeries(ctx, link)
        rows.push({ measure: 'raw TCP throughput 64 B', value: t.small, unit: 'msg/s' }, { measure: 'raw TCP throughput 1 MiB', value: t.big, unit: 'MB/s' })
        await link.close()
      })
      const p2pSrv = await spawnReady([join(HERE, 'echo-servers.ts'), 'libp2p'])
      await withProc(p2pSrv, async () => {
        const link = await bareLibp2pLink(p2pSrv.info.addr as string)
        const rtt = await rttSeries(ctx, link)
        for (const [label, size] of SIZES) { const r = rtt.get(size)!; rows.push({ measure: `bare libp2p stream RTT ${label}`, value: r.p50, p99: r.p99, unit: 'ms' }) }
        const t = await tputSeries(ctx, link)
        rows.push({ measure: 'bare libp2p throughput 64 B', value: t.small, unit: 'msg/s' }, { measure: 'bare libp2p throughput 1 MiB', value: t.big, unit: 'MB/s' })
        await link.close()
      })
      const mosq = await startMosquitto()
      try {
        const url = `mqtt://127.0.0.1:${mosq.port}`
        const echo = await spawnReady([join(HERE, 'mqtt.ts'), url, 'bench'])
        await withProc(echo, async () => {
          const link = await mqttLink(url, 'bench')
          const rtt = await rttSeries(ctx, link)
          for (const [label, size] of SIZES) { const r = rtt.get(size)!; rows.push({ measure: `mosquitto RTT ${label}`, value: r.p50, p99: r.p99, unit: 'ms' }) }
          const t = await tputSeries(ctx, link)
          rows.push({ measure: 'mosquitto throughput 64 B', value: t.small, unit: 'msg/s' }, { measure: 'mosquitto throughput 1 MiB', value: t.big, unit: 'MB/s' })
          await link.close()
        })
      } finally { await mosq.stop() }
      return rows
    },
  },
]
