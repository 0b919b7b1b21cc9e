/**
 * Partition heal on real peer processes, each in its own network namespace (root only; the
 * project's test hosts, test/netns.ts): the hosts hang off one bridge; the partition moves one
 * half's ports onto a second bridge (each half still connected inside itself), 100 changes are
 * made on each side, and the heal moves them back. Measured: from the heal until every peer holds
 * all changes of both sides (agents beside each peer poll its control API every 5 ms).
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { TestPeer, peerCli } from '../../test/harness.ts'
import { netnsAvailable, TestNetwork } from '../../test/netns.ts'
import { startProc, type Proc } from './procs.ts'
import { inertDescriptor } from './m-crdt.ts'
import { absoluteRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'

const CHANGES = 100

export async function partitionMeasure (ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 4 : 10
  const label = `partition heal, ${CHANGES} changes per side, ${n} peers`
  const skip = netnsAvailable()
  if (skip !== undefined) return [{ measure: label, value: NaN, unit: 'ms', target: '≤ 3000 ms', note: `skipped: ${skip} (needs network namespaces)` }]
  const net = new TestNetwork(n)
  const peers: TestPeer[] = []
  const agents: Proc[] = []
  const hubIp = (...args: string[]): void => { execFileSync('ip', ['-n', net.hub, ...args], { stdio: 'pipe' }) }
  try {
    hubIp('link', 'add', 'br1', 'type', 'bridge')
    hubIp('link', 'set', 'br1', 'up')
    const h = (i: number): { addr: string, hostVeth: string } => net.hosts[i] as { addr: string, hostVeth: string }
    const admin = new TestPeer({ name: 'h0', wrap: net.wrap(0), listen: `/ip4/${h(0).addr}/tcp/0` })
    peers.push(admin)
    const init = await peerCli(['init', '--swarm', 'bench-part', '--data-dir', admin.dataDir, '--name', 'h0'])
    if (init.code !== 0) throw new Error(`peer init failed: ${init.stderr}`)
    await admin.start()
    const st = await admin.status()
    const boot = `${st.listen.find(a => a.includes(h(0).addr))}`
    const joiners: TestPeer[] = []
    for (let i = 1; i < n; i++) {
      const inv = await admin.cli(['invite', '--name', `h${i}`])
      if (inv.code !== 0) throw new Error(`invite failed: ${inv.stderr}`)
      joiners.push(new TestPeer({ name: `h${i}`, wrap: net.wrap(i), listen: `/ip4/${h(i).addr}/tcp/0`, args: ['--invite', inv.stdout.trim().split('\n').pop() as string, '--bootstrap', boot.includes('/p2p/') ? boot : `${boot}/p2p/${st.id}`] }))
    }
    for (let i = 0; i < joiners.length; i += 3) await Promise.all(joiners.slice(i, i + 3).map(p => p.start()))
    peers.push(...joiners)
    for (let i = 0; i < n; i++) agents.push(await startProc(`agent h${i}`, [join(import.meta.dirname, 'agent.ts'), (peers[i] as TestPeer).dataDir], {}, 30_000, net.wrap(i)))
    const all = async (cmd: Record<string, unknown>, which = agents): Promise<number[]> => (await Promise.all(which.map(a => a.call<{ at: number }>(cmd, 120_000)))).map(r => r.at)
    if ((await all({ op: 'alive', n, timeoutMs: 60_000 })).some(t => t < 0)) throw new Error('swarm in namespaces did not form')

    const half = Math.floor(n / 2)
    const sideA = agents.slice(0, half)
    const sideB = agents.slice(half)
    for (let i = half; i < n; i++) execFileSync('ip', ['-n', net.hub, 'link', 'set', h(i).hostVeth, 'master', 'br1'], { stdio: 'pipe' })
    const partitionedAt = Date.now()
    const source = inertDescriptor()
    const names = (side: string): string[] => Array.from({ length: CHANGES }, (_, i) => `part-${side}-${i}`)
    await Promise.all([
      (sideA[0] as Proc).call({ op: 'deploy', names: names('a'), source }, 120_000),
      (sideB[0] as Proc).call({ op: 'deploy', names: names('b'), source }, 120_000),
    ])
    // each side converged inside itself before the heal
    await Promise.all([all({ op: 'flows', prefix: 'part-a-', count: CHANGES, timeoutMs: 30_000 }, sideA), all({ op: 'flows', prefix: 'part-b-', count: CHANGES, timeoutMs: 30_000 }, sideB)])
    const holdMs = Number(process.env.BENCH_PARTITION_MIN_MS ?? 0) - (Date.now() - partitionedAt)
    if (holdMs > 0) await new Promise(resolve => setTimeout(resolve, holdMs))
    const partitionMs = Date.now() - partitionedAt

    const healedAt = Date.now()
    for (let i = half; i < n; i++) execFileSync('ip', ['-n', net.hub, 'link', 'set', h(i).hostVeth, 'master', 'br0'], { stdio: 'pipe' })
    const seen = await all({ op: 'flows', prefix: 'part-', count: 2 * CHANGES, timeoutMs: 60_000 })
    if (seen.some(t => t < 0)) throw new Error('some peers never got every change after the heal (60 s)')
    const heal = Math.max(...seen) - healedAt
    // epoch ms of the heal, to line up with the peers' logs (SWARMFLOW_KEEP_TEST_DIRS=1 keeps them)
    ctx.log(`partitioned ${partitionMs} ms; healed at ${healedAt}, everywhere after ${heal} ms (per peer: ${seen.map(t => t - healedAt).join(', ')})`)
    return [absoluteRow(label, heal, 'ms', { op: '<=', limit: 3000 }, { note: `from the heal until all ${n} peers list all ${2 * CHANGES} flows; the partition lasted ${(partitionMs / 1000).toFixed(1)} s${ctx.quick ? ' (quick mode: 4 peers; 10 in a full run)' : ''}` })]
  } finally {
    for (const a of agents) await a.stop()
    await Promise.all(peers.map(async p => await p[Symbol.asyncDispose]()))
    net.dispose()
  }
}
