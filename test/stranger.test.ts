/**
 * A process with a valid libp2p identity but no certificate: it can open a Noise connection (it
 * cannot be told from a member before it speaks) but is refused at admission, never receives the
 * swarm document, and never appears in it.
 */
import { describe, it, expect, afterAll } from 'vitest'
import { pack, unpack } from 'msgpackr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createMeshHost, HELLO_PROTOCOL, type MeshHost } from '../mesh/index.ts'
import { DOC_PROTOCOL } from '../crdt-state/index.ts'
import { silentLogger } from '../common/log.ts'
import { TestPeer, peerCli, eventually } from './harness.ts'

describe('a stranger without a certificate', () => {
  const cleanup: Array<() => Promise<unknown>> = []
  afterAll(async () => { for (const c of cleanup.reverse()) await c().catch(() => {}) })

  it('is refused at admission, gets no document and never appears in it', async () => {
    const a = new TestPeer({ name: 'alpha' })
    cleanup.push(() => a[Symbol.asyncDispose]())
    expect((await peerCli(['init', '--swarm', 'guarded', '--data-dir', a.dataDir, '--name', 'alpha'])).code).toBe(0)
    await a.start()
    const st = await a.status()

    const stranger: MeshHost = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, {
      logger: silentLogger(), privateKey: await generateKeyPair('Ed25519'), isDenied: () => false,
    })
    await stranger.start()
    cleanup.push(() => stranger.stop())
    await stranger.dial(await a.addr())

    // 1. a hello with no valid certificate is refused with a reason
    const hello = await stranger.open(st.id, HELLO_PROTOCOL)
    await hello.send(pack({ t: 'hello', cert: 'not-a-certificate', name: 'mallory', caps: [], labels: {}, addrs: [], version: '0.1.0' }))
    const reply = await hello[Symbol.asyncIterator]().next()
    expect(reply.done).toBe(false)
    const msg = unpack(reply.value as Uint8Array) as { t: string, message: string }
    expect(msg.t).toBe('refused')
    expect(msg.message.length).toBeGreaterThan(0)

    // 2. asking for the document directly gets nothing: the channel is closed without a frame
    const doc = await stranger.open(st.id, DOC_PROTOCOL).catch(() => undefined)
    if (doc) {
      await doc.send(pack({ type: 'join', senderId: stranger.peerId })).catch(() => {})
      const r = await doc[Symbol.asyncIterator]().next()
      expect(r.done).toBe(true)
    }

    // 3. the stranger is not in the roster
    expect((await a.members()).map(m => m.name)).toEqual(['alpha'])
    await eventually(async () => !stranger.connectedPeers().includes(st.id), { timeoutMs: 5000, what: 'stranger disconnected' })
    // and it stays out: the gater closes a new connection before any protocol can be opened on it
    await stranger.dial(await a.addr(), { remember: false }).catch(() => undefined)
    await expect(stranger.open(st.id, HELLO_PROTOCOL)).rejects.toThrow()
    await eventually(async () => !stranger.connectedPeers().includes(st.id), { timeoutMs: 5000, what: 'stranger kept out' })
  })
})
