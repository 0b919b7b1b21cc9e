import { describe, it, expect } from 'vitest'
import { ZBytes } from '@eclipse-zenoh/zenoh-ts'
import { isLoopbackUrl, openZenohSession, zbytesView } from './socket.ts'
import { startRouter, Inbox } from '../../mesh/zenoh/test-helpers.ts'
import type { Sample } from '@eclipse-zenoh/zenoh-ts'

describe('the node session socket', () => {
  it('uses unmasked ws frames on loopback only', () => {
    expect(isLoopbackUrl('ws://127.0.0.1:7447')).toBe(true)
    expect(isLoopbackUrl('ws://localhost:1')).toBe(true)
    expect(isLoopbackUrl('ws://[::1]:1')).toBe(true)
    expect(isLoopbackUrl('ws://192.168.1.4:7447')).toBe(false)
    expect(isLoopbackUrl('not a url')).toBe(false)
  })

  it('wraps bytes as a ZBytes without copying them, and zenoh-ts shares that buffer', () => {
    const b = new Uint8Array([1, 2, 3])
    const z = zbytesView(b)
    expect(z.toBytes()).toBe(b)
    expect(new ZBytes(z).toBytes()).toBe(b) // what Publisher.put does with its payload
    expect(z.len()).toBe(3)
  })

  it('opens a working zenoh-ts session and restores the global WebSocket', async () => {
    await using router = await startRouter('A')
    const platform = globalThis.WebSocket
    const s = await openZenohSession(router.url as string)
    expect(globalThis.WebSocket).toBe(platform)
    const got = new Inbox<Sample>()
    await s.declareSubscriber('t/**', { handler: got.push })
    const big = new Uint8Array(300_000).map((_, i) => i & 0xff)
    await s.put('t/x', big)
    const back = (await got.next()).payload().toBytes()
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true)
    await s.close()
  })
})
