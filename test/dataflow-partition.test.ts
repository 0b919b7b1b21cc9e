/**
 * Issue 4 acceptance, part 3: a partition in network namespaces (root only). Three hosts on one
 * bridge: the producer may run on alpha or charlie, the consumer on bravo. The producer's host is
 * cut off: it goes on producing alone, the other side elects a new producer under a newer epoch.
 * After the link comes back exactly one instance of each node remains, and the consumer drops the
 * samples the loser keeps sending (its producer lingers 2.5 s after STOP) as stale. A `strict`
 * singleton runs on the majority side only.
 */
import { describe, it, expect } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestPeer, eventually } from './harness.ts'
import { netnsAvailable, TestNetwork } from './netns.ts'
import { formSwarm, disposeAll, psAgrees, nodeOf, ps, logs, parseConsumerLog, nodeProcesses, FIXTURES, type PsFlow } from './dataflow-helpers.ts'

const skip = netnsAvailable()
if (skip) console.log(`dataflow partition between network namespaces skipped: ${skip} (the in-process link cut is not implemented)`)

/** The consumer's log lines since its latest start on that peer. */
function lastRun (text: string): ReturnType<typeof parseConsumerLog> {
  const at = text.lastIndexOf('consumer up on')
  return parseConsumerLog(at < 0 ? text : text.slice(at))
}

