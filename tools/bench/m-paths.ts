/**
 * Data-path measures: the mesh link (peer ↔ peer, one hop each way) beside raw TCP and a bare
 * libp2p stream, and end to end (node SDK → peer → peer → node SDK) beside mosquitto.
 */
import { join } from 'node:path'
import { tcpLink, bareLibp2pLink, type FrameLink } from './links.ts'
import { meshLink } from './mesh-link.ts'
import { startMosquitto, mqttLink, mosquittoPath } from './mqtt.ts'
import { linkDriver, interleavedRtt, interleavedTput, type Driver } from './drivers.ts'
import { startProc, type Proc } from './procs.ts'
import { nodeEnv } from './swarm.ts'
import { latencyRow, rateRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'
import { encodeTable, toTable } from '../../peer/node-sdk/index.ts'

const HERE = import.meta.dirname
export const SIZES: Array<[string, number]> = [['64 B', 64], ['4 KiB', 4096], ['1 MiB', 1 << 20]]
const MiB = 1 << 20

function rttCount (ctx: BenchContext, size: number): number {
  return size >= MiB ? (ctx.quick ? 20 : 200) : (ctx.quick ? 300 : 3000)
}

const tputMs = (ctx: BenchContext): number => ctx.quick ? 900 : 6000
/** Round trips per driver before the timed ones (drivers.ts, interleavedRtt). */
const rttWarmupMs = (ctx: BenchContext): number => ctx.quick ? 0 : 3000

export async function meshMeasure (ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = []
  const links: FrameLink[] = []
  const procs: Proc[] = []
  try {
    const tcpSrv = await startProc('tcp echo', [join(HERE, 'echo-servers.ts'), 'tcp'])
    const p2pSrv = await startProc('libp2p echo', [join(HERE, 'echo-servers.ts'), 'libp2p'])
    const tunedSrv = await startProc('libp2p tuned echo', [join(HERE, 'echo-servers.ts'), 'libp2p-tuned'])
    const meshSrv = await startProc('mesh echo', [join(HERE, 'mesh-link.ts'), 'serve'])
    procs.push(tcpSrv, p2pSrv, tunedSrv, meshSrv)
    const info = (p: Proc): Record<string, unknown> => (p as unknown as { info: Record<string, unknown> }).info
    const tcp = await tcpLink(info(tcpSrv).port as number)
    const bare = await bareLibp2pLink(info(p2pSrv).addr as string)
    const tuned = await bareLibp2pLink(info(tunedSrv).addr as string, 'bare libp2p, tuned link', true)
    const mesh = await meshLink(info(meshSrv).addr as string)
    links.push(tcp, bare, tuned, mesh)
    // 'bare libp2p' is stock libp2p (the baseline); 'same link' has the link settings the
    // mesh host uses (mesh/transport.ts), so mesh ÷ same link is what the routing layer adds
    const drivers = [linkDriver(tcp, 'raw TCP'), linkDriver(bare, 'bare libp2p'), linkDriver(tuned, 'same link'), linkDriver(mesh, 'mesh link')]
    for (const [label, size] of SIZES) {
      const r = await interleavedRtt(drivers, size, rttCount(ctx, size), { warmupMs: rttWarmupMs(ctx) })
      const t = r.get('raw TCP')!; const b = r.get('bare libp2p')!; const l = r.get('same link')!; const m = r.get('mesh link')!
      const bound = size === 64 ? 1.5 : size === 4096 ? 2.5 : undefined
      rows.push(
        latencyRow(`mesh link RTT ${label}`, m, { name: 'raw TCP', s: t, bound: bound === undefined ? undefined : { op: '<=', ratio: bound } }),
        latencyRow(`mesh link RTT ${label} vs stock libp2p`, m, { name: 'bare libp2p', s: b, bound: { op: '<=', ratio: 1.1 } }),
        latencyRow(`mesh link RTT ${label}: routing over the same link`, m, { name: 'same link', s: l, bound: { op: '<=', ratio: 1.1 } }),
        latencyRow(`  baseline: raw TCP RTT ${label}`, t),
        latencyRow(`  baseline: bare libp2p RTT ${label} (stock)`, b),
        latencyRow(`  baseline: bare libp2p RTT ${label}, mesh link settings`, l),
      )
    }
    for (const [label, size, window] of [['64 B', 64, 256], ['1 MiB', MiB, 4]] as const) {
      const r = await interleavedTput(drivers, size, tputMs(ctx), { window })
      const t = r.get('raw TCP')!; const b = r.get('bare libp2p')!; const l = r.get('same link')!; const m = r.get('mesh link')!
      const small = size === 64
      const unit = small ? 'msg/s' : 'MB/s'
      const v = (x: { msgsPerSec: number, mbPerSec: number }): number => small ? x.msgsPerSec : x.mbPerSec
      rows.push(
        rateRow(`mesh link throughput ${label}`, v(m), unit, { name: 'raw TCP', value: v(t), bound: { op: '>=', ratio: small ? 0.5 : 0.3 } }),
        rateRow(`mesh link throughput ${label} vs stock libp2p`, v(m), unit, { name: 'bare libp2p', value: v(b), bound: { op: '>=', ratio: 0.9 } }),
        rateRow(`mesh link throughput ${label}: routing over the same link`, v(m), unit, { name: 'same link', value: v(l), bound: { op: '>=', ratio: 0.9 } }),
        rateRow(`  baseline: raw TCP throughput ${label}`, v(t), unit),
        rateRow(`  baseline: bare libp2p throughput ${label} (stock)`, v(b), unit),
        rateRow(`  baseline: bare libp2p throughput ${label}, mesh link settings`, v(l), unit),
      )
    }
  } finally {
    for (const l of links) await l.close().catch(() => {})
    for (const p of procs) await p.stop()
  }
  return rows
}

function nodeDriver (name: string, ping: Proc): Driver {
  return {
    name,
    rtt: async (size, count) => (await ping.call<{ samples: number[] }>({ op: 'rtt', size, count })).samples,
    tput: async (size, ms, window) => await ping.call<{ messages: number, secs: number }>({ op: 'tput', size, ms, window }),
  }
}

/** The Arrow IPC stream the SDK sends for `size` bytes: mosquitto carries these same bytes. */
function ipcSize (size: number): number {
  return encodeTable(toTable('x', new Uint8Array(size))).byteLength
}

/** Ping and pong node processes on the given peers (flow `flow`), routed end to end. */
async function pingPong (ctx: BenchContext, flow: string, pingAt: number, pongAt: number): Promise<Proc[]> {
  const s = await ctx.swarm(Math.max(pingAt, pongAt) + 1)
  const A = s.get(s.peers[pingAt]!)
  const B = s.get(s.peers[pongAt]!)
  const nodeFile = join(HERE, 'bench-node.ts')
  const pong = await startProc(`${flow} pong`, [nodeFile, 'pong'], nodeEnv(s, B, flow, 'pong', [{ id: 'ping', node: 'ping', output: 'ping' }], ['pong']))
  const ping = await startProc(`${flow} ping`, [nodeFile, 'ping'], nodeEnv(s, A, flow, 'ping', [{ id: 'pong', node: 'pong', output: 'pong' }], ['ping']))
  const w = await ping.call<{ ok: boolean }>({ op: 'warm', size: 64 }, 20_000)
  if (!w.ok) throw new Error(`${flow}: no echo through the swarm within 10 s`)
  return [ping, pong]
}

export async function e2eMeasure (ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = []
  const procs: Proc[] = []
  // without mosquitto (`apt-get install mosquitto`; .ci/run installs it) the swarmflow rows still run
  const mosq = mosquittoPath() === undefined ? undefined : await startMosquitto()
  if (mosq === undefined) ctx.log('mosquitto is not installed: end-to-end rows without their baseline')
  let mlink: FrameLink | undefined
  try {
    const drivers: Driver[] = []
    const two = await pingPong(ctx, 'bench-e2e', 0, 1)
    const one = await pingPong(ctx, 'bench-local', 0, 0)
    procs.push(...two, ...one)
    drivers.push(nodeDriver('two peers', two[0]!), nodeDriver('one peer', one[0]!))
    if (mosq !== undefined) {
      const url = `mqtt://127.0.0.1:${mosq.port}`
      procs.push(await startProc('mqtt echo', [join(HERE, 'mqtt.ts'), url, 'bench']))
      mlink = await mqttLink(url, 'bench')
      const mq = linkDriver(mlink, 'mosquitto')
      // the broker carries the same bytes the SDK puts on the wire (the Arrow IPC stream)
      drivers.push({ name: 'mosquitto', rtt: async (size, n) => await mq.rtt(ipcSize(size), n), tput: async (size, ms, w) => await mq.tput(ipcSize(size), ms, w) })
    }
    for (const [label, size] of SIZES) {
      const r = await interleavedRtt(drivers, size, rttCount(ctx, size), { warmupMs: rttWarmupMs(ctx) })
      const m = r.get('mosquitto')
      const base = (bound: number): Parameters<typeof latencyRow>[2] => m === undefined ? undefined : { name: 'mosquitto', s: m, bound: { op: '<=', ratio: bound } }
      rows.push(
        latencyRow(`end-to-end RTT ${label}, nodes on two peers`, r.get('two peers')!, base(1)),
        latencyRow(`end-to-end RTT ${label}, both nodes on one peer`, r.get('one peer')!, base(0.8)),
      )
      if (m !== undefined) rows.push(latencyRow(`  baseline: mosquitto RTT ${label}`, m))
    }
    for (const [label, size, window] of [['64 B', 64, 256], ['1 MiB', MiB, 4]] as const) {
      const r = await interleavedTput(drivers, size, tputMs(ctx), { window })
      const small = size === 64
      const unit = small ? 'msg/s' : 'MB/s'
      const v = (x: { msgsPerSec: number, mbPerSec: number }): number => small ? x.msgsPerSec : x.mbPerSec
      const mr = r.get('mosquitto')
      const m = mr === undefined ? undefined : v(mr)
      rows.push(
        rateRow(`end-to-end throughput ${label}, nodes on two peers`, v(r.get('two peers')!), unit, m === undefined ? undefined : { name: 'mosquitto', value: m, bound: { op: '>=', ratio: small ? 0.5 : 1 } }),
        rateRow(`end-to-end throughput ${label}, both nodes on one peer`, v(r.get('one peer')!), unit, m === undefined ? undefined : { name: 'mosquitto', value: m }),
      )
      if (m !== undefined) rows.push(rateRow(`  baseline: mosquitto throughput ${label}`, m, unit))
    }
  } finally {
    await mlink?.close().catch(() => {})
    for (const p of procs) await p.stop()
    await mosq?.stop()
  }
  return rows
}
