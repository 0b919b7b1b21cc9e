/**
 * Issue 3 acceptance on real peer processes: unmodified zenoh-ts clients (the tools/zenoh example
 * programs, as separate processes) on each peer's endpoint publish, subscribe, query and watch
 * liveliness across the swarm; the peers route between themselves over their Noise links.
 * (Multi-hop routing with A and C unable to dial each other is proven over real libp2p in
 * mesh/zenoh/swarm.test.ts.)
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { runTool } from '../tools/zenoh/proc.ts'
import { formSwarm, eventually, type TestPeer } from './harness.ts'

describe('the data plane across three peer processes', () => {
  let peers: TestPeer[] = []
  const zenoh = new Map<string, string>()
  const url = (p: TestPeer): string => zenoh.get(p.name) as string

  beforeAll(async () => {
    peers = await formSwarm(['alpha', 'bravo', 'charlie'], { swarm: 'dp' })
    for (const p of peers) {
      const st = await p.status()
      expect(st.zenoh, `${p.name} reports its zenoh endpoint`).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
      zenoh.set(p.name, st.zenoh as string)
    }
    // routes: every router knows every other before the tests publish
    await Promise.all(peers.map(p => eventually(async () => (await p.api<{ routes: unknown[] }>('/zenoh')).routes.length === 2, { timeoutMs: 10_000, what: `${p.name} routes` })))
  }, 120_000)

  afterAll(async () => { for (const p of peers) await p[Symbol.asyncDispose]() })

  it('a put on A reaches subscribers on B and C', async () => {
    const [a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    await using subB = runTool('z_sub', ['--connect', url(b), '-k', 'dp/test/**'])
    await using subC = runTool('z_sub', ['--connect', url(c), '-k', 'dp/test/**'])
    await Promise.all([subB.waitFor(/^ready/), subC.waitFor(/^ready/)])
    await eventually(async () => (await a.api<{ routes: Array<{ declarations: number }> }>('/zenoh')).routes.every(r => r.declarations >= 1), { timeoutMs: 5000, what: 'subscribers known at A' })
    await using put = runTool('z_put', ['--connect', url(a), '-k', 'dp/test/one', '-p', 'hello-swarm'])
    expect(await put.exited).toBe(0)
    await subB.waitFor(/Received PUT \('dp\/test\/one': 'hello-swarm'\)/, 5000)
    await subC.waitFor(/Received PUT \('dp\/test\/one': 'hello-swarm'\)/, 5000)
  })

  it('a get from C collects replies from queryables on A and B', async () => {
    const [a, b, c] = peers as [TestPeer, TestPeer, TestPeer]
    await using qa = runTool('z_queryable', ['--connect', url(a), '-k', 'dp/q/**', '-p', 'from-alpha'])
    await using qb = runTool('z_queryable', ['--connect', url(b), '-k', 'dp/q/**', '-p', 'from-bravo'])
    await Promise.all([qa.waitFor(/ready/), qb.waitFor(/ready/)])
    await eventually(async () => (await c.api<{ routes: Array<{ declarations: number }> }>('/zenoh')).routes.filter(r => r.declarations >= 1).length === 2, { timeoutMs: 5000, what: 'queryables known at C' })
    await using get = runTool('z_get', ['--connect', url(c), '-s', 'dp/q/x', '-t', 'ALL', '--consolidation', 'NONE', '-o', '5000'])
    const done = await get.waitFor(/^done \d+/, 10_000)
    expect(done).toBe('done 2')
    expect(get.lines.join('\n')).toMatch(/from-alpha/)
    expect(get.lines.join('\n')).toMatch(/from-bravo/)
  })

  it('the liveliness token of a killed peer disappears on the others', async () => {
    const [a, , c] = peers as [TestPeer, TestPeer, TestPeer]
    await using watch = runTool('z_liveliness', ['--connect', url(a), '-m', 'sub', '-k', 'dp/alive/*'])
    await using token = runTool('z_liveliness', ['--connect', url(c), '-m', 'token', '-k', 'dp/alive/charlie'])
    await Promise.all([watch.waitFor(/^ready/), token.waitFor(/^ready/)])
    await watch.waitFor(/New alive token \('dp\/alive\/charlie'\)/, 5000)
    const t0 = Date.now()
    c.kill9()
    await watch.waitFor(/Dropped token \('dp\/alive\/charlie'\)/, 5000)
    const ms = Date.now() - t0
    console.log(`liveliness DELETE of a kill -9'd peer seen on another peer after ${ms} ms`)
    expect(ms).toBeLessThan(1000)
  })
})
