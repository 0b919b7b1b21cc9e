/**
 * The swarm document on real peer processes: one change (a dataflow's state toggled through the
 * control API of one peer) until every peer's control API reports it, for N = 3 and N = 10; and a
 * new peer joining a swarm whose document is ~100 KB / ~1 MB until it holds the whole document.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { TestPeer, eventually } from '../../test/harness.ts'
import { summarize } from './stats.ts'
import { absoluteRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'
import type { BenchSwarm } from './swarm.ts'

type FlowList = Array<{ name: string, state: string }>

/** A dataflow no peer can run (its node needs a capability nobody has): a pure document record. */
export function inertDescriptor (nodes = 1, descriptionBytes = 0): string {
  const lines = ['nodes:']
  for (let i = 0; i < nodes; i++) {
    lines.push(`  - id: n${i}`, '    path: sleep', '    args: "1"')
    if (descriptionBytes > 0) lines.push(`    description: ${randomBytes(Math.ceil(descriptionBytes * 3 / 4)).toString('base64url').slice(0, descriptionBytes)}`)
    lines.push('    deploy:', '      caps: [bench-nobody-has-this]')
  }
  return lines.join('\n') + '\n'
}

/** Polls every peer's /flows until `pred` holds on each; returns per-peer arrival times (ms since epoch). */
async function whenAll (peers: TestPeer[], pred: (flows: FlowList) => boolean, timeoutMs = 10_000): Promise<number[]> {
  return await Promise.all(peers.map(async p => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const flows = await p.api<FlowList>('/flows').catch(() => [] as FlowList)
      if (pred(flows)) return Date.now()
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    throw new Error(`${p.name}: change not seen within ${timeoutMs} ms`)
  }))
}

async function propagation (ctx: BenchContext, swarm: BenchSwarm, n: number, changes: number): Promise<Row> {
  const peers = swarm.peers.filter(p => p.running).slice(0, n)
  const flow = `bench-crdt-${n}`
  await (peers[0] as TestPeer).api('/flows/deploy', 'POST', { name: flow, source: inertDescriptor() })
  await whenAll(peers, fs => fs.some(f => f.name === flow))
  const times: number[] = []
  let state = 'running'
  for (let i = 0; i < changes; i++) {
    const writer = peers[i % peers.length] as TestPeer
    state = state === 'running' ? 'stopped' : 'running'
    const t0 = Date.now()
    await writer.api(state === 'stopped' ? '/flows/stop' : '/flows/start', 'POST', { name: flow })
    const seen = await whenAll(peers, fs => fs.find(f => f.name === flow)?.state === state)
    times.push(Math.max(...seen) - t0)
  }
  await (peers[0] as TestPeer).api('/flows/rm', 'POST', { name: flow })
  const s = summarize(times)
  ctx.log(`N=${n}: ${times.join(', ')} ms`)
  return absoluteRow(`one CRDT change reaching all of N = ${n} peer processes`, s.p50, 'ms', { op: '<=', limit: 1000, text: n === 10 ? '≤ 1000 ms p99' : '— (target at N = 10)' }, {
    p99: s.p99, met: n === 10 ? s.p99 <= 1000 : undefined, note: `${changes} changes, written at each peer in turn; seen = the peer's control API reports it (polled every 5 ms)`,
  })
}

export async function crdtMeasure (ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = []
  const swarm = await ctx.swarm(3)
  rows.push(await propagation(ctx, swarm, 3, ctx.quick ? 10 : 30))
  if (!ctx.quick) {
    await ctx.swarm(10)
    rows.push(await propagation(ctx, swarm, 10, 30))
  }
  return rows
}

/**
 * Time for a new peer, once admitted, to hold the whole document (every flow of it). A full run
 * measures it twice: in the shared swarm, which the CRDT measure grew to 10 peer processes, and in
 * a fresh swarm of 3 (a new swarm and document, after the 10 are stopped). `BENCH_JOIN_PEERS=N`
 * measures one swarm of N only.
 */
export async function joinMeasure (ctx: BenchContext): Promise<Row[]> {
  const peersEnv = process.env.BENCH_JOIN_PEERS
  if (peersEnv !== undefined && peersEnv !== '') {
    const n = Number(peersEnv)
    return await joinRows(ctx, await ctx.swarm(Number.isInteger(n) && n >= 1 ? n : 3))
  }
  const shared = await ctx.swarm(3)
  if (ctx.quick || shared.peers.filter(p => p.running).length <= 3) return await joinRows(ctx, shared)
  const rows = await joinRows(ctx, shared)
  await ctx.resetSwarm()
  rows.push(...await joinRows(ctx, await ctx.swarm(3)))
  return rows
}