describe.skipIf(skip !== undefined)('a dataflow across a partition', () => {
  it('both sides run; after heal exactly one instance per node remains and stale data is dropped', async () => {
    const net = new TestNetwork(3)
    let peers: TestPeer[] = []
    try {
      peers = await formSwarm([{ name: 'alpha', labels: 'src=yes' }, { name: 'bravo', labels: 'sink=yes' }, { name: 'charlie', labels: 'src=yes' }], {
        wrap: i => net.wrap(i),
        listen: i => `/ip4/${(net.hosts[i] as { addr: string }).addr}/tcp/0`,
      })
      const dirs = peers.map(p => p.dataDir)
      const r = await (peers[0] as TestPeer).cli(['deploy', join(FIXTURES, 'partition.yml'), '--name', 'part'])
      expect(r.code, r.stderr).toBe(0)
      const running = (f: PsFlow[]): boolean => ['producer', 'consumer', 'singleton'].every(n => nodeOf(f, 'part', n)?.state === 'running')
      const before = await psAgrees(peers, running, { timeoutMs: 30_000, what: 'part running everywhere' })
      await eventually(async () => lastRun(await logs(peers[0] as TestPeer, 'part', 'consumer')).length > 3, { timeoutMs: 15_000, what: 'data flowing before the partition' })

      // cut off the producer's host
      const i = peers.findIndex(p => p.name === nodeOf(before, 'part', 'producer')?.peer)
      const lone = peers[i] as TestPeer
      const bravo = peers[1] as TestPeer
      const rest = peers.filter(p => p !== lone)
      const other = rest.find(p => p !== bravo) as TestPeer
      const sent = async (): Promise<number> => Math.max(0, ...[...(await logs(lone, 'part', 'producer')).matchAll(/sent (\d+) from /g)].map(m => Number(m[1])))
      const sentBefore = await sent()
      net.setLink(i, false)
      const cutAt = Date.now()
      // both sides run what they can: the lone host its producer, the others a new producer and the consumer
      const loneView = await eventually(async () => {
        const f = await ps(lone)
        return nodeOf(f, 'part', 'producer')?.peer === lone.name && nodeOf(f, 'part', 'producer')?.state === 'running' && nodeOf(f, 'part', 'consumer')?.peer === null ? f : false
      }, { timeoutMs: 20_000, intervalMs: 200, what: `${lone.name} runs the producer alone` })
      const restView = await psAgrees(rest, f => running(f) && nodeOf(f, 'part', 'producer')?.peer === other.name, { timeoutMs: 20_000, what: `${other.name} runs the producer on the other side` })
      const tookOverMs = Date.now() - cutAt
      await eventually(async () => lastRun(await logs(bravo, 'part', 'consumer')).some(g => g.producer === other.name), { timeoutMs: 15_000, what: `data from ${other.name}` })
      await eventually(async () => (await sent()) > sentBefore + 20, { timeoutMs: 15_000, what: `${lone.name} goes on producing` })
      expect(new Set(nodeProcesses(dirs, 'part', 'producer.ts').map(x => x.dataDir)).size).toBe(2)
      // the strict singleton runs on the majority side only, never on both
      expect(nodeOf(await ps(lone), 'part', 'singleton')).toMatchObject({ peer: null, state: 'stopped' })
      await eventually(() => {
        const where = new Set(nodeProcesses(dirs, 'part', 'idle.ts').map(x => x.dataDir))
        return where.size === 1 && !where.has(lone.dataDir)
      }, { timeoutMs: 10_000, what: 'the strict singleton only on the majority side' })
      const sides = Math.max(...[loneView, restView].map(f => nodeOf(f, 'part', 'producer')?.epoch ?? 0))
      console.log(`partition: ${lone.name} alone runs the producer at epoch ${nodeOf(loneView, 'part', 'producer')?.epoch}; ${other.name} took it over at epoch ${nodeOf(restView, 'part', 'producer')?.epoch} ${tookOverMs} ms after the cut`)

      // heal
      net.setLink(i, true)
      const healAt = Date.now()
      const after = await psAgrees(peers, running, { timeoutMs: 45_000, what: 'ps agrees after heal' })
      await eventually(() => ['producer.ts', 'consumer.ts', 'idle.ts'].every(s => new Set(nodeProcesses(dirs, 'part', s).map(x => x.dataDir)).size === 1), { timeoutMs: 30_000, what: 'one instance per node' })
      const healedMs = Date.now() - healAt
      // the survivors are where every peer's ps says they are (a stopped producer may linger 2.5 s)
      for (const [node, script] of [['producer', 'producer.ts'], ['consumer', 'consumer.ts'], ['singleton', 'idle.ts']] as const) {
        const holder = peers.find(p => p.name === nodeOf(after, 'part', node)?.peer) as TestPeer
        expect(nodeProcesses(dirs, 'part', script).every(x => x.dataDir === holder.dataDir), node).toBe(true)
      }
      const epoch = nodeOf(after, 'part', 'producer')?.epoch ?? 0
      expect(epoch).toBeGreaterThanOrEqual(sides)

      // fencing: the consumer receives from the winner, drops the loser's lingering samples, and
      // never accepts a sample older than an epoch it has already seen
      const winner = nodeOf(after, 'part', 'producer')?.peer as string
      const got = await eventually(async () => {
        const g = lastRun(await logs(bravo, 'part', 'consumer'))
        return g.filter(x => x.producer === winner && x.epoch === epoch).length >= 5 && (g.at(-1)?.stale ?? 0) > 0 ? g : false
      }, { timeoutMs: 20_000, what: `the consumer receives from ${winner}@${epoch} and has dropped stale samples` })
      let highest = 0
      for (const g of got) {
        expect(g.epoch, `accepted a sample of epoch ${g.epoch} after seeing ${highest}`).toBeGreaterThanOrEqual(highest)
        highest = Math.max(highest, g.epoch)
      }
      // the lone host's own node log (`peer logs` reads the current holder's)
      const lingered = readFileSync(join(lone.dataDir, 'logs', 'part', 'producer.log'), 'utf8').includes('lingering')
      console.log(`heal: one instance per node ${healedMs} ms after the link came back; producer on ${winner} epoch ${epoch} (sides ran up to epoch ${sides}); consumer dropped ${got.at(-1)?.stale ?? 0} stale samples (${lone.name}'s producer lingered: ${lingered})`)
    } finally {
      await disposeAll(peers)
      net.dispose()
    }
  }, 240_000)
})
