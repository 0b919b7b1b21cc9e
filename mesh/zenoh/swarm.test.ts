/**
 * Three routers over real libp2p (TCP + Noise + yamux on 127.0.0.1) in a line A–B–C where A and C
 * never connect, driven by the tools/zenoh example programs running as separate processes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshHost, type MeshHost } from '../host.ts'
import { silentLogger } from '../../common/log.ts'
import { createZenohRouter } from './router.ts'
import { ZENOH_MESH_PROTOCOL } from './mesh-proto.ts'
import type { ZenohRouter } from './interfaces.ts'
import { runTool } from '../../tools/zenoh/proc.ts'
import { until, within } from './test-helpers.ts'

interface Node { host: MeshHost, router: ZenohRouter }
let A: Node, B: Node, C: Node

async function node (): Promise<Node> {
  const host = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
    logger: silentLogger(), privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
  })
  await host.start()
  const router = createZenohRouter({ listen: 0 }, { logger: silentLogger(), peerId: host.peerId })
  await router.start()
  await host.handle(ZENOH_MESH_PROTOCOL, ch => router.attachNeighbour(ch))
  return { host, router }
}

async function connect (x: Node, y: Node): Promise<void> {
  await x.host.dial(y.host.multiaddrs()[0] as string)
  x.router.attachNeighbour(await x.host.open(y.host.peerId, ZENOH_MESH_PROTOCOL))
}

beforeAll(async () => {
  [A, B, C] = await Promise.all([node(), node(), node()])
  await connect(A, B)
  await connect(B, C)
  await within(10_000, 'routes across the line', Promise.all([
    A.router.whenRouteTo(C.host.peerId), C.router.whenRouteTo(A.host.peerId),
    A.router.whenRouteTo(B.host.peerId), B.router.whenRouteTo(A.host.peerId),
    B.router.whenRouteTo(C.host.peerId), C.router.whenRouteTo(B.host.peerId),
  ]))
})

afterAll(async () => {
  for (const n of [A, B, C]) {
    if (n === undefined) continue
    await n.router.stop()
    await n.host.stop()
  }
})

const declsAt = (at: Node, of: Node): number => at.router.status().routes.find(r => r.peer === of.host.peerId)?.declarations ?? 0

describe('line A–B–C over real libp2p with example tools as processes', () => {
  test('A and C are not connected; A reaches C through B', () => {
    expect(A.host.connectedPeers()).not.toContain(C.host.peerId)
    expect(A.router.status().routes.find(r => r.peer === C.host.peerId)).toMatchObject({ via: B.host.peerId, hops: 2 })
  })

  test('z_put on A reaches z_sub on B and C; z_get on C collects z_queryable on A and B', async () => {
    await using subB = runTool('z_sub', ['--connect', B.router.url as string, '-k', 'demo/example/**', '-n', '3'])
    await using subC = runTool('z_sub', ['--connect', C.router.url as string, '-k', 'demo/example/**', '-n', '3'])
    await using qA = runTool('z_queryable', ['--connect', A.router.url as string, '-k', 'demo/q/a', '-p', 'from-A'])
    await using qB = runTool('z_queryable', ['--connect', B.router.url as string, '-k', 'demo/q/b', '-p', 'from-B'])
    await Promise.all([subB.waitFor(/^ready/), subC.waitFor(/^ready/), qA.waitFor(/^ready/), qB.waitFor(/^ready/)])
    await until(() => declsAt(A, C) >= 1 && declsAt(C, A) >= 1 && declsAt(C, B) >= 2, 5000, 'declarations propagated')

    await using put = runTool('z_put', ['--connect', A.router.url as string, '-k', 'demo/example/x', '-p', 'hello', '-n', '3'])
    expect(await put.exited).toBe(0)
    expect(await subB.exited).toBe(0)
    expect(await subC.exited).toBe(0)
    expect(subC.lines.filter(l => l.startsWith('>>'))).toEqual([
      ">> [Subscriber] Received PUT ('demo/example/x': '[0] hello')",
      ">> [Subscriber] Received PUT ('demo/example/x': '[1] hello')",
      ">> [Subscriber] Received PUT ('demo/example/x': '[2] hello')",
    ])
    expect(subB.lines.filter(l => l.startsWith('>>')).length).toBe(3)

    await using get = runTool('z_get', ['--connect', C.router.url as string, '-s', 'demo/q/*', '-t', 'ALL'])
    expect(await get.exited).toBe(0)
    expect(get.lines.filter(l => l.startsWith('>>')).sort()).toEqual([
      ">> Received ('demo/q/a': 'from-A')",
      ">> Received ('demo/q/b': 'from-B')",
    ])
  })

  test('z_ping on A and z_pong on C (two hops): latency figures', async () => {
    await using pong = runTool('z_pong', ['--connect', C.router.url as string])
    await pong.waitFor(/^ready/)
    await until(() => declsAt(A, C) >= 1, 5000, 'pong subscriber known at A')
    await using ping = runTool('z_ping', ['--connect', A.router.url as string, '-n', '200', '-w', '50', '-s', '64'])
    const summary = JSON.parse(await ping.waitFor(/^\{/, 30_000)) as { rtt_us: { p50: number, p99: number } }
    expect(summary.rtt_us.p50).toBeGreaterThan(0)
    console.info(`z_ping A→C→A over 2 libp2p hops, 64 B: ${JSON.stringify(summary.rtt_us)}`)
  })

  test('z_pub_thr on A and z_sub_thr on C: throughput figures', async () => {
    await using sub = runTool('z_sub_thr', ['--connect', C.router.url as string, '-n', '2000', '-s', '3'])
    await sub.waitFor(/^ready/)
    await until(() => declsAt(A, C) >= 1, 5000, 'thr subscriber known at A')
    await using pub = runTool('z_pub_thr', ['--connect', A.router.url as string, '-s', '1024'])
    const summary = JSON.parse(await sub.waitFor(/^\{/, 60_000)) as { msgs_per_s: number }
    expect(summary.msgs_per_s).toBeGreaterThan(0)
    console.info(`z_pub_thr A → z_sub_thr C over 2 libp2p hops, 1 KiB: ${summary.msgs_per_s} msg/s`)
    void pub
  })

  test('liveliness of a killed peer disappears on the others', async () => {
    await using watch = runTool('z_liveliness', ['--connect', A.router.url as string, '-m', 'sub', '-k', 'swarm/alive/*'])
    await using token = runTool('z_liveliness', ['--connect', C.router.url as string, '-m', 'token', '-k', 'swarm/alive/C'])
    await Promise.all([watch.waitFor(/^ready/), token.waitFor(/^ready/)])
    await watch.waitFor(/New alive token \('swarm\/alive\/C'\)/)
    // C dies: its libp2p host goes away without a word; B's channel closes and B withdraws C
    const t0 = Date.now()
    await C.host.stop()
    await watch.waitFor(/Dropped token \('swarm\/alive\/C'\)/, 5000)
    const ms = Date.now() - t0
    expect(ms).toBeLessThan(1000)
    console.info(`liveliness DELETE seen on A ${ms} ms after C's host stopped`)
    expect(A.router.status().routes.map(r => r.peer)).toEqual([B.host.peerId])
  })
})