async function joinRows (ctx: BenchContext, swarm: BenchSwarm): Promise<Row[]> {
  const rows: Row[] = []
  const swarmSize = swarm.peers.filter(p => p.running).length
  const admin = swarm.peers[0] as TestPeer
  let flowsSoFar = (await admin.api<FlowList>('/flows')).length
  let joinerN = 0
  for (const [label, targetBytes] of [['100 KB', 100_000], ['1 MB', 1_000_000]] as const) {
    // grow the document with inert flows of 10 nodes × 1 KB descriptions (~10 KB each)
    const before = await docBytes(admin)
    const add = Math.max(0, Math.round((targetBytes - before) / 10_500))
    for (let i = 0; i < add; i++) await admin.api('/flows/deploy', 'POST', { name: `bench-doc-${flowsSoFar + i}`, source: inertDescriptor(10, 1000) })
    flowsSoFar += add
    const total = (await admin.api<FlowList>('/flows')).length
    const trials = ctx.quick ? 1 : 3
    const times: number[] = []
    const fromStart: number[] = []
    let received = 0
    for (let t = 0; t < trials; t++) {
      const name = `joiner${swarmSize}x${joinerN++}`
      const inv = await admin.cli(['invite', '--name', name])
      if (inv.code !== 0) throw new Error(`invite failed: ${inv.stderr}`)
      // BENCH_JOIN_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to the joiner processes only.
      const nodeOptions = process.env.BENCH_JOIN_NODE_OPTIONS
      const j = new TestPeer({
        name, args: ['--invite', inv.stdout.trim().split('\n').pop() as string, '--bootstrap', await admin.addr()],
        ...(nodeOptions !== undefined && nodeOptions !== '' ? { env: { NODE_OPTIONS: nodeOptions } } : {}),
      })
      // BENCH_JOIN_ISOLATE=1 (experiment): the members other than the inviter (the joiner's seed)
      // run on CPU 0 and the inviter on CPU 1 during the trial, as if the two that do the join had
      // a core of their own beside the busy swarm (taskset; the joiner may use both).
      const isolate = process.env.BENCH_JOIN_ISOLATE === '1' ? pinMembers(swarm, admin) : undefined
      try {
        const started = Date.now()
        await j.start()
        const seen = (await whenAll([j], fs => fs.length >= total, 30_000))[0] as number
        const admittedAt = await eventually(() => admissionTime(j), { timeoutMs: 5000, what: `${name} admission logged` })
        times.push(seen - admittedAt)
        fromStart.push(seen - started)
        received = (await j.api<{ doc: { bytesIn: number } }>('/metrics')).doc.bytesIn
      } finally {
        isolate?.()
        await j[Symbol.asyncDispose]()
      }
      ctx.log(`join (${swarmSize} peers) with a ${label} document: ${times[times.length - 1]} ms after admission (${fromStart[fromStart.length - 1]} ms after process start), ${Math.round(received / 1000)} KB received`)
    }
    const s = summarize(times)
    rows.push(absoluteRow(`new peer join → has the ${label} document, ${swarmSize} peers`, s.max, 'ms', { op: '<=', limit: 500 }, {
      note: `max of ${trials}, ${swarmSize} peer processes in the swarm (from admission to all ${total} flows listed; ${Math.round(received / 1000)} KB document sync received; from process start ${summarize(fromStart).p50} ms)`,
    }))
  }
  return rows
}

/** Pins every running member but `seed` to CPU 0 and `seed` to CPU 1; returns the undo. */
function pinMembers (swarm: BenchSwarm, seed: TestPeer): () => void {
  const pin = (pid: number | undefined, mask: string): void => {
    if (pid === undefined) return
    // A pin that did not happen would measure the unpinned swarm under the experiment's name.
    const r = spawnSync('taskset', ['-a', '-p', mask, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    if (r.error !== undefined || r.status !== 0) {
      throw new Error(`BENCH_JOIN_ISOLATE=1: taskset could not pin pid ${pid} to CPU mask ${mask} (${r.error?.message ?? r.stderr.trim()}); it needs util-linux's taskset and at least 2 CPUs`)
    }
  }
  const others = swarm.peers.filter(p => p.running && p !== seed)
  for (const p of others) pin(p.pid, '1')
  pin(seed.pid, '2')
  return () => { for (const p of [...others, seed]) pin(p.pid, '3') }
}

async function docBytes (p: TestPeer): Promise<number> {
  const { statSync, readdirSync } = await import('node:fs')
  const { join } = await import('node:path')
  let total = 0
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name)
      if (e.isDirectory()) walk(f)
      else total += statSync(f).size
    }
  }
  try { walk(join(p.dataDir, 'doc')) } catch {}
  return total
}

/** The joiner's log line for its first admission ('peer admitted'), as epoch ms. */
function admissionTime (p: TestPeer): number | undefined {
  for (const line of p.stderrText.split('\n')) {
    if (!line.includes('"peer admitted"')) continue
    try { return (JSON.parse(line) as { time: number }).time } catch {}
  }
  return undefined
}
