/**
 * Issue 4 acceptance, part 1: a dataflow deployed on a three-peer swarm of real processes. The
 * producer is pinned by label to alpha, the consumer to bravo; charlie runs nothing and still sees
 * the data (its router gets it over the mesh), agrees on `peer ps`, and reads both nodes' logs.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { TestPeer, eventually, PEER_BIN } from './harness.ts'
import { formSwarm, disposeAll, psAgrees, psView, nodeOf, ps, logs, parseConsumerLog, nodeProcesses, DataTap, FIXTURES, FLOW_FILE, type PsFlow } from './dataflow-helpers.ts'
import { outputKey } from '../mesh/zenoh/keys.ts'

/** A copy of the fixture directory to edit; removed on dispose. */
function tempCopy (): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), 'sf-flowdir-'))
  cpSync(FIXTURES, path, { recursive: true })
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) }
}

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

    // --follow streams new lines from the remote peer until the client goes away
    const follow = spawn(PEER_BIN, ['logs', 'pipe', 'consumer', '--follow', '--tail', '0', '--data-dir', c.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      let out = ''
      follow.stdout.on('data', (d: Buffer) => { out += d.toString() })
      await eventually(() => parseConsumerLog(out).length >= 3, { timeoutMs: 15_000, what: 'followed lines' })
      const followed = parseConsumerLog(out)
      expect(followed[0]?.value ?? 0).toBeGreaterThan(got.at(-1)?.value ?? 0)
    } finally {
      follow.kill('SIGINT')
    }

    // inspect a node: the definition and where it runs
    const ins = await c.json<{ instance: { peer: string, state: string }, definitionHash: string }>(['inspect', 'pipe/consumer'])
    expect(ins.instance.peer).toBe('bravo')
    expect(ins.definitionHash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('redeploying with one changed node restarts only that node', async () => {
    const dirs = [a, b, c].map(p => p.dataDir)
    const before = await ps(a)
    const producerPids = nodeProcesses(dirs, 'pipe', 'producer.ts').map(x => x.pid).sort()
    const consumerPids = nodeProcesses(dirs, 'pipe', 'consumer.ts').map(x => x.pid).sort()
    expect(producerPids.length).toBeGreaterThan(0)
    expect(consumerPids.length).toBeGreaterThan(0)

    // the same descriptor again: nothing changes, nothing is written
    const same = await a.cli(['deploy', FLOW_FILE, '--name', 'pipe', '--json'])
    expect(same.code, same.stderr).toBe(0)
    expect(JSON.parse(same.stdout)).toMatchObject({ version: 1, changed: [], added: [], removed: [], unchanged: ['consumer', 'producer'] })

    // an edited consumer script (copied next to an unchanged producer)
    await using dir = tempCopy()
    writeFileSync(join(dir.path, 'consumer.ts'), readFileSync(join(dir.path, 'consumer.ts'), 'utf8').replace("const node = await Node.init()", "console.log('consumer v2')\nconst node = await Node.init()"))
    const redeployAt = Date.now()
    const r = await b.cli(['deploy', join(dir.path, 'flow.yml'), '--name', 'pipe'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/version 2 .*changed consumer; unchanged producer/)
    await eventually(async () => (await logs(c, 'pipe', 'consumer')).includes('consumer v2'), { timeoutMs: 15_000, what: 'the new consumer runs' })
    const flows = await psAgrees([a, b, c], f => f[0]?.version === 2 && nodeOf(f, 'pipe', 'consumer')?.state === 'running')
    console.log(`redeploy: new consumer running ${Date.now() - redeployAt} ms after the deploy`)
    // the producer kept its process and its uptime; the consumer is a new process
    expect(nodeProcesses(dirs, 'pipe', 'producer.ts').map(x => x.pid).sort()).toEqual(producerPids)
    const newConsumer = nodeProcesses(dirs, 'pipe', 'consumer.ts').map(x => x.pid)
    expect(newConsumer.some(pid => consumerPids.includes(pid))).toBe(false)
    expect(nodeOf(flows, 'pipe', 'producer')?.uptimeMs ?? 0).toBeGreaterThan((nodeOf(before, 'pipe', 'producer')?.uptimeMs ?? 0))
    expect(nodeOf(flows, 'pipe', 'consumer')?.uptimeMs ?? Infinity).toBeLessThan(Date.now() - redeployAt + 1000)
    // the new consumer receives the producer's counters where they are now (the producer did not restart)
    await eventually(async () => {
      const text = await logs(c, 'pipe', 'consumer')
      const after = parseConsumerLog(text.slice(text.indexOf('consumer v2')))
      return after.length > 0 && (after[0]?.value ?? 0) > 10
    }, { timeoutMs: 10_000, what: 'the new consumer receives the running producer' })
  })

  it('refuses invalid descriptors with the expected messages and writes nothing', async () => {
    const before = psView(await ps(a))
    await using dir = tempCopy()
    const cases: Array<[string, string, string[], RegExp]> = [
      ['typo', 'nodes:\n  - id: producer\n    path: producer.ts\n    inptus:\n      tick: dora/timer/millis/100\n    outputs: [counter]\n', [], /typo\.yml:4:5 nodes\[0\]\.inptus: unknown field `inptus` \(did you mean `inputs`\?\)/],
      ['dangling', 'nodes:\n  - id: consumer\n    path: consumer.ts\n    inputs:\n      counter: nosuch/counter\n', [], /unknown node "nosuch" in input "nosuch\/counter"/],
      ['missing', 'nodes:\n  - id: ghost\n    path: ghost.ts\n', [], /file ghost\.ts not found .*fix `path` or create the file/],
      ['broken', 'nodes: [\n  - id: x\n', [], /YAML syntax/],
      ['named', 'nodes:\n  - id: consumer\n    path: consumer.ts\n', ['--name', 'bad name'], /dataflow name 'bad name' must be 1–63 letters/],
    ]
    for (const [label, text, extra, why] of cases) {
      writeFileSync(join(dir.path, `${label}.yml`), text)
      const r = await a.cli(['deploy', join(dir.path, `${label}.yml`), '--name', label, ...extra])
      expect(r.code, label).not.toBe(0)
      expect(r.stderr, label).toMatch(why)
      if (label !== 'named') expect(r.stderr, label).toMatch(/nothing was deployed/)
    }
    // the peer refuses the same things when asked directly (another client, another CLI version)
    const direct = await a.api<unknown>('/flows/deploy', 'POST', { name: 'typo', source: 'nodes:\n  - id: producer\n    path: producer.ts\n    inptus: {}\n', files: [] }).then(() => 'accepted', (err: Error) => err.message)
    expect(direct).toMatch(/unknown field `inptus`/)
    const escape = await a.api<unknown>('/flows/deploy', 'POST', { name: 'escape', source: 'nodes:\n  - id: x\n    path: x.ts\n', files: [{ node: 'x', relPath: '../x.ts', role: 'entry', data: '' }] }).then(() => 'accepted', (err: Error) => err.message)
    expect(escape).toMatch(/must be relative to the descriptor's directory/)
    // nothing was written anywhere
    for (const p of [a, b, c]) expect(psView(await ps(p))).toBe(before)
    for (const name of ['typo', 'dangling', 'missing', 'broken', 'named', 'escape']) {
      expect((await c.cli(['inspect', name])).stderr).toMatch(new RegExp(`no dataflow named '${name}'`))
    }
  })

  it('a node that crashes in a loop backs off and ends failed; the peer stays healthy', async () => {
    // every state `peer ps` reports on the way (polled through the control API, no CLI process)
    const seen = new Set<string>()
    const poll = setInterval(() => { void a.api<PsFlow[]>('/flows').then(f => { const s = nodeOf(f, 'crashy', 'crasher')?.state; if (s) seen.add(s) }, () => {}) }, 25)
    const r = await c.cli(['deploy', join(FIXTURES, 'crash.yml'), '--name', 'crashy'])
    expect(r.code, r.stderr).toBe(0)
    const t0 = Date.now()
    const flows = await psAgrees([a, b, c], f => nodeOf(f, 'crashy', 'crasher')?.state === 'failed', { timeoutMs: 20_000, what: 'crasher failed on every peer' }).finally(() => clearInterval(poll))
    expect([...seen]).toEqual(expect.arrayContaining(['restarting', 'failed']))
    const crasher = nodeOf(flows, 'crashy', 'crasher')
    expect(crasher?.restarts).toBe(3)
    console.log(`crash loop: failed after ${crasher?.restarts} restarts, ${Date.now() - t0} ms after the deploy, on ${crasher?.peer}`)
    const text = await logs(a, 'crashy', 'crasher')
    expect(text.match(/crasher: failing on purpose/g)?.length).toBe(4)
    // it stays failed (no restart behind our back) and its peer stays healthy: answers, keeps running pipe
    const host = [a, b, c].find(p => p.name === crasher?.peer) as TestPeer
    const st = await host.status()
    expect(st.name).toBe(host.name)
    expect(host.running).toBe(true)
    const pipe = nodeOf(await ps(host), 'pipe', 'consumer')
    expect(pipe?.state).toBe('running')
    const again = await ps(b)
    expect(nodeOf(again, 'crashy', 'crasher')).toMatchObject({ state: 'failed', restarts: 3 })
    expect((await c.cli(['rm', 'crashy'])).code).toBe(0)
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
