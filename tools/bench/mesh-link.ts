/**
 * The mesh link as the benchmark drives it: two processes, each a mesh host (libp2p TCP + Noise +
 * yamux, `createMeshHost`) with the peer's Zenoh router attached to the other as a neighbour over a
 * FramedChannel — exactly the peer-to-peer leg of the data plane. A bench client in each process
 * talks to its router in-process (`router.connectLocal`, the remote-api session code without a
 * WebSocket): the client side puts on `bench/ping` and reads `bench/pong`; the echo process
 * republishes every `bench/ping` sample on `bench/pong`. One hop each way, like a raw socket.
 *
 * Run as a process: `mesh-link.ts serve` prints {ready, addr} when listening.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { silentLogger } from '../../common/log.ts'
import { createMeshHost, type MeshHost } from '../../mesh/index.ts'
import { createZenohRouter, ZENOH_MESH_PROTOCOL, type ZenohRouter } from '../../mesh/zenoh/index.ts'
import type { FrameLink } from './links.ts'
import { LocalZenohClient } from './zlocal.ts'
import { tuneHeapForRelaying } from '../../peer/runtime/v8-heap.ts'

interface MeshNode { host: MeshHost, router: ZenohRouter, stop: () => Promise<void> }

async function meshNode (): Promise<MeshNode> {
  const host = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
    logger: silentLogger(), privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
  })
  await host.start()
  const router = createZenohRouter({ listen: 0 }, { logger: silentLogger(), peerId: host.peerId })
  await router.start()
  await host.handle(ZENOH_MESH_PROTOCOL, ch => router.attachNeighbour(ch))
  return { host, router, stop: async () => { await router.stop(); await host.stop() } }
}

async function serve (): Promise<void> {
  // every process of the link measures runs with the peer's V8 heap setting (bench/README.md, Paths)
  tuneHeapForRelaying()
  const n = await meshNode()
  const client = new LocalZenohClient(n.router)
  await client.subscribe('bench/ping', (payload) => client.put('bench/pong', payload))
  console.log(JSON.stringify({ ready: true, addr: `${n.host.multiaddrs()[0]}` }))
  process.on('SIGTERM', () => { void n.stop().finally(() => process.exit(0)) })
}

/** Client end: a mesh node in this process, neighbour of the echo process's router. */
export async function meshLink (addr: string): Promise<FrameLink & { router: ZenohRouter }> {
  const n = await meshNode()
  const remote = await n.host.dial(addr, { remember: false })
  n.router.attachNeighbour(await n.host.open(remote, ZENOH_MESH_PROTOCOL))
  await n.router.whenRouteTo(remote, { signal: AbortSignal.timeout(10_000) })
  const client = new LocalZenohClient(n.router)
  let cb: (f: Uint8Array) => void = () => {}
  await client.subscribe('bench/pong', (payload) => cb(payload))
  // the echo side must know our subscriber before the first ping counts: ping until one returns
  const deadline = Date.now() + 10_000
  while (true) {
    const got = new Promise<boolean>(resolve => { cb = () => resolve(true); setTimeout(() => resolve(false), 100) })
    client.put('bench/ping', new Uint8Array(8))
    if (await got) break
    if (Date.now() > deadline) throw new Error('mesh link: no echo within 10 s')
  }
  return {
    name: 'mesh link',
    router: n.router,
    send (frame) { client.put('bench/ping', frame) },
    onFrame (f) { cb = f },
    async close () { client.close(); await n.stop() },
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === 'serve') void serve()
