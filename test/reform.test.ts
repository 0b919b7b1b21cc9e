/**
 * A swarm that loses its network re-forms by itself when the network returns (root only: the two
 * devices are network namespaces and the "network" is the link between them). mDNS is off, so the
 * peers find each other again only by re-dialling what they knew.
 */
import { describe, it, expect } from 'vitest'
import { TestPeer, peerCli, eventually } from './harness.ts'
import { netnsAvailable, TestNetwork } from './netns.ts'

const skip = netnsAvailable()
if (skip) console.log(`network re-forming test skipped: ${skip}`)

describe.skipIf(skip !== undefined)('losing and regaining the network', () => {
  it('members go dead when the link drops and alive again by themselves when it returns', async () => {
    const net = new TestNetwork(2)
    const peers: TestPeer[] = []
    try {
      const h0 = net.hosts[0] as { addr: string }
      const h1 = net.hosts[1] as { addr: string }
      const a = new TestPeer({ name: 'rf-alpha', wrap: net.wrap(0), listen: `/ip4/${h0.addr}/tcp/4600` })
      peers.push(a)
      expect((await peerCli(['init', '--swarm', 'rf', '--data-dir', a.dataDir, '--name', 'rf-alpha'])).code).toBe(0)
      await a.start()
      const inv = await a.cli(['invite', '--name', 'rf-bravo'])
      const b = new TestPeer({ name: 'rf-bravo', wrap: net.wrap(1), listen: `/ip4/${h1.addr}/tcp/4601`, args: ['--invite', inv.stdout.trim().split('\n').pop() as string] })
      peers.push(b)
      await b.start()
      // the control API lives on the namespace's loopback: ask through the CLI run inside it
      const bravoState = async (): Promise<string | undefined> => (await a.members()).find(m => m.name === 'rf-bravo')?.state
      await eventually(async () => (await bravoState()) === 'alive', { timeoutMs: 15_000, what: 'bravo alive' })

      net.setLink(1, false)
      await eventually(async () => (await bravoState()) === 'dead', { timeoutMs: 10_000, what: 'bravo dead after the link dropped' })
      net.setLink(1, true)
      const t0 = Date.now()
      await eventually(async () => (await bravoState()) === 'alive', { timeoutMs: 30_000, what: 'bravo alive again' })
      console.log(`swarm re-formed ${Date.now() - t0} ms after the link came back`)
      await eventually(async () => (await b.members()).find(m => m.name === 'rf-alpha')?.state === 'alive', { timeoutMs: 10_000, what: 'alpha alive seen from bravo' })
    } finally {
      for (const p of peers) await p[Symbol.asyncDispose]()
      net.dispose()
    }
  }, 120_000)
})
