/**
 * Issue 4 acceptance, part 2: failures of the peer running a node. The producer may run on alpha
 * or charlie (label src=yes), the consumer is on bravo; a zenoh-ts subscriber on bravo's endpoint
 * records who produced each sample. kill -9 the producer's peer: it runs on the other one and
 * data flows again. SIGSTOP it, SIGCONT after the other took over: exactly one producer remains.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { TestPeer, eventually } from './harness.ts'
import { formSwarm, disposeAll, psAgrees, nodeOf, logs, parseConsumerLog, nodeProcesses, DataTap, FLOW_FILE, type PsFlow } from './dataflow-helpers.ts'
import { outputKey } from '../mesh/zenoh/keys.ts'

describe('failover of a node between peers', () => {
  let peers: TestPeer[] = []
  let a: TestPeer, b: TestPeer, c: TestPeer
  let tap: DataTap
  const ids = new Map<string, string>()

  beforeAll(async () => {
    peers = await formSwarm([{ name: 'alpha', labels: 'src=yes' }, { name: 'bravo', labels: 'sink=yes' }, { name: 'charlie', labels: 'src=yes' }])
    ;[a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    for (const p of peers) ids.set(p.name, (await p.status()).id)
    const st = await b.status()
    tap = await DataTap.open(st.zenoh as string, outputKey(st.swarm.id, 'pipe', 'producer', 'counter'))
    const r = await b.cli(['deploy', FLOW_FILE, '--name', 'pipe'])
    expect(r.code, r.stderr).toBe(0)
    await psAgrees(peers, f => nodeOf(f, 'pipe', 'producer')?.state === 'running' && nodeOf(f, 'pipe', 'consumer')?.state === 'running', { timeoutMs: 30_000 })
    await eventually(() => tap.samples.length > 0, { timeoutMs: 10_000, what: 'first samples' })
  }, 150_000)
  afterAll(async () => {
    await tap?.[Symbol.asyncDispose]()
    await disposeAll(peers)
  })

  const producerHolder = async (via: TestPeer): Promise<TestPeer> => {
    const f = await via.json<PsFlow[]>(['ps'])
    const name = nodeOf(f, 'pipe', 'producer')?.peer
    const p = peers.find(x => x.name === name)
    if (!p) throw new Error(`producer is not placed: ${JSON.stringify(f)}`)
    return p
  }

  it('reuses a placement while the document and the live set stay the same', async () => {
    type M = { manager: { placements: number, placementsReused: number } }
    const before = (await b.api<M>('/flows/metrics')).manager
    // between two document changes, `peer ps` answers from the placement already computed
    await eventually(async () => {
      await b.json(['ps'])
      await b.json(['ps'])
      return (await b.api<M>('/flows/metrics')).manager.placementsReused > before.placementsReused
    }, { timeoutMs: 10_000, what: 'a reused placement' })
    expect((await b.api<M>('/flows/metrics')).manager.placements).toBeGreaterThan(0)
  })

  it('kill -9 the peer running the producer: it runs on the other peer and data flows again', async () => {
    const victim = await producerHolder(b)
    const other = victim === a ? c : a
    const before = tap.samples.at(-1)?.metadata
    expect(before?.peer).toBe(ids.get(victim.name))

    victim.kill9()
    const killedAt = Date.now()
    const first = await eventually(() => tap.samples.find(s => s.at >= killedAt && s.metadata.peer === ids.get(other.name)), { timeoutMs: 15_000, intervalMs: 20, what: `samples from ${other.name}` })
    const failoverMs = first.at - killedAt
    expect(first.metadata.epoch).toBe((before?.epoch ?? 0) + 1)

    const alive = peers.filter(p => p !== victim)
    const flows = await psAgrees(alive, f => nodeOf(f, 'pipe', 'producer')?.peer === other.name && nodeOf(f, 'pipe', 'producer')?.state === 'running')
    const psMs = Date.now() - killedAt
    // the consumer on bravo goes on receiving, now from the new holder
    await eventually(async () => parseConsumerLog(await logs(b, 'pipe', 'consumer')).some(g => g.producer === other.name && g.epoch === first.metadata.epoch), { timeoutMs: 10_000, what: 'consumer receives from the new holder' })
    console.log(`kill -9 ${victim.name}: first sample from ${other.name} after ${failoverMs} ms (epoch ${first.metadata.epoch}); ps agreed after ${psMs} ms`)
    expect(nodeOf(flows, 'pipe', 'producer')?.restarts).toBe(0)

    // the killed peer comes back with its data dir; nothing runs twice
    const back = new TestPeer({ name: victim.name, dataDir: victim.dataDir, args: ['--labels', 'src=yes'] })
    peers[peers.indexOf(victim)] = back
    if (victim === a) a = back
    else c = back
    await back.start()
    await psAgrees(peers, f => nodeOf(f, 'pipe', 'producer')?.state === 'running', { timeoutMs: 20_000, what: 'ps agrees after the comeback' })
    await eventually(() => nodeProcesses(peers.map(p => p.dataDir), 'pipe', 'producer.ts').length > 0 && new Set(nodeProcesses(peers.map(p => p.dataDir), 'pipe', 'producer.ts').map(x => x.dataDir)).size === 1, { timeoutMs: 10_000, what: 'one producer process' })
  })

  it('SIGSTOP the producer\'s peer, SIGCONT after the other took over: no duplicate keeps running', async () => {
    const victim = await producerHolder(b)
    const other = victim === a ? c : a
    const before = tap.samples.at(-1)?.metadata as { epoch: number }
    victim.signal('SIGSTOP')
    const stoppedAt = Date.now()
    let takenAt = -1
    try {
      const first = await eventually(() => tap.samples.find(s => s.at >= stoppedAt && s.metadata.peer === ids.get(other.name)), { timeoutMs: 15_000, intervalMs: 20, what: `samples from ${other.name}` })
      console.log(`SIGSTOP ${victim.name}: first sample from ${other.name} after ${first.at - stoppedAt} ms (epoch ${first.metadata.epoch})`)
      expect(first.metadata.epoch).toBeGreaterThan(before.epoch)
      takenAt = first.metadata.epoch
      await psAgrees(peers.filter(p => p !== victim), f => nodeOf(f, 'pipe', 'producer')?.peer === other.name && nodeOf(f, 'pipe', 'producer')?.state === 'running')
    } finally {
      victim.signal('SIGCONT')
    }
    const contAt = Date.now()
    // the frozen peer's producer (its node process kept running while the peer was stopped) goes
    // away, and the node stays where it went: the resumed peer is settling (placement SETTLE_MS),
    // so it is not handed back (before: in 9 of 12 bench trials it was, a second interruption)
    const flows = await psAgrees(peers, f => nodeOf(f, 'pipe', 'producer')?.state === 'running' && nodeOf(f, 'pipe', 'consumer')?.state === 'running', { timeoutMs: 20_000, what: 'ps agrees after SIGCONT' })
    const holder = nodeOf(flows, 'pipe', 'producer')?.peer as string
    const holderPeer = peers.find(p => p.name === holder) as TestPeer
    await eventually(() => {
      const procs = nodeProcesses(peers.map(p => p.dataDir), 'pipe', 'producer.ts')
      return new Set(procs.map(x => x.dataDir)).size === 1 && procs[0]?.dataDir === holderPeer.dataDir
    }, { timeoutMs: 15_000, what: `only ${holder} runs the producer` })
    const settledMs = Date.now() - contAt
    // and the data says the same: over the next second, one producer only
    const from = Date.now()
    await eventually(() => tap.since(from).length >= 8, { timeoutMs: 10_000, what: 'samples after settling' })
    const producers = new Set(tap.since(from).map(s => `${s.metadata.peer}@${s.metadata.epoch}`))
    expect([...producers]).toHaveLength(1)
    expect([...producers][0]?.startsWith(ids.get(holder) as string)).toBe(true)
    expect(holder).toBe(other.name)
    expect([...producers][0]).toBe(`${ids.get(other.name) as string}@${takenAt}`)
    const consumer = parseConsumerLog(await logs(b, 'pipe', 'consumer'))
    console.log(`SIGCONT: one producer (${holder}, ${[...producers][0]?.split('@')[1] ? `epoch ${[...producers][0]?.split('@')[1]}` : ''}) ${settledMs} ms after SIGCONT; consumer stale drops so far: ${consumer.at(-1)?.stale ?? 0}`)
  })
})
