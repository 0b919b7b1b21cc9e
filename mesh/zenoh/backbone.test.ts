/**
 * The backbone bridge against another router's endpoint standing in for zenohd's remote-api.
 */
import { describe, expect, test } from 'vitest'
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { silentLogger } from '../../common/log.ts'
import { createBackbone } from './backbone.ts'
import { BackboneConfigError, BackboneConnectError } from './errors.ts'
import { Inbox, channelPair, openSession, startRouter, until } from './test-helpers.ts'

describe('backbone bridge', () => {
  test('swarm data reaches the backbone and back, once, with encoding/attachment/timestamp unchanged; no loops', async () => {
    await using zenohd = await startRouter('zenohd-stand-in')
    await using peerA = await startRouter('A')
    await using peerB = await startRouter('B')
    const { a, b } = channelPair('A', 'B')
    peerA.attachNeighbour(a)
    peerB.attachNeighbour(b)
    await peerA.whenRouteTo('B')
    const bb = createBackbone({ url: zenohd.url as string, prefix: 'swarmflow/s1/**' }, { router: peerA, logger: silentLogger() })
    await bb.start()
    await bb.start() // idempotent
    try {
      await using app = await openSession(zenohd) // an existing Zenoh application on the backbone
      await using swarmClient = await openSession(peerB) // a node on another peer of the swarm
      const atApp = new Inbox<Sample>()
      const atSwarm = new Inbox<Sample>()
      await app.declareSubscriber('swarmflow/s1/**', { handler: atApp.push })
      await swarmClient.declareSubscriber('swarmflow/s1/**', { handler: atSwarm.push })
      await until(() => (peerA.status().routes[0]?.declarations ?? 0) >= 1, 2000, 'B subscriber known at A')
      await until(() => zenohd.status().localDeclarations.subscribers >= 2, 2000, 'bridge subscribed on the backbone')

      await swarmClient.put('swarmflow/s1/out', 'from-swarm', { encoding: 'application/vnd.apache.arrow.stream', attachment: 'fence' })
      const s1 = await atApp.next(3000, 'swarm sample on the backbone')
      expect([s1.payload().toString(), s1.encoding().toString(), s1.attachment()?.toString()]).toEqual(['from-swarm', 'application/vnd.apache.arrow.stream', 'fence'])

      const ts = await app.newTimestamp()
      await app.put('swarmflow/s1/in', 'from-app', { timestamp: ts })
      await app.put('outside/prefix', 'not bridged')
      await app.put('swarmflow/s1/end', 'end')
      await swarmClient.put('swarmflow/s1/end2', 'end2')
      // each side sees its own puts (same session, locality any) and the other side's, exactly once
      const swarmSide = await atSwarm.take(4, 3000, 'swarm side samples')
      expect(swarmSide.map(s => s.payload().toString()).sort()).toEqual(['end', 'end2', 'from-app', 'from-swarm'])
      expect(swarmSide.find(s => s.payload().toString() === 'from-app')?.timestamp()?.getNtp64()).toBe(ts.getNtp64())
      const appSide = await atApp.take(3, 3000, 'backbone side samples')
      expect(appSide.map(s => s.payload().toString()).sort()).toEqual(['end', 'end2', 'from-app'])
      // a last marker each way proves nothing more (a looped copy) was in flight
      await app.put('swarmflow/s1/last', 'last')
      expect((await atSwarm.next(3000)).payload().toString()).toBe('last')
      expect((await atApp.next(3000)).payload().toString()).toBe('last')
      expect(atApp.size + atSwarm.size).toBe(0)
      expect(bb.counters).toMatchObject({ toBackbone: 2, fromBackbone: 3, errors: 0 })
    } finally {
      await bb.stop()
      await bb.stop()
    }
  })

  test('bad configuration and an unreachable backbone give typed errors', async () => {
    await using peer = await startRouter('P')
    expect(() => createBackbone({ url: 'tcp/1.2.3.4:7447', prefix: 'a/**' }, { router: peer, logger: silentLogger() })).toThrow(BackboneConfigError)
    expect(() => createBackbone({ url: 'ws://127.0.0.1:1', prefix: 'a/**/**' }, { router: peer, logger: silentLogger() })).toThrow(BackboneConfigError)
    const bb = createBackbone({ url: 'ws://127.0.0.1:1', prefix: 'a/**', openTimeoutMs: 300 }, { router: peer, logger: silentLogger() })
    await expect(bb.start()).rejects.toThrow(BackboneConnectError)
  })
})
