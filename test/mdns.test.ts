/**
 * mDNS discovery between two hosts in separate network namespaces (root only). Two members that
 * know nothing of each other's addresses find each other on the LAN and become alive.
 */
import { describe, it, expect } from 'vitest'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { TestPeer, peerCli, eventually } from './harness.ts'
import { netnsAvailable, TestNetwork } from './netns.ts'

const skip = netnsAvailable()
if (skip) console.log(`mDNS between namespaces skipped: ${skip}`)

describe.skipIf(skip !== undefined)('mDNS discovery between network namespaces', () => {
  it('two members with no known addresses discover each other', async () => {
    const net = new TestNetwork(2)
    const peers: TestPeer[] = []
    try {
      const h0 = net.hosts[0] as { addr: string }
      const h1 = net.hosts[1] as { addr: string }
      const a = new TestPeer({ name: 'ns-alpha', wrap: net.wrap(0), listen: `/ip4/${h0.addr}/tcp/0`, args: ['--mdns', 'true'] })
      peers.push(a)
      expect((await peerCli(['init', '--swarm', 'lan', '--data-dir', a.dataDir, '--name', 'ns-alpha'])).code).toBe(0)
      await a.start()
      const inv = await a.cli(['invite', '--name', 'ns-bravo'])
      expect(inv.code, inv.stderr).toBe(0)
      const token = inv.stdout.trim().split('\n').pop() as string
      // first contact through the invite's addresses, to become a member
      const b = new TestPeer({ name: 'ns-bravo', wrap: net.wrap(1), listen: `/ip4/${h1.addr}/tcp/0`, args: ['--mdns', 'true', '--invite', token] })
      peers.push(b)
      await b.start()
      await eventually(async () => (await a.members()).find(m => m.name === 'ns-bravo')?.state === 'alive', { timeoutMs: 15_000, what: 'bravo admitted' })
      const firstAddrs = [...(await a.status()).listen, ...(await b.status()).listen]
      await b.stop()
      await a.stop()

      // forget every remembered address; the addresses in the swarm document go stale because both
      // restart on new ports (checked below): only mDNS can bring them together now
      for (const p of [a, b]) rmSync(join(p.dataDir, 'peers.json'), { force: true })
      const a2 = new TestPeer({ name: 'ns-alpha', dataDir: a.dataDir, wrap: net.wrap(0), listen: `/ip4/${h0.addr}/tcp/0`, args: ['--mdns', 'true'] })
      const b2 = new TestPeer({ name: 'ns-bravo', dataDir: b.dataDir, wrap: net.wrap(1), listen: `/ip4/${h1.addr}/tcp/0`, args: ['--mdns', 'true'] })
      peers.push(a2, b2)
      await Promise.all([a2.start(), b2.start()])
      const seen = await eventually(async () => {
        const m = (await a2.members()).find(x => x.name === 'ns-bravo')
        return m?.state === 'alive' ? m : undefined
      }, { timeoutMs: 20_000, what: 'mDNS discovery' })
      expect(seen.addresses.join(' ')).toContain(h1.addr)
      const now = [...(await a2.status()).listen, ...(await b2.status()).listen]
      for (const addr of now) expect(firstAddrs, 'restarted on a new port, so old addresses cannot have been dialled').not.toContain(addr)
    } finally {
      for (const p of peers) await p[Symbol.asyncDispose]()
      net.dispose()
    }
  })
})
