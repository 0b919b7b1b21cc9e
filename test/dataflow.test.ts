/**
 * Issue 4 acceptance, part 1: a dataflow deployed on a three-peer swarm of real processes. The
 * producer is pinned by label to alpha, the consumer to bravo; charlie runs nothing and still sees
 * the data (its router gets it over the mesh), agrees on `peer ps`, and reads both nodes' logs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { TestPeer, eventually } from './harness.ts'
import { formSwarm, disposeAll, psAgrees, nodeOf, ps, logs, parseConsumerLog, DataTap, FLOW_FILE } from './dataflow-helpers.ts'
import { outputKey } from '../mesh/zenoh/keys.ts'

describe('a dataflow on a three-peer swarm', () => {
  let peers: TestPeer[] = []
  let a: TestPeer, b: TestPeer, c: TestPeer

  beforeAll(async () => {
    peers = await formSwarm([{ name: 'alpha', labels: 'src=yes' }, { name: 'bravo', labels: 'sink=yes' }, { name: 'charlie' }])
    ;[a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
  }, 120_000)
  afterAll(async () => { await disposeAll(peers) })

  it('deploys from any peer; data flows across peers; peer ps agrees on every peer', async () => {
    const st = await c.status()
    expect(st.zenoh).toBeTruthy()
    await using tap = await DataTap.open(st.zenoh as string, outputKey(st.swarm.id, 'pipe', 'producer', 'counter'))

    const t0 = Date.now()
    const r = await c.cli(['deploy', FLOW_FILE, '--name', 'pipe'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/deployed dataflow 'pipe' version 1 \(2 file\(s\) shipped\): added consumer, producer/)

    const flows = await psAgrees([a, b, c], f => nodeOf(f, 'pipe', 'producer')?.state === 'running' && nodeOf(f, 'pipe', 'consumer')?.state === 'running', { what: 'both nodes running in every ps' })
    const runningMs = Date.now() - t0
    expect(nodeOf(flows, 'pipe', 'producer')?.peer).toBe('alpha')
    expect(nodeOf(flows, 'pipe', 'consumer')?.peer).toBe('bravo')
    for (const n of flows[0]?.nodes ?? []) {
      expect(n.restarts).toBe(0)
      expect(typeof n.uptimeMs).toBe('number')
    }

    // data reaches charlie's router (no node there) and bravo's consumer
    await eventually(() => tap.samples.length >= 5, { timeoutMs: 10_000, what: 'samples on charlie' })
    const firstSampleMs = (tap.samples[0]?.at ?? 0) - t0
    const alphaId = (await a.status()).id
    expect(tap.samples.every(s => s.metadata.peer === alphaId && s.metadata.epoch === 1)).toBe(true)
    const got = await eventually(async () => {
      const rs = parseConsumerLog(await logs(c, 'pipe', 'consumer'))
      return rs.length >= 5 ? rs : false
    }, { timeoutMs: 10_000, what: 'the consumer (on bravo) to log received samples, read from charlie' })
    expect(got.every(g => g.producer === 'alpha' && g.epoch === 1)).toBe(true)
    // consecutive counters: nothing lost between two peers on loopback
    const values = got.map(g => g.value)
    expect(values.slice(1).every((v, i) => v === (values[i] as number) + 1)).toBe(true)
    console.log(`deploy → both running in every ps: ${runningMs} ms; first sample on charlie ${firstSampleMs} ms; consumer saw ${got.length} samples`)

    // logs of both nodes from a peer that runs neither, with prefixes, tail and timestamps
    const all = await logs(c, 'pipe', undefined, ['--tail', '2', '--timestamps'])
    expect(all).toMatch(/^\[producer\] \S*\d{4}-\d\d-\d\dT\S+ .*(producer up on alpha@1|sent \d+ from alpha@1)/m)
    expect(all).toMatch(/^\[consumer\] \S*\d{4}-\d\d-\d\dT\S+ .*got \d+ from alpha@1/m)

    // inspect a node: the definition and where it runs
    const ins = await c.json<{ instance: { peer: string, state: string }, definitionHash: string }>(['inspect', 'pipe/consumer'])
    expect(ins.instance.peer).toBe('bravo')
    expect(ins.definitionHash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('stop, start and rm act on every peer', async () => {
    expect((await a.cli(['stop', 'pipe'])).code).toBe(0)
    await psAgrees([a, b, c], f => f[0]?.state === 'stopped' && f[0].nodes.every(n => n.state === 'stopped' && n.peer === null), { what: 'pipe stopped everywhere' })
    expect((await b.cli(['start', 'pipe'])).code).toBe(0)
    await psAgrees([a, b, c], f => f[0]?.state === 'running' && f[0].nodes.every(n => n.state === 'running'), { what: 'pipe running again' })
    expect((await c.cli(['rm', 'pipe'])).code).toBe(0)
    await psAgrees([a, b, c], f => f.length === 0, { what: 'pipe removed everywhere' })
    // nothing keeps running: the flow's node processes are gone on every peer
    for (const p of [a, b, c]) expect(await ps(p)).toEqual([])
  })
})
